import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Output read straight into blocks mapped from the kernel, and joined once, at the end: each
/// block is unmapped as soon as it has been copied, so a host's output costs its size plus one
/// block, also while it is joined. Pieces from the heap stay resident after they are freed
/// (the allocator keeps them), and a growing array copies itself on the way; mapped blocks
/// go back to the kernel as soon as they are unmapped.
///
/// The blocks of a usual output (up to `reusedBlocks` of them) are not unmapped but kept for
/// the next host (`SpareBlocks.shared`): mapping fresh ones costs a page fault for every
/// 4 KiB the output fills. A larger output's blocks go back to the kernel as before, so an output at
/// the cap is still held once while it is joined.
final class OutputBuffer {
  static let blockSize = 1 << 20
  /// Full blocks, then the last one, which holds `used` bytes.
  private var blocks: [UnsafeMutableRawBufferPointer] = []
  private var used = 0
  private(set) var count = 0
  private let spare: SpareBlocks

  init(spare: SpareBlocks = .shared) { self.spare = spare }

  /// Where the next read goes: the free end of the last block, or of a new one. Nil when the
  /// kernel refuses the memory.
  func space() -> UnsafeMutableRawBufferPointer? {
    if let last = blocks.last, used < last.count {
      return UnsafeMutableRawBufferPointer(rebasing: last[used...])
    }
    guard let block = spare.take() ?? Self.map() else { return nil }
    blocks.append(block)
    used = 0
    return block
  }

  private static func map() -> UnsafeMutableRawBufferPointer? {
    let mapped = mmap(nil, blockSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let mapped, mapped != MAP_FAILED else { return nil }
    return UnsafeMutableRawBufferPointer(start: mapped, count: blockSize)
  }

  /// Hands a block on to the next host, or back to the kernel.
  private func release(_ block: UnsafeMutableRawBufferPointer, keep: Bool) {
    if !keep || !spare.give(block) { munmap(block.baseAddress, block.count) }
  }

  /// Keeps `bytes` more bytes of the space last handed out.
  func commit(_ bytes: Int) {
    used += bytes
    count += bytes
  }

  /// The bytes in order, in one array of exactly their size; the buffer is empty afterwards.
  func joined() -> [UInt8] {
    let total = count
    let keep = blocks.count <= Self.reusedBlocks
    let bytes = [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
      var offset = 0
      for (index, block) in blocks.enumerated() {
        let size = index == blocks.count - 1 ? used : block.count
        if size > 0, let source = block.baseAddress, let target = out.baseAddress {
          (target + offset).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: size)
        }
        offset += size
        release(block, keep: keep)
      }
      initialized = offset
    }
    blocks = []
    used = 0
    count = 0
    return bytes
  }

  deinit {
    let keep = blocks.count <= Self.reusedBlocks
    for block in blocks { release(block, keep: keep) }
  }

  /// The most blocks an output may fill for them to be kept for the next host: a usual probe
  /// output is 1–2 MB.
  static let reusedBlocks = 2
}

/// Mapped output blocks no host is using, at most `limit`; the process's own (`shared`)
/// keeps 64 (64 MiB), as many as 32 hosts probed at once hold anyway. Kept as addresses (a
/// raw pointer is not `Sendable`).
final class SpareBlocks: Sendable {
  static let shared = SpareBlocks(limit: 64)
  let limit: Int
  private let spare = Mutex<[UInt]>([])

  init(limit: Int) { self.limit = limit }

  var count: Int { spare.withLock { $0.count } }

  func take() -> UnsafeMutableRawBufferPointer? {
    guard let address = spare.withLock({ $0.popLast() }) else { return nil }
    return UnsafeMutableRawBufferPointer(
      start: UnsafeMutableRawPointer(bitPattern: address), count: OutputBuffer.blockSize)
  }

  /// Keeps `block` for the next host; false when `limit` blocks are kept already.
  func give(_ block: UnsafeMutableRawBufferPointer) -> Bool {
    guard let base = block.baseAddress else { return false }
    return spare.withLock { spare in
      guard spare.count < limit else { return false }
      spare.append(UInt(bitPattern: base))
      return true
    }
  }

  deinit {
    for address in spare.withLock({ $0 }) {
      munmap(UnsafeMutableRawPointer(bitPattern: address), OutputBuffer.blockSize)
    }
  }
}
