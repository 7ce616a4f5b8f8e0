import Coverage
import Foundation
import TestSupport
import Testing
import UnitModel

@Suite("suggest: a candidate drop-in per service that is not hardened")
struct SuggestTests {
  static let baselineText = """
    name: s
    title: s
    sets:
      core:
        - PrivateTmp
        - ProtectSystem: [full, strict]
        - NoNewPrivileges
        - ProtectClock
        - User
    services:
      - web.service
      - name: clock.service
        not-applicable: { ProtectClock: it sets the clock }
      - dbus-org.freedesktop.hostname1.service
    waivers:
      - { service: web.service, directive: NoNewPrivileges, hosts: "b*", reason: legacy CGI, owner: web-team }
    """

  static func host(_ name: String, systemd: Int, _ services: [ServiceRecord]) -> HostReport {
    var host = Fleet.host(name, services)
    host.identity = HostIdentity(systemdVersion: systemd)
    return host
  }

  @Test(
    "lines for what a host lacks, the weakest accepted value, never weaker than a file's; left out with reasons"
  )
  func suggestions() throws {
    let baseline = try BaselineParser.parse(Self.baselineText, file: "s.yml")
    // web: a1 sets ProtectSystem=strict in a file, b1 nothing; NoNewPrivileges is waived on b1.
    let webA = Fleet.service("web.service", exposure: 40) {
      $0.privateTmp = Fleet.on()
      $0.protectSystem = Setting(.strict, source: Provenance(file: Fleet.vendor, line: 4))
      $0.noNewPrivileges = Fleet.on()
    }
    var webB = Fleet.service("web.service", exposure: 80)
    webB.fragmentPath = "/usr/lib/systemd/system/web.service"
    webB.package = "acme-web"
    // hostnamed, by its alias: nothing set; clock: ProtectClock does not apply.
    let hostnamed = Fleet.service(
      "systemd-hostnamed.service", aliases: ["dbus-org.freedesktop.hostname1.service"], exposure: 90)
    let clock = Fleet.service("clock.service", exposure: 90)
    let hosts = [
      Self.host("a1", systemd: 252, [webA, hostnamed]),
      Self.host("b1", systemd: 239, [webB, hostnamed, clock]),
      Self.host("c1", systemd: 257, [webB]),
    ]
    let suggestions = Suggest.suggestions(
      hosts: hosts, baseline: baseline, required: ["core"], today: "2026-12-02")
    #expect(
      suggestions.map(\.service) == [
        "web.service", "clock.service", "dbus-org.freedesktop.hostname1.service",
      ])

