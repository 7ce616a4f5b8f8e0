import Coverage
import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Report

@Suite("SARIF that GitHub code scanning accepts")
struct SARIFGitHubTests {
  static let baseline = """
    name: gate
    title: Gate
    sets:
      core: [PrivateTmp, {ProtectSystem: [full, strict]}, NoNewPrivileges, User, ProtectHostname]
    services:
      - web.service
      - db.service
      - evil.service
    waivers:
      - service: db.service
        directive: NoNewPrivileges
        reason: the daemon execs a setuid helper
        owner: db-team
        expires: 2026-01-31
    """

  /// Each unit in its own vendor file, `/usr/lib/systemd/system/UNIT`.
  static func withFiles(_ hosts: some Sequence<HostReport>) -> [HostReport] {
    hosts.map { host in
      var host = host
      host.services = host.services.map { service in
        var service = service
        service.fragmentPath = "/usr/lib/systemd/system/\(service.id)"
        return service
      }
      return host
    }
  }

  /// The sample hosts, one more host of every status that has no data, and an old host
  /// (systemd 239, before ProtectHostname=) for unsupported requirements.
  static func hosts() -> [HostReport] {
    var hosts = withFiles(Sample.hosts())
    for code in HostStatusCode.allCases where !code.hasData && code != .unreachable {
      hosts.append(HostReport(name: "bad-\(code.rawValue)", status: HostStatus(code, reason: "it failed")))
    }
    var old = hosts[1]
    old.name = "rhel8"
    old.identity?.systemdVersion = 239
    hosts.append(old)
    return hosts
  }

  static func results(_ hosts: [HostReport]) throws -> (CheckResults, [Requirement], [Violation]) {
    let baseline = try BaselineParser.parse(Self.baseline, file: "gate.yml")
    let violations = PolicyCheck.findings(
      hosts: hosts, baseline: baseline, required: ["core"], maxExposure: Exposure(tenths: 50),
      failOnExpiredWaivers: true, today: "2026-11-22")
    let results = CheckResults(
      hosts: hosts, baseline: baseline, required: ["core"], violations: violations, today: "2026-11-22")
    return (results, baseline.requirements(in: ["core"]), violations)
  }

  static func write(_ text: String) throws -> URL {
    let file = try Tools.scratch().appendingPathComponent("check.sarif")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file
  }

  static func results(of text: String) throws -> [[String: Any]] {
    let log = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let runs = try #require(log["runs"] as? [[String: Any]])
    return try #require(runs.first?["results"] as? [[String: Any]])
  }

  @Test("failed hosts of every status, expired waivers, unsupported and exposure: every GitHub rule holds")
  func everyKind() throws {
    let hosts = Self.hosts()
    let (results, requirements, violations) = try Self.results(hosts)
    let kinds = Set(violations.map(\.kind))
    #expect(kinds == [.directive, .exposure, .expiredWaiver, .notScanned, .unsupported])
    // Two hosts from an inventory; the others as if from -H.
    let sources = [
      "down1": Provenance(file: "inventory/fleet.ini", line: 12, origin: .unknown),
      "bad-timeout": Provenance(file: "/etc/unitaudit/fleet.yml", line: 3, origin: .unknown),
    ]
    let document = SARIFReport.render(
      results, requirements: requirements, toolVersion: "test", hostSources: sources)
    #expect(document.omitted == 0)
    let file = try Self.write(document.text)
    let broken = GitHubSARIFRules.check(
      try Data(contentsOf: file), gzippedBytes: try GitHubSARIFRules.gzippedSize(of: file))
    #expect(broken.isEmpty, "\(broken)")

    let out = try Self.results(of: document.text)
    #expect(out.count == document.results)
    func place(_ result: [String: Any]) -> (String, Int, String?) {
      let locations = result["locations"] as? [[String: Any]]
      let physical = locations?.first?["physicalLocation"] as? [String: Any]
      let artifact = physical?["artifactLocation"] as? [String: Any]
      let region = physical?["region"] as? [String: Any]
      return (
        artifact?["uri"] as? String ?? "", region?["startLine"] as? Int ?? 0,
        artifact?["uriBaseId"] as? String
      )
    }
    func result(host: String) -> [String: Any]? {
      out.first {
        ($0["properties"] as? [String: Any])?["hosts"] as? [String] == [host]
          && $0["ruleId"] as? String == "not-scanned"
      }
    }
    // Every host that was not audited is one result at its inventory line, or, from -H, at
    // unitaudit-hosts/NAME (its name percent-encoded where a URI needs it).
    for host in hosts where !host.status.code.hasData {
      let found = try #require(result(host: host.name), "\(host.name)")
      let (uri, line, base) = place(found)
      switch host.name {
      case "down1": #expect(uri == "inventory/fleet.ini" && line == 12 && base == nil)
      case "bad-timeout": #expect(uri == "etc/unitaudit/fleet.yml" && line == 3 && base == "ROOT")
      default: #expect(uri == "unitaudit-hosts/\(host.name)" && line == 1)
      }
    }
    // The expired waiver points at its line in the baseline; unsupported is a note at the unit.
    let waiver = try #require(out.first { $0["ruleId"] as? String == "expired-waiver" })
    #expect(place(waiver).0 == "gate.yml" && place(waiver).1 == 10)
    let unsupported = try #require(out.first { $0["ruleId"] as? String == "unsupported" })
    #expect(unsupported["level"] as? String == "note")
    #expect(place(unsupported) == ("usr/lib/systemd/system/web.service", 1, "ROOT"))
    // The same finding at the same line on several hosts is one result that names them.
    let shared = out.filter { (($0["properties"] as? [String: Any])?["hostCount"] as? Int ?? 0) > 1 }
    #expect(!shared.isEmpty)
    let counted = out.map { ($0["properties"] as? [String: Any])?["hostCount"] as? Int ?? 0 }.reduce(0, +)
    #expect(counted == violations.filter { $0.host != nil && $0.kind != .expiredWaiver }.count)

    if FileManager.default.isExecutableFile(atPath: Tools.python) {
      // And the OASIS schema, with its formats checked (uri, uri-reference).
      _ = try Tools.run(
        "validate.py", ["sarif", file.path, ReportToolTests.schemas + "/sarif-schema-2.1.0.json"])
    }
  }

