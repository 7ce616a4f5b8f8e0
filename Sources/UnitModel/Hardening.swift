/// `ProtectSystem=`.
public enum ProtectSystem: String, Codable, Sendable, CaseIterable {
  case no, yes, full, strict
}

/// `ProtectHome=`.
public enum ProtectHome: String, Codable, Sendable, CaseIterable {
  case no, yes
  case readOnly = "read-only"
  case tmpfs
}

/// `ProtectProc=`.
public enum ProtectProc: String, Codable, Sendable, CaseIterable {
  case `default`, noaccess, invisible, ptraceable
}

/// `ProcSubset=`.
public enum ProcSubset: String, Codable, Sendable, CaseIterable {
  case all, pid
}

/// `KeyringMode=`.
public enum KeyringMode: String, Codable, Sendable, CaseIterable {
  case inherit, `private`, shared
}

/// `DevicePolicy=`.
public enum DevicePolicy: String, Codable, Sendable, CaseIterable {
  case auto, closed, strict
}

/// A list that is either an allow list or a deny list (`~` prefix), as in
/// `RestrictAddressFamilies=` and `SystemCallFilter=`.
public struct FilterList: Codable, Sendable, Hashable {
  public enum Mode: String, Codable, Sendable {
    case allow, deny
  }

  public var mode: Mode
  /// Sorted, de-duplicated entries (`AF_INET`, `@system-service`, `ptrace`, …).
  public var entries: [String]

  public init(mode: Mode, entries: [String]) {
    self.mode = mode
    self.entries = Array(Set(entries)).sorted()
  }
}

/// An effective setting with the assignment that produced it.
public struct Setting<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
  public var value: Value
  /// The assignment that decided the value; nil when the value is implied by another setting.
  public var source: Provenance?
  /// The directive that implied this value (`DynamicUser`), when no file assigned it.
  public var impliedBy: String?
  /// The named form a boolean setting is on in, when it is not a plain yes
  /// (`PrivateTmp=disconnected`, `PrivateUsers=identity`: `DirectiveSupport.namedValues`);
  /// systemd reports it in the directive's `…Ex` property.
  public var variant: String?

  public init(_ value: Value, source: Provenance?, impliedBy: String? = nil, variant: String? = nil) {
    self.value = value
    self.source = source
    self.impliedBy = impliedBy
    self.variant = variant
  }
}

/// The effective hardening settings of one service, after the fragment and its drop-ins
/// are applied in order. A nil field means no file assigned it: systemd's default applies.
///
/// JSON keys are systemd's directive names, so the scan reads like a unit file.
///
/// The 34 fields (`Fields`, about 2 KB) live in a copy-on-write box: a service record copied
/// into a report row, a coverage result or a synthetic host copies a pointer, and services
/// with the same settings can share one box. Read and write them as properties
/// (`settings.protectSystem`); key paths such as `\HardeningSettings.privateTmp` work too.
@dynamicMemberLookup
public struct HardeningSettings: Codable, Sendable, Hashable {
  // Inlinable (with the box) so that `settings.privateTmp` compiles to a field load in other
  // modules, not a key-path projection at run time (which made the CSV report 45% slower).
  @usableFromInline
  final class Box: @unchecked Sendable {
    // Mutated only through `HardeningSettings`, and only while uniquely referenced.
    @usableFromInline var fields: Fields
    @usableFromInline init(_ fields: Fields) { self.fields = fields }
  }

  @usableFromInline var box: Box

  public init() { box = Box(Fields()) }

  public init(_ fields: Fields) { box = Box(fields) }

  /// Every field at once.
  public var fields: Fields {
    @inlinable get { box.fields }
    set {
      if isKnownUniquelyReferenced(&box) { box.fields = newValue } else { box = Box(newValue) }
    }
  }

  @inlinable
  public subscript<Value>(dynamicMember path: WritableKeyPath<Fields, Value>) -> Value {
    get { box.fields[keyPath: path] }
    set {
      if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
      box.fields[keyPath: path] = newValue
    }
  }

  /// True when both share one box: equal without comparing fields.
  public func sharesStorage(with other: HardeningSettings) -> Bool { box === other.box }

  public static func == (lhs: HardeningSettings, rhs: HardeningSettings) -> Bool {
    lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
  }

