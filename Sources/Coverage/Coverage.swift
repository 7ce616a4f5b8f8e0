import UnitModel

/// How far a service is along, across the hosts that have it.
public enum CoverageStatus: String, Sendable, Hashable, Codable, CodingKeyRepresentable, CaseIterable {
  /// Every required directive satisfied, waived or not applicable on every host that has it.
  case hardened
  case partial
  /// No required directive satisfied on any host.
  case notStarted = "not-started"
  /// The baseline exempts the whole service.
  case exempt
  /// No scanned host has the service.
  case notInstalled = "not-installed"
}

/// What one directive looks like for one service across hosts.
public struct DirectiveCoverage: Sendable, Hashable, Codable {
  public var directive: HardeningDirective
  public var requirement: String
  /// Hosts where it is satisfied, by where the value came from.
  public var satisfied: [ValueSource: Int]
  public var waived: Int
  public var missing: Int
  /// Hosts whose systemd is older than the requirement needs (`needsSystemd`): not missing,
  /// since no unit file there can meet it.
  public var unsupported: Int = 0
  /// The systemd version the requirement needs, when some host's is older.
  public var needsSystemd: Int?
  /// Host names where it is unsupported: the first `listedHosts` of them.
  public var unsupportedOn: [String] = []
  /// Why it does not apply (the baseline's reason); nil when it applies.
  public var notApplicable: String?
  /// Host names where it is missing and not waived: the first `listedHosts` of them
  /// (`missing` counts them all).
  public var missingOn: [String]

  public static let listedHosts = 50

  public var satisfiedTotal: Int { satisfied.values.reduce(0, +) }
}

/// Min, median and max of a value across hosts.
public struct Spread: Sendable, Hashable, Codable {
  public var min: Exposure
  public var median: Exposure
  public var max: Exposure

  init?(_ values: [Exposure]) {
    let sorted = values.sorted { $0.tenths < $1.tenths }
    guard let first = sorted.first, let last = sorted.last else { return nil }
    min = first
    max = last
    median = sorted[(sorted.count - 1) / 2]
  }
}

/// One baseline service across the fleet.
public struct ServiceCoverage: Sendable, Hashable, Codable {
  public var name: String
  /// The unit ids it resolved to on the hosts (differs from `name` for aliases).
  public var unitIDs: [String]
  public var status: CoverageStatus
  public var exemptReason: String?
  /// Host names that have it.
  public var hosts: [String]
  public var exposure: Spread?
  public var directives: [DirectiveCoverage]
}

/// One host against the baseline.
public struct HostCoverage: Sendable, Hashable, Codable {
  public var name: String
  /// Baseline services present (not exempt).
  public var present: Int
  public var hardened: Int
  public var partial: Int
  public var notStarted: Int
  public var worstExposure: Exposure?
  public var worstService: String?
  /// Services on the host that the baseline does not name.
  public var outside: Int
}

/// A waiver that was used, or that expired.
public struct WaiverUse: Sendable, Hashable, Codable {
  public var waiver: Waiver
  public var expired: Bool
  /// Host × service pairs it covered (or would have, when expired).
  public var matches: Int
}

/// Coverage of a scan against a baseline. Pure: computed from values only.
public struct CoverageReport: Sendable, Hashable, Codable {
  public var baseline: String
  public var required: [String]
  public var today: String
  public var services: [ServiceCoverage]
  public var hosts: [HostCoverage]
  /// Service ids on scanned hosts that the baseline does not name, with how many hosts have each.
  public var outsideBaseline: [String: Int]
  public var waivers: [WaiverUse]

  public func count(_ status: CoverageStatus) -> Int { services.filter { $0.status == status }.count }
}

