import Foundation

/// What happened to a host during a scan. Every problem is a value with a reason: a host is
/// never silently skipped.
public enum HostStatusCode: String, Codable, Sendable, CaseIterable {
  case ok
  /// Some probe commands failed or some output could not be read; the rest is kept.
  case partial
  case unreachable
  case timeout
  case hostKeyUnknown = "host-key-unknown"
  case hostKeyChanged = "host-key-changed"
  /// The host key, or the certificate's key or CA, is `@revoked` in the known hosts.
  case hostKeyRevoked = "host-key-revoked"
  /// A host certificate refused (expired, for another name, not a host certificate, …).
  case hostCertInvalid = "host-cert-invalid"
  case authFailed = "auth-failed"
  /// PID 1 is not systemd (a container, a non-systemd distribution).
  case noSystemd = "no-systemd"
  case probeFailed = "probe-failed"
  /// The host sent more than the output cap.
  case truncated

  /// True when the host's services are in the scan (completely or in part).
  public var hasData: Bool { self == .ok || self == .partial || self == .truncated }
}

public struct HostStatus: Codable, Sendable, Hashable, CustomStringConvertible {
  public var code: HostStatusCode
  /// What a user reads: why the host is in this state and what to do about it.
  public var reason: String?

  public init(_ code: HostStatusCode, reason: String? = nil) {
    self.code = code
    self.reason = reason
  }

  public var description: String { reason.map { "\(code.rawValue): \($0)" } ?? code.rawValue }
}

/// Who the host says it is.
public struct HostIdentity: Codable, Sendable, Hashable {
  public var hostname: String?
  /// os-release `ID` (`debian`, `fedora`).
  public var osID: String?
  /// os-release `VERSION_ID` (`12`, `40`).
  public var osVersionID: String?
  public var osPrettyName: String?
  public var kernel: String?
  /// The systemd major version (`252`).
  public var systemdVersion: Int?
  /// The full version string (`252.39-1~deb12u2`).
  public var systemdVersionString: String?
  /// Compile-time features (`+PAM`, `-GNUTLS`, …) as printed by `systemctl --version`.
  public var systemdFeatures: [String]
  public var securityAnalysis: SecurityAnalysisSupport

  public init(
    hostname: String? = nil, osID: String? = nil, osVersionID: String? = nil,
    osPrettyName: String? = nil, kernel: String? = nil, systemdVersion: Int? = nil,
    systemdVersionString: String? = nil, systemdFeatures: [String] = [],
    securityAnalysis: SecurityAnalysisSupport = .none
  ) {
    self.hostname = hostname
    self.osID = osID
    self.osVersionID = osVersionID
    self.osPrettyName = osPrettyName
    self.kernel = kernel
    self.systemdVersion = systemdVersion
    self.systemdVersionString = systemdVersionString
    self.systemdFeatures = systemdFeatures
    self.securityAnalysis = securityAnalysis
  }
}

/// What an offline scan read instead of a running host: an OS tree or a package.
public struct OfflineSource: Codable, Sendable, Hashable {
  public enum Kind: String, Codable, Sendable, CaseIterable {
    /// An OS tree: debootstrap or mkosi output, an unpacked image, a mounted disk.
    case tree
    /// A `.deb` or `.rpm` file, unpacked into a private tree.
    case package
  }

  public var kind: Kind
  /// The tree's directory or the package's file, as given.
  public var path: String
  /// A package's name and version (from the package itself).
  public var package: String?
  public var version: String?
  /// The `systemd-analyze` that graded the units (this machine's: `systemd 252 (252.39-1~deb12u2)`),
  /// nil when this machine has none.
  public var analyzer: String?

  public init(
    kind: Kind, path: String, package: String? = nil, version: String? = nil, analyzer: String? = nil
  ) {
    self.kind = kind
    self.path = path
    self.package = package
    self.version = version
    self.analyzer = analyzer
  }
}

/// Who and where a host is and how its probe went: a host of a scan without its services and
/// diagnostics. It is the host's record in the scan database as it is (its services are stored
/// as rows of their own), and its fields are read on `HostReport` as the host's own.
public struct HostRecord: Codable, Sendable, Hashable {
  /// The inventory name.
  public var name: String
  public var address: String?
  public var port: Int?
  public var groups: [String]
  public var status: HostStatus
  public var identity: HostIdentity?
  public var startedAt: Date?
  /// Wall time of the probe, connection included, in milliseconds.
  public var durationMs: Int?
  /// Set when the "host" is an OS tree or a package read offline; nil for a running host.
  public var offline: OfflineSource?

