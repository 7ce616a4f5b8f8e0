import Coverage
import Foundation
import Report
import ReportTemplates
import TestSupport
import Testing
import UnitModel

extension Tag {
  /// Tests that run real external programs (Python's csv, markdown-it-py, chromium).
  @Tag static var integration: Self
}

enum Tools {
  /// The Python with markdown-it-py and websocket-client: `$UNITAUDIT_TEST_PYTHON`, or the
  /// venv Scripts/test makes.
  static var python: String {
    ProcessInfo.processInfo.environment["UNITAUDIT_TEST_PYTHON"] ?? ".build/test-venv/bin/python"
  }

  static var helpers: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Helpers")
  }

  /// Where tests leave files for people to look at (the browser screenshot).
  static var outputDirectory: URL {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".build/test-output")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  static func scratch() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// Runs a helper script; returns its output, throws with it when it fails.
  static func run(_ script: String, _ arguments: [String]) throws -> String {
    let result = try TestSupport.run([python, helpers.appendingPathComponent(script).path] + arguments)
    guard result.status == 0 else {
      throw TestSupport.Failure(description: "\(script) failed: \(result.output)")
    }
    return result.output
  }

  static func write(_ files: [String: String], to directory: URL) throws {
    for (name, text) in files {
      try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
  }
}

@Suite("Reports read back by the tools people use", .tags(.integration), .serialized)
struct ReportToolTests {
  @Test("CSV read back with Python's csv module equals the model's values")
  func csvReadBack() throws {
    let input = try Sample.input()
    let directory = try Tools.scratch()
    try Tools.write(try Sample.render(.csv, input), to: directory)
    let rows = try JSONDecoder().decode(
      [[String]].self,
      from: Data(try Tools.run("read_csv.py", [directory.appendingPathComponent("services.csv").path]).utf8))
    #expect(rows.count == 5)
    let header = rows[0]
    let requirements = input.baseline.requirements(in: input.required)
    for row in rows.dropFirst() {
      let host = try #require(input.hosts.first { $0.name == row[0] })
      let service = try #require(host.service(named: row[4]))
      #expect(row[6] == service.overall?.exposure.description)
      for (offset, requirement) in requirements.enumerated() {
        let value = requirement.evaluate(service).value
        let expected = value.hasPrefix("=") ? "'" + value : value
        #expect(row[8 + offset] == expected, "\(row[0]) \(row[4]) \(header[8 + offset])")
      }
    }
    let hosts = try JSONDecoder().decode(
      [[String]].self,
      from: Data(try Tools.run("read_csv.py", [directory.appendingPathComponent("hosts.csv").path]).utf8))
    let down = try #require(hosts.first { $0[0] == "down1" })
    #expect(down[1] == "host")
    #expect(down[5] == "unreachable" && down[6].hasPrefix("<img src=x") && down[6].count > 32_000)
  }

  @Test("promtool check metrics passes the metrics file, hostile values included, and of 1,000 hosts")
  func promtool() throws {
    for input in [try Sample.input(), try Sample.input(hosts: ReportScaleTests.fleet())] {
      let text = try #require(try Sample.render(.metrics, input)[Metrics.fileName])
      let result = try TestSupport.run(["/usr/bin/promtool", "check", "metrics"], input: text)
      #expect(result.status == 0, "\(result.output.prefix(2_000))")
      #expect(result.output.isEmpty, "promtool has nothing to say: \(result.output.prefix(2_000))")
    }
  }

  /// The schemas Scripts/test fetches from PyPI: `$UNITAUDIT_TEST_SCHEMAS`, or its default.
  static var schemas: String {
    ProcessInfo.processInfo.environment["UNITAUDIT_TEST_SCHEMAS"] ?? ".build/test-schemas"
  }

  struct JUnitSummary: Decodable {
    var root: String
    var suites: [String]
    var testcases: Int
    var failures: Int
    var failedCases: Int
    var skipped: Int
    var errors: Int
    var declared: [String: String]
    var skipReasons: [String]
  }

  struct SARIFSummary: Decodable {
    var version: String
    var rules: [String]
    var results: Int
    var ruleIndexOk: Bool
    var locations: [[JSONScalar]]
  }