public enum CoverageCalculator {
  /// Judges every host of `hosts` that has data against `baseline`.
  /// - Parameters:
  ///   - required: the set names that make a service `hardened` (default: the first set).
  ///   - today: `YYYY-MM-DD`, for waiver expiry.
  public static func compute(
    hosts: [HostReport], baseline: Baseline, required: [String]? = nil, today: String
  ) -> CoverageReport {
    let requiredSets = required ?? baseline.sets.first.map { [$0.name] } ?? []
    let requirements = baseline.requirements(in: requiredSets)
    let scanned = hosts.filter { $0.status.code.hasData }
    let lookups = scanned.map(ServiceLookup.init)
    var waiverMatches: [Waiver: Int] = [:]
    var services: [ServiceCoverage] = []
    var perHost: [String: HostTally] = [:]
    var named: [String: Set<String>] = [:]  // host → unit ids the baseline covers

    for entry in baseline.services {
      var unitIDs: Set<String> = []
      var hostNames: [String] = []
      var exposures: [Exposure] = []
      var directives: [HardeningDirective: DirectiveCoverage] = [:]
      for requirement in requirements {
        directives[requirement.directive] = DirectiveCoverage(
          directive: requirement.directive, requirement: requirement.summary, satisfied: [:], waived: 0,
          missing: 0,
          notApplicable: entry.notApplicable[requirement.directive], missingOn: [])
      }
      var hostStatuses: [(String, CoverageStatus, Exposure?)] = []
      // By index: copying each lookup (and its host) per baseline entry showed in profiles.
      for index in lookups.indices {
        guard let offset = lookups[index].offset(of: entry.name) else { continue }
        let hostName = lookups[index].host.name
        let service = lookups[index].host.services[offset]
        named[hostName, default: []].insert(service.id)
        unitIDs.insert(service.id)
        hostNames.append(hostName)
        if let exposure = service.overall?.exposure { exposures.append(exposure) }
        let judgement = judge(
          service, host: hostName, entry: entry, requirements: requirements, baseline: baseline, today: today,
          systemd: lookups[index].host.identity?.systemdVersion)
        for outcome in judgement.outcomes {
          for waiver in outcome.waivers { waiverMatches[waiver, default: 0] += 1 }
          directives[outcome.directive]?.count(outcome.state, on: hostName)
        }
        let status = judgement.status
        hostStatuses.append((hostName, status, service.overall?.exposure))
      }
      let status = CoverageStatus.across(hostStatuses.map(\.1), exempt: entry.exempt != nil)
      if entry.exempt == nil {
        let unit = unitIDs.sorted().first ?? entry.name
        for (host, hostStatus, exposure) in hostStatuses {
          perHost[host, default: HostTally()].add(hostStatus, exposure: exposure, unit: unit)
        }
      }
      services.append(
        ServiceCoverage(
          name: entry.name, unitIDs: unitIDs.sorted(), status: status, exemptReason: entry.exempt,
          hosts: hostNames,
          exposure: Spread(exposures), directives: requirements.compactMap { directives[$0.directive] }))
    }

    var outside: [String: Int] = [:]
    var hostCoverage: [HostCoverage] = []
    for host in scanned {
      let covered = named[host.name] ?? []
      let extra = host.services.filter { !covered.contains($0.id) }
      for service in extra { outside[service.id, default: 0] += 1 }
      let tally = perHost[host.name] ?? HostTally()
      hostCoverage.append(
        HostCoverage(
          name: host.name, present: tally.present, hardened: tally.hardened, partial: tally.partial,
          notStarted: tally.notStarted, worstExposure: tally.worst?.exposure, worstService: tally.worst?.unit,
          outside: extra.count))
    }
    let waivers = baseline.waivers.map { waiver in
      WaiverUse(waiver: waiver, expired: waiver.isExpired(today: today), matches: waiverMatches[waiver] ?? 0)
    }
    return CoverageReport(
      baseline: baseline.name, required: requiredSets, today: today, services: services, hosts: hostCoverage,
      outsideBaseline: outside, waivers: waivers)
  }

  /// How one directive of one service on one host stands.
  public struct Outcome: Sendable, Hashable {
    public enum State: Sendable, Hashable {
      case satisfied(ValueSource)
      case waived
      case missing
      /// The host's systemd is older than the requirement needs (the version it needs).
      case unsupported(needs: Int)
      case notApplicable

      /// Satisfied, waived or not applicable: nothing to do on this host.
      public var isMet: Bool {
        switch self {
        case .satisfied, .waived, .notApplicable: true
        case .missing, .unsupported: false
        }
      }
    }
    public var directive: HardeningDirective
    public var state: State
    /// Waivers that name this service, directive and host (active or expired).
    public var waivers: [Waiver]
    /// The effective value; nil for directives that do not apply.
    public var evaluation: Evaluation?
  }

