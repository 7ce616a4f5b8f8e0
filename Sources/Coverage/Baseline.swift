import UnitModel

/// A hardening baseline: which directives count (in named sets), which services it covers,
/// and the exceptions that were accepted.
public struct Baseline: Sendable, Hashable, Codable {
  public var name: String
  public var title: String
  /// A URL or document the baseline comes from.
  public var reference: String?
  /// Where the baseline's text stands against its source, in a sentence or two (the Fedora
  /// change moved to Fedora 41 and was accepted for Fedora 42); shown wherever the baseline is
  /// described.
  public var provenance: String?
  public var version: String?
  /// Requirement sets in file order (`core`, `extended`, …).
  public var sets: [RequirementSet]
  public var services: [BaselineService]
  public var waivers: [Waiver]
  /// Releases a service's `target` may name, each with its day (`YYYY-MM-DD`); nil when the
  /// baseline names none.
  public var releases: [String: String]?

  public init(
    name: String, title: String, reference: String? = nil, provenance: String? = nil, version: String? = nil,
    sets: [RequirementSet],
    services: [BaselineService], waivers: [Waiver] = [], releases: [String: String]? = nil
  ) {
    self.name = name
    self.title = title
    self.reference = reference
    self.provenance = provenance
    self.version = version
    self.sets = sets
    self.services = services
    self.waivers = waivers
    self.releases = releases
  }

  /// The day a service's target falls on: the target itself when it is a date, the day of
  /// the release it names otherwise; nil without a target.
  public func targetDay(of service: BaselineService) -> String? {
    guard let target = service.tracking?.target else { return nil }
    return releases?[target] ?? target
  }

  /// What judging a scan depends on: this baseline without its tracking fields and releases
  /// (an owner or a target changes no service's state).
  public var judged: Baseline {
    var copy = self
    copy.releases = nil
    for index in copy.services.indices { copy.services[index].tracking = nil }
    return copy
  }

  /// The requirements of the named sets, each directive once (the first set naming it wins).
  public func requirements(in names: [String]) -> [Requirement] {
    var seen: Set<HardeningDirective> = []
    var result: [Requirement] = []
    for set in sets where names.contains(set.name) {
      for requirement in set.requirements where seen.insert(requirement.directive).inserted {
        result.append(requirement)
      }
    }
    return result
  }

  public func service(named name: String) -> BaselineService? { services.first { $0.name == name } }

  /// The baseline entry each of the host's units answers to (by id or alias), by unit id.
  public func entries(on host: HostReport) -> [String: BaselineService] {
    let lookup = ServiceLookup(host)
    var result: [String: BaselineService] = [:]
    for entry in services {
      if let unit = lookup.unitID(named: entry.name) { result[unit] = entry }
    }
    return result
  }
}

public struct RequirementSet: Sendable, Hashable, Codable {
  public var name: String
  public var requirements: [Requirement]

  public init(name: String, requirements: [Requirement]) {
    self.name = name
    self.requirements = requirements
  }
}

/// One directive and the effective values that satisfy it.
public struct Requirement: Sendable, Hashable, Codable {
  public var directive: HardeningDirective
  /// Accepted values for choice directives (`ProtectSystem`: `yes`, `full`, `strict`). Empty:
  /// the directive's own rule (see `HardeningDirective.rule`).
  public var accepted: [String]

  public init(_ directive: HardeningDirective, accepted: [String] = []) {
    self.directive = directive
    self.accepted = accepted.isEmpty ? directive.defaultAccepted : accepted
  }

  /// The oldest systemd that can meet this requirement: the version that added the directive,
  /// or, when every accepted value is a named one (`PrivateTmp: [disconnected]`), the version
  /// that added the oldest of them. Nil when every systemd from 239 on can.
  public var minimumSystemd: Int? {
    // Read in place: this runs for every unmet requirement of every service of every host.
    var needed = DirectiveTable.all[directive.index].since
    let named = DirectiveTable.all[directive.index].namedValues
    if !named.isEmpty, !accepted.isEmpty, !accepted.contains("yes") {
      let since = accepted.compactMap { value in named.first { $0.name == value }?.since }
      if let oldest = since.min() { needed = max(needed ?? 0, oldest) }
    }
    return needed
  }

  /// What satisfies this requirement, in words (`ProtectSystem ∈ {yes, full, strict}`).
  public var summary: String {
    accepted.isEmpty
      ? "\(directive.rawValue): \(directive.rule)"
      : "\(directive.rawValue) ∈ {\(accepted.joined(separator: ", "))}"
  }
}

