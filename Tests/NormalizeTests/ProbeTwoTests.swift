import Coverage
import Testing
import UnitModel

@testable import Normalize

/// Probe 2, recorded on the fleet (Scripts/record-probe; bookworm's h2 with its /etc
/// overrides, bullseye's text table, trixie's /usr/lib unit files): systemd's grade of every
/// check, and the package that owns each unit file.
@Suite("Probe 2: check grades and owning packages")
struct ProbeTwoTests {
  static let hosts = ["h2-v2", "bullseye-web-v2", "trixie-web-v2"]

  @Test("every analysed service's grades add up to the exposure systemd printed", arguments: hosts)
  func gradesAddUp(host: String) throws {
    let report = normalize(try Fixture.probe(host), label: HostLabel(name: host))
    #expect(report.status.code == .ok)
    let analysed = report.services.filter { $0.overall != nil }
    #expect(analysed.count > 30)
    for service in analysed {
      #expect(service.checks.values.allSatisfy { $0.grade != nil }, "\(host) \(service.id)")
      let grades = service.checks.values.compactMap(\.grade)
      #expect(ExposurePrediction.exposure(of: grades) == service.overall?.exposure, "\(host) \(service.id)")
    }
  }

  @Test("vendor unit files carry their package; files in /etc and generated units none", arguments: hosts)
  func packages(host: String) throws {
    let report = normalize(try Fixture.probe(host), label: HostLabel(name: host))
    let ssh = try #require(report.services.first { $0.id == "ssh.service" })
    #expect(ssh.package == "openssh-server")
    #expect(report.services.first { $0.id == "chrony.service" }?.package == "chrony")
    for service in report.services {
      guard let path = service.fragmentPath else {
        #expect(service.package == nil)
        continue
      }
      if path.hasPrefix("/etc/") || path.hasPrefix("/run/") {
        #expect(service.package == nil, "\(host) \(service.id): \(path)")
      } else if path.hasPrefix("/lib/systemd/system/") || path.hasPrefix("/usr/lib/systemd/system/") {
        #expect(service.package != nil, "\(host) \(service.id): \(path)")
      }
    }
  }

  @Test("a file dpkg knows only by its merged-/usr twin is found through it")
  func mergedUsrTwin() throws {
    let report = normalize(try Fixture.probe("h2-v2"), label: HostLabel(name: "h2-v2"))
    let pam = try #require(report.services.first { $0.id == "pam_namespace.service" })
    #expect(pam.fragmentPath == "/lib/systemd/system/pam_namespace.service")
    #expect(pam.package == "libpam-modules-bin")
  }

  @Test("dpkg-query -S lines: shared files, architecture qualifiers, diversions")
  func dpkgLines() {
    let owners = parseDpkgOwners(
      """
      systemd: /lib/systemd/system/getty@.service
      libfoo:amd64, libfoo:i386: /usr/lib/systemd/system/foo.service
      diversion by dash from: /bin/sh
      dpkg-query: no path found matching pattern /etc/x
      not a line
      """)
    #expect(
      owners == [
        "/lib/systemd/system/getty@.service": "systemd",
        "/usr/lib/systemd/system/foo.service": "libfoo:amd64, libfoo:i386",
      ])
    #expect(
      Normalize.mergedUsrTwin(of: "/usr/lib/systemd/system/a.service") == "/lib/systemd/system/a.service")
    #expect(
      Normalize.mergedUsrTwin(of: "/lib/systemd/system/a.service") == "/usr/lib/systemd/system/a.service")
    #expect(Normalize.mergedUsrTwin(of: "/etc/systemd/system/a.service") == "/etc/systemd/system/a.service")
  }
}
