import UnitModel

/// One package and its services against a baseline: how change owners track a distribution's
/// hardening, package by package.
public struct PackageEntry: Sendable, Hashable, Codable {
  /// The package's name; `PackageView.noPackage` for units no package owns (an
  /// administrator's files in /etc, generated units).
  public var package: String
  /// Its versions across the scan's trees and packages, where the scan can tell them (one for
  /// a package scan; none for running hosts, whose versions the probe does not ask).
  public var versions: [String]
  public var services: [PackageService]
}

/// A service of a package: its state against the baseline, its exposure, what it misses.
public struct PackageService: Sendable, Hashable, Codable {
  public var service: String
  /// The baseline's state for it (`hardened`, `partial`, …), or `outside-baseline`.
  public var status: String
  /// How many hosts, trees or packages of the scan have it.
  public var hosts: Int
  public var exposure: Spread?
  /// The required directives some host lacks (for a service the baseline names).
  public var missing: [String]
}

/// The per-package view of a scan: package → its services → state, exposure, missing
/// directives. A service's package is the one that owns its unit file on each host (the
/// host's dpkg database, or the package a package scan unpacked). Pure.
public enum PackageView {
  public static let noPackage = "(no package)"

  public static func entries(hosts: [HostReport], coverage: CoverageReport) -> [PackageEntry] {
    var byUnit: [String: ServiceCoverage] = [:]
    for service in coverage.services {
      for unit in service.unitIDs { byUnit[unit] = service }
      byUnit[service.name] = byUnit[service.name] ?? service
    }
    // package → service → its records' exposures and host count
    var packages: [String: [String: (hosts: Int, exposures: [Exposure])]] = [:]
    var versions: [String: Set<String>] = [:]
    for host in hosts where host.status.code.hasData {
      for service in host.services where service.loadState == "loaded" {
        let package = service.package ?? host.offline?.package ?? noPackage
        var entry = packages[package, default: [:]][service.id] ?? (0, [])
        entry.hosts += 1
        if let exposure = service.overall?.exposure { entry.exposures.append(exposure) }
        packages[package, default: [:]][service.id] = entry
        if let version = service.packageVersion { versions[package, default: []].insert(version) }
      }
    }
    return packages.keys.sorted { a, b in
      (a == noPackage ? 1 : 0, a) < (b == noPackage ? 1 : 0, b)
    }.map { package in
      let found: [String: (hosts: Int, exposures: [Exposure])] = packages[package] ?? [:]
      let services = found.sorted { $0.key < $1.key }.map { unit, found in
        let covered = byUnit[unit]
        return PackageService(
          service: unit, status: covered?.status.rawValue ?? "outside-baseline", hosts: found.hosts,
          exposure: Spread(found.exposures),
          missing: covered?.directives.filter { $0.missing > 0 }.map(\.directive.rawValue) ?? [])
      }
      return PackageEntry(package: package, versions: (versions[package] ?? []).sorted(), services: services)
    }
  }
}
