import Coverage
import Foundation
import TestSupport
import Testing
import UnitModel

/// A small fleet built by hand, with the expected results worked out below each test.
enum Fleet {
  static let vendor = "/lib/systemd/system/x.service"
  static let admin = "/etc/systemd/system/x.service.d/override.conf"

  static func on(_ value: Bool = true, _ file: String = vendor) -> Setting<Bool> {
    Setting(value, source: Provenance(file: file, line: 3))
  }

  static func service(
    _ id: String, aliases: [String] = [], exposure: Int,
    _ configure: (inout HardeningSettings) -> Void = { _ in }
  ) -> ServiceRecord {
    var hardening = HardeningSettings()
    configure(&hardening)
    return ServiceRecord(
      id: id, aliases: aliases, loadState: "loaded", hardening: hardening,
      overall: OverallExposure(
        exposure: Exposure(tenths: exposure), predicate: exposure > 70 ? "UNSAFE" : "OK"))
  }

  static func host(_ name: String, _ services: [ServiceRecord]) -> HostReport {
    HostReport(name: name, status: HostStatus(.ok), services: services)
  }

  /// The baseline the tests use: core = PrivateTmp, ProtectSystem ∈ {full, strict}, NoNewPrivileges.
  static let baselineText = """
    name: test
    title: Test baseline
    version: "1"
    sets:
      core:
        - PrivateTmp
        - ProtectSystem: [full, strict]
        - NoNewPrivileges
      extended:
        - CapabilityBoundingSet
        - User
    services:
      - web.service
      - name: clock.service
        not-applicable: { NoNewPrivileges: it calls a setuid helper }
      - dbus-org.freedesktop.hostname1.service
      - name: shell.service
        exempt: an interactive shell by design
      - absent.service
    waivers:
      - { service: web.service, directive: NoNewPrivileges, hosts: "b*", reason: legacy CGI, owner: web-team, expires: 2026-12-31 }
      - { service: web.service, directive: PrivateTmp, reason: old plugin, owner: web-team, expires: 2026-01-01 }
    """

  static var baseline: Baseline {
    get throws { try BaselineParser.parse(baselineText, file: "test.yml") }
  }

  /// a1 and b1 run web (hardened on a1 by an admin drop-in, lacking NoNewPrivileges on b1);
  /// clock is hardened (NoNewPrivileges not applicable); hostnamed is found through its alias;
  /// b1 also runs an unhardened extra service outside the baseline.
  static var hosts: [HostReport] {
    let webA = service("web.service", exposure: 42) {
      $0.privateTmp = on()
      $0.protectSystem = Setting(.strict, source: Provenance(file: admin, line: 2))
      $0.noNewPrivileges = on(true, admin)
    }
    let webB = service("web.service", exposure: 61) {
      $0.privateTmp = on()
      $0.protectSystem = Setting(.full, source: Provenance(file: vendor, line: 4))
    }
    let clock = service("clock.service", exposure: 30) {
      $0.privateTmp = on()
      $0.protectSystem = Setting(.strict, source: Provenance(file: vendor, line: 5))
    }
    let hostnamed = service(
      "systemd-hostnamed.service", aliases: ["dbus-org.freedesktop.hostname1.service"], exposure: 13
    ) { $0.privateTmp = on() }
    let shell = service("shell.service", exposure: 96)
    let extra = service("extra.service", exposure: 96)
    return [
      host("a1", [webA, clock, hostnamed, shell]),
      host("b1", [webB, hostnamed, shell, extra]),
      HostReport(name: "c1", status: HostStatus(.unreachable, reason: "Connection refused")),
    ]
  }
}

