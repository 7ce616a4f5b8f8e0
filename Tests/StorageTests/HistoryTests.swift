import Coverage
import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Storage

/// Where a history test keeps its history: an SQLite file, or a database of its own on the
/// test PostgreSQL server. Every history test runs on both.
enum HistoryBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case sqlite, postgres

  var testDescription: String { rawValue }

  /// SQLite always; PostgreSQL when there is a server (`TestPostgres.configured`).
  static var available: [HistoryBackend] { TestPostgres.configured ? allCases : [.sqlite] }

  /// A new, empty history: a file in `work`, or a new database.
  func newHistory(in work: URL, label: String) throws -> String {
    switch self {
    case .sqlite: work.appendingPathComponent("\(label).db").path
    case .postgres: try TestPostgres.createDatabase(label)
    }
  }

  func remove(_ location: String) {
    if self == .postgres { TestPostgres.dropDatabase(location) }
  }
}

@Suite("history and trend")
struct HistoryTests {
  /// A scan directory of `hosts`, complete, started at `day` (2026-11-DAY); `history`, the
  /// history its options name (`scan --history`).
  static func scan(_ name: String, day: Int, hosts: [HostReport], history: String? = nil) async throws -> URL
  {
    let directory = try temporaryDirectory(name).appendingPathComponent("s")
    var metadata = ScanMetadata(
      id: "scan-\(name)", toolVersion: "test", probeVersion: 1, mode: .ssh,
      startedAt: Date(timeIntervalSince1970: 1_793_491_200 + Double(day - 1) * 86_400), targets: [],
      plannedHosts: hosts.map(\.name),
      options: history.map { ScanOptions(sshConfig: nil, knownHostsFile: "/dev/null", history: $0) } ?? .local
    )
    let store = try ScanStore.create(at: directory, metadata: metadata)
    for host in hosts { try await store.append(host, evidence: nil) }
    metadata.state = .complete
    metadata.counts = ScanMetadata.Counts(hosts: hosts)
    try await store.writeMetadata(metadata)
    try await store.close()
    return directory
  }

  static func host(_ name: String, privateTmp: Bool, noNewPrivileges: Bool) -> HostReport {
    var settings = HardeningSettings()
    let source = Provenance(file: "/usr/lib/systemd/system/web.service", line: 7)
    if privateTmp { settings.privateTmp = Setting(true, source: source) }
    if noNewPrivileges { settings.noNewPrivileges = Setting(true, source: source) }
    var report = HostReport(name: name, status: HostStatus(.ok))
    report.services = [ServiceRecord(id: "web.service", loadState: "loaded", hardening: settings)]
    return report
  }

  @Test(
    "scans added to a history give a burn-down, each service's changes and the days to hardened",
    arguments: HistoryBackend.available)
  func trend(_ backend: HistoryBackend) async throws {
    let first = try await Self.scan(
      "h1", day: 1,
      hosts: [
        Self.host("a", privateTmp: false, noNewPrivileges: true),
        Self.host("b", privateTmp: false, noNewPrivileges: true),
      ])
    let second = try await Self.scan(
      "h2", day: 15,
      hosts: [
        Self.host("a", privateTmp: true, noNewPrivileges: true),
        Self.host("b", privateTmp: true, noNewPrivileges: true),
      ])
    let third = try await Self.scan(
      "h3", day: 29,
      hosts: [
        Self.host("a", privateTmp: true, noNewPrivileges: false),
        Self.host("b", privateTmp: true, noNewPrivileges: true),
      ])
    let work = first.deletingLastPathComponent()
    let history = try backend.newHistory(in: work, label: "trend")
    defer { backend.remove(history) }
    let baseline = work.appendingPathComponent("b.yml").path
    try
      "name: b\ntitle: b\nsets:\n  core: [PrivateTmp, NoNewPrivileges]\nservices: [web.service, db.service]\n"
      .write(toFile: baseline, atomically: true, encoding: .utf8)
    let binary = try TestSupport.unitauditBinary()

    let added = try TestSupport.run([binary, "history", "add", first.path, second.path, "--history", history])
    #expect(added.status == 0, "\(added.output)")
    #expect(added.output.contains("as scan 2: 2 hosts"), "\(added.output)")
    if backend == .sqlite { #expect(try mode(history) == 0o600) }
    let third1 = try TestSupport.run([binary, "history", "add", third.path, "--history", history])
    #expect(third1.status == 0, "\(third1.output)")
    // A scan already held is refused, and the history is left as it was.
    let again = try TestSupport.run([binary, "history", "add", second.path, "--history", history])
    #expect(
      again.status == 2 && again.output.hasPrefix("error: ")
        && again.output.contains("already holds scan scan-h2"), "\(again.output)")
    let list = try TestSupport.run([binary, "history", "list", "--history", history])
    #expect(list.status == 0)
    #expect(list.output.contains("2026-11-01 00:00") && list.output.contains("scan-h3"), "\(list.output)")
    #expect(list.output.split(separator: "\n").count == 4, "\(list.output)")
    // The three scans share their configurations: three hosts' worth of parts, not six.
    let database = try ScanTables.readOnlyHistory(history)
    #expect(try database.scans().map(\.metadata.id) == ["scan-h1", "scan-h2", "scan-h3"])
    #expect(
      try database.storedScan(2).hosts == [
        Self.host("a", privateTmp: true, noNewPrivileges: true),
        Self.host("b", privateTmp: true, noNewPrivileges: true),
      ])
    try database.close()

