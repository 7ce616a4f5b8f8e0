import Coverage
import Foundation
import Report
import ReportTemplates
import TestSupport
import Testing
import UnitModel

/// Values a hostile or broken host could send, which must stay inert in every format.
enum Hostile {
  static let script = "<script>window.alertCalled=1</script></td></tr><td>"
  static let image = "<img src=x onerror=\"window.alertCalled=1\">"
  static let mustache = "{{detailsJSON}}"
  static let formula = "=HYPERLINK(\"http://evil.example/\",\"click\")"
  static let ansi = "\u{1B}[31mred\u{1B}[0m"
  static let long = String(repeating: "A", count: 100_000)
  /// A terminal hyperlink (OSC 8), a window title (OSC 0) and a bell.
  static let osc = "\u{1B}]8;;http://evil.example/\u{07}link\u{1B}]8;;\u{07}\u{1B}]0;pwned\u{07}"
  /// A right-to-left override that shows "exe.pdf" as "fdp.exe".
  static let rtl = "invoice\u{202E}fdp.exe"
  static let megabyteLine = String(repeating: "B", count: 1_000_000)
  /// Every control and reordering character the formats must neutralize.
  static let dangerous: [Character] = ["\u{1B}", "\u{07}", "\u{202E}", "\u{9B}"]
}

enum Sample {
  static let vendor = "/usr/lib/systemd/system/web.service"
  static let admin = "/etc/systemd/system/web.service.d/50-harden.conf"

  static func service(
    _ id: String, exposure: Int, aliases: [String] = [], _ set: (inout HardeningSettings) -> Void
  )
    -> ServiceRecord
  {
    var h = HardeningSettings()
    set(&h)
    return ServiceRecord(
      id: id, aliases: aliases, loadState: "loaded", hardening: h,
      overall: OverallExposure(
        exposure: Exposure(tenths: exposure), predicate: exposure >= 70 ? "UNSAFE" : "OK"),
      checks: [
        "PrivateTmp": SecurityCheck(
          name: "PrivateTmp=", description: "Service has access to other software's temporary files",
          set: h.privateTmp?.value ?? false, exposure: Exposure(tenths: 2))
      ])
  }

  static func flag(_ file: String = vendor) -> Setting<Bool> {
    Setting(true, source: Provenance(file: file, line: 7))
  }

  /// web is hardened on both hosts (vendor file on one, admin drop-in on the other); db is
  /// partial; the hostile host carries hostile values everywhere a host can put them.
  static func hosts(hardenedWeb: Bool = true) -> [HostReport] {
    func web(_ file: String) -> ServiceRecord {
      service("web.service", exposure: 32) {
        $0.privateTmp = flag(file)
        $0.protectSystem = Setting(.strict, source: Provenance(file: file, line: 8))
        if hardenedWeb { $0.noNewPrivileges = flag(file) }
      }
    }
    let db = service("db.service", exposure: 81) { $0.privateTmp = flag() }
    var evil = service("evil.service", exposure: 96) {
      $0.user = Setting(
        Hostile.formula, source: Provenance(file: "/etc/systemd/system/evil.service", line: 3))
    }
    evil.description = Hostile.script
    let identity = HostIdentity(
      osPrettyName: Hostile.script + Hostile.mustache + Hostile.ansi + Hostile.osc + Hostile.rtl + "\u{9B}31m"
        + Hostile.megabyteLine, systemdVersion: 252)
    return [
      HostReport(
        name: "web1", address: "10.0.0.1", groups: ["web", "prod"], status: HostStatus(.ok),
        identity: HostIdentity(
          osID: "debian", osVersionID: "12", osPrettyName: "Debian GNU/Linux 12", systemdVersion: 252),
        services: [web(vendor), db]),
      HostReport(
        name: "web2", address: "10.0.0.2", groups: ["web"], status: HostStatus(.ok),
        identity: HostIdentity(osPrettyName: "Debian GNU/Linux 12", systemdVersion: 252),
        services: [web(admin)]),
      HostReport(
        name: "evil" + Hostile.image, groups: [Hostile.mustache], status: HostStatus(.ok), identity: identity,
        services: [evil]),
      HostReport(
        name: "down1", address: "10.0.0.9",
        status: HostStatus(.unreachable, reason: Hostile.image + Hostile.osc + Hostile.rtl + Hostile.long)),
    ]
  }

