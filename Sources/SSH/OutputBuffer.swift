import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Output read straight into blocks mapped from the kernel, and joined once, at the end: each
/// block is unmapped as soon as it has been copied, so a host's output costs its size plus one
/// block, also while it is joined. Pieces from the heap stay resident after they are freed
/// (the allocator keeps them), and a growing array copies itself on the way; mapped blocks
/// go back to the kernel as soon as they are unmapped.
final class OutputBuffer {
  static let blockSize = 1 << 20
  /// Full blocks, then the last one, which holds `used` bytes.
  private var blocks: [UnsafeMutableRawBufferPointer] = []
  private var used = 0
  private(set) var count = 0

  /// Where the next read goes: the free end of the last block, or of a new one. Nil when the
  /// kernel refuses the memory.
  func space() -> UnsafeMutableRawBufferPointer? {
    if let last = blocks.last, used < last.count {
      return UnsafeMutableRawBufferPointer(rebasing: last[used...])
    }
    let mapped = mmap(nil, Self.blockSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let mapped, mapped != MAP_FAILED else { return nil }
    let block = UnsafeMutableRawBufferPointer(start: mapped, count: Self.blockSize)
    blocks.append(block)
    used = 0
    return block
  }

  /// Keeps `bytes` more bytes of the space last handed out.
  func commit(_ bytes: Int) {
    used += bytes
    count += bytes
  }

  /// The bytes in order, in one array of exactly their size; the buffer is empty afterwards.
  func joined() -> [UInt8] {
    let total = count
    let bytes = [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
      var offset = 0
      for (index, block) in blocks.enumerated() {
        let size = index == blocks.count - 1 ? used : block.count
        if size > 0, let source = block.baseAddress, let target = out.baseAddress {
          (target + offset).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: size)
        }
        offset += size
        munmap(block.baseAddress, block.count)
      }
      initialized = offset
    }
    blocks = []
    used = 0
    count = 0
    return bytes
  }

  deinit {
    for block in blocks { munmap(block.baseAddress, block.count) }
  }
}
