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

/// One host of a scan, normalized.
public struct HostReport: Codable, Sendable, Hashable {
  /// The inventory name.
  public var name: String
  public var address: String?
  public var port: Int?
  public var groups: [String]
  public var status: HostStatus
  public var identity: HostIdentity?
  public var services: [ServiceRecord]
  public var diagnostics: [Diagnostic]
  public var startedAt: Date?
  /// Wall time of the probe, connection included, in milliseconds.
  public var durationMs: Int?
  /// The evidence directory of this host, relative to the scan directory.
  public var evidence: String?

  public init(
    name: String, address: String? = nil, port: Int? = nil, groups: [String] = [],
    status: HostStatus, identity: HostIdentity? = nil, services: [ServiceRecord] = [],
    diagnostics: [Diagnostic] = [], startedAt: Date? = nil, durationMs: Int? = nil,
    evidence: String? = nil
  ) {
    self.name = name
    self.address = address
    self.port = port
    self.groups = groups
    self.status = status
    self.identity = identity
    self.services = services
    self.diagnostics = diagnostics
    self.startedAt = startedAt
    self.durationMs = durationMs
    self.evidence = evidence
  }

  enum CodingKeys: String, CodingKey {
    case name, address, port, groups, status, identity, services, diagnostics, startedAt, durationMs,
      evidence
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    name = try container.decode(String.self, forKey: .name)
    address = try container.decodeIfPresent(String.self, forKey: .address)
    port = try container.decodeIfPresent(Int.self, forKey: .port)
    groups = try container.decode([String].self, forKey: .groups)
    status = try container.decode(HostStatus.self, forKey: .status)
    identity = try container.decodeIfPresent(HostIdentity.self, forKey: .identity)
    services = try container.decode([ServiceRecord].self, forKey: .services)
    diagnostics = try container.decode([Diagnostic].self, forKey: .diagnostics)
    startedAt = try container.decodeIfPresent(Date.self, forKey: .startedAt)
    durationMs = try container.decodeIfPresent(Int.self, forKey: .durationMs)
    evidence = try container.decodeIfPresent(String.self, forKey: .evidence)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encodeIfPresent(address, forKey: .address)
    try container.encodeIfPresent(port, forKey: .port)
    try container.encode(groups, forKey: .groups)
    try container.encode(status, forKey: .status)
    try container.encodeIfPresent(identity, forKey: .identity)
    try container.encode(services, forKey: .services)
    try container.encode(diagnostics, forKey: .diagnostics)
    try container.encodeIfPresent(startedAt, forKey: .startedAt)
    try container.encodeIfPresent(durationMs, forKey: .durationMs)
    try container.encodeIfPresent(evidence, forKey: .evidence)
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
