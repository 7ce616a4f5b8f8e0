import UnitModel

/// What changed in a distribution's services between two releases (two trees, two package
/// sets, or any two scans), per package and service: hardened, improved, regressed, new and
/// gone, with the directives — the release-note author's question. Unlike `ScanDiff`, which
/// compares a host with itself, the services of each scan are pooled: a release is its
/// services, whatever tree or package file holds them. Pure.
public struct ReleaseNotes: Sendable, Hashable, Codable {
  public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
    case hardened, improved, regressed, new, gone
  }

  public struct Service: Sendable, Hashable, Codable {
    public var service: String
    public var kind: Kind
    public var statusBefore: String?
    public var statusAfter: String?
    public var exposureBefore: Exposure?
    public var exposureAfter: Exposure?
    public var gained: [DirectiveChange]
    public var lost: [DirectiveChange]
  }

  public struct Package: Sendable, Hashable, Codable {
    public var package: String
    public var versionBefore: String?
    public var versionAfter: String?
    public var services: [Service]
  }

  /// What each side is (its trees' or packages' names).
  public var before: String
  public var after: String
  public var baseline: String
  public var required: [String]
  /// Packages with at least one change, in name order (`PackageView.noPackage` last).
  public var packages: [Package]
  /// Services of each kind, and the unchanged ones.
  public var counts: [String: Int]

  /// A service of one side: its record, the systemd that ran it, the package that owns it.
  struct Side {
    var record: ServiceRecord
    var systemd: Int?
    var host: String
    var package: String
    var version: String?
  }

  /// Each service of `hosts` once: where several hosts have it, the one with the highest
  /// exposure stands for it (release notes should not claim more than the worst case).
  static func pool(_ hosts: [HostReport]) -> [String: Side] {
    var pooled: [String: Side] = [:]
    for host in hosts where host.status.code.hasData {
      for service in host.services where service.loadState == "loaded" {
        let side = Side(
          record: service, systemd: host.identity?.systemdVersion, host: host.name,
          package: service.package ?? host.offline?.package ?? PackageView.noPackage,
          version: service.packageVersion)
        if let known = pooled[service.id],
          (known.record.overall?.exposure.tenths ?? -1) >= (service.overall?.exposure.tenths ?? -1)
        {
          continue
        }
        pooled[service.id] = side
      }
    }
    return pooled
  }

  public static func compare(
    before old: [HostReport], after new: [HostReport], baseline: Baseline, required: [String], today: String
  ) -> ReleaseNotes {
    let requirements = baseline.requirements(in: required)
    let was = pool(old)
    let now = pool(new)
    let entries = Dictionary(baseline.services.map { ($0.name, $0) }) { first, _ in first }
    var counts: [String: Int] = ["unchanged": 0]
    for kind in Kind.allCases { counts[kind.rawValue] = 0 }
    var byPackage: [String: (before: String?, after: String?, services: [Service])] = [:]
    func judged(_ side: Side) -> String? {
      guard let entry = entries[side.record.id] ?? side.record.aliases.lazy.compactMap({ entries[$0] }).first
      else {
        return nil
      }
      return CoverageCalculator.judge(
        side.record, host: side.host, entry: entry, requirements: requirements, baseline: baseline,
        today: today,
        systemd: side.systemd
      ).status.rawValue
    }
    for id in Set(was.keys).union(now.keys).sorted() {
      let previous = was[id]
      let current = now[id]
      let service: Service
      switch (previous, current) {
      case (let a?, let b?):
        let entry =
          entries[id] ?? b.record.aliases.lazy.compactMap({ entries[$0] }).first ?? BaselineService(name: id)
        let change = ScanDiff.compare(
          a.record, systemd: a.systemd, with: b.record, systemd: b.systemd, host: b.host, entry: entry,
          requirements: requirements, baseline: baseline, today: today)
        guard let kind = change.kind else {
          counts["unchanged", default: 0] += 1
          continue
        }
        let named = judged(b) != nil
        service = Service(
          service: id, kind: Kind(rawValue: kind.rawValue) ?? .improved,
          statusBefore: named ? change.before.rawValue : nil,
          statusAfter: named ? change.after.rawValue : nil,
          exposureBefore: a.record.overall?.exposure, exposureAfter: b.record.overall?.exposure,
          gained: change.gained, lost: change.lost)
      case (nil, let b?):
        service = Service(
          service: id, kind: .new, statusBefore: nil, statusAfter: judged(b), exposureBefore: nil,
          exposureAfter: b.record.overall?.exposure, gained: [], lost: [])
      case (let a?, nil):
        service = Service(
          service: id, kind: .gone, statusBefore: judged(a), statusAfter: nil,
          exposureBefore: a.record.overall?.exposure, exposureAfter: nil, gained: [], lost: [])
      case (nil, nil):
        continue
      }
      counts[service.kind.rawValue, default: 0] += 1
      let package = current?.package ?? previous?.package ?? PackageView.noPackage
      var entry = byPackage[package] ?? (nil, nil, [])
      entry.before = entry.before ?? previous?.version
      entry.after = entry.after ?? current?.version
      entry.services.append(service)
      byPackage[package] = entry
    }
    let packages = byPackage.keys.sorted { a, b in
      (a == PackageView.noPackage ? 1 : 0, a) < (b == PackageView.noPackage ? 1 : 0, b)
    }.map { name in
      Package(
        package: name, versionBefore: byPackage[name]?.before, versionAfter: byPackage[name]?.after,
        services: byPackage[name]?.services ?? [])
    }
    return ReleaseNotes(
      before: Self.label(old), after: Self.label(new), baseline: baseline.name, required: required,
      packages: packages, counts: counts)
  }

  /// A side's name: its trees' or hosts' names (the first few).
  static func label(_ hosts: [HostReport]) -> String {
    let names = hosts.map(\.name)
    return names.count <= 3
      ? names.joined(separator: ", ")
      : "\(names.prefix(3).joined(separator: ", ")) and \(names.count - 3) more"
  }
}
