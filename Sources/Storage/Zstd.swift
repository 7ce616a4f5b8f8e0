import CZstd

/// zstd (Debian's libzstd) for the evidence: one frame per stream, its content size in
/// the frame header.
public enum Zstd {
  /// Level 3, zstd's default: the probe's output (mostly the security JSON) shrinks about 40×
  /// at over a gigabyte a second.
  static let level: Int32 = 3

  /// `bytes` as one zstd frame that records its content size, handed to `sink` a piece at a
  /// time (with a context made for it; a writer of many frames keeps a `ZstdCompressor`).
  static func compress(_ bytes: [UInt8], into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    try ZstdCompressor().compress(bytes, into: sink)
  }

  /// `bytes` as one zstd frame, in memory (for tests).
  static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = []
    try compress(bytes) { out.append(contentsOf: $0) }
    return out
  }

  /// The bytes of one zstd frame, which must say its content size and hold at most `limit`
  /// bytes (a damaged or hostile file cannot make this allocate more).
  public static func decompress(_ frame: [UInt8], limit: Int) throws(ZstdError) -> [UInt8] {
    let size = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
    if size == unitaudit_zstd_contentsize_error { throw ZstdError(reason: "not a zstd frame") }
    if size == unitaudit_zstd_contentsize_unknown {
      throw ZstdError(reason: "the frame does not say its size")
    }
    guard size <= UInt64(limit) else {
      throw ZstdError(reason: "the frame holds \(size) bytes, more than the \(limit) expected")
    }
    var out = [UInt8](repeating: 0, count: Int(size))
    let written = frame.withUnsafeBytes { source in
      out.withUnsafeMutableBytes { target in
        ZSTD_decompress(target.baseAddress, target.count, source.baseAddress, source.count)
      }
    }
    if ZSTD_isError(written) != 0 { throw ZstdError(reason: String(cString: ZSTD_getErrorName(written))) }
    guard written == Int(size) else { throw ZstdError(reason: "the frame is shorter than it says") }
    return out
  }
}

/// One zstd compression context, kept for many frames (a scan database's parts, the hosts'
/// evidence): creating a context for each is most of the cost of compressing a few
/// kilobytes, and for a megabyte it maps and clears the context's tables again. Not
/// thread-safe: used by its one owner (a `ScanTables`, a `ScanStore`).
final class ZstdCompressor {
  private let context: OpaquePointer
  /// Where `compress(_:into:)` puts each piece, made on first use.
  private var chunk: UnsafeMutableRawBufferPointer?

  init() throws {
    guard let context = ZSTD_createCCtx() else { throw ZstdError(reason: "cannot create a zstd context") }
    self.context = context
    for (parameter, value) in [(ZSTD_c_compressionLevel, Zstd.level), (ZSTD_c_checksumFlag, 1)] {
      let code = ZSTD_CCtx_setParameter(context, parameter, value)
      if ZSTD_isError(code) != 0 {
        ZSTD_freeCCtx(context)
        throw ZstdError(reason: String(cString: ZSTD_getErrorName(code)))
      }
    }
  }

  deinit {
    ZSTD_freeCCtx(context)
    chunk?.deallocate()
  }

  /// `bytes` as one zstd frame that records its content size, handed to `sink` a piece of at
  /// most 1 MiB at a time: a capped 64 MiB output is not held twice.
  func compress(_ bytes: [UInt8], into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    // A frame cut short by an error leaves the context mid-frame: every frame starts anew.
    try check(ZSTD_CCtx_reset(context, ZSTD_reset_session_only))
    try check(ZSTD_CCtx_setPledgedSrcSize(context, UInt64(bytes.count)))
    let chunk = self.chunk ?? UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    self.chunk = chunk
    try bytes.withUnsafeBytes { source in
      var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
      while true {
        var output = ZSTD_outBuffer(dst: chunk.baseAddress, size: chunk.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &output, &input, ZSTD_e_end)
        try check(remaining)
        try sink(UnsafeRawBufferPointer(rebasing: chunk[..<output.pos]))
        if remaining == 0 { return }
      }
    }
  }

  private func check(_ code: Int) throws(ZstdError) {
    if ZSTD_isError(code) != 0 { throw ZstdError(reason: String(cString: ZSTD_getErrorName(code))) }
  }

  /// `bytes` as one zstd frame that records its content size.
  func compress(_ bytes: [UInt8]) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
    let written = bytes.withUnsafeBytes { source in
      out.withUnsafeMutableBytes { target in
        ZSTD_compress2(context, target.baseAddress, target.count, source.baseAddress, source.count)
      }
    }
    if ZSTD_isError(written) != 0 { throw ZstdError(reason: String(cString: ZSTD_getErrorName(written))) }
    out.removeSubrange(written...)
    return out
  }
}

public struct ZstdError: Error, CustomStringConvertible, Sendable {
  public var reason: String
  public var description: String { reason }
}
