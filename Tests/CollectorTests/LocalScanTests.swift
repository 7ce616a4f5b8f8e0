import Foundation
import Inventory
import Normalize
import Testing
import UnitModel

@testable import Collector

func temporaryDirectory(_ name: String) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "unitaudit-tests-\(name)-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// A new scan of `planned` hosts in a fresh directory, and its store.
func newStore(_ name: String, planned: [String]) throws -> (directory: URL, store: ScanStore) {
  let directory = try temporaryDirectory(name).appendingPathComponent("s")
  let metadata = ScanMetadata(
    id: "t", toolVersion: "test", probeVersion: 1, mode: .ssh, startedAt: Date(), targets: [],
    plannedHosts: planned)
  return (directory, try ScanStore.create(at: directory, metadata: metadata))
}

/// A scan as older versions (schema 2) stored it, `scan.json` and `hosts.jsonl` (a host given
/// twice is two lines, as a resumed scan wrote them).
func writeLegacyScan(_ name: String, hosts: [HostReport]) throws -> URL {
  let directory = try temporaryDirectory(name).appendingPathComponent("s")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  var names: [String] = []
  for host in hosts where !names.contains(host.name) { names.append(host.name) }
  var metadata = ScanMetadata(
    id: "t", toolVersion: "test", probeVersion: 1, mode: .ssh,
    startedAt: Date(timeIntervalSince1970: 1_795_000_000),
    targets: [], plannedHosts: names)
  metadata.schemaVersion = 2
  try ScanCoding.prettyEncoder.encode(metadata).write(to: directory.appendingPathComponent("scan.json"))
  var lines = Data()
  for host in hosts {
    lines += try HostLines.line(host)
    lines.append(UInt8(ascii: "\n"))
  }
  try lines.write(to: directory.appendingPathComponent("hosts.jsonl"))
  return directory
}

