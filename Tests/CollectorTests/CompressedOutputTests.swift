import Foundation
import Normalize
import TestSupport
import Testing
import UnitModel

@testable import Collector

/// The remote command's compression: streams made by the real zstd and gzip programs,
/// decoded by `CompressedOutput`; the real script run through the remote command on each
/// branch it can take.
@Suite("the probe's compressed output")
struct CompressedOutputTests {
  let probe = Probe(nonce: "0123456789abcdef0123456789abcdef")

  /// `bytes` through `command` (a compressor reading stdin), by the real program.
  func compressed(_ bytes: [UInt8], _ command: String) throws -> [UInt8] {
    let input = try temporaryDirectory("compress").appendingPathComponent("in")
    try Data(bytes).write(to: input)
    guard
      case .output(let output, _) = runProcess(
        ["/bin/sh", "-c", "\(command) < \(shellQuote(input.path))"], limits: ProbeLimits()),
      output.exitStatus == 0
    else { throw TestFailure("\(command) failed") }
    return output.stdout
  }

  func line(_ encoding: TransferEncoding) -> [UInt8] { Array((probe.streamLine(encoding) + "\n").utf8) }

  /// Probe-like text: markers and a long JSON-ish body that compresses well.
  var payload: [UInt8] {
    var text = "@@unitaudit-\(probe.nonce) begin probe -\n2\n\n@@unitaudit-\(probe.nonce) end probe 0\n"
    for unit in 0..<2_000 {
      text += #"{"unit":"u\#(unit).service","exposure":"9.6","checks":["PrivateTmp"]}"# + "\n"
    }
    return Array(text.utf8)
  }

  /// The stderr of `payload`'s one section.
  var stderr: [UInt8] {
    Array("@@unitaudit-\(probe.nonce) begin probe -\n\n@@unitaudit-\(probe.nonce) end probe 0\n".utf8)
  }

  func decode(_ stdout: [UInt8], limit: Int = 64 << 20, lost: String? = nil) -> ProbeOutput {
    CompressedOutput.decode(
      ProbeOutput(stdout: stdout, stderr: stderr, exitStatus: 0, connectionLost: lost), probe: probe,
      limit: limit)
  }

  @Test("zstd and gzip streams decode to what was compressed, byte for byte")
  func roundTrip() throws {
    for encoding in TransferEncoding.allCases {
      let stream = try compressed(payload, encoding.hostCommand)
      let output = decode(line(encoding) + stream)
      #expect(output.stdout == payload, "\(encoding)")
      #expect(output.transfer == ProbeTransfer(encoding: encoding, bytes: stream.count), "\(encoding)")
      #expect(!output.truncated && output.stderr == stderr)
      #expect(stream.count * 10 < payload.count, "\(encoding): \(stream.count) of \(payload.count)")
    }
  }

  @Test("one whole gzip member is read in one call; anything else is left to the reader piece by piece")
  func wholeGzip() throws {
    let stream = try compressed(payload, "gzip -1 -c")
    func whole(_ bytes: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
      bytes.withUnsafeBytes { CompressedOutput.wholeGzip($0, limit: limit) }
    }
    #expect(whole(stream) == payload)
    #expect(whole(stream, limit: payload.count) == payload)
    // Over the limit, two members, cut short, damaged: not whole; decoding still reads them.
    #expect(whole(stream, limit: payload.count - 1) == nil)
    #expect(whole(stream + stream) == nil)
    #expect(whole(Array(stream.dropLast(9))) == nil)
    var damaged = stream
    damaged[stream.count / 2] ^= 0x5A
    #expect(whole(damaged) == nil)
    // A trailer that says a size other than the member's: refused, and zlib says why.
    for claimed in [UInt32(payload.count - 1), UInt32(payload.count + 1), 1] {
      var lying = stream
      withUnsafeBytes(of: claimed.littleEndian) { lying.replaceSubrange((lying.count - 4)..., with: $0) }
      #expect(whole(lying) == nil, "\(claimed)")
      let output = decode(line(.gzip) + lying)
      #expect(output.stdout == payload && output.transfer?.damage?.contains("damaged") == true, "\(claimed)")
    }
    #expect(decode(line(.gzip) + stream + stream).stdout == payload + payload)
  }

