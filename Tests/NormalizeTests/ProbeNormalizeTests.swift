import Testing
import UnitModel

@testable import Normalize

@Suite("probe output from real hosts, normalized")
struct ProbeNormalizeTests {
  static let hosts = ["h1", "h2", "h3"]

  @Test("exposures equal what systemd-analyze security printed on the same host", arguments: hosts)
  func exposuresMatchTheHost(host: String) throws {
    let report = normalize(try Fixture.probe(host), label: HostLabel(name: host))
    #expect(report.status == HostStatus(.ok))
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    let listing = try Fixture.analyzeListing(host)
    #expect(listing.count >= 18)
    for entry in listing {
      let service = try #require(report.service(named: entry.unit), "\(host) \(entry.unit)")
      #expect(service.overall?.exposure.description == entry.exposure, "\(host) \(entry.unit)")
      #expect(service.overall?.predicate == entry.predicate, "\(host) \(entry.unit)")
    }
    // Every loaded service has an exposure and its checks, not only those in the listing.
    for service in report.services where service.loadState == "loaded" {
      #expect(service.overall != nil, "\(host) \(service.id)")
      #expect(service.checks.count == 81, "\(host) \(service.id)")
    }
    let identity = try #require(report.identity)
    #expect(identity.hostname == host)
    #expect(identity.osID == "debian")
    #expect(identity.osVersionID == "12")
    #expect(identity.systemdVersion == 252)
    #expect(identity.securityAnalysis == .json)
  }

  @Test("h1: hardened cups, sshd alias, instance and vendor-masked units")
  func desktopHost() throws {
    let report = normalize(try Fixture.probe("h1"), label: HostLabel(name: "h1"))
    let cups = try #require(report.service(named: "cups.service"))
    #expect(cups.overall == OverallExposure(exposure: Exposure(tenths: 32), predicate: "OK"))
    #expect(cups.hardening.protectSystem?.value == .strict)
    #expect(cups.hardening.protectSystem?.source?.file == "/etc/systemd/system/cups.service.d/50-harden.conf")
    #expect(cups.hardening.protectSystem?.source?.line == 2)
    #expect(cups.hardening.protectSystem?.source?.origin == .admin)
    #expect(cups.hasOverrides)
    let ssh = try #require(report.service(named: "sshd.service"))
    #expect(ssh.id == "ssh.service")
    #expect(ssh.aliases == ["sshd.service"])
    #expect(ssh.overall?.exposure == Exposure(tenths: 96))
    #expect(ssh.overall?.predicate == "UNSAFE")
    let getty = try #require(report.service(named: "getty@tty1.service"))
    #expect(getty.fragmentPath == "/lib/systemd/system/getty@.service")
    #expect(getty.aliases == ["autovt@tty1.service"])
    #expect(getty.directives.contains { $0.key == "ExecStart" })
    let masked = try #require(report.service(named: "cryptdisks.service"))
    #expect(masked.isMasked)
    #expect(masked.directives.isEmpty)
    #expect(masked.overall == nil)
    // Not-loaded units that are installed are still in the model (loaded on demand).
    #expect(report.service(named: "colord.service")?.overall?.predicate == "EXPOSED")
  }

  @Test("h2: runtime drop-in, admin drop-in resetting a list, runtime mask, SysV-generated unit")
  func webHost() throws {
    let report = normalize(try Fixture.probe("h2"), label: HostLabel(name: "h2"))
    let nginx = try #require(report.service(named: "nginx.service"))
    #expect(nginx.files.map(\.origin) == [.vendor, .runtime])
    #expect(nginx.hardening.privateTmp?.value == true)
    #expect(nginx.hardening.privateTmp?.source?.origin == .runtime)
    #expect(nginx.hardening.protectSystem?.value == .full)
    let chrony = try #require(report.service(named: "chrony.service"))
    #expect(chrony.hardening.capabilityBoundingSet?.value == ["CAP_NET_BIND_SERVICE", "CAP_SYS_TIME"])
    #expect(chrony.hardening.capabilityBoundingSet?.source?.origin == .admin)
    #expect(chrony.hardening.protectHome?.value == .readOnly)
    #expect(chrony.hardening.user?.value == "_chrony")
    #expect(chrony.hardening.devicePolicy?.source?.origin == .vendor)
    let rsyslog = try #require(report.service(named: "rsyslog.service"))
    #expect(rsyslog.isMasked)
    #expect(rsyslog.unitFileState == "masked-runtime")
    let legacy = try #require(report.service(named: "legacyd.service"))
    #expect(legacy.sourcePath == "/etc/init.d/legacyd")
    #expect(legacy.unitFileState == "generated")
    #expect(legacy.files.map(\.origin) == [.generated])
    #expect(legacy.directives.first { $0.key == "ExecStart" }?.value == "/etc/init.d/legacyd start")
    #expect(legacy.overall != nil)
  }

  @Test("h3: a template instance and a service with User=")
  func dbHost() throws {
    let report = normalize(try Fixture.probe("h3"), label: HostLabel(name: "h3"))
    let pg = try #require(report.service(named: "postgresql@15-main.service"))
    #expect(pg.fragmentPath == "/lib/systemd/system/postgresql@.service")
    #expect(pg.directives.first { $0.key == "ExecStart" }?.value.contains("%i") == true)
    let mariadb = try #require(report.service(named: "mariadb.service"))
    #expect(mariadb.hardening.user?.value == "mysql")
    #expect(mariadb.hardening.protectSystem?.value == .full)
  }
}