  public init(
    name: String, address: String? = nil, port: Int? = nil, groups: [String] = [],
    status: HostStatus, identity: HostIdentity? = nil, startedAt: Date? = nil, durationMs: Int? = nil,
    offline: OfflineSource? = nil
  ) {
    self.name = name
    self.address = address
    self.port = port
    self.groups = groups
    self.status = status
    self.identity = identity
    self.startedAt = startedAt
    self.durationMs = durationMs
    self.offline = offline
  }

  /// What the host is, as the host column says it: `host`, `tree` or `package`.
  public var kind: String { offline?.kind.rawValue ?? "host" }
}

/// One host of a scan, normalized: its record and what the probe found on it. Its JSON is one
/// object, the record's fields beside `services` and `diagnostics`.
@dynamicMemberLookup
public struct HostReport: Codable, Sendable, Hashable {
  public var record: HostRecord
  public var services: [ServiceRecord]
  public var diagnostics: [Diagnostic]

  public init(record: HostRecord, services: [ServiceRecord] = [], diagnostics: [Diagnostic] = []) {
    self.record = record
    self.services = services
    self.diagnostics = diagnostics
  }

  public init(
    name: String, address: String? = nil, port: Int? = nil, groups: [String] = [],
    status: HostStatus, identity: HostIdentity? = nil, services: [ServiceRecord] = [],
    diagnostics: [Diagnostic] = [], startedAt: Date? = nil, durationMs: Int? = nil
  ) {
    self.init(
      record: HostRecord(
        name: name, address: address, port: port, groups: groups, status: status, identity: identity,
        startedAt: startedAt, durationMs: durationMs),
      services: services, diagnostics: diagnostics)
  }

  public subscript<Value>(dynamicMember field: WritableKeyPath<HostRecord, Value>) -> Value {
    get { record[keyPath: field] }
    set { record[keyPath: field] = newValue }
  }

  public subscript<Value>(dynamicMember field: KeyPath<HostRecord, Value>) -> Value { record[keyPath: field] }

  enum CodingKeys: String, CodingKey {
    case services, diagnostics
  }

  public init(from decoder: any Decoder) throws {
    record = try HostRecord(from: decoder)
    let container = try decoder.container(keyedBy: CodingKeys.self)
    services = try container.decode([ServiceRecord].self, forKey: .services)
    diagnostics = try container.decode([Diagnostic].self, forKey: .diagnostics)
  }

  public func encode(to encoder: any Encoder) throws {
    try record.encode(to: encoder)
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(services, forKey: .services)
    try container.encode(diagnostics, forKey: .diagnostics)
  }

  /// Finds a service by its id or any of its aliases.
  public func service(named name: String) -> ServiceRecord? {
    services.first { $0.id == name } ?? services.first { $0.aliases.contains(name) }
  }
}

/// Finds a host's services by id or alias in constant time; build it once per host when
/// looking up many names.
public struct ServiceLookup: Sendable {
  private let index: [String: Int]
  public let host: HostReport

  public init(_ host: HostReport) {
    // By index, reading only ids and aliases: iterating the records would copy (retain)
    // every field of each.
    let services = host.services
    var index: [String: Int] = [:]
    index.reserveCapacity(services.count)
    for offset in services.indices {
      index[services[offset].id] = offset
    }
    for offset in services.indices {
      for alias in services[offset].aliases where index[alias] == nil { index[alias] = offset }
    }
    self.index = index
    self.host = host
  }

  /// The same answer as `HostReport.service(named:)`.
  public func service(named name: String) -> ServiceRecord? {
    index[name].map { host.services[$0] }
  }

  /// Where in `host.services` the unit that answers to `name` is.
  public func offset(of name: String) -> Int? { index[name] }

  /// The id of the unit that answers to `name` (its id or an alias), without copying it.
  public func unitID(named name: String) -> String? {
    index[name].map { host.services[$0].id }
  }
}
