import UnitModel

/// `unitaudit check` as test results, the shape CI systems and code-scanning tools read:
/// per host, one case per baseline service. Pure; `JUnitReport` and `SARIFReport` render it.
public struct CheckResults: Sendable {
  public var baseline: String
  public var required: [String]
  public var hosts: [HostSuite]
  /// Violations that belong to no host (an expired waiver with `--fail-on-expired-waivers`).
  public var general: [Violation]

  public struct HostSuite: Sendable {
    public var host: String
    public var systemd: Int?
    public var os: String?
    /// Why the host has no results (it could not be audited); nil when it was.
    public var error: Violation?
    public var cases: [ServiceCase]
  }

  public struct ServiceCase: Sendable {
    /// The baseline's name for the service.
    public var service: String
    public var outcome: Outcome
  }

  public enum Outcome: Sendable {
    case passed
    /// The violations of this service on this host.
    case failed([Violation])
    /// Why it was not judged: exempt, not installed, or met only through waivers.
    case skipped(String)
  }

  /// The results of `violations` (what `check` counts) for `hosts` against `baseline`.
  public init(
    hosts: [HostReport], baseline: Baseline, required: [String], violations: [Violation], today: String
  ) {
    self.baseline = baseline.name
    self.required = required
    let requirements = baseline.requirements(in: required)
    var byHost: [String: [Violation]] = [:]
    var general: [Violation] = []
    for violation in violations {
      if let host = violation.host, violation.kind != .expiredWaiver {
        byHost[host, default: []].append(violation)
      } else {
        general.append(violation)
      }
    }
    self.general = general
    self.hosts = hosts.map { host in
      let mine = byHost[host.name] ?? []
      var suite = HostSuite(
        host: host.name, systemd: host.identity?.systemdVersion, os: host.identity?.osPrettyName, error: nil,
        cases: [])
      guard host.status.code.hasData else {
        suite.error =
          mine.first { $0.kind == .notScanned }
          ?? Violation(
            kind: .notScanned, host: host.name, service: nil, directive: nil,
            reason: "not audited: \(host.status.description)")
        return suite
      }
      let lookup = ServiceLookup(host)
      let byService = Dictionary(grouping: mine, by: { $0.service ?? "" })
      suite.cases = baseline.services.map { entry in
        if let why = entry.exempt {
          return ServiceCase(service: entry.name, outcome: .skipped("exempt: \(why)"))
        }
        guard let service = lookup.service(named: entry.name) else {
          return ServiceCase(service: entry.name, outcome: .skipped("not installed"))
        }
        if let failures = byService[PolicyCheck.label(service, entry)] {
          return ServiceCase(service: entry.name, outcome: .failed(failures))
        }
        let judged = CoverageCalculator.judge(
          service, host: host.name, entry: entry, requirements: requirements, baseline: baseline,
          today: today,
          systemd: host.identity?.systemdVersion)
        let waived = judged.outcomes.filter { $0.state == .waived }
        if let waiver = waived.first?.waivers.first(where: { !$0.isExpired(today: today) }) {
          let directives = waived.map(\.directive.rawValue).joined(separator: ", ")
          return ServiceCase(
            service: entry.name,
            outcome: .skipped("waived: \(directives) (\(waiver.reason); owner \(waiver.owner))"))
        }
        return ServiceCase(service: entry.name, outcome: .passed)
      }
      return suite
    }
  }
}