  @Test("what a login printed before the stream line is kept ahead of the output")
  func loginText() throws {
    let banner = Array("Welcome to web01\nlast login: never\n".utf8)
    let output = decode(banner + line(.gzip) + (try compressed(payload, TransferEncoding.gzip.hostCommand)))
    #expect(output.stdout == banner + payload)
    #expect(output.transfer?.encoding == .gzip && output.transfer?.damage == nil)
  }

  @Test("gzip members one after another are one stream; zstd frames too")
  func concatenated() throws {
    for encoding in TransferEncoding.allCases {
      let first = try compressed(Array(payload.prefix(5_000)), encoding.hostCommand)
      let second = try compressed(Array(payload.dropFirst(5_000)), encoding.hostCommand)
      let output = decode(line(encoding) + first + second)
      #expect(output.stdout == payload, "\(encoding)")
      #expect(output.transfer?.damage == nil, "\(encoding)")
    }
  }

  @Test("output without this probe's stream line is left as it came")
  func plain() throws {
    let other = Probe(nonce: "ffffffffffffffffffffffffffffffff")
    let stream = Array((other.streamLine(.gzip) + "\n").utf8) + (try compressed(payload, "gzip -1 -c"))
    #expect(decode(stream).stdout == stream && decode(stream).transfer == nil)
    #expect(decode(payload).stdout == payload && decode(payload).transfer == nil)
    let unknown = Array((probe.markerPrefix + "stream lz4\n").utf8) + payload
    #expect(decode(unknown).stdout == unknown)
  }

  @Test("a stream cut short keeps what decompressed, and says so unless the connection broke")
  func cutShort() throws {
    for encoding in TransferEncoding.allCases {
      let stream = try compressed(payload, encoding.hostCommand)
      let cut = Array(stream.prefix(stream.count / 2))
      let output = decode(line(encoding) + cut)
      #expect(output.transfer?.damage == "the compressed output ended before its end", "\(encoding)")
      #expect(payload.starts(with: output.stdout), "\(encoding)")
      let lost = decode(line(encoding) + cut, lost: "connection reset")
      #expect(lost.transfer?.damage == nil && lost.connectionLost == "connection reset", "\(encoding)")
    }
  }

  @Test("a damaged stream is reported, and the host is partial with a diagnostic")
  func damaged() throws {
    for encoding in TransferEncoding.allCases {
      var stream = try compressed(payload, encoding.hostCommand)
      for index in stride(from: stream.count / 3, to: stream.count / 3 + 64, by: 1) { stream[index] ^= 0x5A }
      let output = decode(line(encoding) + stream)
      let damage = try #require(output.transfer?.damage, "\(encoding)")
      #expect(damage.contains("damaged") || damage.contains("ended before"), "\(encoding): \(damage)")
      let report = normalize(
        HostEvidence(host: "h", nonce: probe.nonce, probeVersion: Probe.version, output: output),
        label: HostLabel(name: "h"))
      if output.stdout.count > 100 {
        // The probe's section came through before the damage: the host is partial.
        #expect(report.diagnostics.contains { $0.code == "probe.transfer-damaged" }, "\(encoding)")
        #expect(report.status.code == .partial, "\(encoding): \(report.status)")
      } else {
        #expect(report.status.code == .probeFailed, "\(encoding): \(report.status)")
        #expect(report.status.reason?.contains("could not be read to its end") == true, "\(encoding)")
      }
    }
  }

  @Test("a small stream cannot inflate past the output cap: cut there, and the host truncated")
  func bomb() throws {
    // 64 MiB of one byte: a few hundred kilobytes of gzip, a few kilobytes of zstd.
    let zeros = [UInt8](repeating: 0x61, count: 64 << 20)
    for encoding in TransferEncoding.allCases {
      let stream = try compressed(zeros, encoding.hostCommand)
      #expect(stream.count < 1 << 20)
      let output = decode(line(encoding) + stream, limit: 1 << 20)
      #expect(output.truncated, "\(encoding)")
      #expect(output.stdout.count + output.stderr.count == 1 << 20, "\(encoding)")
      #expect(output.transfer?.damage == nil, "\(encoding)")
    }
  }
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
