import UnitModel

/// The hosts an inventory names, ready to scan, with every group name it defines.
public struct ResolvedInventory: Sendable, Hashable {
  public var hosts: [FleetHost]
  /// Every group defined, even empty ones (not `all` or `ungrouped`).
  public var groups: [String]
  public var warnings: [InventoryWarning]
  /// The hosts of each group in Ansible's order (its own, then its children's, breadth
  /// first), which subscripts like `web[0]` index. Groups not listed here use inventory order.
  public var groupHosts: [String: [String]]

  public init(
    hosts: [FleetHost], groups: [String], warnings: [InventoryWarning], groupHosts: [String: [String]] = [:]
  ) {
    self.hosts = hosts
    self.groups = groups
    self.warnings = warnings
    self.groupHosts = groupHosts
  }

  /// Several inventories together. A host name defined in two of them is an error: which
  /// definition would win is a guess unitaudit does not make.
  public static func merging(_ parts: [(source: String, inventory: ResolvedInventory)]) throws(InventoryError)
    -> ResolvedInventory
  {
    var result = ResolvedInventory(hosts: [], groups: [], warnings: [])
    var owner: [String: String] = [:]
    for (source, inventory) in parts {
      for host in inventory.hosts {
        if let first = owner[host.name] {
          throw InventoryError(
            file: source, "host '\(host.name)' is also defined in \(first); keep one definition")
        }
        owner[host.name] = source
        result.hosts.append(host)
      }
      result.groups = Array(Set(result.groups + inventory.groups)).sorted()
      result.warnings += inventory.warnings
      for (group, members) in inventory.groupHosts {
        result.groupHosts[group, default: []] += members
      }
    }
    return result
  }
}

extension InventoryGraph {
  /// Variables whose values never leave the inventory: they are dropped from `FleetHost.vars`
  /// (and so from scan files and reports).
  static func isSecret(_ name: String) -> Bool {
    let lower = name.lowercased()
    return ["pass", "secret", "token", "vault", "credential", "private_key"].contains { lower.contains($0) }
  }

  /// The hosts in Ansible's order for `all` (each group's own hosts, then its children's,
  /// breadth first), with the connection settings Ansible would use: `ansible_host`,
  /// `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file` (and their older
  /// `ansible_ssh_*` spellings), and the jump hosts that `ansible_ssh_common_args` or
  /// `ansible_ssh_extra_args` give (`-J …`, `-o ProxyJump=…`).
  public func resolve(warnings: [InventoryWarning] = []) throws(InventoryError) -> ResolvedInventory {
    var result: [FleetHost] = []
    let depths = depths()
    for name in orderedHosts(of: "all") {
      let vars = variables(of: name, depths: depths)
      let line = hosts[name]?.line
      func setting(_ keys: String...) throws(InventoryError) -> String? {
        for key in keys {
          guard let value = vars[key] else { continue }
          guard let text = value.text else {
            if value == .null { continue }
            throw InventoryError(file: source, line: line, "host '\(name)': \(key) must be a single value")
          }
          if text.contains("{{") || text.contains("{%") {
            throw InventoryError(
              file: source, line: line,
              "host '\(name)': \(key) is a Jinja template (\(text)); unitaudit does not evaluate templates: "
                + "export the inventory with `ansible-inventory --list` and scan that, or set the value directly"
            )
          }
          return text
        }
        return nil
      }
      var port: Int?
      if let text = try setting("ansible_port", "ansible_ssh_port") {
        guard let value = Int(text), (1...65535).contains(value) else {
          throw InventoryError(
            file: source, line: line, "host '\(name)': port '\(text)' is not a number from 1 to 65535")
        }
        port = value
      }
      let groups = self.groups(of: name).subtracting(["all", "ungrouped"]).sorted()
      var shown: [String: String] = [:]
      for (key, value) in vars where !Self.isSecret(key) && !key.hasPrefix("inventory_") {
        shown[key] = value.display
      }
      result.append(
        FleetHost(
          name: name, address: try setting("ansible_host", "ansible_ssh_host"), port: port,
          user: try setting("ansible_user", "ansible_ssh_user"),
          identityFile: try setting("ansible_ssh_private_key_file", "ansible_private_key_file"),
          jump: try [setting("ansible_ssh_common_args"), setting("ansible_ssh_extra_args")].compactMap { $0 }
            .compactMap(SSHArguments.proxyJump).first,
          groups: groups,
          vars: shown, source: line.map { Provenance(file: source, line: $0, origin: .unknown) }))
    }
    let groupNames = groupOrder.filter { $0 != "all" && $0 != "ungrouped" }.sorted()
    var groupHosts: [String: [String]] = [:]
    for group in groupNames { groupHosts[group] = orderedHosts(of: group) }
    return ResolvedInventory(hosts: result, groups: groupNames, warnings: warnings, groupHosts: groupHosts)
  }

  /// A group's hosts: its own first, then its children's, breadth first, each host once.
  public func orderedHosts(of group: String) -> [String] {
    var result: [String] = []
    var seenHosts: Set<String> = []
    var seenGroups: Set<String> = [group]
    var level = [group]
    while !level.isEmpty {
      var next: [String] = []
      for name in level {
        for host in groups[name]?.hosts ?? [] where seenHosts.insert(host).inserted { result.append(host) }
        for child in groups[name]?.children ?? [] where seenGroups.insert(child).inserted {
          next.append(child)
        }
      }
      level = next
    }
    return result
  }
}
