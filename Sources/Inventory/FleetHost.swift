import UnitModel

/// One host to scan, as the inventory resolved it.
public struct FleetHost: Codable, Sendable, Hashable {
  /// The inventory name (what reports show).
  public var name: String
  /// What to connect to: an IP address or a DNS name.
  public var address: String
  /// nil: the SSH config's `Port`, else 22.
  public var port: Int?
  public var user: String?
  /// A private key file for this host.
  public var identityFile: String?
  /// Jump hosts to reach it through (a `ProxyJump` value: `[user@]host[:port]`, comma-separated).
  public var jump: String?
  /// Inventory groups, sorted.
  public var groups: [String]
  /// Host variables from the inventory, as text.
  public var vars: [String: String]
  /// The inventory file and line that define the host (its first line, for a host named in
  /// several places); nil for `-H` and `--local` hosts. SARIF points a host's own results here.
  public var source: Provenance?

  public init(
    name: String, address: String? = nil, port: Int? = nil, user: String? = nil,
    identityFile: String? = nil, jump: String? = nil, groups: [String] = [], vars: [String: String] = [:],
    source: Provenance? = nil
  ) {
    self.name = name
    self.address = address ?? name
    self.port = port
    self.user = user
    self.identityFile = identityFile
    self.jump = jump
    self.groups = groups
    self.vars = vars
    self.source = source
  }

  /// The host that stands for "this machine" in a local scan.
  public static func local(hostname: String) -> FleetHost {
    FleetHost(name: hostname, address: "localhost", groups: ["local"])
  }
}