  /// A string or a number in a JSON array.
  enum JSONScalar: Decodable, Equatable {
    case text(String)
    case number(Int)
    case null

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if container.decodeNil() {
        self = .null
      } else if let number = try? container.decode(Int.self) {
        self = .number(number)
      } else {
        self = .text(try container.decode(String.self))
      }
    }
  }

  @Test("check's JUnit validates against Jenkins' junit-10.xsd, its SARIF against the SARIF 2.1.0 schema")
  func junitAndSARIF() throws {
    // db on web1: its own file (ProtectSystem=no set wrongly at line 9, the rest unset after
    // line 6, its first [Service] assignment).
    var hosts = Sample.hosts()
    var db = try #require(hosts[0].services.first { $0.id == "db.service" })
    let file = "/usr/lib/systemd/system/db.service"
    db.fragmentPath = file
    db.directives = [
      Directive(section: "Unit", key: "Description", value: "db", source: Provenance(file: file, line: 2)),
      Directive(
        section: "Service", key: "ExecStart", value: "/bin/db", source: Provenance(file: file, line: 6)),
    ]
    db.hardening.protectSystem = Setting(.no, source: Provenance(file: file, line: 9))
    hosts[0].services = hosts[0].services.map { $0.id == "db.service" ? db : $0 }
    let input = try Sample.input(hosts: hosts)
    let violations = PolicyCheck.violations(
      hosts: input.hosts, baseline: input.baseline, required: input.required,
      maxExposure: Exposure(tenths: 90),
      today: "2026-11-22")
    let results = CheckResults(
      hosts: input.hosts, baseline: input.baseline, required: input.required, violations: violations,
      today: "2026-11-22")
    let directory = try Tools.scratch()
    let junit = directory.appendingPathComponent("check.xml")
    let sarif = directory.appendingPathComponent("check.sarif")
    try JUnitReport.xml(results, timestamp: "2026-11-22T12:00:00Z").write(
      to: junit, atomically: true, encoding: .utf8)
    try SARIFReport.render(
      results, requirements: input.baseline.requirements(in: input.required), toolVersion: "test"
    ).text.write(to: sarif, atomically: true, encoding: .utf8)

    let j = try JSONDecoder().decode(
      JUnitSummary.self,
      from: Data(try Tools.run("validate.py", ["junit", junit.path, Self.schemas + "/junit-10.xsd"]).utf8))
    #expect(j.root == "testsuites")
    #expect(j.suites.count == input.hosts.count)
    // A test case per baseline service on each audited host; the host that was not, one error.
    let audited = input.hosts.filter { $0.status.code.hasData }
    #expect(j.testcases == audited.count * input.baseline.services.count + 1)
    #expect(j.errors == 1)
    let counted = violations.filter { $0.kind != .notScanned }
    #expect(j.failures == counted.count)
    #expect(j.declared["failures"] == String(j.failedCases))
    #expect(j.skipReasons.contains("not installed"))

    let s = try JSONDecoder().decode(
      SARIFSummary.self,
      from: Data(
        try Tools.run("validate.py", ["sarif", sarif.path, Self.schemas + "/sarif-schema-2.1.0.json"]).utf8))
    #expect(s.version == "2.1.0")
    #expect(s.results == violations.count)
    #expect(s.ruleIndexOk)
    #expect(Array(s.rules.prefix(4)) == ["PrivateTmp", "ProtectSystem", "NoNewPrivileges", "User"])
    // A directive set wrongly is located where the file set it; one missing, at the unit's
    // first [Service] assignment.
    let dbFile = JSONScalar.text("usr/lib/systemd/system/db.service")
    #expect(s.locations.contains { $0 == [.text("ProtectSystem"), .text("web1"), dbFile, .number(9)] })
    #expect(s.locations.contains { $0 == [.text("NoNewPrivileges"), .text("web1"), dbFile, .number(6)] })
  }

  @Test(
    "report --format junit,sarif: the gate's defaults through the format table; Jenkins' schema and GitHub's rules accept both"
  )
  func junitAndSARIFAsReportFormats() throws {
    let input = try Sample.input()
    let directory = try Tools.scratch()
    let written = try ReportWriter(renderer: try ReportRenderer(templates: BundledTemplates.all())).write(
      [.junit, .sarif], input, to: directory)
    #expect(written.files.map(\.lastPathComponent) == [ReportFormat.junitFile, ReportFormat.sarifFile])
    let findings = PolicyCheck.findings(
      hosts: input.hosts, baseline: input.baseline, required: input.required, maxExposure: nil,
      failOnExpiredWaivers: false, today: input.coverage.today
    ).filter { $0.kind != .unsupported }
    #expect(!findings.isEmpty)
    let j = try JSONDecoder().decode(
      JUnitSummary.self,
      from: Data(
        try Tools.run(
          "validate.py",
          [
            "junit", directory.appendingPathComponent(ReportFormat.junitFile).path,
            Self.schemas + "/junit-10.xsd",
          ]
        ).utf8))
    #expect(j.suites.count == input.hosts.count)
    #expect(j.failures == findings.filter { $0.kind != .notScanned }.count)
    let sarif = directory.appendingPathComponent(ReportFormat.sarifFile)
    let broken = GitHubSARIFRules.check(
      try Data(contentsOf: sarif), gzippedBytes: try GitHubSARIFRules.gzippedSize(of: sarif))
    #expect(broken.isEmpty, "\(broken)")
    let s = try JSONDecoder().decode(
      SARIFSummary.self,
      from: Data(
        try Tools.run("validate.py", ["sarif", sarif.path, Self.schemas + "/sarif-schema-2.1.0.json"]).utf8))
    #expect(s.results > 0)
  }

  @Test("Markdown renders to tables with a CommonMark + GFM renderer, and hostile values stay text")
  func markdownRenders() throws {
    let directory = try Tools.scratch()
    try Tools.write(
      try Sample.render(.md, try Sample.input(compare: Sample.hosts(hardenedWeb: false))), to: directory)
    let html = try Tools.run("render_markdown.py", [directory.appendingPathComponent("report.md").path])
    #expect(html.components(separatedBy: "<table>").count - 1 == 6)
    // The tracker is a link whose pipe does not end the cell; the note stays text.
    #expect(html.contains("<a href=\"https://bugs.example.com/show?id=4%7C5\">"), "\(html)")
    #expect(html.contains("&lt;b&gt;bold&lt;/b&gt; | pipe"))
    #expect(html.contains("<td>web.service</td>\n<td>hardened</td>"))
    #expect(html.contains("<h2>Hardened services</h2>"))
    #expect(!html.contains("<img") && !html.contains("<script") && html.contains("&lt;img src=x"))
    #expect(!html.contains("<b>bold</b>"))
  }

  @Test(
    "HTML in headless chromium: sorting, filtering, detail; no external resource, no request, hostile values inert"
  )
  func browser() throws {
    let directory = try Tools.scratch()
    try Tools.write(
      try Sample.render(.html, try Sample.input(compare: Sample.hosts(hardenedWeb: false))), to: directory)
    let screenshot = Tools.outputDirectory.appendingPathComponent("report-sample.png").path
    let output = try Tools.run(
      "browser.py", [directory.appendingPathComponent("report.html").path, screenshot, "db"])
    let result = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    // Installed services show by default: web, db, evil (gone is not installed).
    #expect(result["allRows"] as? Int == 4)
    #expect(result["rows"] as? Int == 3)
    #expect(result["countText"] as? String == "3 of 4 services shown")
    #expect(result["hostsAscending"] as? [Int] == [1, 1, 2])
    #expect(result["ariaSort"] as? String == "ascending")
    #expect(result["hostsDescending"] as? [Int] == [2, 1, 1])
    #expect(result["namesSorted"] as? [String] == ["db.service", "evil.service", "web.service"])
    #expect(result["filtered"] as? [String] == ["db.service"])
    #expect(result["filteredAll"] as? Int == 1)
    #expect((result["detail"] as? String)?.contains("Directive") == true)
    // The detail names its hosts (the page's data holds them once, by index).
    #expect((result["detail"] as? String)?.contains("web1 (8.1 UNSAFE)") == true, "\(result["detail"] ?? "")")
    // The hosts table, rendered from the data: every scanned host, sortable and filterable,
    // the hostile name shown as text.
    #expect(
      result["hostsRows"] as? [String] == [
        "web1", "web2", "evil<img src=x onerror=\"window.alertCalled=1\">",
      ])
    #expect(
      result["hostsByName"] as? [String] == [
        "web2", "web1", "evil<img src=x onerror=\"window.alertCalled=1\">",
      ])
    #expect(result["hostsFiltered"] as? [String] == ["web1"])
    #expect(result["hostsCount"] as? String == "1 of 1 hosts shown (3 scanned)")
    // Nothing is loaded from elsewhere; the only addresses are the trackers' links.
    #expect(
      (result["external"] as? [String])?.sorted() == [
        "https://bugs.example.com/show?id=4|5", "https://src.example.com/web/pull/3",
      ])
    #expect((result["externalLoaded"] as? [String])?.isEmpty == true)
    // The owners' table: filtered by owner, by overdue, sorted by target.
    #expect(result["ownersRows"] as? Int == 3, "web, db and the untracked evil")
    #expect(result["ownersByOwner"] as? [String] == ["db.service"])
    #expect(result["ownersOverdue"] as? [String] == ["db.service"])
    #expect(result["ownersCount"] as? String == "1 of 3 services shown")
    #expect(result["ownersByTarget"] as? [String] == ["db.service", "web.service", "evil.service"])
    let requests = result["requests"] as? [String] ?? []
    #expect(requests.allSatisfy { $0.hasPrefix("file://") }, "\(requests)")
    #expect(result["scriptsRun"] as? Bool == true, "a hostile script ran")
    #expect(FileManager.default.fileExists(atPath: screenshot))
  }
}