  static let baseline = """
    name: sample
    title: Sample baseline <b>bold</b>
    sets:
      core: [PrivateTmp, {ProtectSystem: [full, strict]}, NoNewPrivileges, User]
    releases:
      R1: 2026-10-01
    services:
      - name: web.service
        not-applicable: { User: the sample service needs root }
        owner: web-team
        tracker: https://src.example.com/web/pull/3
        target: 2026-12-31
      - name: db.service
        owner: db-team
        tracker: https://bugs.example.com/show?id=4|5
        target: R1
        note: "<b>bold</b> | pipe"
      - evil.service
      - gone.service
    """

  static func input(hosts: [HostReport] = hosts(), compare old: [HostReport]? = nil) throws -> ReportInput {
    let baseline = try BaselineParser.parse(Self.baseline, file: "sample.yml")
    let coverage = CoverageCalculator.compute(
      hosts: hosts, baseline: baseline, required: ["core"], today: "2026-11-22")
    let metadata = ScanMetadata(
      id: "scan-1", toolVersion: "test", probeVersion: 1, mode: .ssh, state: .complete,
      startedAt: Date(timeIntervalSince1970: 1_795_000_000), targets: [], plannedHosts: hosts.map(\.name))
    let diff = old.map {
      ScanDiff.compare(old: $0, new: hosts, baseline: baseline, required: ["core"], today: "2026-11-22")
    }
    return ReportInput(
      metadata: metadata, hosts: hosts, baseline: baseline, required: ["core"], coverage: coverage,
      compare: diff.map { ("2026-10-01", $0) }, generatedAt: "2026-11-22 12:00 UTC",
      comparedCoverage: old.map {
        CoverageCalculator.compute(hosts: $0, baseline: baseline, required: ["core"], today: "2026-11-22")
      })
  }

  static func render(_ format: ReportFormat, _ input: ReportInput) throws -> [String: String] {
    try ReportRenderer(templates: BundledTemplates.all()).render(format, input)
  }
}

