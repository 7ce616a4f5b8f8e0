import CDeflate
import CZlib
import CZstd
import Normalize
import UnitModel

/// Undoes the compression of the remote command (`Probe.remoteCommand`). A host's stdout is
/// what its login printed, if anything, then the probe's stream line naming the compressor,
/// then the compressed output; it becomes that login text followed by the output the probe
/// printed, byte for byte. Pure: bytes in, bytes out.
enum CompressedOutput {
  /// How far into stdout the stream line is looked for: text a shell's rc file prints at
  /// login comes before it.
  static let searchWindow = 64 << 10

  /// `output` with its stdout decompressed when it holds `probe`'s stream line, unchanged
  /// otherwise. Output past `limit` bytes of stdout and stderr together is cut and the output
  /// marked truncated: a small stream cannot inflate into more than the cap.
  static func decode(_ output: ProbeOutput, probe: Probe, limit: Int) -> ProbeOutput {
    guard let line = streamLine(in: output.stdout, probe: probe) else { return output }
    let login = output.stdout[..<line.start]
    let budget = max(0, limit - login.count - output.stderr.count)
    let result = output.stdout.withUnsafeBytes { all in
      decompress(UnsafeRawBufferPointer(rebasing: all[line.end...]), line.encoding, limit: budget)
    }
    var decoded = output
    decoded.stdout = login.isEmpty ? result.bytes : Array(login) + result.bytes
    decoded.truncated = output.truncated || result.overLimit
    var damage = result.damage
    // A stream cut by a lost connection or the cap is expected to end early.
    if damage == nil, !result.complete, !decoded.truncated, output.connectionLost == nil {
      damage = "the compressed output ended before its end"
    }
    decoded.transfer = ProbeTransfer(
      encoding: line.encoding, bytes: output.stdout.count - line.end, damage: damage)
    return decoded
  }

  /// Where `probe`'s stream line is in `stdout`: at its start, or at the start of a line
  /// within the search window.
  static func streamLine(in stdout: [UInt8], probe: Probe) -> (
    start: Int, end: Int, encoding: TransferEncoding
  )? {
    let prefix = Array((probe.markerPrefix + "stream ").utf8)
    let window = min(stdout.count, searchWindow)
    var start = 0
    while start + prefix.count <= window {
      if stdout[start..<start + prefix.count].elementsEqual(prefix) {
        guard let newline = stdout[(start + prefix.count)...].prefix(16).firstIndex(of: UInt8(ascii: "\n")),
          let encoding = TransferEncoding(
            rawValue: String(decoding: stdout[(start + prefix.count)..<newline], as: UTF8.self))
        else { return nil }
        return (start, newline + 1, encoding)
      }
      guard let next = stdout[start..<window].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
      start = next + 1
    }
    return nil
  }

  struct Decompressed {
    var bytes: [UInt8] = []
    /// The stream ended where its format says it ends.
    var complete = false
    /// More would have decompressed than the limit allows.
    var overLimit = false
    var damage: String?
  }

  /// The bytes `input` decompresses to, at most `limit` of them.
  static func decompress(_ input: UnsafeRawBufferPointer, _ encoding: TransferEncoding, limit: Int)
    -> Decompressed
  {
    guard let base = input.baseAddress, !input.isEmpty else { return Decompressed() }
    if encoding == .gzip, let bytes = wholeGzip(input, limit: limit) {
      return Decompressed(bytes: bytes, complete: true)
    }
    var sink = Sink(limit: limit, expected: input.count)
    defer { sink.scratch.deallocate() }
    switch encoding {
    case .zstd: zstd(base, input.count, into: &sink)
    case .gzip: gzip(base, input.count, into: &sink)
    }
    return sink.result
  }

  /// Where decompressed pieces go: a scratch block, then the result, up to the limit.
  private struct Sink {
    let limit: Int
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    var result = Decompressed()

    init(limit: Int, expected: Int) {
      self.limit = limit
      // Probe output shrinks 10–40×: room for that, so the result is rarely copied to grow.
      result.bytes.reserveCapacity(min(limit, expected * 16 + (64 << 10)))
    }