@Suite("Reports at scale")
struct ReportScaleTests {
  /// 1,000 hosts × 150 services, built from the sample's services with varied names and values.
  static func fleet() -> [HostReport] {
    (0..<1_000).map { index in
      let services = (0..<150).map { number -> ServiceRecord in
        let name =
          number < 3 ? ["web.service", "db.service", "evil.service"][number] : "svc\(number).service"
        return Sample.service(name, exposure: (index + number) % 100) {
          if (index + number) % 3 == 0 { $0.privateTmp = Sample.flag() }
          if (index + number) % 5 == 0 {
            $0.protectSystem = Setting(.full, source: Provenance(file: Sample.admin, line: 2))
          }
        }
      }
      return HostReport(
        name: "host\(index)", address: "10.\(index / 256).\(index % 256).1", groups: ["g\(index % 7)"],
        status: HostStatus(.ok),
        identity: HostIdentity(osPrettyName: "Debian GNU/Linux 12", systemdVersion: 252),
        services: services)
    }
  }

  @Test("1,000 hosts × 150 services: every format renders; the HTML shows aggregates, detail on demand")
  func scale() throws {
    let started = Date()
    let input = try Sample.input(hosts: Self.fleet())
    var sizes: [String: Int] = [:]
    for format in ReportFormat.allCases {
      for (name, text) in try Sample.render(format, input) { sizes[name] = text.utf8.count }
    }
    let elapsed = Date().timeIntervalSince(started)
    print(
      "1,000 hosts × 150 services: all formats in \(String(format: "%.1f", elapsed)) s; sizes \(sizes.sorted { $0.key < $1.key })"
    )
    // The page holds one matrix row per baseline service and one row per host, not 150,000.
    let page = try #require(try Sample.render(.html, input)["report.html"])
    #expect(page.components(separatedBy: "<tr data-name=").count - 1 == 4)
    // The hosts table's rows are the page's data, rendered a page at a time in the browser.
    let data = try #require(
      page.components(separatedBy: "<script type=\"application/json\" id=\"hosts-data\">").dropFirst().first?
        .components(separatedBy: "</script>").first)
    let hostData = try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [[String: Any]])
    #expect(hostData.count == 1_000 && hostData.first?["n"] as? String == "host0")
    #expect(page.contains("<table id=\"hosts\">") && !page.contains("<th scope=\"row\">host1<"))
    #expect((sizes["report.html"] ?? .max) < 4_000_000)
    #expect(sizes["services.csv"].map { $0 > 150_000 * 40 } == true)
  }
}
