import Foundation
import UnitModel

/// Progress across the scans of a history against one baseline: per scan, how many baseline
/// services are hardened, partial, not started (a burn-down); per service, its state in each
/// scan, when it became hardened or regressed and which directives changed. Pure: built from
/// each scan's coverage (and, for one service host by host, from the scans' hosts).
public struct Trend: Sendable, Hashable, Codable {
  public var baseline: String
  public var required: [String]
  public var points: [Point]
  public var services: [ServiceTimeline]

  public init(baseline: String, required: [String], points: [Point], services: [ServiceTimeline] = []) {
    self.baseline = baseline
    self.required = required
    self.points = points
    self.services = services
  }

  /// One scan against the baseline.
  public struct Point: Sendable, Hashable, Codable {
    /// The scan's id and when it started.
    public var scan: String
    public var startedAt: Date
    /// Hosts with data in the scan.
    public var hosts: Int
    /// Baseline services per state.
    public var counts: [CoverageStatus: Int]

    public init(scan: String, startedAt: Date, hosts: Int, counts: [CoverageStatus: Int]) {
      self.scan = scan
      self.startedAt = startedAt
      self.hosts = hosts
      self.counts = counts
    }
  }

  /// One baseline service across the scans.
  public struct ServiceTimeline: Sendable, Hashable, Codable {
    public var service: String
    public var steps: [Step]
    /// Between consecutive scans: every change of state, with the directives that changed.
    public var changes: [Change]
    /// The first scan that had it installed, and the first one after that where it was hardened.
    public var firstSeen: Date?
    public var firstHardened: Date?
    /// Host by host (only when asked for, as `trend --service` does).
    public var hosts: [HostTimeline]?

    /// Whole days from first seen to first hardened.
    public var daysToHardened: Int? {
      guard let firstSeen, let firstHardened else { return nil }
      return Int(firstHardened.timeIntervalSince(firstSeen) / 86_400)
    }
  }

  /// A service in one scan: its state, on how many hosts, and on how many hosts each required
  /// directive was missing.
  public struct Step: Sendable, Hashable, Codable {
    public var scan: String
    public var startedAt: Date
    public var status: CoverageStatus
    public var hosts: Int
    public var missing: [String: Int]
  }

  /// One host's state of a service in each scan that has data from the host.
  public struct HostTimeline: Sendable, Hashable, Codable {
    public var host: String
    public var steps: [HostStep]
    /// Every change of state between consecutive scans of the host, with the directives that
    /// changed.
    public var changes: [Change]
  }

  /// A service on one host in one scan: its state and the required directives it misses.
  public struct HostStep: Sendable, Hashable, Codable {
    public var scan: String
    public var startedAt: Date
    public var status: CoverageStatus
    public var missing: [String]
  }

