import Coverage
import Foundation
import Offline
import Storage
import TestSupport
import Testing
import UnitModel

/// Real Debian packages that ship services of the bundled baseline, fetched with
/// `apt-get download` at the version a booted fleet host has installed (cached in the fleet's
/// folder), audited with `scan --package`, each against the same package on that host.
@Suite(
  "End to end: real packages audited offline agree with the same packages on booted hosts", .tags(.e2e),
  .exclusive)
struct PackageEndToEndTests {
  /// The bookworm hosts (the last, h7, is the one whose key known_hosts leaves out).
  static let hosts = ["h1", "h2", "h3", "h4", "h5", "h6"]

  @Test(
    "40+ packages: the same services, fragment directives with file and line; settings and exposure where the host adds no file",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func realPackages() throws {
    let fleet = try #require(Fleet.configured)
    let work = try temporaryDirectory("packages-e2e")
    defer { try? FileManager.default.removeItem(at: work) }
    let online = work.appendingPathComponent("online")
    let scan = try run([
      try unitauditBinary(), "scan", "-i", fleet.inventory, "--known-hosts", fleet.knownHosts,
      "--no-ssh-config",
      "--limit", Self.hosts.joined(separator: ","), "-o", online.path,
    ])
    #expect(scan.status == 0, "\(scan.output)")
    let booted = try readScan(online).hosts
    let baseline = try BaselineStore.load("fedora-40")
    let names = Set(baseline.services.map(\.name))

    // Each package that owns a baseline service on some host, the host, and its version there.
    var chosen: [String: (host: HostReport, version: String)] = [:]
    for host in booted {
      let tree = TreeReader(root: fleet.directory.appendingPathComponent("hosts/\(host.name)/root").path)
      let versions = try #require(DpkgDatabase(tree: tree)).versions
      for service in host.services where service.loadState == "loaded" {
        guard let package = service.package, chosen[package] == nil, let version = versions[package],
          !names.isDisjoint(with: [service.id] + service.aliases)
        else { continue }
        chosen[package] = (host, version)
      }
    }
    #expect(chosen.count >= 40, "\(chosen.count) packages: \(chosen.keys.sorted())")

    // The .debs, at the hosts' versions, kept between runs.
    let cache = fleet.directory.appendingPathComponent("debs")
    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    var files: [String: String] = [:]
    for (package, found) in chosen.sorted(by: { $0.key < $1.key }) {
      let cached = try FileManager.default.contentsOfDirectory(atPath: cache.path).first {
        $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") && Self.debVersion($0) == found.version
      }
      if let cached {
        files[package] = cache.appendingPathComponent(cached).path
        continue
      }
      // Not kept by the layer's build (Scripts/fleet keeps them since): from the mirror, when
      // it still has that version.
      let fetched = try run([
        "/bin/sh", "-c", "cd \"$1\" && apt-get download -q \"$2\"", "sh", cache.path,
        "\(package)=\(found.version)",
      ])
      guard fetched.status == 0 else {
        print("real packages: \(package) \(found.version) is no longer on the mirror: left out")
        continue
      }
      files[package] = try FileManager.default.contentsOfDirectory(atPath: cache.path).first {
        $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") && Self.debVersion($0) == found.version
      }.map { cache.appendingPathComponent($0).path }
    }
    chosen = chosen.filter { files[$0.key] != nil }

    let offline = work.appendingPathComponent("packages")
    let packageScan = try run(
      [try unitauditBinary(), "scan"] + files.values.sorted().flatMap { ["--package", $0] } + [
        "-q", "-o", offline.path,
      ])
    #expect(packageScan.status == 0, "\(packageScan.output)")
    let audited = Dictionary(
      uniqueKeysWithValues: try readScan(offline).hosts.compactMap { host in
        host.offline?.package.map { ($0, host) }
      })

    var matched = 0
    var services = 0
    var directives = 0
    var settingsCompared = 0
    var exposuresEqual = 0
    var exposuresPrivateMounts = 0
    var hostFiles = 0
    for (package, found) in chosen.sorted(by: { $0.key < $1.key }) {
      guard let report = audited[package] else {
        Issue.record("\(package): not audited")
        continue
      }
      #expect(report.status.code == .ok, "\(package): \(report.status)")
      #expect(report.offline?.version == found.version)
      let onHost = Dictionary(
        found.host.services.filter { $0.package == package }.map { ($0.id, $0) },
        uniquingKeysWith: { a, _ in a })
      var ok = true
      for service in report.services where service.loadState == "loaded" {
        guard let bootedService = onHost[service.id] ?? found.host.service(named: service.id) else {
          Issue.record("\(package): \(service.id) is not on \(found.host.name)")
          ok = false
          continue
        }
        guard bootedService.loadState == "loaded" else { continue }  // masked on the host
        services += 1
        #expect(service.package == package && service.packageVersion == found.version)
        // The package's own files (the fragment and its drop-ins) as the host applies them.
        let packageFiles = Set(service.files.map(\.path))
        if bootedService.fragmentPath == service.fragmentPath {
          let fromPackage = bootedService.directives.filter { packageFiles.contains($0.source.file) }
          directives += fromPackage.count
          if fromPackage != service.directives {
            Issue.record("\(package): \(service.id): the package's directives differ from the host's")
            ok = false
          }
        } else {
          hostFiles += 1  // the host overrides the whole unit file: nothing of the package's applies
          continue
        }
        // Where the host adds no file of its own, the settings and the exposure are the package's.
        guard Set(bootedService.files.map(\.path)) == packageFiles else {
          hostFiles += 1
          continue
        }
        settingsCompared += 1
        if bootedService.hardening != service.hardening {
          Issue.record("\(package): \(service.id): effective settings differ")
          ok = false
        }
        if bootedService.overall?.exposure == service.overall?.exposure {
          exposuresEqual += 1
        } else {
          let differing = Set(bootedService.checks.map(\.key)).union(service.checks.map(\.key)).filter {
            bootedService.checks[$0]?.set != service.checks[$0]?.set
          }
          if differing == ["PrivateMounts"] {
            exposuresPrivateMounts += 1
          } else {
            let why =
              "\(package): \(service.id): exposure \(bootedService.overall?.exposure.description ?? "-") booted, "
              + "\(service.overall?.exposure.description ?? "-") offline; checks \(differing.sorted())"
            Issue.record("\(why)")
            ok = false
          }
        }
      }
      if ok { matched += 1 }
    }
    print(
      "real packages: \(chosen.count) packages of the baseline's services, \(matched) matching their booted host; "
        + "\(services) services, \(directives) directives with file and line; settings compared on \(settingsCompared) "
        + "(exposure equal \(exposuresEqual), PrivateMounts only \(exposuresPrivateMounts)); \(hostFiles) with files of the host's own"
    )
    #expect(matched >= 40)
  }

  /// The version in a .deb's file name (`name_1%3a2.0-1_amd64.deb` → `1:2.0-1`).
  static func debVersion(_ file: String) -> String? {
    let parts = file.split(separator: "_")
    guard parts.count == 3 else { return nil }
    return parts[1].removingPercentEncoding
  }
}