@Suite("Coverage against a baseline")
struct CoverageTests {
  @Test("statuses, per-directive counts split by source, waivers, exemptions, aliases")
  func coverage() throws {
    let report = CoverageCalculator.compute(
      hosts: Fleet.hosts, baseline: try Fleet.baseline, today: "2026-11-22")
    #expect(report.required == ["core"])
    func service(_ name: String) throws -> ServiceCoverage {
      try #require(report.services.first { $0.name == name })
    }

    // web: a1 satisfies all three; b1 lacks NoNewPrivileges, waived for b* until 2026-12-31.
    let web = try service("web.service")
    #expect(web.status == .hardened)
    #expect(web.hosts == ["a1", "b1"])
    #expect(web.exposure?.min.tenths == 42 && web.exposure?.max.tenths == 61)
    let nnp = try #require(web.directives.first { $0.directive == .noNewPrivileges })
    #expect(nnp.satisfied == [.override: 1] && nnp.waived == 1 && nnp.missing == 0)
    let system = try #require(web.directives.first { $0.directive == .protectSystem })
    #expect(system.satisfied == [.override: 1, .vendor: 1])

    // clock: NoNewPrivileges does not apply; the rest is set.
    let clock = try service("clock.service")
    #expect(clock.status == .hardened)
    #expect(
      clock.directives.first { $0.directive == .noNewPrivileges }?.notApplicable == "it calls a setuid helper"
    )

    // The alias finds systemd-hostnamed; only PrivateTmp is set: partial.
    let hostnamed = try service("dbus-org.freedesktop.hostname1.service")
    #expect(hostnamed.unitIDs == ["systemd-hostnamed.service"])
    #expect(hostnamed.status == .partial)
    #expect(hostnamed.directives.first { $0.directive == .protectSystem }?.missingOn == ["a1", "b1"])

    #expect(try service("shell.service").status == .exempt)
    #expect(try service("absent.service").status == .notInstalled)
    #expect(report.count(.hardened) == 2 && report.count(.partial) == 1)

    // Hosts: c1 was not scanned; b1 has one service outside the baseline (exempt ones are in it).
    #expect(report.hosts.map(\.name) == ["a1", "b1"])
    let b1 = try #require(report.hosts.first { $0.name == "b1" })
    #expect(b1.present == 2 && b1.hardened == 1 && b1.partial == 1 && b1.outside == 1)
    #expect(b1.worstExposure?.tenths == 61)
    #expect(report.outsideBaseline == ["extra.service": 1])

    // Waivers: the PrivateTmp one expired on 2026-01-01 and matched nothing (PrivateTmp is set).
    let expired = try #require(report.waivers.first { $0.waiver.directive == .privateTmp })
    #expect(expired.expired && expired.matches == 0)
    #expect(report.waivers.first { $0.waiver.directive == .noNewPrivileges }?.matches == 1)
  }

  @Test("after a waiver expires, the service is partial again")
  func expiry() throws {
    let report = CoverageCalculator.compute(
      hosts: Fleet.hosts, baseline: try Fleet.baseline, today: "2027-01-01")
    #expect(report.services.first { $0.name == "web.service" }?.status == .partial)
  }

  @Test("--require core,extended: User and CapabilityBoundingSet count too")
  func extended() throws {
    let report = CoverageCalculator.compute(
      hosts: Fleet.hosts, baseline: try Fleet.baseline, required: ["core", "extended"], today: "2026-11-22")
    #expect(report.services.first { $0.name == "web.service" }?.status == .partial)
    #expect(report.services.first { $0.name == "web.service" }?.directives.count == 5)
  }

  @Test("not-started: nothing required is set anywhere")
  func notStarted() throws {
    let bare = Fleet.host("z", [Fleet.service("web.service", exposure: 96)])
    let report = CoverageCalculator.compute(hosts: [bare], baseline: try Fleet.baseline, today: "2026-11-22")
    #expect(report.services.first { $0.name == "web.service" }?.status == .notStarted)
  }
}

@Suite("The policy gate")
struct PolicyCheckTests {
  @Test("violations name host, service, directive and why; waivers and exemptions hold")
  func violations() throws {
    let baseline = try Fleet.baseline
    let found = PolicyCheck.violations(
      hosts: Fleet.hosts, baseline: baseline, required: ["core"], today: "2026-11-22")
    let text = found.map(\.description)
    #expect(
      text.contains(
        "b1 systemd-hostnamed.service (dbus-org.freedesktop.hostname1.service) ProtectSystem: is no; required: ProtectSystem ∈ {full, strict}"
      ))
    #expect(!text.contains { $0.contains("web.service") }, "the waiver covers b1's NoNewPrivileges")
    #expect(!text.contains { $0.contains("shell.service") }, "exempt")
    #expect(found.contains { $0.kind == .notScanned && $0.host == "c1" })
    // hostnamed lacks ProtectSystem and NoNewPrivileges, on both hosts.
    #expect(found.filter { $0.kind == .directive }.count == 4)