    let trend = try TestSupport.run([binary, "trend", "--history", history, "--baseline", baseline])
    #expect(trend.status == 0, "\(trend.output)")
    let lines = trend.output.split(separator: "\n").map(String.init)
    // Burn-down: web.service partial, hardened, partial again; db.service never installed.
    #expect(lines.contains { $0.hasPrefix("2026-11-01 00:00") && $0.contains("scan-h1") }, "\(trend.output)")
    let rows = lines.filter { $0.hasPrefix("2026-11-") }.map { $0.split(separator: " ").map(String.init) }
    #expect(rows.count >= 3)
    #expect(
      rows.prefix(3).map { Array($0[3...8]) } == [
        ["2", "0", "1", "0", "0", "1"], ["2", "1", "0", "0", "0", "1"], ["2", "0", "1", "0", "0", "1"],
      ], "\(trend.output)")
    #expect(trend.output.contains("web.service: partial → hardened; fixed PrivateTmp"), "\(trend.output)")
    #expect(
      trend.output.contains("web.service: hardened → partial; broken NoNewPrivileges"), "\(trend.output)")
    #expect(trend.output.contains("web.service: 14 days"), "\(trend.output)")

    let one = try TestSupport.run([
      binary, "trend", "--history", history, "--baseline", baseline, "--service", "web.service", "--since",
      "2026-11-10",
    ])
    #expect(one.status == 0, "\(one.output)")
    #expect(one.output.contains("hardened on 2 hosts"), "\(one.output)")
    #expect(one.output.contains("partial on 2 hosts; missing: NoNewPrivileges on 1"), "\(one.output)")
    #expect(!one.output.contains("scan-h1"), "\(one.output)")
    // Host by host: both hosts became hardened in the second scan, and only a regressed.
    let hosts = try TestSupport.run([
      binary, "trend", "--history", history, "--baseline", baseline, "--service", "web.service",
    ])
    #expect(hosts.status == 0, "\(hosts.output)")
    #expect(hosts.output.contains("web.service host by host: 2 hosts, 2 changed state"), "\(hosts.output)")
    // The lines under the host-by-host heading, up to the blank line after them.
    let hostLines = hosts.output.split(separator: "\n", omittingEmptySubsequences: false)
      .drop { !$0.contains("host by host") }.dropFirst().prefix { !$0.isEmpty }
      .map(String.init)
    #expect(
      hostLines == [
        "  2026-11-15 00:00 UTC  a: partial → hardened; fixed PrivateTmp",
        "  2026-11-15 00:00 UTC  b: partial → hardened; fixed PrivateTmp",
        "  2026-11-29 00:00 UTC  a: hardened → partial; broken NoNewPrivileges",
      ], "\(hosts.output)")
    let json = try TestSupport.run([binary, "trend", "--history", history, "--baseline", baseline, "--json"])
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    let points = try #require(object["points"] as? [[String: Any]])
    #expect(points.compactMap { ($0["counts"] as? [String: Int])?["hardened"] } == [1])
    // The report of the last scan, given the history: a trend section in HTML and Markdown.
    let reportDirectory = work.appendingPathComponent("report")
    let report = try TestSupport.run([
      binary, "report", third.path, "--baseline", baseline, "--history", history, "-o", reportDirectory.path,
      "--format", "html,md",
    ])
    #expect(report.status == 0, "\(report.output)")
    let markdown = try String(
      contentsOf: reportDirectory.appendingPathComponent("report.md"), encoding: .utf8)
    #expect(markdown.contains("## Progress over the history's scans"), "\(markdown)")
    #expect(markdown.contains("| 2026-11-15 00:00 UTC | 2 | 1 | 0 | 0 | 0 | 1 | scan-h2 |"), "\(markdown)")
    #expect(
      markdown.contains(
        "| 2026-11-29 00:00 UTC | web.service | hardened → partial | broken NoNewPrivileges |"))
    let html = try String(contentsOf: reportDirectory.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("<h2 id=\"trend-h\">Progress over the history's scans</h2>"))
    #expect(
      html.contains("<title>2026-11-15 (scan-h2): hardened 1</title>"), "the chart's bar of the second scan")
    #expect(html.contains("<td>web.service</td><td>partial → hardened</td><td>fixed PrivateTmp</td>"))
    // Without a history, no section.
    let plain = try TestSupport.run([
      binary, "report", third.path, "--baseline", baseline, "-o", reportDirectory.path, "--format", "md",
    ])
    #expect(plain.status == 0)
    #expect(
      !(try String(contentsOf: reportDirectory.appendingPathComponent("report.md"), encoding: .utf8))
        .contains("Progress over"))
    let unknown = try TestSupport.run([
      binary, "trend", "--history", history, "--baseline", baseline, "--service", "x.service",
    ])
    #expect(
      unknown.status == 2 && unknown.output.contains("names no service 'x.service'"), "\(unknown.output)")
  }
  @Test(
    "one service host by host: found by id before alias, removals and hosts without data",
    arguments: HistoryBackend.available)
  func hostByHost(_ backend: HistoryBackend) async throws {
    var failed = HostReport(name: "d", status: HostStatus(.unreachable, reason: "refused"))
    failed.services = []
    var aliased = Self.host("c", privateTmp: true, noNewPrivileges: false)
    aliased.services[0].id = "httpd.service"
    aliased.services[0].aliases = ["web.service"]
    var both = Self.host("c", privateTmp: true, noNewPrivileges: true)
    both.services.insert(aliased.services[0], at: 0)
    var removed = HostReport(name: "a", status: HostStatus(.ok))
    removed.services = [ServiceRecord(id: "other.service", loadState: "loaded")]
    let first = try await Self.scan(
      "hh1", day: 1,
      hosts: [Self.host("a", privateTmp: true, noNewPrivileges: true), aliased, failed])
    let second = try await Self.scan(
      "hh2", day: 8, hosts: [removed, both, Self.host("d", privateTmp: false, noNewPrivileges: false)])
    let path = try backend.newHistory(in: first.deletingLastPathComponent(), label: "hosts")
    let database = try ScanTables.history(path, create: true)
    defer {
      try? database.close()
      backend.remove(path)
    }
    var scans: [(metadata: ScanMetadata, hosts: [Trend.UnitOnHost])] = []
    var numbers: [Int64] = []
    for directory in [first, second] {
      let loaded = try readScan(directory)
      numbers.append(try database.addScan(loaded))
      scans.append((loaded.metadata, []))
    }
    let configs = try database.configs(answeringTo: "web.service")
    #expect(configs.count == 3, "web.service in two variants and httpd.service by its alias")
    let units = try database.unit("web.service", configs: configs, scans: numbers)
    #expect(
      units.map { $0.map(\.host) } == [["a", "c"], ["a", "c", "d"]], "d has no data in the first scan")
    #expect(units[1][0].service == nil, "a no longer has it")
    #expect(units[0][1].service?.id == "httpd.service", "c's unit answers to web.service by its alias")
    #expect(units[1][1].service?.id == "web.service", "a unit's own id goes before another's alias")
    for index in scans.indices { scans[index].hosts = units[index] }

    let baseline = try BaselineParser.parse(
      "name: b\ntitle: b\nsets:\n  core: [PrivateTmp, NoNewPrivileges]\nservices: [web.service]\n",
      file: "b.yml")
    let entry = try #require(baseline.services.first)
    let timelines = Trend.hostTimelines(of: entry, in: scans, baseline: baseline, required: ["core"])
    #expect(timelines.map(\.host) == ["a", "c", "d"])
    #expect(timelines[0].steps.map(\.status) == [.hardened, .notInstalled])
    #expect(timelines[0].changes.map(\.kind) == [.changed], "a removal is no regression")
    #expect(timelines[1].steps.map(\.missing) == [["NoNewPrivileges"], []])
    #expect(
      timelines[1].changes.map { [$0.kind.rawValue, $0.from.rawValue, $0.to.rawValue] + $0.fixed }
        == [["hardened", "partial", "hardened", "NoNewPrivileges"]])
    #expect(timelines[2].steps.map(\.status) == [.notStarted] && timelines[2].changes.isEmpty)
  }
}