    /// Keeps the first `count` bytes of the scratch block; false once the limit is passed.
    mutating func keep(_ count: Int) -> Bool {
      let room = limit - result.bytes.count
      result.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<min(count, room)]))
      if count > room { result.overLimit = true }
      return count <= room
    }
  }

  /// One or more zstd frames.
  private static func zstd(_ base: UnsafeRawPointer, _ count: Int, into sink: inout Sink) {
    guard let context = ZSTD_createDCtx() else {
      sink.result.damage = "cannot create a zstd context"
      return
    }
    defer { ZSTD_freeDCtx(context) }
    var input = ZSTD_inBuffer(src: base, size: count, pos: 0)
    while true {
      var output = ZSTD_outBuffer(dst: sink.scratch.baseAddress, size: sink.scratch.count, pos: 0)
      let code = ZSTD_decompressStream(context, &output, &input)
      if ZSTD_isError(code) != 0 {
        sink.result.damage = "the zstd stream is damaged: " + String(cString: ZSTD_getErrorName(code))
        return
      }
      guard sink.keep(output.pos) else { return }
      // 0: a frame ended; with no input left, so did the stream.
      if code == 0 && input.pos == input.size {
        sink.result.complete = true
        return
      }
      // Input used up with room left over: the frame goes on past what arrived.
      if input.pos == input.size && output.pos < output.size { return }
    }
  }

  /// What `input` decompresses to when it is one whole gzip member whose trailer's size
  /// (its last four bytes) is within `limit`: libdeflate, in one call, into an array of that
  /// size. Nil for anything else (more members, a stream cut short or damaged, one that says
  /// a wrong size or more than the limit): `gzip(_:_:into:)` reads it then, piece by piece,
  /// keeping what it can and saying what went wrong. A trailer can lie: libdeflate then
  /// fails, and the array is dropped before zlib reads the stream.
  static func wholeGzip(_ input: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
    // A member is at least a 10-byte header and an 8-byte trailer.
    guard input.count >= 18, let base = input.baseAddress else { return nil }
    let size = Int(
      UInt32(littleEndian: input.loadUnaligned(fromByteOffset: input.count - 4, as: UInt32.self)))
    guard size > 0, size <= limit, let decompressor = libdeflate_alloc_decompressor() else { return nil }
    defer { libdeflate_free_decompressor(decompressor) }
    var whole = false
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
      var read = 0
      var written = 0
      let result = libdeflate_gzip_decompress_ex(
        decompressor, base, input.count, buffer.baseAddress, size, &read, &written)
      if result == LIBDEFLATE_SUCCESS && read == input.count && written == size {
        initialized = size
        whole = true
      }
    }
    return whole ? bytes : nil
  }

  /// One or more gzip members.
  private static func gzip(_ base: UnsafeRawPointer, _ count: Int, into sink: inout Sink) {
    guard count <= Int(UInt32.max) else {
      sink.result.damage = "the gzip stream is larger than zlib reads at once"
      return
    }
    var stream = z_stream()
    guard unitaudit_inflate_init_gzip(&stream) == Z_OK else {
      sink.result.damage = "cannot start zlib's inflater"
      return
    }
    defer { inflateEnd(&stream) }
    stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
    stream.avail_in = UInt32(count)
    while true {
      stream.next_out = sink.scratch.baseAddress?.assumingMemoryBound(to: Bytef.self)
      stream.avail_out = UInt32(sink.scratch.count)
      let code = inflate(&stream, Z_NO_FLUSH)
      guard sink.keep(sink.scratch.count - Int(stream.avail_out)) else { return }
      switch code {
      case Z_STREAM_END:
        if stream.avail_in == 0 {
          sink.result.complete = true
          return
        }
        // Another member follows (concatenated gzip streams are one stream).
        inflateReset(&stream)
      case Z_OK:
        if stream.avail_in == 0 && stream.avail_out > 0 { return }
      case Z_BUF_ERROR:
        return
      default:
        let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(code)"
        sink.result.damage = "the gzip stream is damaged: \(message)"
        return
      }
    }
  }
}
