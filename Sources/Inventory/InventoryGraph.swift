/// An inventory as Ansible models it: groups with hosts, child groups and variables, and hosts
/// with variables. Built by the INI and YAML readers; resolved into `FleetHost`s.
public struct InventoryGraph: Sendable, Hashable {
  public struct Group: Sendable, Hashable {
    public var name: String
    /// Hosts added directly, in the order first seen.
    public var hosts: [String] = []
    /// Child groups in the order added.
    public var children: [String] = []
    public var parents: [String] = []
    public var vars: [String: VarValue] = [:]
    /// Variables from `group_vars/` files next to the inventory (they win over the file's).
    public var fileVars: [String: VarValue] = [:]
  }

  public struct Host: Sendable, Hashable {
    public var name: String
    public var vars: [String: VarValue] = [:]
    public var fileVars: [String: VarValue] = [:]
    /// Where the host was first defined.
    public var line: Int?
  }

  /// Where the inventory came from, for messages.
  public var source: String
  public private(set) var groups: [String: Group]
  /// Group names in the order they were created (`all` and `ungrouped` first).
  public private(set) var groupOrder: [String]
  public private(set) var hosts: [String: Host] = [:]
  public private(set) var hostOrder: [String] = []
  /// The groups each host was put in directly: membership checks stay O(1) when one line
  /// like `node[0:9999]` puts thousands of hosts in a group.
  private var directGroupsOf: [String: Set<String>] = [:]

  public init(source: String) {
    self.source = source
    groups = ["all": Group(name: "all"), "ungrouped": Group(name: "ungrouped")]
    groupOrder = ["all", "ungrouped"]
  }

  public mutating func addGroup(_ name: String) {
    guard groups[name] == nil else { return }
    groups[name] = Group(name: name)
    groupOrder.append(name)
  }

  /// Adds a host (once) and puts it in `group`; a port given with the host entry becomes
  /// its `ansible_port`.
  public mutating func addHost(_ name: String, to group: String?, port: Int? = nil, line: Int? = nil) {
    // As in Ansible, a port in the entry counts only where the host is first defined.
    if hosts[name] == nil {
      hosts[name] = Host(name: name, line: line)
      hostOrder.append(name)
      if let port { hosts[name]?.vars["ansible_port"] = .scalar(String(port)) }
    }
    if let group {
      addGroup(group)
      if directGroupsOf[name, default: []].insert(group).inserted { groups[group]?.hosts.append(name) }
    }
  }

  public mutating func setHostVar(_ host: String, _ key: String, _ value: VarValue) {
    hosts[host]?.vars[key] = value
  }

  public mutating func setHostFileVars(_ host: String, _ vars: [String: VarValue]) {
    hosts[host]?.fileVars.merge(vars) { $1 }
  }

  public mutating func setGroupVar(_ group: String, _ key: String, _ value: VarValue) {
    addGroup(group)
    groups[group]?.vars[key] = value
  }

  public mutating func setGroupFileVars(_ group: String, _ vars: [String: VarValue]) {
    groups[group]?.fileVars.merge(vars) { $1 }
  }

  /// Makes `child` a child group of `parent`. Throws on a cycle.
  public mutating func addChild(_ child: String, to parent: String) throws(HostPatternError) {
    guard child != parent else { throw .invalid("group '\(child)' cannot be a child of itself") }
    addGroup(parent)
    addGroup(child)
    if ancestors(of: parent).contains(child) {
      throw .invalid("making '\(child)' a child of '\(parent)' creates a loop of groups")
    }
    if groups[parent]?.children.contains(child) == false { groups[parent]?.children.append(child) }
    if groups[child]?.parents.contains(parent) == false { groups[child]?.parents.append(parent) }
  }

  /// Every group above `group`.
  public func ancestors(of group: String) -> Set<String> {
    var seen: Set<String> = []
    var queue = groups[group]?.parents ?? []
    while let next = queue.popLast() {
      if seen.insert(next).inserted { queue += groups[next]?.parents ?? [] }
    }
    return seen
  }

