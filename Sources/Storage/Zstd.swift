import CZstd

/// zstd (Debian's libzstd) for the evidence: one frame per stream, its content size in
/// the frame header.
public enum Zstd {
  /// Level 3, zstd's default: the probe's output (mostly the security JSON) shrinks about 40×
  /// at over a gigabyte a second.
  static let level: Int32 = 3

  /// `bytes` as one zstd frame that records its content size (with a context made for it; a
  /// writer of many frames keeps a `ZstdCompressor`).
  static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
    try ZstdCompressor().compress(bytes)
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

  deinit { ZSTD_freeCCtx(context) }

  /// `bytes` as one zstd frame that records its content size and a checksum. In one call:
  /// zstd reads `bytes` where they are (a stream would copy them into a window buffer of
  /// its own first), and writes into an array as large as the worst case, which is left
  /// unwritten, and so not in memory, beyond the frame's end.
  func compress(_ bytes: [UInt8]) throws -> [UInt8] {
    let bound = ZSTD_compressBound(bytes.count)
    if ZSTD_isError(bound) != 0 { throw ZstdError(reason: String(cString: ZSTD_getErrorName(bound))) }
    var failure: Int?
    let frame = bytes.withUnsafeBytes { source in
      [UInt8](unsafeUninitializedCapacity: bound) { target, count in
        let written = ZSTD_compress2(
          context, target.baseAddress, target.count, source.baseAddress, source.count)
        if ZSTD_isError(written) != 0 { failure = written } else { count = written }
      }
    }
    if let failure { throw ZstdError(reason: String(cString: ZSTD_getErrorName(failure))) }
    return frame
  }
}

public struct ZstdError: Error, CustomStringConvertible, Sendable {
  public var reason: String
  public var description: String { reason }
}