  /// Judges one service on one host: each required directive, and the resulting status
  /// (`hardened`, `partial` or `not-started`; `exempt` when the baseline exempts it).
  ///
  /// A requirement that the host's systemd (`systemd`, its major version) is too old to meet
  /// is `unsupported`, not missing, and leaves the status alone: the service is judged by what
  /// its host can do. Without a version every requirement counts as supported.
  public static func judge(
    _ service: ServiceRecord, host: String, entry: BaselineService, requirements: [Requirement],
    baseline: Baseline,
    today: String, systemd: Int? = nil
  ) -> (status: CoverageStatus, outcomes: [Outcome]) {
    var outcomes: [Outcome] = []
    var ok = 0
    var applicable = 0
    var satisfiedCount = 0
    for requirement in requirements {
      let directive = requirement.directive
      if entry.notApplicable[directive] != nil {
        outcomes.append(Outcome(directive: directive, state: .notApplicable, waivers: [], evaluation: nil))
        continue
      }
      applicable += 1
      let evaluation = requirement.evaluate(service)
      if evaluation.satisfied {
        outcomes.append(
          Outcome(
            directive: directive, state: .satisfied(evaluation.source), waivers: [], evaluation: evaluation))
        ok += 1
        satisfiedCount += 1
        continue
      }
      let waivers = baseline.waivers.filter {
        $0.directive == directive && $0.applies(to: host)
          && ($0.service == entry.name || $0.service == service.id || service.aliases.contains($0.service))
      }
      if waivers.contains(where: { !$0.isExpired(today: today) }) {
        outcomes.append(
          Outcome(directive: directive, state: .waived, waivers: waivers, evaluation: evaluation))
        ok += 1
      } else if let systemd, let needs = requirement.minimumSystemd, systemd < needs {
        outcomes.append(
          Outcome(
            directive: directive, state: .unsupported(needs: needs), waivers: waivers, evaluation: evaluation)
        )
        applicable -= 1
      } else {
        outcomes.append(
          Outcome(directive: directive, state: .missing, waivers: waivers, evaluation: evaluation))
      }
    }
    if entry.exempt != nil { return (.exempt, outcomes) }
    // Nothing the host can meet is met when every requirement it supports is missing, or when
    // it supports none of them.
    let unsupported = outcomes.filter { if case .unsupported = $0.state { true } else { false } }.count
    let status: CoverageStatus
    if applicable == 0 && unsupported > 0 {
      status = .notStarted
    } else {
      status = ok == applicable ? .hardened : satisfiedCount == 0 ? .notStarted : .partial
    }
    return (status, outcomes)
  }
}

/// One host's baseline services, counted by status, and its most exposed one.
private struct HostTally {
  var present = 0
  var hardened = 0
  var partial = 0
  var notStarted = 0
  var worst: (exposure: Exposure, unit: String)?

  mutating func add(_ status: CoverageStatus, exposure: Exposure?, unit: String) {
    present += 1
    switch status {
    case .hardened: hardened += 1
    case .notStarted: notStarted += 1
    default: partial += 1
    }
    if let exposure, exposure.tenths > (worst?.exposure.tenths ?? -1) { worst = (exposure, unit) }
  }
}

extension CoverageStatus {
  /// A baseline service's status across the hosts that have it: exempt, not installed (no
  /// host), hardened or not started on every host, partial otherwise.
  static func across(_ statuses: [CoverageStatus], exempt: Bool) -> CoverageStatus {
    if exempt { return .exempt }
    if statuses.isEmpty { return .notInstalled }
    if statuses.allSatisfy({ $0 == .hardened }) { return .hardened }
    if statuses.allSatisfy({ $0 == .notStarted }) { return .notStarted }
    return .partial
  }
}

extension DirectiveCoverage {
  /// Counts one host's outcome for this directive; the first hosts missing it (or too old
  /// for it) are named.
  mutating func count(_ state: CoverageCalculator.Outcome.State, on host: String) {
    switch state {
    case .satisfied(let source): satisfied[source, default: 0] += 1
    case .waived: waived += 1
    case .missing:
      missing += 1
      if missingOn.count < Self.listedHosts { missingOn.append(host) }
    case .unsupported(let needs):
      unsupported += 1
      needsSystemd = needs
      if unsupportedOn.count < Self.listedHosts { unsupportedOn.append(host) }
    case .notApplicable: break
    }
  }
}
