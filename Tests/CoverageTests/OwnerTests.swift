import Coverage
import Foundation
import TestSupport
import Testing
import UnitModel

/// The change owners' fields on baseline services, their view and `check --overdue`.
@Suite("Change owners: tracking fields, the owners' view, overdue services")
struct OwnerTests {
  /// The test baseline's services (see `Fleet`), with tracking fields and two releases.
  static let baselineText = """
    name: tracked
    title: Tracked
    sets:
      core:
        - PrivateTmp
        - ProtectSystem: [full, strict]
        - NoNewPrivileges
    releases:
      R1: 2026-09-01
      R2: 2026-10-01
    services:
      - name: web.service
        owner: web-team
        target: 2026-06-01
      - name: clock.service
        not-applicable: { NoNewPrivileges: it calls a setuid helper }
      - name: dbus-org.freedesktop.hostname1.service
        owner: core-team
        tracker: https://src.example.com/systemd/pull/7?a=1&b=2
        target: R2
        note: needs ProtectSystem
      - name: shell.service
        exempt: an interactive shell by design
        owner: shell-team
        target: 2020-01-01
      - name: absent.service
        owner: nobody
        target: 2020-01-01
    waivers:
      - { service: web.service, directive: NoNewPrivileges, hosts: "b*", reason: legacy CGI, owner: web-team, expires: 2026-12-31 }
    """

  static var baseline: Baseline { get throws { try BaselineParser.parse(baselineText, file: "tracked.yml") } }

