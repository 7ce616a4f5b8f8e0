import UnitModel

/// Where the effective value of a directive came from.
public enum ValueSource: String, Sendable, Hashable, Codable, CaseIterable {
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
  /// The file (and line) that set it; nil for implied and default values.
  public var origin: Provenance?

  public init(satisfied: Bool, value: String, source: ValueSource, origin: Provenance? = nil) {
    self.satisfied = satisfied
    self.value = value
    self.source = source
    self.origin = origin
  }
}

extension Requirement {
  /// Judges the service's effective setting.
  public func evaluate(_ service: ServiceRecord) -> Evaluation {
    var result = judge(service)
    result.origin = origin(in: service.hardening)
    return result
  }

  /// The file and line behind the directive's effective value, if a file set it.
  func origin(in h: HardeningSettings) -> Provenance? {
    switch directive {
    case .privateTmp: h.privateTmp?.source
    case .protectClock: h.protectClock?.source
    case .protectHostname: h.protectHostname?.source
    case .protectControlGroups: h.protectControlGroups?.source
    case .protectKernelLogs: h.protectKernelLogs?.source
    case .protectKernelModules: h.protectKernelModules?.source
    case .protectKernelTunables: h.protectKernelTunables?.source
    case .privateDevices: h.privateDevices?.source
    case .privateNetwork: h.privateNetwork?.source
    case .privateUsers: h.privateUsers?.source
    case .privateIPC: h.privateIPC?.source
    case .privatePIDs: h.privatePIDs?.source
    case .noNewPrivileges: h.noNewPrivileges?.source
    case .dynamicUser: h.dynamicUser?.source
    case .lockPersonality: h.lockPersonality?.source
    case .memoryDenyWriteExecute: h.memoryDenyWriteExecute?.source
    case .removeIPC: h.removeIPC?.source
    case .restrictRealtime: h.restrictRealtime?.source
    case .restrictSUIDSGID: h.restrictSUIDSGID?.source
    case .protectSystem: h.protectSystem?.source
    case .protectHome: h.protectHome?.source
    case .protectProc: h.protectProc?.source
    case .procSubset: h.procSubset?.source
    case .keyringMode: h.keyringMode?.source
    case .devicePolicy: h.devicePolicy?.source
    case .systemCallArchitectures: h.systemCallArchitectures?.source
    case .user: h.dynamicUser?.value == true ? h.dynamicUser?.source : h.user?.source
    case .capabilityBoundingSet: h.capabilityBoundingSet?.source
    case .ambientCapabilities: h.ambientCapabilities?.source
    case .restrictAddressFamilies: h.restrictAddressFamilies?.source
    case .systemCallFilter: h.systemCallFilter?.source
    case .restrictNamespaces: h.restrictNamespaces?.source
    case .ipAddressDeny: h.ipAddressDeny?.source
    case .umask: h.umask?.source
    }
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
    func choice<T: RawRepresentable>(_ setting: Setting<T>?, default fallback: T) -> Evaluation
    where T.RawValue == String {
      let value = (setting?.value ?? fallback).rawValue
      return Evaluation(satisfied: accepted.contains(value), value: value, source: from(setting))
    }
    switch directive {
    case .privateTmp: return flag(h.privateTmp)
    case .protectClock: return flag(h.protectClock)
    case .protectHostname: return flag(h.protectHostname)
    case .protectControlGroups: return flag(h.protectControlGroups)
    case .protectKernelLogs: return flag(h.protectKernelLogs)
    case .protectKernelModules: return flag(h.protectKernelModules)
    case .protectKernelTunables: return flag(h.protectKernelTunables)
    case .privateDevices: return flag(h.privateDevices)
    case .privateNetwork: return flag(h.privateNetwork)
    case .privateUsers: return flag(h.privateUsers)
    case .privateIPC: return flag(h.privateIPC)
    case .privatePIDs: return flag(h.privatePIDs)
    case .noNewPrivileges: return flag(h.noNewPrivileges)
    case .dynamicUser: return flag(h.dynamicUser)
    case .lockPersonality: return flag(h.lockPersonality)
    case .memoryDenyWriteExecute: return flag(h.memoryDenyWriteExecute)
    case .removeIPC: return flag(h.removeIPC)
    case .restrictRealtime: return flag(h.restrictRealtime)
    case .restrictSUIDSGID: return flag(h.restrictSUIDSGID)
    case .protectSystem: return choice(h.protectSystem, default: .no)
    case .protectHome: return choice(h.protectHome, default: .no)
    case .protectProc: return choice(h.protectProc, default: .default)
    case .procSubset: return choice(h.procSubset, default: .all)
    case .keyringMode: return choice(h.keyringMode, default: .private)
    case .devicePolicy: return choice(h.devicePolicy, default: .auto)
    case .systemCallArchitectures:
      let value = h.systemCallArchitectures?.value ?? []
      return Evaluation(
        satisfied: !value.isEmpty && value.allSatisfy(accepted.contains),
        value: value.isEmpty ? "(unset)" : value.joined(separator: " "),
        source: from(h.systemCallArchitectures))
    case .user:
      if h.dynamicUser?.value == true {
        return Evaluation(satisfied: true, value: "DynamicUser=yes", source: from(h.dynamicUser))
      }
      let user = h.user?.value ?? ""
      let root = user.isEmpty || user == "root" || user == "0"
      return Evaluation(satisfied: !root, value: user.isEmpty ? "(root)" : user, source: from(h.user))
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
    case .restrictAddressFamilies:
      let list = h.restrictAddressFamilies?.value
      return Evaluation(
        satisfied: list != nil, value: list.map(describe) ?? "(unset)",
        source: from(h.restrictAddressFamilies))
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
    case .ipAddressDeny:
      let value = h.ipAddressDeny?.value ?? []
      return Evaluation(
        satisfied: !value.isEmpty, value: value.isEmpty ? "(unset)" : value.joined(separator: " "),
        source: from(h.ipAddressDeny))
    case .umask:
      let value = h.umask?.value ?? "0022"
      return Evaluation(satisfied: value.hasSuffix("7"), value: value, source: from(h.umask))
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