    let strict = PolicyCheck.violations(
      hosts: Fleet.hosts, baseline: baseline, required: ["core"], maxExposure: Exposure(tenths: 50),
      failOnExpiredWaivers: true, today: "2027-02-01")
    #expect(strict.contains { $0.kind == .exposure && $0.host == "b1" && $0.service == "web.service" })
    #expect(strict.filter { $0.kind == .expiredWaiver }.count == 2)
    let expiredNNP = strict.first {
      $0.host == "b1" && $0.directive == .noNewPrivileges && $0.kind == .directive
    }
    #expect(expiredNNP?.reason.contains("expired 2026-12-31") == true)
  }

  @Test("a clean scan has no violations")
  func clean() throws {
    let hardened = Fleet.service("web.service", exposure: 20) {
      $0.privateTmp = Fleet.on()
      $0.protectSystem = Setting(.full, source: nil, impliedBy: "DynamicUser")
      $0.noNewPrivileges = Fleet.on()
    }
    let found = PolicyCheck.violations(
      hosts: [Fleet.host("a", [hardened])], baseline: try Fleet.baseline, required: ["core"],
      today: "2026-11-22")
    #expect(found.isEmpty)
  }
}

@Suite("Scan diff")
struct ScanDiffTests {
  @Test("hardened, regressed and improved services with the directives why; hosts and services added")
  func diff() throws {
    let old = [
      Fleet.host("a1", [Fleet.service("web.service", exposure: 80) { $0.privateTmp = Fleet.on() }]),
      Fleet.host(
        "b1",
        [
          Fleet.service("db.service", exposure: 40) {
            $0.privateTmp = Fleet.on()
            $0.noNewPrivileges = Fleet.on()
          },
          Fleet.service("old.service", exposure: 90),
        ]),
    ]
    let new = [
      Fleet.host(
        "a1",
        [
          Fleet.service("web.service", exposure: 30) {
            $0.privateTmp = Fleet.on()
            $0.protectSystem = Setting(.strict, source: Provenance(file: Fleet.admin, line: 1))
            $0.noNewPrivileges = Fleet.on(true, Fleet.admin)
          }
        ]),
      Fleet.host("b1", [Fleet.service("db.service", exposure: 55) { $0.privateTmp = Fleet.on() }]),
      Fleet.host("c1", []),
    ]
    let diff = ScanDiff.compare(
      old: old, new: new, baseline: try Fleet.baseline, required: ["core"], today: "2026-11-22")
    #expect(diff.hostsAdded == ["c1"] && diff.hostsRemoved.isEmpty)
    #expect(diff.servicesRemoved == ["b1 old.service"])
    let web = try #require(diff.changes.first { $0.service == "web.service" })
    #expect(web.kind == .hardened)
    #expect(web.gained.map(\.directive) == [.protectSystem, .noNewPrivileges])
    #expect(web.gained.first?.source == .override && web.gained.first?.after == "strict")
    let db = try #require(diff.changes.first { $0.service == "db.service" })
    #expect(db.kind == .regressed)
    #expect(db.lost.map(\.directive) == [.noNewPrivileges])
    #expect(db.exposureBefore?.tenths == 40 && db.exposureAfter?.tenths == 55)
  }
}

@Suite("Release notes: two releases' services pooled, per package")
struct ReleaseNotesTests {
  static func packaged(_ service: ServiceRecord, _ package: String, _ version: String) -> ServiceRecord {
    var service = service
    service.package = package
    service.packageVersion = version
    return service
  }