  @Test("tracking fields and releases are read; a target names a day or a release")
  func parse() throws {
    let baseline = try Self.baseline
    let hostnamed = try #require(baseline.service(named: "dbus-org.freedesktop.hostname1.service"))
    #expect(
      hostnamed.tracking
        == Tracking(
          owner: "core-team", tracker: "https://src.example.com/systemd/pull/7?a=1&b=2", target: "R2",
          note: "needs ProtectSystem"))
    #expect(baseline.targetDay(of: hostnamed) == "2026-10-01")
    #expect(baseline.service(named: "web.service").flatMap(baseline.targetDay) == "2026-06-01")
    #expect(baseline.service(named: "clock.service")?.tracking == nil)
    #expect(baseline.releases == ["R1": "2026-09-01", "R2": "2026-10-01"])
  }

  @Test("an owner or a target changes no judgement's name; a requirement does")
  func judgementKey() throws {
    let tracked = try Self.baseline
    var edited = tracked
    edited.services[0].tracking?.owner = "another-team"
    edited.releases?["R3"] = "2027-01-01"
    #expect(try edited.judgementKey(required: ["core"]) == tracked.judgementKey(required: ["core"]))
    edited.services[0].notApplicable[.privateTmp] = "reason"
    #expect(try edited.judgementKey(required: ["core"]) != tracked.judgementKey(required: ["core"]))
  }

  @Test(
    "bad tracking fields are refused with the file, the line and the reason",
    arguments: [
      ("    tracker: javascript:alert(1)\n", 3, "tracker 'javascript:alert(1)' is not an http(s) URL"),
      ("    tracker: \"https://x.example/a\\\"b\"\n", 3, "is not an http(s) URL"),
      ("    tracker: https://x.example/ä\n", 3, "is not an http(s) URL"),
      (
        "    target: R9\n", 3,
        "target 'R9' is neither a date (YYYY-MM-DD) nor a release named under 'releases' (releases: R1)"
      ),
      ("    target: 2026-02-30\n", 3, "target '2026-02-30' is neither a date"),
      ("    owners: x\n", 3, "unknown key 'owners' (expected name, exempt, not-applicable, owner, tracker"),
    ])
  func refused(field: String, line: Int, message: String) throws {
    let text =
      "name: t\ntitle: t\nservices:\n  - name: a.service\n" + field
      + "sets:\n  core: [PrivateTmp]\nreleases:\n  R1: 2026-09-01\n"
    #expect {
      _ = try BaselineParser.parse(text, file: "bad.yml")
    } throws: { error in
      let description = "\(error)"
      return description.hasPrefix("bad.yml:\(line + 2):") && description.contains(message)
    }
    let badRelease =
      "name: t\ntitle: t\nsets:\n  core: [PrivateTmp]\nreleases:\n  R1: soon\nservices: [a.service]\n"
    #expect {
      _ = try BaselineParser.parse(badRelease, file: "bad.yml")
    } throws: { error in "\(error)" == "bad.yml:6: release R1: 'soon' is not a date (YYYY-MM-DD)" }
  }

  @Test("the view: tracked services and untracked open ones, by target day; overdue only when open")
  func view() throws {
    let baseline = try Self.baseline
    let coverage = CoverageCalculator.compute(hosts: Fleet.hosts, baseline: baseline, today: "2026-11-22")
    // An older scan where hostnamed had nothing set yet.
    var older = Fleet.hosts
    older[0].services[2].hardening = HardeningSettings()
    older[1].services[1].hardening = HardeningSettings()
    let compared = CoverageCalculator.compute(hosts: older, baseline: baseline, today: "2026-11-22")
    let entries = OwnerView.entries(
      coverage: coverage, compared: compared, baseline: baseline, today: "2026-11-22")
    // clock is hardened and untracked: not in the view.
    #expect(
      entries.map(\.service) == [
        "absent.service", "shell.service", "web.service", "dbus-org.freedesktop.hostname1.service",
      ])
    #expect(entries.map(\.status) == [.notInstalled, .exempt, .hardened, .partial])
    #expect(entries.map(\.overdue) == [false, false, false, true])
    let hostnamed = try #require(entries.last)
    #expect(hostnamed.targetDay == "2026-10-01" && hostnamed.tracking.owner == "core-team")
    #expect(hostnamed.comparedStatus == .notStarted && hostnamed.status == .partial)
    #expect(hostnamed.exposure?.median.tenths == 13 && hostnamed.comparedExposure?.median.tenths == 13)
    // Before the release's day nothing is overdue.
    #expect(
      OwnerView.entries(coverage: coverage, baseline: baseline, today: "2026-10-01").allSatisfy {
        !$0.overdue
      })
    // Untracked open work is listed too, after the targeted.
    var untracked = baseline
    untracked.services[2].tracking = nil
    #expect(
      OwnerView.entries(coverage: coverage, baseline: untracked, today: "2026-11-22").last?.service
        == "dbus-org.freedesktop.hostname1.service")
    let late = OwnerView.overdue(coverage: coverage, baseline: baseline, today: "2026-11-22")
    #expect(
      late.map(\.description) == [
        "dbus-org.freedesktop.hostname1.service: past its target R2 (2026-10-01) and partial on 2 hosts; "
          + "owner core-team; https://src.example.com/systemd/pull/7?a=1&b=2"
      ])
  }

  @Test("check --overdue lists the late services and exits 1; none late exits 0")
  func checkOverdue() async throws {
    let fixture = try await CheckCommandTests().fixture(Fleet.hosts)
    try Self.baselineText.write(toFile: fixture.baseline, atomically: true, encoding: .utf8)
    let binary = try TestSupport.unitauditBinary()
    let late = try TestSupport.run([
      binary, "check", fixture.scan, "--baseline", fixture.baseline, "--overdue", "--today", "2026-11-22",
    ])
    #expect(late.status == 1, "\(late.output)")
    #expect(late.output.contains("dbus-org.freedesktop.hostname1.service: past its target R2 (2026-10-01)"))
    #expect(late.output.contains("1 service of tracked past its target and not hardened on 2026-11-22"))
    #expect(!late.output.contains("c1: not audited"), "only overdue services are listed")
    let json = try TestSupport.run([
      binary, "check", fixture.scan, "--baseline", fixture.baseline, "--overdue", "--today", "2026-11-22",
      "--json",
    ])
    let list = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
    #expect(list.map { $0["kind"] as? String } == ["overdue"])
    let early = try TestSupport.run([
      binary, "check", fixture.scan, "--baseline", fixture.baseline, "--overdue", "--today", "2026-09-30",
    ])
    #expect(early.status == 0, "\(early.output)")
    #expect(
      early.output.contains("ok: no service of tracked is past its target on 2026-09-30 (4 with a target)"))
    let mixed = try TestSupport.run([
      binary, "check", fixture.scan, "--baseline", fixture.baseline, "--overdue", "--max-exposure", "5",
    ])
    #expect(mixed.status == 2 && mixed.output.contains("--overdue lists only services past their target"))
  }
}