/// A service the baseline covers.
public struct BaselineService: Sendable, Hashable, Codable {
  /// The unit name as the baseline writes it; aliases resolve (`sshd.service` finds
  /// `ssh.service` through its `Names=`).
  public var name: String
  /// Why the whole service is out of scope; nil when it is in scope.
  public var exempt: String?
  /// Directives that do not apply to this service, with the reason.
  public var notApplicable: [HardeningDirective: String]
  /// Who is bringing the service up to the baseline, where, and by when; nil when the
  /// baseline says none of it.
  public var tracking: Tracking?

  public init(
    name: String, exempt: String? = nil, notApplicable: [HardeningDirective: String] = [:],
    tracking: Tracking? = nil
  ) {
    self.name = name
    self.exempt = exempt
    self.notApplicable = notApplicable
    self.tracking = tracking
  }
}

/// A change owner's fields on a baseline service: the work of hardening it, tracked.
public struct Tracking: Sendable, Hashable, Codable {
  /// Who owns the change (a person, a team, a package maintainer).
  public var owner: String?
  /// Where the change is tracked: an `http` or `https` URL (a pull request, a bug).
  public var tracker: String?
  /// When it should ship: a day (`YYYY-MM-DD`) or a release named under `releases`.
  public var target: String?
  public var note: String?

  public init(owner: String? = nil, tracker: String? = nil, target: String? = nil, note: String? = nil) {
    self.owner = owner
    self.tracker = tracker
    self.target = target
    self.note = note
  }
}

/// An accepted exception: a directive a service may lack (on matching hosts), until a date.
public struct Waiver: Sendable, Hashable, Codable {
  public var service: String
  public var directive: HardeningDirective
  /// A glob over host names (`web*`); nil: every host.
  public var hosts: String?
  public var reason: String
  public var owner: String
  /// The last day it counts (`2027-01-31`), as ISO `YYYY-MM-DD`; nil: no expiry.
  public var expires: String?
  /// Where it was written: the baseline file and line (for messages, and where SARIF points an
  /// expired waiver).
  public var origin: Provenance?

  public init(
    service: String, directive: HardeningDirective, hosts: String? = nil, reason: String, owner: String,
    expires: String? = nil, origin: Provenance? = nil
  ) {
    self.service = service
    self.directive = directive
    self.hosts = hosts
    self.reason = reason
    self.owner = owner
    self.expires = expires
    self.origin = origin
  }

  /// True when `today` (`YYYY-MM-DD`) is past the expiry day.
  public func isExpired(today: String) -> Bool { expires.map { today > $0 } ?? false }

  public func applies(to host: String) -> Bool {
    hosts.map { HostGlob.matches($0, host) } ?? true
  }
}

/// What a baseline may say of a directive (`HardeningDirective`, generated from
/// UnitModel's `Directives.table`).
extension HardeningDirective {
  /// The values a baseline may list for a directive; nil for directives with a fixed rule.
  public var choices: [String]? {
    switch spec.kind {
    case .choice(let words): words
    case .list(let words) where !words.isEmpty: words
    // A boolean with named values (PrivateTmp=disconnected): `yes` is the plain form.
    case .boolean where !spec.namedValues.isEmpty: ["yes"] + spec.namedValues.map(\.name)
    default: nil
    }
  }

  /// What a baseline accepts when it lists no values.
  var defaultAccepted: [String] { spec.hardened }

  /// The fixed rule of a directive without choices. Each directive with a rule of its own has
  /// it here and in `Requirement.judge`; the others have their kind's.
  public var rule: String {
    switch self {
    case .user: "a non-root User=, or DynamicUser=yes"
    case .capabilityBoundingSet: "narrower than the full set"
    case .ambientCapabilities: "empty"
    case .restrictNamespaces: "yes (every namespace type restricted)"
    case .systemCallFilter: "a filter is set"
    default:
      switch form {
      case .boolean: "yes"
      case .list: "a list is set"
      case .filter: "any restriction"
      case .user: "a non-root user"
      case .umask: "no permissions for others (…7)"
      case .choice: "one of the accepted values"
      }
    }
  }
}

/// Shell-style globs for host patterns in waivers: `*`, `?`.
public enum HostGlob {
  public static func matches(_ pattern: String, _ name: String) -> Bool {
    matches(Array(pattern)[...], Array(name)[...])
  }

  static func matches(_ pattern: ArraySlice<Character>, _ name: ArraySlice<Character>) -> Bool {
    guard let first = pattern.first else { return name.isEmpty }
    if first == "*" {
      var rest = name
      while true {
        if matches(pattern.dropFirst(), rest) { return true }
        guard !rest.isEmpty else { return false }
        rest = rest.dropFirst()
      }
    }
    guard let head = name.first, first == "?" || first == head else { return false }
    return matches(pattern.dropFirst(), name.dropFirst())
  }
}