  @Test("hardened, improved, regressed, new and gone per package and service, whatever the hosts are named")
  func notes() throws {
    let old = [
      Fleet.host(
        "bookworm",
        [
          Self.packaged(
            Fleet.service("web.service", exposure: 80) { $0.privateTmp = Fleet.on() }, "nginx", "1.22"),
          Self.packaged(
            Fleet.service("db.service", exposure: 40) {
              $0.privateTmp = Fleet.on()
              $0.noNewPrivileges = Fleet.on()
            }, "mariadb", "10.11"),
          Self.packaged(Fleet.service("old.service", exposure: 90), "legacy", "1"),
          Self.packaged(Fleet.service("same.service", exposure: 50), "same", "1"),
        ])
    ]
    // Another name (a tree of the next release), and a second tree with a worse copy of one.
    let new = [
      Fleet.host(
        "trixie",
        [
          Self.packaged(
            Fleet.service("web.service", exposure: 30) {
              $0.privateTmp = Fleet.on()
              $0.protectSystem = Setting(.strict, source: Provenance(file: Fleet.vendor, line: 9))
              $0.noNewPrivileges = Fleet.on()
            }, "nginx", "1.26"),
          Self.packaged(
            Fleet.service("db.service", exposure: 45) { $0.privateTmp = Fleet.on() }, "mariadb", "11.4"),
          Self.packaged(Fleet.service("new.service", exposure: 20), "fresh", "2"),
          Self.packaged(Fleet.service("same.service", exposure: 50), "same", "1"),
        ]),
      Fleet.host(
        "trixie-min",
        [
          Self.packaged(
            Fleet.service("db.service", exposure: 60) { $0.privateTmp = Fleet.on() }, "mariadb", "11.4")
        ]),
    ]
    let notes = ReleaseNotes.compare(
      before: old, after: new, baseline: try Fleet.baseline, required: ["core"], today: "2026-11-22")
    #expect(
      notes.counts == ["hardened": 1, "improved": 0, "regressed": 1, "new": 1, "gone": 1, "unchanged": 1])
    let nginx = try #require(notes.packages.first { $0.package == "nginx" })
    #expect(nginx.versionBefore == "1.22" && nginx.versionAfter == "1.26")
    let web = try #require(nginx.services.first)
    #expect(web.kind == .hardened && web.statusBefore == "partial" && web.statusAfter == "hardened")
    #expect(web.gained.map(\.directive) == [.protectSystem, .noNewPrivileges])
    let db = try #require(notes.packages.first { $0.package == "mariadb" }?.services.first)
    #expect(db.kind == .regressed && db.lost.map(\.directive) == [.noNewPrivileges])
    #expect(db.exposureAfter?.tenths == 60, "the worst copy stands for the release")
    #expect(notes.packages.first { $0.package == "fresh" }?.services.first?.kind == .new)
    #expect(notes.packages.first { $0.package == "legacy" }?.services.first?.kind == .gone)
    #expect(!notes.packages.contains { $0.package == "same" })
    #expect(notes.before == "bookworm" && notes.after == "trixie, trixie-min")
  }
}

