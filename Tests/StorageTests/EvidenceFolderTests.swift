import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Storage

@Suite("evidence folders: byte for byte, compressed")
struct EvidenceFolderTests {
  func folder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("evidence-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  func evidence(stdout: [UInt8], stderr: [UInt8]) -> HostEvidence {
    HostEvidence(
      host: "h1", nonce: "00112233445566778899aabbccddeeff", probeVersion: 1,
      output: ProbeOutput(
        stdout: stdout, stderr: stderr, exitStatus: 3, truncated: true, connectionLost: "reset by peer"))
  }

  @Test(
    "what is written reads back byte for byte, with everything meta.json records",
    arguments: [0, 1, 4096, (1 << 20) + 17, 3 << 20])
  func roundTrip(size: Int) throws {
    var generator = SystemRandomNumberGenerator()
    // Half text that compresses, half random bytes that do not: both cross the 1 MiB pieces.
    let text = Array(String(repeating: "PrivateTmp=yes\n", count: size / 30 + 1).utf8.prefix(size / 2))
    let noise = (0..<(size - text.count)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let written = evidence(stdout: text + noise, stderr: Array("warning: \(size)\n".utf8))
    let url = try folder()
    defer { try? FileManager.default.removeItem(at: url) }
    try EvidenceFolder.write(written, to: url)
    #expect(try EvidenceFolder.read(url) == written)
    let files = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    #expect(files == ["meta.json", "stderr.zst", "stdout.zst"])
  }

  @Test("the probe's output of a real host shrinks to a few dozen kilobytes")
  func realHost() throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("NormalizeTests/Fixtures/probe/h2")
    let recorded = try RecordedProbe.read(fixtures)
    #expect(recorded.output.stdout.count > 1_000_000)
    let url = try folder()
    defer { try? FileManager.default.removeItem(at: url) }
    try EvidenceFolder.write(recorded, to: url)
    let size = try FileManager.default.contentsOfDirectory(atPath: url.path).reduce(0) {
      $0
        + ((try FileManager.default.attributesOfItem(atPath: url.appendingPathComponent($1).path)[.size]
          as? Int) ?? 0)
    }
    #expect(size < 200_000, "\(size) bytes")
    #expect(try EvidenceFolder.read(url).output == recorded.output)
  }

  @Test("a damaged stream is an error that names its folder and file")
  func damaged() throws {
    let url = try folder()
    defer { try? FileManager.default.removeItem(at: url) }
    try EvidenceFolder.write(evidence(stdout: Array("abc".utf8), stderr: []), to: url)
    let stdout = url.appendingPathComponent("stdout.zst")
    var bytes = try Array(Data(contentsOf: stdout))
    bytes[bytes.count - 2] ^= 0xFF
    try Data(bytes).write(to: stdout)
    #expect {
      try EvidenceFolder.read(url)
    } throws: { error in
      "\(error)".contains(url.path) && "\(error)".contains("stdout.zst")
    }
    // A frame that decompresses to more than meta.json records is refused too.
    try Data(try Zstd.compress(Array("abcd".utf8))).write(to: stdout)
    #expect {
      try EvidenceFolder.read(url)
    } throws: { error in
      "\(error)".contains("stdout.zst")
    }
  }
}
