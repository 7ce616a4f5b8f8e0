import UnitModel

/// Where the effective value of a directive came from.
public enum ValueSource: String, Sendable, Hashable, Codable, CodingKeyRepresentable, CaseIterable {
  /// A vendor unit file or drop-in (`/usr/lib`, `/lib`).
  case vendor
  /// An admin (`/etc`) or runtime (`/run`) file: a local override.
  case override
  /// Derived by systemd from another setting (`DynamicUser=yes` → `PrivateTmp=yes`).
  case implied
  /// No file set it; systemd's default applies.
  case `default`
}

/// One directive of one service on one host, judged against a requirement.
public struct Evaluation: Sendable, Hashable, Codable {
  public var satisfied: Bool
  /// The effective value as text (`strict`, `yes`, `CAP_CHOWN CAP_KILL`, `(unset)`).
  public var value: String
  public var source: ValueSource
  /// The file and line that set it; nil for implied and default values. Its JSON key is
  /// `origin`, which the tools that read coverage JSON know; not to be confused with
  /// `Provenance.origin`, the kind of directory a file is in.
  public var provenance: Provenance?

  enum CodingKeys: String, CodingKey {
    case satisfied, value, source
    case provenance = "origin"
  }

  public init(satisfied: Bool, value: String, source: ValueSource, provenance: Provenance? = nil) {
    self.satisfied = satisfied
    self.value = value
    self.source = source
    self.provenance = provenance
  }
}

extension Requirement {
  /// Judges the service's effective setting.
  public func evaluate(_ service: ServiceRecord) -> Evaluation {
    var result = judge(service)
    result.provenance = provenance(in: service.hardening)
    return result
  }

  /// The file and line behind the directive's effective value, if a file set it.
  func provenance(in h: HardeningSettings) -> Provenance? {
    if directive == .user, h.dynamicUser?.value == true { return h.dynamicUser?.source }
    return h.source(of: directive)
  }

  private func judge(_ service: ServiceRecord) -> Evaluation {
    let h = service.hardening
    func from<T>(_ setting: Setting<T>?) -> ValueSource {
      guard let setting else { return .default }
      if setting.impliedBy != nil && setting.source == nil { return .implied }
      guard let origin = setting.source?.origin else { return .implied }
      return origin == .vendor ? .vendor : .override
    }
    // On in any form satisfies a boolean requirement; a list of accepted values (`PrivateTmp:
    // [disconnected]`) names the forms that do. The value shown is the form (`disconnected`).
    func flag(_ setting: Setting<Bool>?) -> Evaluation {
      let on = setting?.value == true
      let value = on ? setting?.variant ?? "yes" : "no"
      return Evaluation(
        satisfied: on && (accepted.isEmpty || accepted.contains(value)), value: value, source: from(setting))
    }
    // The directives with a rule of their own (`HardeningDirective.rule` says each in
    // words); the others follow their kind's.
    switch directive {
    case .systemCallArchitectures:
      let value = h.systemCallArchitectures?.value ?? []
      return Evaluation(
        satisfied: !value.isEmpty && value.allSatisfy(accepted.contains),
        value: value.isEmpty ? "(unset)" : value.joined(separator: " "),
        source: from(h.systemCallArchitectures))
    case .user where h.dynamicUser?.value == true:
      return Evaluation(satisfied: true, value: "DynamicUser=yes", source: from(h.dynamicUser))
    case .capabilityBoundingSet:
      let value = h.capabilityBoundingSet?.value
      return Evaluation(
        satisfied: value.map { $0.count < fullCapabilityCount } ?? false,
        value: value.map { $0.isEmpty ? "(empty)" : $0.joined(separator: " ") } ?? "(all)",
        source: from(h.capabilityBoundingSet))
    case .ambientCapabilities:
      let value = h.ambientCapabilities?.value ?? []
      return Evaluation(
        satisfied: value.isEmpty, value: value.isEmpty ? "(empty)" : value.joined(separator: " "),
        source: from(h.ambientCapabilities))
    case .systemCallFilter:
      let list = h.systemCallFilter?.value
      let active = list.map { !($0.mode == .deny && $0.entries.isEmpty) } ?? false
      return Evaluation(
        satisfied: active, value: list.map(describe) ?? "(unset)", source: from(h.systemCallFilter))
    case .restrictNamespaces:
      let allowed = h.restrictNamespaces?.value
      return Evaluation(
        satisfied: allowed?.isEmpty == true,
        value: allowed.map { $0.isEmpty ? "yes" : "allows " + $0.joined(separator: " ") } ?? "no",
        source: from(h.restrictNamespaces))
    default:
      break
    }
    switch directive.form {
    case .boolean:
      return flag(h.flag(directive))
    case .choice:
      let setting = h.choice(directive)
      let value = setting?.value ?? directive.unset ?? ""
      return Evaluation(satisfied: accepted.contains(value), value: value, source: from(setting))
    case .list:
      let setting = h.words(directive)
      let value = setting?.value ?? []
      return Evaluation(
        satisfied: !value.isEmpty, value: value.isEmpty ? "(unset)" : value.joined(separator: " "),
        source: from(setting))
    case .filter:
      let setting = h.filter(directive)
      return Evaluation(
        satisfied: setting != nil, value: setting.map { describe($0.value) } ?? "(unset)",
        source: from(setting))
    case .user:
      let setting = h.text(directive)
      let user = setting?.value ?? ""
      let root = user.isEmpty || user == "root" || user == "0"
      return Evaluation(satisfied: !root, value: user.isEmpty ? "(root)" : user, source: from(setting))
    case .umask:
      let setting = h.text(directive)
      let value = setting?.value ?? directive.unset ?? "0022"
      return Evaluation(satisfied: value.hasSuffix("7"), value: value, source: from(setting))
    }
  }
}

/// Capabilities systemd knows on the hosts unitaudit was measured on (kernel 6, 41 names);
/// a bounding set with fewer is narrower than the full set.
let fullCapabilityCount = 41

private func describe(_ list: FilterList) -> String {
  if list.mode == .allow && list.entries.isEmpty { return "none" }
  return (list.mode == .deny ? "~" : "") + list.entries.joined(separator: " ")
}