func mode(_ path: String) throws -> Int {
  let attributes = try FileManager.default.attributesOfItem(atPath: path)
  return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

@Suite("local scan and the scan directory")
struct LocalScanTests {
  @Test("scanning this machine writes a readable scan directory, private to its owner")
  func localScan() async throws {
    let directory = try temporaryDirectory("local").appendingPathComponent("scan")
    let probe = Probe.random()
    let metadata = ScanMetadata(
      id: "t", toolVersion: "test", probeVersion: Probe.version, mode: .local, startedAt: Date(),
      targets: ["local"],
      plannedHosts: ["this"])
    let store = try ScanStore.create(at: directory, metadata: metadata)
    let transport = LocalTransport()
    let collector = Collector(transport: transport, probe: probe, store: store, concurrency: 1)
    let reports = try await collector.collect([FleetHost.local(hostname: "this")])
    transport.shutdown()
    try await store.close()

    let booted = FileManager.default.fileExists(atPath: "/run/systemd/system")
    let report = try #require(reports.first)
    if booted {
      #expect(report.status.code == .ok || report.status.code == .partial)
      #expect(!report.services.isEmpty)
    } else {
      #expect(report.status.code == .noSystemd)
      #expect(report.status.reason?.contains("PID 1") == true)
    }
    #expect(report.identity?.hostname == ProcessInfo.processInfo.hostName)
    #expect(report.evidence == "evidence/this")

    let loaded = try loadScan(directory)
    // Dates are stored to the second.
    var stored = try #require(loaded.scan.hosts.first)
    #expect(abs((stored.startedAt ?? .distantPast).timeIntervalSince(report.startedAt ?? .distantFuture)) < 1)
    stored.startedAt = report.startedAt
    #expect(loaded.scan.hosts.count == 1)
    #expect(stored == report)
    #expect(loaded.skippedLines.isEmpty)
    #expect(loaded.scan.metadata.plannedHosts == ["this"])
    #expect(try mode(directory.path) == 0o700)
    #expect(try mode(directory.appendingPathComponent("evidence/this").path) == 0o700)
    for file in [
      "scan.db", "evidence/this/stdout.zst", "evidence/this/stderr.zst",
      "evidence/this/meta.json",
    ] {
      #expect(try mode(directory.appendingPathComponent(file).path) == 0o600, "\(file)")
    }
    // The evidence normalizes again to the same host.
    let evidence = try EvidenceFolder.read(directory.appendingPathComponent("evidence/this"))
    #expect(evidence.nonce == probe.nonce)
    let again = normalize(evidence, label: HostLabel(name: "this", address: "localhost", groups: ["local"]))
    #expect(again.status == report.status)
    #expect(again.services == report.services)
  }

  @Test("reading what is not a scan says what it is, in words")
  func notAScan() throws {
    let directory = try temporaryDirectory("not-a-scan")
    func message(_ url: URL) -> String {
      do {
        _ = try loadScan(url)
        return "read"
      } catch {
        return "\(error)"
      }
    }
    let file = directory.appendingPathComponent("file")
    try Data("x".utf8).write(to: file)
    let missing = message(directory.appendingPathComponent("missing"))
    #expect(missing.hasSuffix("is not a readable unitaudit scan: no such directory"), "\(missing)")
    #expect(message(file).contains("a file, not a scan directory"), "\(message(file))")
    #expect(message(directory).contains("it has no scan.db"), "\(message(directory))")
    let metadata = directory.appendingPathComponent("scan.json")
    try Data("{nope".utf8).write(to: metadata)
    #expect(
      message(directory).hasSuffix("scan.json is not a scan's metadata: not valid JSON"),
      "\(message(directory))")
    try Data(#"{"schemaVersion":2}"#.utf8).write(to: metadata)
    #expect(
      message(directory).hasSuffix("scan.json is not a scan's metadata: 'id' is missing"),
      "\(message(directory))")
  }

  @Test("a new scan refuses a directory that is not empty")
  func refusesNonEmpty() throws {
    let directory = try temporaryDirectory("nonempty")
    try Data("x".utf8).write(to: directory.appendingPathComponent("file"))
    let metadata = ScanMetadata(
      id: "t", toolVersion: "test", probeVersion: 1, mode: .local, startedAt: Date(), targets: [],
      plannedHosts: [])
    #expect(throws: ScanStoreError.self) { try ScanStore.create(at: directory, metadata: metadata) }
  }

  @Test("an older scan: a torn last line is dropped, not mis-read; a host written twice keeps its last line")
  func tornLine() throws {
    let directory = try writeLegacyScan(
      "torn",
      hosts: [
        HostReport(name: "a", status: HostStatus(.timeout, reason: "slow")),
        HostReport(name: "a", status: HostStatus(.ok)),
        HostReport(name: "b", status: HostStatus(.ok)),
      ])
    let hostsFile = directory.appendingPathComponent("hosts.jsonl")
    var data = try Data(contentsOf: hostsFile)
    data.removeLast(10)
    try data.write(to: hostsFile)
    let loaded = try loadScan(directory)
    #expect(loaded.scan.hosts.map(\.name) == ["a"])
    #expect(loaded.scan.hosts.first?.status.code == .ok)
    #expect(loaded.skippedLines == [3])
  }

  @Test("a host recorded twice in a scan database keeps its place and its last record")
  func recordedTwice() async throws {
    let (directory, store) = try newStore("twice", planned: ["a", "b"])
    var first = HostReport(name: "a", status: HostStatus(.timeout, reason: "slow"))
    first.services = [ServiceRecord(id: "x.service", loadState: "loaded")]
    try await store.append(first, evidence: nil)
    try await store.append(HostReport(name: "b", status: HostStatus(.ok)), evidence: nil)
    var again = HostReport(name: "a", status: HostStatus(.ok))
    again.services = [ServiceRecord(id: "y.service", loadState: "loaded")]
    try await store.append(again, evidence: nil)
    try await store.close()
    let loaded = try loadScan(directory)
    #expect(loaded.scan.hosts.map(\.name) == ["a", "b"])
    #expect(loaded.scan.hosts.first == again)
    #expect(loaded.skippedLines.isEmpty)
  }

  @Test("hosts read back share one copy of equal hardening settings; different ones stay apart")
  func sharedSettings() async throws {
    let (directory, store) = try newStore("shared", planned: ["a", "b", "c"])
    func host(_ name: String, privateTmp: Bool) -> HostReport {
      var settings = HardeningSettings()
      settings.privateTmp = Setting(
        privateTmp, source: Provenance(file: "/usr/lib/systemd/system/x.service", line: 7))
      var report = HostReport(name: name, status: HostStatus(.ok))
      report.services = [ServiceRecord(id: "x.service", loadState: "loaded", hardening: settings)]
      return report
    }
    try await store.append(host("a", privateTmp: true), evidence: nil)
    try await store.append(host("b", privateTmp: true), evidence: nil)
    try await store.append(host("c", privateTmp: false), evidence: nil)
    try await store.close()
    let hosts = try loadScan(directory).scan.hosts
    let settings = hosts.compactMap { $0.services.first?.hardening }
    try #require(settings.count == 3)
    #expect(settings[0].sharesStorage(with: settings[1]))
    #expect(!settings[0].sharesStorage(with: settings[2]))
    #expect(settings.map { $0.privateTmp?.value } == [true, true, false])
  }

  @Test("hosts read back share one copy of equal checks and directives; different ones stay apart")
  func sharedChecksAndDirectives() async throws {
    let (directory, store) = try newStore("shared-checks", planned: ["a", "b", "c"])
    func host(_ name: String, exposure: Int) -> HostReport {
      var service = ServiceRecord(id: "x.service", loadState: "loaded")
      service.checks = [
        "PrivateTmp": SecurityCheck(
          name: "PrivateTmp=", description: "Service has access to other software's temporary files",
          set: false, exposure: Exposure(tenths: exposure)),
        "User": SecurityCheck(
          name: "User=/DynamicUser=", description: "Service runs as root user", set: false,
          exposure: Exposure(tenths: 4)),
      ]
      service.directives = [
        Directive(
          section: "Service", key: "ExecStart", value: "/usr/bin/x --\(exposure)",
          source: Provenance(file: "/usr/lib/systemd/system/x.service", line: 7))
      ]
      var report = HostReport(name: name, status: HostStatus(.ok))
      report.services = [service]
      return report
    }
    let written = [host("a", exposure: 5), host("b", exposure: 5), host("c", exposure: 3)]
    for report in written { try await store.append(report, evidence: nil) }
    try await store.close()
    let hosts = try loadScan(directory).scan.hosts
    let services = hosts.compactMap(\.services.first)
    try #require(services.count == 3)
    #expect(services == written.compactMap(\.services.first))
    // One storage for equal values: the same buffer address.
    func storage<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    #expect(storage(services[0].checks) == storage(services[1].checks))
    #expect(storage(services[0].checks) != storage(services[2].checks))
    #expect(storage(services[0].directives) == storage(services[1].directives))
    #expect(storage(services[0].directives) != storage(services[2].directives))
  }

  @Test(
    "an older scan's hosts.jsonl decoded in parallel batches: file order, the later line of a host wins, bad lines numbered"
  )
  func parallelBatches() throws {
    let names = (0..<300).map { "host\($0)" }
    var hosts: [HostReport] = names.map { name in
      var report = HostReport(name: name, status: HostStatus(.timeout, reason: "first"))
      report.services = [ServiceRecord(id: "\(name).service", loadState: "loaded")]
      return report
    }
    // Every tenth host written again, as a resumed scan does: that line wins.
    hosts += names.enumerated().filter({ $0.offset % 10 == 0 }).map {
      HostReport(name: $0.element, status: HostStatus(.ok))
    }
    let directory = try writeLegacyScan("batches", hosts: hosts)
    let hostsFile = directory.appendingPathComponent("hosts.jsonl")
    var lines = try String(contentsOf: hostsFile, encoding: .utf8).split(separator: "\n").map(String.init)
    lines.insert("{not json", at: 150)
    try (lines.joined(separator: "\n") + "\n").write(to: hostsFile, atomically: true, encoding: .utf8)
    // Reads of 4 KB: a few lines per batch, many batches.
    let loaded = try loadScan(directory, readSize: 4096)
    #expect(loaded.skippedLines == [151])
    #expect(loaded.scan.hosts.map(\.name) == names)
    let statuses = loaded.scan.hosts.map(\.status.reason)
    #expect(statuses == names.indices.map { $0 % 10 == 0 ? nil : "first" })
    #expect(loaded.scan.hosts[1].services.map(\.id) == ["host1.service"])
  }

  @Test(
    "an older scan's hosts.jsonl is read in pieces: lines longer than a read and across reads come back whole"
  )
  func longLines() throws {
    let names = ["a", "b", "c", "d"]
    // 3 MB, 5 MB (longer than one 4 MB read), 10 bytes of text, 3 MB: lines end inside reads.
    let sizes = [3_000_000, 5_000_000, 10, 3_000_000]
    let hosts = zip(names, sizes).map { name, size in
      var report = HostReport(name: name, status: HostStatus(.ok))
      report.services = [
        ServiceRecord(id: "x.service", description: String(repeating: name, count: size), loadState: "loaded")
      ]
      return report
    }
    let directory = try writeLegacyScan("long", hosts: hosts)
    let loaded = try loadScan(directory, readSize: 4 << 20)
    #expect(loaded.skippedLines.isEmpty)
    #expect(loaded.scan.hosts.map(\.name) == names)
    #expect(loaded.scan.hosts.map { $0.services.first?.description?.utf8.count } == sizes)
  }

  @Test("evidence folder names are safe and distinct")
  func evidenceNames() {
    #expect(evidenceName(for: "web01.example.com") == "web01.example.com")
    let hostile = evidenceName(for: "../../etc/passwd")
    #expect(!hostile.contains("/"))
    #expect(!hostile.hasPrefix("."))
    #expect(evidenceName(for: "a/b") != evidenceName(for: "a_b"))
    #expect(evidenceName(for: "") != "")
  }

  @Test("the output cap marks the output truncated; the deadline kills the process")
  func processLimits() {
    let capped = runProcess(
      ["/bin/sh", "-c", "head -c 3000000 /dev/zero; echo done >&2"],
      limits: ProbeLimits(maxOutputBytes: 1 << 20, deadlineSeconds: 30))
    guard case .output(let output, _) = capped else {
      Issue.record("expected output, got \(capped)")
      return
    }
    #expect(output.truncated)
    #expect(output.stdout.count + output.stderr.count <= 1 << 20)
    #expect(output.exitStatus == 0)

    let started = Date()
    let slow = runProcess(
      ["/bin/sh", "-c", "echo start; sleep 30"], limits: ProbeLimits(deadlineSeconds: 0.5))
    guard case .failed(let status) = slow else {
      Issue.record("expected a timeout, got \(slow)")
      return
    }
    #expect(status.code == .timeout)
    #expect(Date().timeIntervalSince(started) < 5)
  }
}

@Suite("hosts.jsonl split into lines")
struct CompleteLinesTests {
  @Test("complete lines without their newlines, empty ones included; the rest waits for the next read")
  func split() {
    func lines(_ text: String) -> ([String], Int) {
      let (found, rest) = completeLines(Array(text.utf8))
      return (found.map { String(decoding: $0, as: UTF8.self) }, rest)
    }
    #expect(lines("a\nbb\n\nccc") == (["a", "bb", ""], 6))
    #expect(lines("a\nbb\n") == (["a", "bb"], 5))
    #expect(lines("\n") == ([""], 1))
    #expect(lines("abc") == ([], 0))
    #expect(lines("") == ([], 0))
  }
}