@Suite("Reports: every format from a fixture scan")
struct ReportFormatTests {
  @Test("HTML: tiles, the matrix with a known cell, hosts, failures, hardened services, the diff")
  func html() throws {
    let page = try #require(
      try Sample.render(.html, try Sample.input(compare: Sample.hosts(hardenedWeb: false)))["report.html"])
    #expect(page.hasPrefix("<!DOCTYPE html>"))
    #expect(page.contains("<div class=\"label\">Hosts</div><div class=\"value\">4</div>"))
    // web: PrivateTmp set by the vendor file on web1 and by an admin drop-in on web2.
    #expect(page.contains("title=\"PrivateTmp: satisfied on 2 hosts (vendor 1, override 1)\""))
    #expect(page.contains("User: not applicable: the sample service needs root"))
    #expect(page.contains("<span class=\"status hardened\">hardened</span>"))
    #expect(page.contains("<span class=\"status not-installed\">not-installed</span>"))
    #expect(page.components(separatedBy: "<tr data-name=").count - 1 == 4)
    #expect(page.contains("Newly hardened") && page.contains("+NoNewPrivileges=yes"))
    #expect(page.contains("<h3>Not audited</h3>"))
    #expect(page.contains("ProtectSystem=strict") && page.contains(Sample.admin))
    #expect(!page.contains("The baseline:"), "no provenance, no line")
  }

  @Test("the header says where the baseline stands (its provenance), in HTML and Markdown")
  func provenance() throws {
    var input = try Sample.input()
    input.baseline.provenance = "Proposed for R1 <b>, accepted for R2"
    let page = try #require(try Sample.render(.html, input)["report.html"])
    #expect(page.contains("<p class=\"meta\">The baseline: Proposed for R1 &lt;b&gt;, accepted for R2</p>"))
    let text = try #require(try Sample.render(.md, input)["report.md"])
    #expect(text.contains("The baseline: Proposed for R1"))
  }

  @Test("Markdown: summary, coverage table, failures, the release-notes list, newly hardened")
  func markdown() throws {
    let text = try #require(
      try Sample.render(.md, try Sample.input(compare: Sample.hosts(hardenedWeb: false)))["report.md"])
    #expect(text.contains("| Hosts | **4** (3 scanned, 1 failed) |"))
    #expect(text.contains("| web.service | hardened | 2 | 3.2 / 3.2 / 3.2 |  |"))
    #expect(
      text.contains("| db.service | partial | 1 | 8.1 / 8.1 / 8.1 | ProtectSystem NoNewPrivileges User  |"))
    #expect(text.contains("## Hardened services"))
    #expect(
      text.contains(
        "| web.service | PrivateTmp=yes, ProtectSystem=strict, NoNewPrivileges=yes | \(Sample.vendor) |"))
    #expect(text.contains("## Newly hardened since 2026-10-01"))
    #expect(text.contains("| web1 | web.service | 3.2 | +NoNewPrivileges=yes |"))
  }

  @Test("CSV: services, checks and hosts, with per-host status and one column per directive")
  func csv() throws {
    let files = try Sample.render(.csv, try Sample.input())
    let services = try #require(files["services.csv"])
    let lines = services.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    #expect(
      lines.first
        == "host,groups,os,systemd,service,status,exposure,predicate,PrivateTmp,ProtectSystem,NoNewPrivileges,User"
    )
    #expect(
      lines.contains("web1,web prod,Debian GNU/Linux 12,252,db.service,partial,8.1,UNSAFE,yes,no,no,(root)"))
    #expect(lines.count == 1 + 4)
    #expect(files["checks.csv"]?.contains("web2,web.service,PrivateTmp,true,0.2") == true)
    #expect(files["hosts.csv"]?.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 5)
  }

  @Test("the change owners' view: HTML (links, overdue), Markdown, owners.csv and report.json")
  func owners() throws {
    let input = try Sample.input(compare: Sample.hosts(hardenedWeb: false))
    let html = try #require(try Sample.render(.html, input)["report.html"])
    #expect(html.contains("<h2 id=\"owners-h\">Change owners</h2>"))
    #expect(html.contains("<a href=\"https://src.example.com/web/pull/3\" rel=\"noreferrer\">"))
    // db.service: partial, its target R1 (2026-10-01) is past on 2026-11-22.
    #expect(
      html.contains("<tr data-owner=\"db-team\" data-overdue=\"true\"><th scope=\"row\">db.service</th>"))
    #expect(html.contains("R1 (2026-10-01) <span class=\"tone-bad\">overdue</span>"))
    #expect(html.contains("<tr data-owner=\"web-team\" data-overdue=\"false\">"))
    #expect(html.contains("&lt;b&gt;bold&lt;/b&gt; | pipe") && !html.contains("<b>bold</b> |"))
    #expect(html.contains("only overdue (1)"))
    let markdown = try #require(try Sample.render(.md, input)["report.md"])
    #expect(markdown.contains("## Change owners"))
    #expect(
      markdown.contains(
        "| db.service | partial | 1 | 8.1 | 8.1, partial | db-team | <https://bugs.example.com/show?id=4%7C5> | R1 (2026-10-01) **overdue** |"
      ), "\(markdown)")
    let csv = try #require(try Sample.render(.csv, input)["owners.csv"])
    let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    #expect(
      lines.first
        == "service,status,hosts,exposure_min,exposure_median,exposure_max,compared_status,compared_exposure_median,owner,tracker,target,target_day,overdue,note,canary_lines_kept,canary_lines_tried,canary_hosts,confirmed_on,confirm_failed_on"
    )
    #expect(
      lines.contains {
        $0.hasPrefix("db.service,partial,1,8.1,8.1,8.1,partial,8.1,db-team,")
          && $0.contains(",R1,2026-10-01,yes,")
      })
    let json = try #require(try Sample.render(.json, input)["report.json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let owners = try #require(object["owners"] as? [[String: Any]])
    #expect(owners.compactMap { $0["service"] as? String }.contains("db.service"))
    #expect(owners.first { $0["service"] as? String == "db.service" }?["overdue"] as? Bool == true)
    // A baseline that tracks nothing has no view in the pages (owners.csv still lists open work).
    var untracked = input
    for index in untracked.baseline.services.indices { untracked.baseline.services[index].tracking = nil }
    #expect(try Sample.render(.html, untracked)["report.html"]?.contains("owners-h") == false)
    #expect(try Sample.render(.md, untracked)["report.md"]?.contains("## Change owners") == false)
    #expect(!html.contains(">Canary</button>"))
  }

  @Test("a canary run's verdicts show in the change owners' view, even for a baseline that tracks nothing")
  func canaryVerdicts() throws {
    var input = try Sample.input(compare: Sample.hosts(hardenedWeb: false))
    for index in input.baseline.services.indices { input.baseline.services[index].tracking = nil }
    let trial = CanaryTrial(lines: ["PrivateNetwork=yes"], passed: false, reason: "inactive (failed)")
    input.canary = CanaryVerdict.verdicts([
      CanaryResult(
        host: "web1", systemd: 252, unit: "db.service", kept: ["PrivateTmp=yes", "ProtectHome=yes"],
        dropped: [CanaryResult.Dropped(line: "PrivateNetwork=yes", trial: trial)], trials: 4),
      CanaryResult(
        role: .confirm, host: "web2", systemd: 257, unit: "db.service",
        kept: ["PrivateTmp=yes", "ProtectHome=yes"],
        trials: 2, check: CanaryTrial(lines: ["PrivateTmp=yes", "ProtectHome=yes"], passed: true)),
      CanaryResult(
        role: .confirm, host: "web3", systemd: 247, unit: "db.service", trials: 2,
        check: CanaryTrial(
          lines: ["PrivateTmp=yes", "ProtectHome=yes"], passed: false, reason: "inactive (failed)")),
    ])
    let verdict = try #require(input.canary["db.service"])
    #expect(verdict.kept == 2 && verdict.tried == 3 && verdict.verifiedOn == 2)
    #expect(verdict.summary == "2/3 lines verified on 2 hosts; failed on web3 (inactive (failed))")
    let html = try #require(try Sample.render(.html, input)["report.html"])
    #expect(html.contains("<h2 id=\"owners-h\">Change owners</h2>"))
    #expect(html.contains(">Canary</button>"))
    #expect(
      html.contains(
        "<td data-sort=\"2\">2/3 lines verified on 2 hosts; failed on web3 (inactive (failed))</td>"))
    let markdown = try #require(try Sample.render(.md, input)["report.md"])
    #expect(
      markdown.contains(" | 2/3 lines verified on 2 hosts; failed on web3 (inactive (failed)) |"),
      "\(markdown)")
    let csv = try #require(try Sample.render(.csv, input)["owners.csv"])
    #expect(
      csv.components(separatedBy: "\r\n").contains {
        $0.hasPrefix("db.service,") && $0.hasSuffix(",2,3,web1,web2,web3")
      }, "\(csv)")
    let json = try #require(try Sample.render(.json, input)["report.json"])
    #expect(json.contains("\"confirmed\""))
  }

  @Test("checks.csv is left out past a spreadsheet's rows, unless asked for")
  func checksRowLimit() throws {
    let input = try Sample.input()
    let rows = CSV.checksRowCount(input)
    let written = try #require(try Sample.render(.csv, input)["checks.csv"])
    #expect(written.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == rows)
    #expect(CSV.files(for: input, allChecks: false, rowLimit: rows) == CSV.files)
    #expect(
      CSV.files(for: input, allChecks: false, rowLimit: rows - 1) == [
        "services.csv", "hosts.csv", "owners.csv", "packages.csv",
      ])
    #expect(CSV.files(for: input, allChecks: true, rowLimit: rows - 1) == CSV.files)
  }

  @Test("JSON: the scan, its coverage and the schema version")
  func json() throws {
    let text = try #require(try Sample.render(.json, try Sample.input())["report.json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(object["schemaVersion"] as? Int == ReportRenderer.jsonSchemaVersion)
    #expect((object["hosts"] as? [Any])?.count == 4)
    let coverage = try #require(object["coverage"] as? [String: Any])
    #expect((coverage["services"] as? [Any])?.count == 4)
  }

  @Test("hostile values stay inert in every format")
  func hostile() throws {
    let input = try Sample.input()
    let page = try #require(try Sample.render(.html, input)["report.html"])
    #expect(!page.contains(Hostile.script))
    #expect(!page.contains("<img src=x"))
    // The hostile OS name is in the hosts' data (the page renders it as text).
    #expect(page.contains("\\u003cscript\\u003ewindow.alertCalled=1\\u003c/script\\u003e\\u003c/td\\u003e"))
    #expect(!page.contains("\u{1B}"))
    #expect(page.contains("␛[31mred"))
    #expect(!page.contains(String(repeating: "A", count: 1_001)))
    let shownOfReason =
      (Hostile.image + Hostile.osc + Hostile.rtl + Hostile.long).unicodeScalars.count - 1_000
    #expect(page.contains("AAA… (\(shownOfReason) more characters)"))
    // The embedded detail JSON cannot close its script element.
    let json = page.components(separatedBy: "<script type=\"application/json\" id=\"details\">")[1]
      .components(separatedBy: "</script>")[0]
    #expect(!json.contains("<") && !json.isEmpty)
    // Nor can the hosts' data, which holds the hostile host name.
    let hosts = page.components(separatedBy: "<script type=\"application/json\" id=\"hosts-data\">")[1]
      .components(separatedBy: "</script>")[0]
    #expect(!hosts.contains("<") && hosts.contains("evil\\u003cimg src=x"))
    // The literal {{detailsJSON}} from the host is shown, not expanded.
    #expect(page.contains("{{detailsJSON}}"))

    let md = try #require(try Sample.render(.md, input)["report.md"])
    #expect(md.components(separatedBy: "<img").count == md.components(separatedBy: "\\<img").count)
    #expect(md.contains("\\<img src=x"))
    #expect(!md.contains("\u{1B}"))

    // OSC sequences, the bell, C1 CSI and right-to-left overrides reach no format raw; the
    // megabyte line is cut everywhere people read.
    let all = try ReportFormat.allCases.map { try Sample.render($0, input) }
    for files in all {
      for (name, text) in files {
        #expect(
          !text.contains { Hostile.dangerous.contains($0) }, "\(name) carries a raw control or override")
      }
    }
    #expect(page.contains("␛]8;;http://evil.example/␇link"))
    #expect(page.contains("invoice\u{FFFD}fdp.exe"))
    #expect(!page.contains(String(repeating: "B", count: 1_001)))
    #expect(!md.contains(String(repeating: "B", count: 1_001)))

    let csv = try Sample.render(.csv, input)
    #expect(csv["hosts.csv"]?.contains("␛]0;pwned␇") == true)
    #expect(csv["hosts.csv"]?.contains("invoice\u{FFFD}fdp.exe") == true)
    #expect(csv["hosts.csv"]?.contains(String(repeating: "B", count: 32_001)) == false)
    #expect(
      csv["services.csv"]?.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\"") == true)
    #expect(csv["hosts.csv"]?.contains("\n=") == false)
    #expect(CSV.field("+1") == "'+1" && CSV.field("-x") == "'-x" && CSV.field("@a") == "'@a")
    #expect(CSV.field("\tx") == "'\tx" && CSV.field("a,b") == "\"a,b\"")
  }

  @Test("the format table is what report --help and docs/reports.md list, each about line fits the help")
  func formatTable() throws {
    let doc = try String(
      contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/reports.md"), encoding: .utf8)
    let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let header = try #require(lines.firstIndex(of: "| `--format` | what it writes, for whom |"))
    let rows = lines[(header + 2)...].prefix { $0.hasPrefix("|") }
    #expect(Array(rows) == ReportFormat.allCases.map { "| `\($0.rawValue)` | \($0.about) |" })
    #expect(ReportFormat.allCases.allSatisfy { $0.about.count <= 69 })
    let help = try TestSupport.run([try TestSupport.unitauditBinary(), "report", "--help"]).output
    for format in ReportFormat.allCases {
      #expect(help.contains(format.about), "\(format)")
    }
    #expect(help.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(ReportFormat.names))
    let unknown = try TestSupport.run([
      try TestSupport.unitauditBinary(), "report", "/nonexistent", "--format", "pdf",
    ])
    #expect(unknown.status == 2 && unknown.output.contains("unknown format 'pdf' (\(ReportFormat.names))"))
  }

  @Test("writing every format at once gives each file render() gives, in the formats' order, each once")
  func writeAtOnce() throws {
    let input = try Sample.input()
    let renderer = try ReportRenderer(templates: BundledTemplates.all())
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "write-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // Asked twice for CSV: written once, not by two jobs at the same time.
    let written = try ReportWriter(renderer: renderer).write(
      [.csv, .md, .json, .csv, .html, .metrics, .junit, .sarif], input, to: directory, allChecks: true
    ).files
    #expect(
      written.map(\.lastPathComponent) == [
        "services.csv", "checks.csv", "hosts.csv", "owners.csv", "packages.csv", "report.md", "report.html",
        "report.json",
        "unitaudit.prom", "junit.xml", "unitaudit.sarif",
      ])
    // The metrics file was renamed into place: nothing else is left in the directory.
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == written.count)
    for format in ReportFormat.allCases {
      for (name, text) in try renderer.render(format, input) {
        let file = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        #expect(file == text, "\(name)")
      }
    }
  }

  @Test("--templates: a template of the same name replaces the bundled one")
  func override() throws {
    var templates = BundledTemplates.all()
    #expect(templates.keys.sorted() == ["release-notes.md", "report.html", "report.md"])
    templates["report.md"] =
      "{{% CONTENT_TYPE: MARKDOWN}}custom {{baselineName}} {{#rows}}[{{name}}]{{/rows}}"
    let text = try ReportRenderer(templates: templates).render(.md, try Sample.input())["report.md"]
    #expect(text == "custom sample [web.service][db.service][evil.service][gone.service]")
  }
}

