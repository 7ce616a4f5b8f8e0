import Collector
import Coverage
import Foundation
import Testing

@Suite("canary.json: a canary run's results in the scan directory")
struct CanaryResultsTests {
  func directory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "canary-results-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  @Test("no run yet: no results; a run's results read back as written")
  func readBack() throws {
    let scan = try directory()
    defer { try? FileManager.default.removeItem(at: scan) }
    #expect(try CanaryRun.results(scan: scan).isEmpty)
    let written = [
      CanaryResult(host: "h2", systemd: 252, unit: "nginx.service", kept: ["PrivateTmp=yes"], trials: 3),
      CanaryResult(
        role: .confirm, host: "h9", systemd: 252, unit: "nginx.service", kept: ["PrivateTmp=yes"], trials: 2,
        check: CanaryTrial(lines: ["PrivateTmp=yes"], passed: true)),
    ]
    try JSONEncoder().encode(written).write(to: scan.appendingPathComponent(CanaryRun.resultsFile))
    #expect(try CanaryRun.results(scan: scan) == written)
  }

  @Test("a damaged canary.json is refused with its path and what to do")
  func damaged() throws {
    let scan = try directory()
    defer { try? FileManager.default.removeItem(at: scan) }
    let file = scan.appendingPathComponent(CanaryRun.resultsFile)
    try Data("[{\"host\": \"h2\"".utf8).write(to: file)
    do {
      _ = try CanaryRun.results(scan: scan)
      Issue.record("a damaged file was read")
    } catch {
      #expect("\(error)".contains(file.path) && "\(error)".contains("suggest --canary"), "\(error)")
    }
  }
}
