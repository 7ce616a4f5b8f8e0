import UnitModel

/// One service in the change owners' view: its state and exposure in this scan (and in a
/// compared one), with the tracking fields the baseline gives it.
public struct OwnerEntry: Sendable, Hashable, Codable {
  public var service: String
  public var status: CoverageStatus
  /// How many of the scan's hosts have it.
  public var hosts: Int
  /// Across the scan's hosts that have it; nil when none reports one.
  public var exposure: Spread?
  /// The same in the compared scan (`report --compare`); nil without one.
  public var comparedStatus: CoverageStatus?
  public var comparedExposure: Spread?
  public var tracking: Tracking
  /// The day the target falls on (the target, or its release's day).
  public var targetDay: String?
  /// Past its target day and neither hardened, exempt nor absent.
  public var overdue: Bool
  /// What canary runs (`suggest --canary`) showed of its suggested drop-in; nil without one.
  public var canary: CanaryVerdict?
}

/// The change owners' view of a scan against a baseline: every service that carries tracking
/// fields, every installed service that is not hardened (work without an owner yet), and
/// every service a canary run tried.
/// Ordered by target day (none last), then name. Pure.
public enum OwnerView {
  /// Whether any service of `baseline` names an owner, tracker, target or note.
  public static func isTracked(_ baseline: Baseline) -> Bool {
    baseline.services.contains { $0.tracking != nil }
  }

  /// `canary`: the verdicts of the scan's canary run by unit (`CanaryVerdict.verdicts`).
  public static func entries(
    coverage: CoverageReport, compared: CoverageReport? = nil, baseline: Baseline, today: String,
    canary: [String: CanaryVerdict] = [:]
  ) -> [OwnerEntry] {
    let before = Dictionary(
      (compared?.services ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    let services = Dictionary(
      baseline.services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    let entries = coverage.services.compactMap { covered -> OwnerEntry? in
      guard let service = services[covered.name] else { return nil }
      let open = covered.status == .partial || covered.status == .notStarted
      let verdict = covered.unitIDs.lazy.compactMap { canary[$0] }.first
      guard service.tracking != nil || open || verdict != nil else { return nil }
      let day = baseline.targetDay(of: service)
      let was = before[covered.name]
      return OwnerEntry(
        service: covered.name, status: covered.status, hosts: covered.hosts.count, exposure: covered.exposure,
        comparedStatus: was?.status, comparedExposure: was?.exposure,
        tracking: service.tracking ?? Tracking(),
        targetDay: day, overdue: open && day.map { $0 < today } == true, canary: verdict)
    }
    return entries.sorted { a, b in
      switch (a.targetDay, b.targetDay) {
      case (let x?, let y?) where x != y: x < y
      case (.some, .none): true
      case (.none, .some): false
      default: a.service < b.service
      }
    }
  }

  /// The overdue services as policy violations (`check --overdue`), in the view's order.
  public static func overdue(
    coverage: CoverageReport, baseline: Baseline, today: String
  ) -> [Violation] {
    entries(coverage: coverage, baseline: baseline, today: today).filter(\.overdue).map { entry in
      let hosts = entry.hosts
      var reason = "past its target"
      if let target = entry.tracking.target {
        reason += target == entry.targetDay ? " \(target)" : " \(target) (\(entry.targetDay ?? ""))"
      }
      reason += " and \(entry.status.rawValue) on \(hosts) host\(hosts == 1 ? "" : "s")"
      if let owner = entry.tracking.owner { reason += "; owner \(owner)" }
      if let tracker = entry.tracking.tracker { reason += "; \(tracker)" }
      return Violation(kind: .overdue, host: nil, service: entry.service, directive: nil, reason: reason)
    }
  }
}
