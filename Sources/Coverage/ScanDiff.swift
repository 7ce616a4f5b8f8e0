import UnitModel

/// What changed for one service on one host between two scans.
public struct ServiceChange: Sendable, Hashable, Codable {
  public enum Kind: String, Sendable, Hashable, Codable {
    /// Now satisfies every required directive, and did not before.
    case hardened
    /// Exposure went up, a directive was lost, or the status went down.
    case regressed
    /// Exposure went down or directives were gained, without becoming hardened.
    case improved
  }

  public var kind: Kind
  public var host: String
  public var service: String
  public var exposureBefore: Exposure?
  public var exposureAfter: Exposure?
  /// Directives newly satisfied, with the value that satisfies them now.
  public var gained: [DirectiveChange]
  /// Directives no longer satisfied, with the value they have now.
  public var lost: [DirectiveChange]
}

public struct DirectiveChange: Sendable, Hashable, Codable {
  public var directive: HardeningDirective
  public var before: String
  public var after: String
  /// Where the new value comes from.
  public var source: ValueSource
}

/// Two scans compared against a baseline's requirements. Pure.
public struct ScanDiff: Sendable, Hashable, Codable {
  /// A directive's value as a change shows it: the value, or that the host's systemd is too
  /// old for the requirement.
  static func shown(_ outcome: CoverageCalculator.Outcome) -> String {
    if case .unsupported(let needs) = outcome.state { return "unsupported (needs systemd \(needs))" }
    return outcome.evaluation?.value ?? ""
  }

  public var hostsAdded: [String]
  public var hostsRemoved: [String]
  /// `host service` pairs.
  public var servicesAdded: [String]
  public var servicesRemoved: [String]
  public var changes: [ServiceChange]

  /// - Parameter today: `YYYY-MM-DD`, for waivers (both scans are judged by today's waivers).
  public static func compare(
    old: [HostReport], new: [HostReport], baseline: Baseline, required: [String], today: String
  ) -> ScanDiff {
    let requirements = baseline.requirements(in: required)
    let before = Dictionary(old.filter { $0.status.code.hasData }.map { ($0.name, $0) }) { a, _ in a }
    let after = Dictionary(new.filter { $0.status.code.hasData }.map { ($0.name, $0) }) { a, _ in a }
    var diff = ScanDiff(
      hostsAdded: after.keys.filter { before[$0] == nil }.sorted(),
      hostsRemoved: before.keys.filter { after[$0] == nil }.sorted(), servicesAdded: [], servicesRemoved: [],
      changes: [])
    for name in after.keys.sorted() {
      guard let was = before[name], let now = after[name] else { continue }
      let oldIDs = Set(was.services.map(\.id))
      let newIDs = Set(now.services.map(\.id))
      diff.servicesAdded += newIDs.subtracting(oldIDs).sorted().map { "\(name) \($0)" }
      diff.servicesRemoved += oldIDs.subtracting(newIDs).sorted().map { "\(name) \($0)" }
      // The baseline entry each unit answers to (by id or alias), for not-applicable and waivers.
      let entries = baseline.entries(on: now)
      for service in now.services where oldIDs.contains(service.id) {
        guard let previous = was.services.first(where: { $0.id == service.id }) else { continue }
        let entry = entries[service.id] ?? BaselineService(name: service.id)
        let compared = compare(
          previous, systemd: was.identity?.systemdVersion, with: service,
          systemd: now.identity?.systemdVersion,
          host: name, entry: entry, requirements: requirements, baseline: baseline, today: today)
        if let kind = compared.kind {
          diff.changes.append(
            ServiceChange(
              kind: kind, host: name, service: service.id, exposureBefore: previous.overall?.exposure,
              exposureAfter: service.overall?.exposure, gained: compared.gained, lost: compared.lost))
        }
      }
    }
    return diff
  }

  /// One service before and after, judged against `requirements`: what it gained and lost,
  /// its statuses, and the kind of change (nil when nothing that matters changed). A change
  /// is `regressed` when a directive was lost, the exposure went up or it is no longer
  /// hardened; `hardened` when it now meets every requirement; `improved` when it gained a
  /// directive or its exposure went down.
  public static func compare(
    _ previous: ServiceRecord, systemd oldSystemd: Int?, with service: ServiceRecord,
    systemd newSystemd: Int?,
    host: String, entry: BaselineService, requirements: [Requirement], baseline: Baseline, today: String
  ) -> (
    kind: ServiceChange.Kind?, gained: [DirectiveChange], lost: [DirectiveChange], before: CoverageStatus,
    after: CoverageStatus
  ) {
    let a = CoverageCalculator.judge(
      previous, host: host, entry: entry, requirements: requirements, baseline: baseline, today: today,
      systemd: oldSystemd)
    let b = CoverageCalculator.judge(
      service, host: host, entry: entry, requirements: requirements, baseline: baseline, today: today,
      systemd: newSystemd)
    var gained: [DirectiveChange] = []
    var lost: [DirectiveChange] = []
    for (before, after) in zip(a.outcomes, b.outcomes) {
      let was = before.state.isMet
      let now = after.state.isMet
      guard was != now else { continue }
      let change = DirectiveChange(
        directive: after.directive, before: Self.shown(before), after: Self.shown(after),
        source: after.evaluation?.source ?? .default)
      if now { gained.append(change) } else { lost.append(change) }
    }
    let allBefore = a.status == .hardened
    let allAfter = b.status == .hardened
    var exposureUp = false
    var exposureDown = false
    if let x = previous.overall?.exposure.tenths, let y = service.overall?.exposure.tenths {
      exposureUp = y > x
      exposureDown = y < x
    }
    let kind: ServiceChange.Kind?
    if !lost.isEmpty || exposureUp || (allBefore && !allAfter) {
      kind = .regressed
    } else if allAfter && !allBefore {
      kind = .hardened
    } else if !gained.isEmpty || exposureDown {
      kind = .improved
    } else {
      kind = nil
    }
    return (kind, gained, lost, a.status, b.status)
  }
}