@Suite("Reports: Prometheus metrics")
struct MetricsTests {
  /// The samples of one metric family: labels → value.
  static func samples(_ text: String, _ name: String) -> [String: String] {
    var found: [String: String] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
      let rest = line.dropFirst(name.count)
      guard let space = rest.lastIndex(of: " ") else { continue }
      found[String(rest[..<space])] = String(rest[rest.index(after: space)...])
    }
    return found
  }

  @Test("exposure per host and service, coverage counts, host statuses and the scan's time")
  func content() throws {
    let input = try Sample.input()
    let text = try #require(try Sample.render(.metrics, input)[Metrics.fileName])
    #expect(text.hasSuffix("# EOF\n"))
    #expect(Self.samples(text, "unitaudit_scan_start_timestamp_seconds") == ["": "1795000000.000"])
    // Every host once, in the status it has; the counts per status add up to the hosts.
    let statuses = Self.samples(text, "unitaudit_hosts")
    #expect(statuses.count == HostStatusCode.allCases.count)
    #expect(statuses.values.compactMap { Int($0) }.reduce(0, +) == input.hosts.count)
    #expect(statuses["{status=\"unreachable\"}"] == "1")
    #expect(Self.samples(text, "unitaudit_host_status").count == input.hosts.count)
    // Each analysed service's exposure, as systemd gave it.
    let exposures = Self.samples(text, "unitaudit_service_exposure")
    let analysed = input.hosts.flatMap { host in
      host.services.compactMap { $0.overall.map { _ in host.name } }
    }
    #expect(exposures.count == analysed.count)
    let web = try #require(input.hosts.first { $0.name == "web1" }?.service(named: "web.service"))
    #expect(
      exposures["{host=\"web1\",unit=\"web.service\"}"] == web.overall?.exposure.description)
    // The baseline's services by status add up to the baseline's services.
    let coverage = Self.samples(text, "unitaudit_baseline_services")
    #expect(coverage.values.compactMap { Int($0) }.reduce(0, +) == input.coverage.services.count)
    #expect(coverage.count == CoverageStatus.allCases.count)
    // No family is a counter, so none ends in _total; every family has help and a type.
    let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
    #expect(families.allSatisfy { $0.hasSuffix(" gauge") && !$0.contains("_total ") })
    #expect(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.count == families.count)
  }

  @Test("label values from hosts are escaped and inert: a quote, a backslash, a line feed, ESC")
  func labels() {
    #expect(Metrics.escaped("a\"b\\c") == "a\\\"b\\\\c")
    #expect(Metrics.escaped("x\ny\u{1B}]0;t\u{07}") == "x\u{240A}y\u{241B}]0;t\u{2407}")
    #expect(Metrics.escaped("\u{202E}cod.exe") == "\u{FFFD}cod.exe")
  }

}

