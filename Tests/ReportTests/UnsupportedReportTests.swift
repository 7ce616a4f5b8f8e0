import Coverage
import Foundation
import Report
import ReportTemplates
import Testing
import UnitModel

/// A requirement that a host's systemd is too old to meet: `unsupported` with the version it
/// needs, in coverage, the policy gate and every report format.
@Suite("unsupported requirements: older systemd in coverage, check and the reports")
struct UnsupportedReportTests {
  static let baselineText = """
    name: versions
    title: Version-aware baseline
    sets:
      core:
        - PrivateTmp
        - PrivateIPC
        - ProtectControlGroups: [strict]
    services: [web.service]
    """

  /// web.service with PrivateTmp on, on a host running systemd `version`.
  static func host(_ name: String, systemd version: Int, _ set: (inout HardeningSettings) -> Void = { _ in })
    -> HostReport
  {
    var host = HostReport(
      name: name, status: HostStatus(.ok),
      services: [
        Sample.service("web.service", exposure: 50) {
          $0.privateTmp = Setting(true, source: Provenance(file: Sample.admin, line: 2))
          set(&$0)
        }
      ])
    host.identity = HostIdentity(hostname: name, systemdVersion: version)
    return host
  }

  static func input(_ hosts: [HostReport]) throws -> ReportInput {
    let baseline = try BaselineParser.parse(baselineText, file: "versions.yml")
    let coverage = CoverageCalculator.compute(
      hosts: hosts, baseline: baseline, required: ["core"], today: "2026-12-01")
    let metadata = ScanMetadata(
      id: "scan-v", toolVersion: "test", probeVersion: 1, mode: .ssh, state: .complete,
      startedAt: Date(timeIntervalSince1970: 1_795_000_000), targets: [], plannedHosts: hosts.map(\.name))
    return ReportInput(
      metadata: metadata, hosts: hosts, baseline: baseline, required: ["core"], coverage: coverage,
      compare: nil,
      generatedAt: "2026-12-01 12:00 UTC")
  }

  @Test("coverage: unsupported on the old host (with the version needed), missing on the new one")
  func coverage() throws {
    let old = Self.host("old", systemd: 247)
    let new = Self.host("new", systemd: 257)
    let report = try Self.input([old, new]).coverage
    let web = try #require(report.services.first)
    let ipc = try #require(web.directives.first { $0.directive == .privateIPC })
    #expect(ipc.unsupported == 1 && ipc.unsupportedOn == ["old"] && ipc.needsSystemd == 248)
    #expect(ipc.missing == 1 && ipc.missingOn == ["new"])
    let groups = try #require(web.directives.first { $0.directive == .protectControlGroups })
    #expect(groups.unsupported == 1 && groups.needsSystemd == 257, "strict needs 257")
    #expect(groups.missing == 1)

    // Judged by what its host can do: the old host meets all it supports (PrivateTmp).
    let baseline = try BaselineParser.parse(Self.baselineText, file: "versions.yml")
    let requirements = baseline.requirements(in: ["core"])
    let entry = BaselineService(name: "web.service")
    let oldJudgement = CoverageCalculator.judge(
      old.services[0], host: "old", entry: entry, requirements: requirements, baseline: baseline,
      today: "2026-12-01", systemd: 247)
    #expect(oldJudgement.status == .hardened)
    #expect(
      oldJudgement.outcomes.map(\.state) == [
        .satisfied(.override), .unsupported(needs: 248), .unsupported(needs: 257),
      ])
    // Without a version, nothing is unsupported.
    let unknown = CoverageCalculator.judge(
      old.services[0], host: "old", entry: entry, requirements: requirements, baseline: baseline,
      today: "2026-12-01")
    #expect(unknown.status == .partial)
  }

  @Test("check: unsupported is a note by default and a violation with failOnUnsupported")
  func policy() throws {
    let baseline = try BaselineParser.parse(Self.baselineText, file: "versions.yml")
    let hosts = [Self.host("old", systemd: 247) { $0.privateIPC = nil }]
    let violations = PolicyCheck.violations(
      hosts: hosts, baseline: baseline, required: ["core"], today: "2026-12-01")
    #expect(violations.isEmpty, "\(violations)")
    let findings = PolicyCheck.findings(
      hosts: hosts, baseline: baseline, required: ["core"], today: "2026-12-01")
    #expect(findings.map(\.kind) == [.unsupported, .unsupported])
    #expect(
      findings.first?.description
        == "old web.service PrivateIPC: unsupported: PrivateIPC: yes needs systemd 248; the host runs systemd 247"
    )
  }

  @Test("diff: a host whose systemd got new enough shows what it was")
  func diff() throws {
    let baseline = try BaselineParser.parse(Self.baselineText, file: "versions.yml")
    let before = [Self.host("h", systemd: 247)]
    let after = [
      Self.host("h", systemd: 252) {
        $0.privateIPC = Setting(true, source: Provenance(file: Sample.admin, line: 3))
      }
    ]
    let diff = ScanDiff.compare(
      old: before, new: after, baseline: baseline, required: ["core"], today: "2026-12-01")
    let change = try #require(diff.changes.first)
    #expect(change.gained.map(\.directive) == [.privateIPC])
    #expect(change.gained.first?.before == "unsupported (needs systemd 248)")
    #expect(change.gained.first?.after == "yes")
  }

  @Test("HTML cell, Markdown column and CSV value say unsupported and the version needed")
  func reports() throws {
    let input = try Self.input([Self.host("old", systemd: 247)])
    let renderer = try ReportRenderer(templates: BundledTemplates.all())
    let html = try #require(try renderer.render(.html, input)["report.html"])
    #expect(
      html.contains(
        #"<td class="c unsupported" title="PrivateIPC: yes: needs systemd 248; unsupported on 1 of 1 hosts"#))
    #expect(html.contains("⊘ unsupported"))
    let markdown = try #require(try renderer.render(.md, input)["report.md"])
    #expect(markdown.contains("| Missing | Unsupported |"))
    #expect(
      markdown.contains("| PrivateIPC (systemd 248) ProtectControlGroups (systemd 257)  |"), "\(markdown)")
    let csv = try #require(try renderer.render(.csv, input)["services.csv"])
    let row = try #require(csv.split(whereSeparator: \.isNewline).first { $0.contains("web.service") })
    #expect(row.hasSuffix("yes,unsupported (needs systemd 248),unsupported (needs systemd 257)"), "\(row)")
  }
}
