import UnitModel

/// One way a scan falls short of a policy.
public struct Violation: Sendable, Hashable, Codable, CustomStringConvertible {
  public enum Kind: String, Sendable, Hashable, Codable {
    /// A required directive is not satisfied and no active waiver covers it.
    case directive
    /// The service's overall exposure is above the limit.
    case exposure
    /// A waiver has expired (with `--fail-on-expired-waivers`).
    case expiredWaiver = "expired-waiver"
    /// The host could not be audited (unreachable, refused, no systemd…).
    case notScanned = "not-scanned"
    /// A required directive or value that the host's systemd is too old to accept.
    case unsupported
    /// A service past the target its baseline entry gives and not hardened (`check --overdue`).
    case overdue
  }

  public var kind: Kind
  public var host: String?
  public var service: String?
  public var directive: HardeningDirective?
  /// Why, in words a reader acts on.
  public var reason: String
  /// Where the fix goes: the file and line that set the directive wrongly, or the unit's own
  /// file at its `[Service]` assignments when nothing set it (for `directive`, `exposure` and
  /// `unsupported`); the baseline's line for an expired waiver; nil for a host that was not
  /// audited and for a unit with no file.
  public var location: Provenance?

  public init(
    kind: Kind, host: String?, service: String?, directive: HardeningDirective?, reason: String,
    location: Provenance? = nil
  ) {
    self.kind = kind
    self.host = host
    self.service = service
    self.directive = directive
    self.reason = reason
    self.location = location
  }

  public var description: String {
    let place = [host, service, directive?.rawValue].compactMap { $0 }.joined(separator: " ")
    return place.isEmpty ? reason : "\(place): \(reason)"
  }
}

/// The policy gate: every violation of a scan against a baseline. Pure.
public enum PolicyCheck {
  public static func violations(
    hosts: [HostReport], baseline: Baseline, required: [String], maxExposure: Exposure? = nil,
    failOnExpiredWaivers: Bool = false, today: String
  ) -> [Violation] {
    findings(
      hosts: hosts, baseline: baseline, required: required, maxExposure: maxExposure,
      failOnExpiredWaivers: failOnExpiredWaivers, today: today
    ).filter { $0.kind != .unsupported }
  }

  /// The violations, and (kind `unsupported`) each requirement that a host's systemd is too old
  /// to meet: the caller decides whether those count (`check --fail-on-unsupported`).
  public static func findings(
    hosts: [HostReport], baseline: Baseline, required: [String], maxExposure: Exposure? = nil,
    failOnExpiredWaivers: Bool = false, today: String
  ) -> [Violation] {
    let requirements = baseline.requirements(in: required)
    var result: [Violation] = []
    for host in hosts {
      guard host.status.code.hasData else {
        result.append(
          Violation(
            kind: .notScanned, host: host.name, service: nil, directive: nil,
            reason: "not audited: \(host.status.description)"))
        continue
      }
      let lookup = ServiceLookup(host)
      for entry in baseline.services where entry.exempt == nil {
        guard let service = lookup.service(named: entry.name) else { continue }
        let unit = label(service, entry)
        let judgement = CoverageCalculator.judge(
          service, host: host.name, entry: entry, requirements: requirements, baseline: baseline,
          today: today,
          systemd: host.identity?.systemdVersion)
        for outcome in judgement.outcomes {
          if case .unsupported(let needs) = outcome.state {
            let summary =
              requirements.first { $0.directive == outcome.directive }?.summary ?? outcome.directive.rawValue
            let running = host.identity?.systemdVersion.map { "systemd \($0)" } ?? "its systemd"
            result.append(
              Violation(
                kind: .unsupported, host: host.name, service: unit, directive: outcome.directive,
                reason: "unsupported: \(summary) needs systemd \(needs); the host runs \(running)",
                location: outcome.evaluation?.provenance ?? serviceSection(of: service)))
          }
        }
        for outcome in judgement.outcomes where outcome.state == .missing {
          let summary =
            requirements.first { $0.directive == outcome.directive }?.summary ?? outcome.directive.rawValue
          var reason = "is \(outcome.evaluation?.value ?? "?"); required: \(summary)"
          if let expired = outcome.waivers.first {
            reason += " (waiver by \(expired.owner) expired \(expired.expires ?? "?"))"
          }
          result.append(
            Violation(
              kind: .directive, host: host.name, service: unit, directive: outcome.directive, reason: reason,
              location: outcome.evaluation?.provenance ?? serviceSection(of: service)))
        }
        if let limit = maxExposure, let overall = service.overall, overall.exposure.tenths > limit.tenths {
          result.append(
            Violation(
              kind: .exposure, host: host.name, service: unit, directive: nil,
              reason: "exposure \(overall.exposure) \(overall.predicate) is above \(limit)",
              location: serviceSection(of: service)))
        }
      }
    }
    if failOnExpiredWaivers {
      for waiver in baseline.waivers where waiver.isExpired(today: today) {
        result.append(
          Violation(
            kind: .expiredWaiver, host: waiver.hosts, service: waiver.service, directive: waiver.directive,
            reason: "waiver (\(waiver.reason); owner \(waiver.owner)) expired \(waiver.expires ?? "?")"
              + (waiver.origin.map { " — \($0.file):\($0.line)" } ?? ""),
            location: waiver.origin))
      }
    }
    return result
  }

  /// How a violation names a service: its unit, and the baseline's name for it when that is
  /// an alias (`systemd-hostnamed.service (dbus-org.freedesktop.hostname1.service)`).
  public static func label(_ service: ServiceRecord, _ entry: BaselineService) -> String {
    service.id == entry.name ? service.id : "\(service.id) (\(entry.name))"
  }

  /// Where a directive the unit does not set would go: its own file (`FragmentPath`), at the
  /// first assignment of its `[Service]` section, or line 1 when it has none there.
  static func serviceSection(of service: ServiceRecord) -> Provenance? {
    guard let fragment = service.fragmentPath else { return nil }
    let first = service.directives.first { $0.section == "Service" && $0.source.file == fragment }
    return Provenance(file: fragment, line: first?.source.line ?? 1)
  }
}