@Suite("The trend chart")
struct TrendChartTests {
  /// `count` scans a week apart from 2026-01-05, hardening one more service each.
  static func trend(_ count: Int) -> Trend {
    Trend(
      baseline: "sample", required: ["core"],
      points: (0..<count).map { index in
        Trend.Point(
          scan: "scan-\(index)",
          startedAt: Date(timeIntervalSince1970: 1_767_571_200 + Double(index) * 604_800),
          hosts: 10,
          counts: [.hardened: 20 + index, .partial: 60, .notStarted: max(0, 140 - index), .exempt: 3])
      })
  }

  static func attribute(_ name: String, of svg: Substring) -> Int? {
    guard let range = svg.range(of: " \(name)=\"") else { return nil }
    return Int(svg[range.upperBound...].prefix { $0.isNumber })
  }

  @Test("drawn at its own size with the page's small type: bars suit 2 scans and 200, days on the axis")
  func sizes() throws {
    for (count, bar, labels) in [(2, 28, 2), (12, 28, 12), (200, 2, 10)] {
      var input = try Sample.input()
      input.trend = Self.trend(count)
      let page = try #require(try Sample.render(.html, input)["report.html"])
      // Left for a person to look at (docs/testing.md).
      try page.write(
        to: Tools.outputDirectory.appendingPathComponent("report-trend-\(count).html"), atomically: true,
        encoding: .utf8)
      let start = try #require(page.range(of: "<svg class=\"chart fixed\""))
      let svg = page[start.lowerBound...].prefix { $0 != "\n" }.prefix(while: { _ in true })
      let end = try #require(svg.range(of: "</svg>"))
      let chart = svg[..<end.upperBound]
      // One SVG unit is one CSS pixel: the width attribute equals the viewBox's, and the CSS
      // does not stretch it to the page.
      let width = try #require(Self.attribute("width", of: chart))
      #expect(chart.contains("viewBox=\"0 0 \(width) "))
      #expect(width >= 360 && width <= 1_100, "\(count) scans: \(width)px wide")
      #expect(
        page.contains("svg.chart.fixed { width: auto; max-width: 100%; height: auto; font-size: 12px; }"))
      // Each bar's width, and the days written under the axis (the first and the last always).
      let bars = chart.components(separatedBy: "<rect x=").dropFirst().compactMap {
        Self.attribute("width", of: Substring("<rect x=" + $0))
      }
      #expect(bars.first == bar, "\(count) scans")
      let days = chart.components(separatedBy: "text-anchor=\"middle\">").dropFirst().map { $0.prefix(10) }
      #expect(days.count == labels, "\(count) scans: \(days.count) days on the axis")
      #expect(days.first == "2026-01-05")
      #expect(
        days.last.map(String.init)
          == UTCDate.day(Date(timeIntervalSince1970: 1_767_571_200 + Double(count - 1) * 604_800)))
    }
  }
}

