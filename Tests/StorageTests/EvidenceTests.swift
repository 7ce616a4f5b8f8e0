import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Storage

@Suite("evidence: byte for byte, compressed, in the host's transaction")
struct EvidenceTests {
  func directory() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("evidence-\(UUID().uuidString)")
  }

  func evidence(stdout: [UInt8], stderr: [UInt8]) -> HostEvidence {
    HostEvidence(
      host: "h1", nonce: "00112233445566778899aabbccddeeff", probeVersion: 1,
      output: ProbeOutput(
        stdout: stdout, stderr: stderr, exitStatus: 3, truncated: true, connectionLost: "reset by peer"))
  }

  /// A scan directory holding `hosts`, each with its evidence.
  func scan(_ hosts: [(HostReport, HostEvidence?)], at url: URL) async throws {
    let store = try ScanStore.create(
      at: url,
      metadata: ScanMetadata(
        id: UUID().uuidString, toolVersion: "test", probeVersion: 2, mode: .ssh, state: .complete,
        startedAt: Date(timeIntervalSince1970: 1_795_000_000), targets: ["t"],
        plannedHosts: hosts.map(\.0.name)))
    for (host, evidence) in hosts { try await store.append(host, evidence: evidence) }
    try await store.close()
  }

  @Test(
    "what is stored reads back byte for byte, with everything its meta records",
    arguments: [0, 1, 4096, (1 << 20) + 17, 3 << 20])
  func roundTrip(size: Int) async throws {
    var generator = SystemRandomNumberGenerator()
    // Half text that compresses, half random bytes that do not: both cross the 1 MiB pieces.
    let text = Array(String(repeating: "PrivateTmp=yes\n", count: size / 30 + 1).utf8.prefix(size / 2))
    let noise = (0..<(size - text.count)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let written = evidence(stdout: text + noise, stderr: Array("warning: \(size)\n".utf8))
    let url = directory()
    defer { try? FileManager.default.removeItem(at: url) }
    try await scan([(HostReport(name: "h1", status: HostStatus(.truncated)), written)], at: url)
    #expect(try Evidence.read(scan: url, host: "h1") == written)
    // Nothing beside the database: the evidence is in it.
    #expect(try FileManager.default.contentsOfDirectory(atPath: url.path) == [ScanStore.databaseFile])
  }

  @Test("one compressor gives every frame whole, each with its size and checksum, large or empty")
  func compressorReuse() throws {
    let compressor = try ZstdCompressor()
    let large = Array(String(repeating: "ProtectSystem=strict\n", count: 100_000).utf8)
    var generator = SystemRandomNumberGenerator()
    let noise = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    for bytes in [large, [], Array("NoNewPrivileges=yes\n".utf8), noise, large] {
      let frame = try compressor.compress(bytes)
      #expect(try Zstd.decompress(frame, limit: bytes.count) == bytes)
      // The frame header's descriptor: content size present, checksum flag set.
      #expect(frame.count > 5 && frame[4] & 0x04 != 0)
    }
    // The worst case (bytes zstd cannot shrink) fits the room it is given.
    #expect(try compressor.compress(noise).count > noise.count)
  }

  @Test("the probe's output of a real host shrinks to a few dozen kilobytes")
  func realHost() async throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("NormalizeTests/Fixtures/probe/h2")
    let recorded = try RecordedProbe.read(fixtures)
    #expect(recorded.output.stdout.count > 1_000_000)
    let stored = try Evidence.encode(recorded, compressor: try ZstdCompressor())
    let size = stored.stdout.count + stored.stderr.count + stored.meta.utf8.count
    #expect(size < 200_000, "\(size) bytes")
    let url = directory()
    defer { try? FileManager.default.removeItem(at: url) }
    try await scan([(HostReport(name: "h2", status: HostStatus(.ok)), recorded)], at: url)
    #expect(try Evidence.read(scan: url, host: "h2").output == recorded.output)
  }

  @Test("a host recorded again replaces its evidence; one recorded without evidence has none")
  func replaced() async throws {
    let url = directory()
    defer { try? FileManager.default.removeItem(at: url) }
    let first = evidence(stdout: Array("first".utf8), stderr: [])
    let second = evidence(stdout: Array("second".utf8), stderr: [])
    try await scan(
      [
        (HostReport(name: "h1", status: HostStatus(.ok)), first),
        (HostReport(name: "h1", status: HostStatus(.ok)), second),
        (HostReport(name: "h2", status: HostStatus(.ok)), first),
        (HostReport(name: "h2", status: HostStatus(.unreachable, reason: "refused")), nil),
      ], at: url)
    #expect(try Evidence.read(scan: url, host: "h1") == second)
    #expect {
      try Evidence.read(scan: url, host: "h2")
    } throws: { error in
      "\(error)".contains("h2") && "\(error)".contains("not probed")
    }
    #expect {
      try Evidence.read(scan: url, host: "nope")
    } throws: { error in
      "\(error)".contains("nope") && "\(error)".contains("no host of that name")
    }
  }

  @Test("a damaged stream is an error that names the host and the stream")
  func damaged() throws {
    let written = evidence(stdout: Array("abc".utf8), stderr: [])
    var stored = try Evidence.encode(written, compressor: try ZstdCompressor())
    #expect(try Evidence.decode(stored, what: "h1") == written)
    stored.stdout[stored.stdout.count - 2] ^= 0xFF
    #expect {
      try Evidence.decode(stored, what: "host h1")
    } throws: { error in
      "\(error)".contains("host h1") && "\(error)".contains("stdout")
    }
    // A frame that decompresses to more than the meta records is refused too.
    stored.stdout = try Zstd.compress(Array("abcd".utf8))
    #expect {
      try Evidence.decode(stored, what: "host h1")
    } throws: { error in
      "\(error)".contains("stdout")
    }
  }
}
