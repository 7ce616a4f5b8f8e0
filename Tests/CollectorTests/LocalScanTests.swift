import Foundation
import Inventory
import Normalize
import TestSupport
import Testing
import UnitModel

@testable import Collector
@testable import Storage

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

    let loaded = try readScan(directory)
    // Dates are stored to the second.
    var stored = try #require(loaded.hosts.first)
    #expect(abs((stored.startedAt ?? .distantPast).timeIntervalSince(report.startedAt ?? .distantFuture)) < 1)
    stored.startedAt = report.startedAt
    #expect(loaded.hosts.count == 1)
    #expect(stored == report)
    #expect(loaded.metadata.plannedHosts == ["this"])
    #expect(try mode(directory.path) == 0o700)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["scan.db"])
    #expect(try mode(directory.appendingPathComponent("scan.db").path) == 0o600)
    // The evidence normalizes again to the same host.
    let evidence = try Evidence.read(scan: directory, host: "this")
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
        _ = try readScan(url)
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
  }

  @Test("a new scan refuses a directory that is not empty")
  func refusesNonEmpty() throws {
    let directory = try temporaryDirectory("nonempty")
    try Data("x".utf8).write(to: directory.appendingPathComponent("file"))
    let metadata = ScanMetadata(
      id: "t", toolVersion: "test", probeVersion: 1, mode: .local, startedAt: Date(), targets: [],
      plannedHosts: [])
    #expect(throws: StorageError.self) { try ScanStore.create(at: directory, metadata: metadata) }
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
    let loaded = try readScan(directory)
    #expect(loaded.hosts.map(\.name) == ["a", "b"])
    #expect(loaded.hosts.first == again)
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
    let hosts = try readScan(directory).hosts
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
    let hosts = try readScan(directory).hosts
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