  /// What Ansible does after reading: groups without a parent go under `all`, and hosts in
  /// no group go in `ungrouped`.
  public mutating func reconcile() {
    for name in groupOrder where name != "all" && (groups[name]?.parents.isEmpty ?? false) {
      groups["all"]?.children.append(name)
      groups[name]?.parents.append("all")
    }
    var leaving: Set<String> = []
    for host in hostOrder {
      let mine = directGroupsOf[host, default: []].subtracting(["all"])
      if mine.isEmpty {
        addHost(host, to: "ungrouped")
      } else if mine.count > 1, mine.contains("ungrouped") {
        leaving.insert(host)
        directGroupsOf[host]?.remove("ungrouped")
      }
    }
    if !leaving.isEmpty { groups["ungrouped"]?.hosts.removeAll { leaving.contains($0) } }
  }

  /// Every group a host is in, directly or through child groups.
  public func groups(of host: String) -> Set<String> {
    var result: Set<String> = []
    for name in directGroupsOf[host] ?? [] {
      result.insert(name)
      result.formUnion(ancestors(of: name))
    }
    return result
  }

  /// Each group's distance from `all` (the longest path), as Ansible orders variable merging.
  public func depths() -> [String: Int] {
    var memo: [String: Int] = ["all": 0]
    func depth(_ name: String, _ visiting: inout Set<String>) -> Int {
      if let known = memo[name] { return known }
      let parents = groups[name]?.parents ?? []
      guard !parents.isEmpty, visiting.insert(name).inserted else { return 0 }
      let value = (parents.map { depth($0, &visiting) }.max() ?? -1) + 1
      visiting.remove(name)
      memo[name] = value
      return value
    }
    for name in groupOrder {
      var visiting: Set<String> = []
      _ = depth(name, &visiting)
    }
    return memo
  }

  /// A host's variables as Ansible merges them: group variables from the shallowest group to
  /// the deepest (ties by `ansible_group_priority`, then name), then `group_vars/` files in
  /// the same order, then the host's own, then `host_vars/` files. Pass `depths()` when
  /// asking for many hosts.
  public func variables(of host: String, depths: [String: Int]? = nil) -> [String: VarValue] {
    let depth = depths ?? self.depths()
    let ordered = groups(of: host).union(["all"]).sorted { a, b in
      let (da, db) = (depth[a, default: 0], depth[b, default: 0])
      if da != db { return da < db }
      let (pa, pb) = (priority(of: a), priority(of: b))
      if pa != pb { return pa < pb }
      return a < b
    }
    var result: [String: VarValue] = [:]
    for group in ordered { result.merge(groups[group]?.vars ?? [:]) { $1 } }
    for group in ordered { result.merge(groups[group]?.fileVars ?? [:]) { $1 } }
    result.merge(hosts[host]?.vars ?? [:]) { $1 }
    result.merge(hosts[host]?.fileVars ?? [:]) { $1 }
    return result
  }

  private func priority(of group: String) -> Int {
    let value =
      groups[group]?.vars["ansible_group_priority"] ?? groups[group]?.fileVars["ansible_group_priority"]
    return value?.text.flatMap { Int($0) } ?? 1
  }
}

/// An inventory variable: a scalar as text, or a list or mapping kept for display.
public enum VarValue: Sendable, Hashable, Codable {
  case scalar(String)
  case null
  case list([VarValue])
  case map([String: VarValue])

  /// The text of a scalar; nil for null, lists and maps.
  public var text: String? {
    if case .scalar(let text) = self { return text }
    return nil
  }

  /// A compact rendering for tables and `FleetHost.vars`.
  public var display: String {
    switch self {
    case .scalar(let text): text
    case .null: ""
    case .list(let items): "[" + items.map(\.display).joined(separator: ", ") + "]"
    case .map(let entries):
      "{"
        + entries.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.display)" }.joined(separator: ", ")
        + "}"
    }
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let text = try? container.decode(String.self) {
      self = .scalar(text)
    } else if let list = try? container.decode([VarValue].self) {
      self = .list(list)
    } else {
      self = .map(try container.decode([String: VarValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .scalar(let text): try container.encode(text)
    case .null: try container.encodeNil()
    case .list(let items): try container.encode(items)
    case .map(let entries): try container.encode(entries)
    }
  }
}