  public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }

  public init(from decoder: any Decoder) throws { box = Box(try Fields(from: decoder)) }

  public func encode(to encoder: any Encoder) throws { try box.fields.encode(to: encoder) }

  /// The directive names this model normalizes, in a stable order.
  public static let directiveNames: [String] = Fields.directiveNames
}

extension HardeningSettings {
  /// The settings themselves, one optional `Setting` per directive.
  public struct Fields: Codable, Sendable, Hashable {
    public var protectSystem: Setting<ProtectSystem>?
    public var protectHome: Setting<ProtectHome>?
    public var protectProc: Setting<ProtectProc>?
    public var procSubset: Setting<ProcSubset>?
    public var privateTmp: Setting<Bool>?
    public var privateDevices: Setting<Bool>?
    public var privateNetwork: Setting<Bool>?
    public var privateUsers: Setting<Bool>?
    public var privateIPC: Setting<Bool>?
    public var privatePIDs: Setting<Bool>?
    public var noNewPrivileges: Setting<Bool>?
    public var user: Setting<String>?
    public var dynamicUser: Setting<Bool>?
    public var capabilityBoundingSet: Setting<[String]>?
    public var ambientCapabilities: Setting<[String]>?
    public var restrictAddressFamilies: Setting<FilterList>?
    public var systemCallFilter: Setting<FilterList>?
    public var systemCallArchitectures: Setting<[String]>?
    /// The namespace types the service may still create (empty: `RestrictNamespaces=yes`).
    public var restrictNamespaces: Setting<[String]>?
    public var protectClock: Setting<Bool>?
    public var protectHostname: Setting<Bool>?
    public var protectControlGroups: Setting<Bool>?
    public var protectKernelTunables: Setting<Bool>?
    public var protectKernelModules: Setting<Bool>?
    public var protectKernelLogs: Setting<Bool>?
    public var lockPersonality: Setting<Bool>?
    public var memoryDenyWriteExecute: Setting<Bool>?
    public var restrictRealtime: Setting<Bool>?
    public var restrictSUIDSGID: Setting<Bool>?
    public var removeIPC: Setting<Bool>?
    public var keyringMode: Setting<KeyringMode>?
    public var devicePolicy: Setting<DevicePolicy>?
    /// Four octal digits, e.g. `0077`.
    public var umask: Setting<String>?
    public var ipAddressDeny: Setting<[String]>?
    public var ipAddressAllow: Setting<[String]>?

    public init() {}

    enum CodingKeys: String, CodingKey {
      case protectSystem = "ProtectSystem"
      case protectHome = "ProtectHome"
      case protectProc = "ProtectProc"
      case procSubset = "ProcSubset"
      case privateTmp = "PrivateTmp"
      case privateDevices = "PrivateDevices"
      case privateNetwork = "PrivateNetwork"
      case privateUsers = "PrivateUsers"
      case privateIPC = "PrivateIPC"
      case privatePIDs = "PrivatePIDs"
      case noNewPrivileges = "NoNewPrivileges"
      case user = "User"
      case dynamicUser = "DynamicUser"
      case capabilityBoundingSet = "CapabilityBoundingSet"
      case ambientCapabilities = "AmbientCapabilities"
      case restrictAddressFamilies = "RestrictAddressFamilies"
      case systemCallFilter = "SystemCallFilter"
      case systemCallArchitectures = "SystemCallArchitectures"
      case restrictNamespaces = "RestrictNamespaces"
      case protectClock = "ProtectClock"
      case protectHostname = "ProtectHostname"
      case protectControlGroups = "ProtectControlGroups"
      case protectKernelTunables = "ProtectKernelTunables"
      case protectKernelModules = "ProtectKernelModules"
      case protectKernelLogs = "ProtectKernelLogs"
      case lockPersonality = "LockPersonality"
      case memoryDenyWriteExecute = "MemoryDenyWriteExecute"
      case restrictRealtime = "RestrictRealtime"
      case restrictSUIDSGID = "RestrictSUIDSGID"
      case removeIPC = "RemoveIPC"
      case keyringMode = "KeyringMode"
      case devicePolicy = "DevicePolicy"
      case umask = "UMask"
      case ipAddressDeny = "IPAddressDeny"
      case ipAddressAllow = "IPAddressAllow"
    }

    /// The directive names this model normalizes, sorted (`DirectiveTable`).
    public static var directiveNames: [String] { DirectiveTable.all.map(\.name) }
  }
}