  public struct Change: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
      /// Became hardened.
      case hardened
      /// Was hardened, is partial or not started.
      case regressed
      /// Any other change of state (installed, removed, partial ↔ not started).
      case changed
    }

    public var scan: String
    public var startedAt: Date
    public var kind: Kind
    public var from: CoverageStatus
    public var to: CoverageStatus
    /// Directives missing on some host before and on none now, and the other way round.
    public var fixed: [String]
    public var broken: [String]
  }

  /// The trend of `scans`, each judged against one baseline (`baseline`, `required`).
  /// `service`: only that baseline service's timeline (all services when nil).
  public static func build(
    _ scans: [(metadata: ScanMetadata, judgement: Judgement)], baseline: String, required: [String],
    service: String? = nil
  ) -> Trend {
    let ordered = scans.sorted { $0.metadata.startedAt < $1.metadata.startedAt }
    let points = ordered.map { scan in
      Point(
        scan: scan.metadata.id, startedAt: scan.metadata.startedAt, hosts: scan.judgement.hosts,
        counts: Dictionary(grouping: scan.judgement.services, by: \.status).mapValues(\.count))
    }
    var names: [String] = []
    for scan in ordered {
      for entry in scan.judgement.services where !names.contains(entry.service) {
        if service == nil || entry.service == service { names.append(entry.service) }
      }
    }
    // Each scan's services by name: a timeline looks one up in every scan.
    let byName = ordered.map { scan in
      Dictionary(scan.judgement.services.map { ($0.service, $0) }, uniquingKeysWith: { first, _ in first })
    }
    let timelines = names.map { name in
      let steps = zip(ordered, byName).compactMap { scan, services -> Step? in
        guard let entry = services[name] else { return nil }
        return Step(
          scan: scan.metadata.id, startedAt: scan.metadata.startedAt, status: entry.status,
          hosts: entry.hosts,
          missing: entry.missing)
      }
      return timeline(name, steps)
    }
    return Trend(baseline: baseline, required: required, points: points, services: timelines)
  }

  /// A host with data in a scan, and its service that answers to a baseline entry's name (nil
  /// when it has none).
  public typealias UnitOnHost = (host: String, systemd: Int?, service: ServiceRecord?)

  /// Each host's state of the baseline service `entry` in `scans` (each judged on the day it
  /// started), in the order the hosts first appear. A host that has data in a scan but not the
  /// service is `not-installed` there; a scan without data from a host is no step of it.
  public static func hostTimelines(
    of entry: BaselineService, in scans: [(metadata: ScanMetadata, hosts: [UnitOnHost])], baseline: Baseline,
    required: [String]
  ) -> [HostTimeline] {
    let requirements = baseline.requirements(in: required)
    var order: [String] = []
    var steps: [String: [HostStep]] = [:]
    for scan in scans.sorted(by: { $0.metadata.startedAt < $1.metadata.startedAt }) {
      let today = Judgement.day(of: scan.metadata)
      for host in scan.hosts {
        var step = HostStep(
          scan: scan.metadata.id, startedAt: scan.metadata.startedAt, status: .notInstalled, missing: [])
        if let service = host.service {
          let judged = CoverageCalculator.judge(
            service, host: host.host, entry: entry, requirements: requirements, baseline: baseline,
            today: today, systemd: host.systemd)
          step.status = judged.status
          step.missing = judged.outcomes.filter { $0.state == .missing }.map(\.directive.rawValue)
        }
        if steps[host.host] == nil { order.append(host.host) }
        steps[host.host, default: []].append(step)
      }
    }
    return order.map { name in
      let hostSteps = steps[name] ?? []
      return HostTimeline(
        host: name, steps: hostSteps,
        changes: changes(
          hostSteps.map { ($0.scan, $0.startedAt, $0.status, Set($0.missing)) }))
    }
  }

  /// The changes of state between consecutive steps, each with the directives missing before
  /// and not after (fixed) and the other way round (broken).
  static func changes(
    _ steps: [(scan: String, startedAt: Date, status: CoverageStatus, missing: Set<String>)]
  ) -> [Change] {
    zip(steps, steps.dropFirst()).compactMap { before, after in
      guard before.status != after.status else { return nil }
      let kind: Change.Kind
      switch (before.status, after.status) {
      case (_, .hardened): kind = .hardened
      case (.hardened, .partial), (.hardened, .notStarted): kind = .regressed
      default: kind = .changed
      }
      return Change(
        scan: after.scan, startedAt: after.startedAt, kind: kind, from: before.status, to: after.status,
        fixed: before.missing.subtracting(after.missing).sorted(),
        broken: after.missing.subtracting(before.missing).sorted())
    }
  }

  static func timeline(_ name: String, _ steps: [Step]) -> ServiceTimeline {
    let changes = changes(steps.map { ($0.scan, $0.startedAt, $0.status, Set($0.missing.keys)) })
    let seen = steps.firstIndex { $0.status != .notInstalled }
    let hardened = seen.flatMap { start in steps[start...].first { $0.status == .hardened } }
    return ServiceTimeline(
      service: name, steps: steps, changes: changes, firstSeen: seen.map { steps[$0].startedAt },
      firstHardened: hardened?.startedAt)
  }
}

/// A scan judged against a baseline: each baseline service's state across the scan's hosts.
/// What a history stores per scan (tables `judgement` and `service_state`), and what `Trend`
/// reads.
public struct Judgement: Sendable, Hashable, Codable {
  /// Hosts with data in the scan.
  public var hosts: Int
  public var services: [ServiceState]

  public struct ServiceState: Sendable, Hashable, Codable {
    public var service: String
    public var status: CoverageStatus
    /// Hosts that have it.
    public var hosts: Int
    /// Each required directive missing on some host, with on how many.
    public var missing: [String: Int]

    public init(service: String, status: CoverageStatus, hosts: Int, missing: [String: Int]) {
      self.service = service
      self.status = status
      self.hosts = hosts
      self.missing = missing
    }
  }

  public init(hosts: Int, services: [ServiceState]) {
    self.hosts = hosts
    self.services = services
  }

  /// The judgement a coverage report makes.
  public init(_ coverage: CoverageReport) {
    hosts = coverage.hosts.count
    services = coverage.services.map { entry in
      var missing: [String: Int] = [:]
      for directive in entry.directives where directive.missing > 0 {
        missing[directive.directive.rawValue] = directive.missing
      }
      return ServiceState(
        service: entry.name, status: entry.status, hosts: entry.hosts.count, missing: missing)
    }
  }

  /// The day (`YYYY-MM-DD`, UTC) a scan is judged on: the day it started, so that a waiver
  /// counts as it did then.
  public static func day(of metadata: ScanMetadata) -> String { UTCDate.day(metadata.startedAt) }
}

extension Baseline {
  /// What names a judgement against this baseline: its name, a digest of its definition
  /// (so that an edited baseline file is judged again; its tracking fields left out) and the
  /// required sets.
  public func judgementKey(required: [String]) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let digest = FNV1a.hash(try encoder.encode(judged))
    return "\(name)@\(String(digest, radix: 16)):\(required.joined(separator: ","))"
  }
}