@Suite("Release notes as Markdown")
struct ReleaseNotesMarkdownTests {
  @Test("a section per kind of change, the package and its versions on each row, hostile names inert")
  func markdown() throws {
    func service(_ id: String, _ exposure: Int, package: String, version: String, tmp: Bool) -> ServiceRecord
    {
      var hardening = HardeningSettings()
      if tmp {
        hardening.privateTmp = Setting(
          true, source: Provenance(file: "/usr/lib/systemd/system/\(id)", line: 4))
      }
      var record = ServiceRecord(
        id: id, loadState: "loaded", hardening: hardening,
        overall: OverallExposure(exposure: Exposure(tenths: exposure), predicate: "OK"))
      record.package = package
      record.packageVersion = version
      return record
    }
    let hostile = "evil|pkg<script>"
    let before = [
      HostReport(
        name: "n", status: HostStatus(.ok),
        services: [
          service("a.service", 90, package: hostile, version: "1", tmp: false),
          service("gone.service", 50, package: "old", version: "1", tmp: false),
        ])
    ]
    let after = [
      HostReport(
        name: "n1", status: HostStatus(.ok),
        services: [
          service("a.service", 40, package: hostile, version: "2", tmp: true),
          service("new.service", 20, package: "fresh", version: "1", tmp: false),
        ])
    ]
    let baseline = try BaselineParser.parse(
      "name: t\ntitle: T\nsets:\n  core: [PrivateTmp]\nservices: [a.service]\n", file: "t.yml")
    let notes = ReleaseNotes.compare(
      before: before, after: after, baseline: baseline, required: ["core"], today: "2026-12-07")
    let text = try ReportRenderer(templates: BundledTemplates.all()).releaseNotes(notes)
    #expect(text.contains("# Service hardening: n → n1"))
    #expect(text.contains("1 hardened, 0 improved, 0 regressed, 1 new, 1 gone, 0 unchanged"))
    #expect(text.contains("## Hardened") && text.contains("## New services") && text.contains("## Gone"))
    #expect(!text.contains("## Regressed"))
    #expect(
      text.contains(
        "| evil\\|pkg\\<script\\> (1 → 2) | a.service | not-started → hardened | 9.0 → 4.0 | +PrivateTmp=yes |"
      ), "\(text)")
    #expect(!text.contains("<script>"))
  }
}