@Suite("Baselines: the format, its errors, the bundled fedora-40")
struct BaselineTests {
  @Test("malformed baselines get errors with file and line")
  func errors() {
    let cases: [(String, Int, String)] = [
      ("name: x\ntitle: y\nsets:\n  core: [PrivateTemp]\nservices: []\n", 4, "did you mean PrivateTmp"),
      (
        "name: x\ntitle: y\nsets:\n  core: [IPAddressAllow]\nservices: []\n", 4,
        "a baseline cannot name IPAddressAllow"
      ),
      (
        "name: x\ntitle: y\nsets:\n  core:\n    - ProtectSystem: [yes, maybe]\nservices: []\n", 5,
        "'maybe' is not a value"
      ),
      (
        "name: x\ntitle: y\nsets:\n  core: [PrivateTmp]\nservices:\n  - a.service\n  - a.service\n", 7,
        "listed twice"
      ),
      (
        "name: x\ntitle: y\nsets:\n  core: [PrivateTmp]\nservices: [a.service]\nwaivers:\n"
          + "  - {service: a.service, directive: PrivateTmp, reason: r, owner: o,\n     expires: 2026-02-30}\n",
        8,
        "not a date"
      ),
      ("name: x\ntitle: y\nsets:\n  core: [PrivateTmp]\nservices: [a.socket]\n", 5, "not a service unit"),
      ("name: x\nsets:\n  core: [PrivateTmp]\nservices: []\n", 1, "'title' is missing"),
      ("name: x\ntitle: y\nsets:\n  core: [PrivateTmp]\nservices: []\ncolour: red\n", 6, "unknown key"),
      ("name: x\ntitle: y\nsets:\n  core: [{User: [root]}]\nservices: []\n", 4, "takes no list"),
    ]
    for (text, line, words) in cases {
      #expect {
        _ = try BaselineParser.parse(text, file: "b.yml")
      } throws: { error in
        guard let error = error as? BaselineError else { return false }
        return error.line == line && error.description.hasPrefix("b.yml:\(line): ")
          && error.description.contains(words)
      }
    }
  }

  @Test("a baseline whose YAML aliases multiply past a million nodes is refused, naming the file")
  func aliasBomb() {
    // Ten levels of ten aliases: 10¹⁰ nodes for anyone who walks them.
    var levels = ["&v0 [a, a, a, a, a, a, a, a, a, a]"]
    for level in 1..<10 {
      levels.append(
        "&v\(level) [" + Array(repeating: "*v\(level - 1)", count: 10).joined(separator: ", ") + "]")
    }
    let text =
      "name: x\ntitle: y\nsets:\n  core: [PrivateTmp]\nservices: [" + levels.joined(separator: ", ") + "]\n"
    // As a mapping key (found by libFuzzer), the bomb is walked by Yams itself, which hashes
    // keys to find duplicates: it must be refused before Yams composes it.
    let key = "x: [" + levels.joined(separator: ", ") + "]\n? *v9\n: 1\n? *v9\n: 2\n"
    for bomb in [text, key] {
      #expect {
        _ = try BaselineParser.parse(bomb, file: "b.yml")
      } throws: { error in
        "\(error)".hasPrefix("b.yml: ") && "\(error)".contains("aliases expand to more than 1000000 nodes")
      }
    }
    // Aliases used a sane number of times still work.
    let shared =
      "name: x\ntitle: y\nsets:\n  core: &core [PrivateTmp]\n  more: *core\nservices: [a.service]\n"
    #expect((try? BaselineParser.parse(shared, file: "b.yml")) != nil)
  }

  @Test("fedora-40 holds every service of the proposal, its three sets and its three exemptions")
  func fedora() throws {
    let baseline = try BaselineStore.load("fedora-40")
    let url = try #require(
      Bundle.module.url(forResource: "Fixtures/fedora-40-proposal-services", withExtension: "txt"))
    let proposal = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(proposal.count == 218)
    let names = Set(baseline.services.map(\.name))
    let missing = proposal.filter { !names.contains($0) }
    #expect(missing.isEmpty, "missing from the bundled baseline: \(missing)")
    for name in ["nginx.service", "postgresql.service", "httpd.service", "mariadb.service"] {
      #expect(names.contains(name))
    }
    #expect(baseline.sets.map(\.name) == ["core", "extended", "packaging"])
    #expect(baseline.sets[0].requirements.count == 14 && baseline.sets[1].requirements.count == 13)
    #expect(
      Set(baseline.services.filter { $0.exempt != nil }.map(\.name)) == [
        "debug-shell.service", "emergency.service", "rc-local.service",
      ])
    #expect(BaselineStore.bundled == ["fedora-40"])
    // It says where it stands: proposed for Fedora 40, accepted for Fedora 42.
    #expect(baseline.title.contains("accepted for Fedora 42"))
    let provenance = try #require(baseline.provenance)
    #expect(provenance.contains("Fedora 41") && provenance.contains("accepted for Fedora 42"))
  }

  @Test("a baseline's provenance is read, and `baseline show` prints it")
  func provenance() throws {
    let text =
      "name: b\ntitle: B\nprovenance: Adopted 2026-03-02\nsets: {core: [PrivateTmp]}\nservices: [a.service]\n"
    #expect(try BaselineParser.parse(text, file: "b.yml").provenance == "Adopted 2026-03-02")
    let shown = try TestSupport.run([try TestSupport.unitauditBinary(), "baseline", "show", "fedora-40"])
    #expect(
      shown.status == 0 && shown.output.contains("provenance: Made from the change proposal"),
      "\(shown.output)")
  }
}