    let web = suggestions[0]
    #expect(web.unit == "web.service" && web.hosts == ["a1", "b1", "c1"] && web.oldestSystemd == 239)
    #expect(web.lines.map(\.assignment) == ["PrivateTmp=yes", "ProtectSystem=strict", "DynamicUser=yes"])
    #expect(
      web.lines.first { $0.directive == .user }?.review?.contains("systemd.exec(5) DynamicUser=") == true)
    #expect(web.lines.first { $0.directive == .privateTmp }?.review == nil)
    #expect(
      web.leftOut.map(\.directive) == [.noNewPrivileges, .protectClock],
      "missing on c1 but waived on b1; ProtectClock needs 245, b1 runs 239")
    #expect(web.leftOut[0].reason.contains("waived on some hosts (legacy CGI; web-team)"))
    #expect(web.leftOut[1].reason == "needs systemd 245; the oldest host runs 239")
    #expect(web.fragments == ["/usr/lib/systemd/system/web.service"])
    #expect(web.packages == ["acme-web"])
    #expect(
      Suggest.dropIn(web, baseline: "s", required: ["core"]).contains(
        "# Unit file: /usr/lib/systemd/system/web.service\n# Package: acme-web\n"))

    let clockSuggestion = suggestions[1]
    #expect(clockSuggestion.status == .notStarted)
    #expect(
      clockSuggestion.lines.map(\.assignment) == [
        "PrivateTmp=yes", "ProtectSystem=full", "NoNewPrivileges=yes", "DynamicUser=yes",
      ])
    #expect(clockSuggestion.leftOut.map(\.reason) == ["not applicable: it sets the clock"])

    let named = suggestions[2]
    #expect(named.unit == "systemd-hostnamed.service")
    #expect(named.path == "/etc/systemd/system/systemd-hostnamed.service.d/50-hardening.conf")
    let text = Suggest.dropIn(named, baseline: "s", required: ["core"])
    #expect(text.hasPrefix("# /etc/systemd/system/systemd-hostnamed.service.d/50-hardening.conf\n"))
    #expect(text.contains("# Every line is one that systemd 239 accepts (the oldest of those hosts).\n"))
    #expect(text.contains("\n[Service]\n# PrivateTmp: yes; missing on 2 of 2\nPrivateTmp=yes\n"))
    #expect(text.contains("# REVIEW: runs the service as a transient user"))
    #expect(text.contains("# Left out:\n#   ProtectClock: needs systemd 245; the oldest host runs 239\n"))
    // Only the services asked for; a hardened one gets none.
    #expect(
      Suggest.suggestions(
        hosts: hosts, baseline: baseline, required: ["core"], services: ["clock.service"], today: "2026-12-02"
      )
      .map(\.service) == ["clock.service"])
    let hardened = Fleet.service("clock.service", exposure: 10) {
      $0.privateTmp = Fleet.on()
      $0.protectSystem = Setting(.full, source: nil)
      $0.noNewPrivileges = Fleet.on()
      $0.dynamicUser = Fleet.on()
    }
    #expect(
      Suggest.suggestions(
        hosts: [Self.host("c1", systemd: 257, [hardened])], baseline: baseline, required: ["core"],
        today: "2026-12-02"
      ).isEmpty)
  }

  @Test("a filter a host's file already sets is left out: a drop-in line would merge into it and widen it")
  func filterNotMerged() throws {
    let baseline = try BaselineParser.parse(
      "name: f\ntitle: f\nsets:\n  core: [SystemCallFilter, PrivateTmp]\nservices: [chrony.service]\n",
      file: "f.yml")
    let own = Fleet.service("chrony.service", exposure: 30) {
      $0.systemCallFilter = Setting(
        FilterList(mode: .deny, entries: ["@mount", "@debug"]),
        source: Provenance(file: Fleet.vendor, line: 9))
    }
    let bare = Fleet.service("chrony.service", exposure: 60)
    let both = try #require(
      Suggest.suggestions(
        hosts: [Self.host("a", systemd: 252, [own]), Self.host("b", systemd: 252, [bare])],
        baseline: baseline,
        required: ["core"], today: "2026-12-02"
      ).first)
    #expect(both.lines.map(\.assignment) == ["PrivateTmp=yes"])
    #expect(both.leftOut.map(\.directive) == [.systemCallFilter])
    #expect(both.leftOut[0].reason.contains("would merge into that list and widen it"))
    // For the host without one, the line is made.
    let bareOnly = try #require(
      Suggest.suggestions(
        hosts: [Self.host("b", systemd: 252, [bare])], baseline: baseline, required: ["core"],
        today: "2026-12-02"
      ).first)
    #expect(bareOnly.lines.map(\.assignment) == ["SystemCallFilter=@system-service", "PrivateTmp=yes"])
    // Services without systemd's grades (an older probe) are not predicted, and say why.
    #expect(bareOnly.exposures.map(\.host) == ["b"])
    #expect(bareOnly.exposures[0].after == nil)
    #expect(bareOnly.exposures[0].unpredicted?.contains("scan again") == true)
    #expect(bareOnly.predictedMedians == nil)
  }

  @Test("the choice a suggestion makes follows systemd's grading: ProtectHome read-only before yes")
  func weakestFirst() throws {
    let baseline = try BaselineParser.parse(
      "name: h\ntitle: h\nsets:\n  core: [{ProtectHome: [yes, read-only]}, PrivateTmp: [yes, disconnected]]\nservices: [web.service]\n",
      file: "h.yml")
    let suggestion = try #require(
      Suggest.suggestions(
        hosts: [Self.host("a", systemd: 257, [Fleet.service("web.service", exposure: 90)])],
        baseline: baseline,
        required: ["core"], today: "2026-12-02"
      ).first)
    #expect(suggestion.lines.map(\.assignment) == ["ProtectHome=read-only", "PrivateTmp=yes"])
  }

  @Test("unitaudit suggest: drop-ins printed, or written under -o; an unknown service is a usage error")
  func command() async throws {
    let fixture = try await CheckCommandTests().fixture(Fleet.hosts)
    let binary = try TestSupport.unitauditBinary()
    let printed = try TestSupport.run([binary, "suggest", fixture.scan, "--baseline", fixture.baseline])
    #expect(printed.status == 0, "\(printed.output)")
    #expect(printed.output.contains("# /etc/systemd/system/systemd-hostnamed.service.d/50-hardening.conf\n"))
    #expect(printed.output.contains("\n[Service]\n"))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "suggest-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let written = try TestSupport.run([
      binary, "suggest", fixture.scan, "--baseline", fixture.baseline, "-o", directory.path, "--host", "a*",
    ])
    #expect(written.status == 0, "\(written.output)")
    let file = directory.appendingPathComponent("systemd-hostnamed.service.d/50-hardening.conf")
    let text = try String(contentsOf: file, encoding: .utf8)
    #expect(text.contains("made for 1 host.") && text.contains("ProtectSystem=full\n"))
    let unknown = try TestSupport.run([
      binary, "suggest", fixture.scan, "--baseline", fixture.baseline, "--service", "nope.service",
    ])
    #expect(unknown.status == 2 && unknown.output.contains("names no service 'nope.service'"))
  }
}