  @Test(
    "the rule checker refuses what GitHub refuses: no location, no fingerprint, a bad index, an absolute URI")
  func checkerRefuses() throws {
    let (results, requirements, _) = try Self.results(Self.hosts())
    let text = SARIFReport.render(results, requirements: requirements, toolVersion: "test").text
    func broken(_ change: (inout [String: Any]) -> Void) throws -> [String] {
      var log = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
      var runs = try #require(log["runs"] as? [[String: Any]])
      var out = try #require(runs[0]["results"] as? [[String: Any]])
      change(&out[0])
      runs[0]["results"] = out
      log["runs"] = runs
      return GitHubSARIFRules.check(try JSONSerialization.data(withJSONObject: log), gzippedBytes: 0)
    }
    #expect(try broken { _ in }.isEmpty)
    #expect(try broken { $0["locations"] = [] as [Any] }.contains { $0.hasSuffix("has no location") })
    #expect(try broken { $0["partialFingerprints"] = [:] as [String: Any] }.count == 1)
    #expect(try broken { $0["ruleIndex"] = 999 }.count == 1)
    #expect(
      try broken {
        $0["locations"] = [
          ["physicalLocation": ["artifactLocation": ["uri": "/etc/x"], "region": ["startLine": 1]]]
        ]
      }.count == 1)
  }

  @Test("a unit path that is not a URI path is percent-encoded; the rule checker refuses it raw")
  func escapedPaths() {
    #expect(
      SARIFReport.uriPath("/lib/systemd/system/systemd-fsck@dev-disk-by\\x2duuid-1.service")
        == "/lib/systemd/system/systemd-fsck@dev-disk-by%5Cx2duuid-1.service")
    #expect(SARIFReport.uriPath("fe80::1%eth0") == "./fe80::1%25eth0")
    #expect(SARIFReport.uriPath("[::1]") == "./%5B::1%5D")
    #expect(SARIFReport.uriPath("münchen") == "m%C3%BCnchen")
    #expect(GitHubSARIFRules.isRelativeReference("lib/systemd/system/a\\x2db.service") == false)
    #expect(GitHubSARIFRules.isRelativeReference("fe80::1") == false)
    #expect(GitHubSARIFRules.isRelativeReference("./fe80::1") == true)
    #expect(GitHubSARIFRules.isRelativeReference("/etc/x") == false)
  }

  @Test(
    "10,000 hosts with 500 unreachable: within GitHub's limits; past 25,000 results the least are left out")
  func fleetSize() throws {
    var hosts: [HostReport] = []
    // 20 images of 150 services.
    let template = Self.withFiles(ReportScaleTests.fleet().prefix(20))
    for index in 0..<10_000 {
      if index % 20 == 19 {
        hosts.append(HostReport(name: "host\(index)", status: HostStatus(.unreachable, reason: "no route")))
      } else {
        var host = template[index % 20]
        host.name = "host\(index)"
        hosts.append(host)
      }
    }
    let (results, requirements, violations) = try Self.results(hosts)
    let sources = Dictionary(
      uniqueKeysWithValues: hosts.enumerated().map {
        ($0.element.name, Provenance(file: "fleet.ini", line: $0.offset + 2, origin: .unknown))
      })
    let document = SARIFReport.render(
      results, requirements: requirements, toolVersion: "test", hostSources: sources)
    let file = try Self.write(document.text)
    let gzipped = try GitHubSARIFRules.gzippedSize(of: file)
    print(
      "SARIF of 10,000 hosts: \(violations.count) violations → \(document.results) results, "
        + "\(document.text.utf8.count) bytes, \(gzipped) gzipped")
    #expect(GitHubSARIFRules.check(try Data(contentsOf: file), gzippedBytes: gzipped).isEmpty)
    #expect(document.omitted == 0)
    #expect(violations.count > 25_000, "the fleet has more violations than GitHub takes results")
    #expect(document.results < 25_000)

    // A limit the results exceed: the notes and the findings on the fewest hosts go first.
    var limits = SARIFReport.Limits()
    limits.resultsPerRun = 100
    let cut = SARIFReport.render(
      results, requirements: requirements, toolVersion: "test", hostSources: sources, limits: limits)
    #expect(cut.results == 100 && cut.omitted == document.results - 100)
    let hostCounts = try Self.results(of: cut.text).map {
      ($0["properties"] as? [String: Any])?["hostCount"] as? Int ?? 0
    }
    let shared = try Self.results(of: document.text).filter {
      (($0["properties"] as? [String: Any])?["hostCount"] as? Int ?? 0) > 1
    }
    #expect(hostCounts.prefix(shared.count).allSatisfy { $0 > 1 } && shared.count < 100)
    let log = try #require(try JSONSerialization.jsonObject(with: Data(cut.text.utf8)) as? [String: Any])
    let run = try #require((log["runs"] as? [[String: Any]])?.first)
    #expect((run["properties"] as? [String: Any])?["omittedResults"] as? Int == cut.omitted)
  }
}
