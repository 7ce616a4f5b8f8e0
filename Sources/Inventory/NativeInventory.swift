import UnitModel
import Yams

/// unitaudit's own YAML inventory:
///
/// ```yaml
/// defaults:            # every host (optional)
///   user: audit
///   identity: ~/.ssh/audit_ed25519
///   jump: audit@bastion.example.org   # ProxyJump: [user@]host[:port], comma-separated
/// groups:              # per-group settings and variables (optional)
///   web: { user: deploy, vars: { tier: frontend } }
/// hosts:
///   - name: web1
///     address: 10.0.0.11
///     port: 2222
///     groups: [web, prod]
///     vars: { owner: team-a }
///   - db1.example.com  # a bare entry: [user@]host[:port]
/// ```
///
/// A host's own settings win over its groups' (later groups win over earlier ones), which win
/// over `defaults`. Host names may use ranges (`web[01:20]`).
public enum NativeInventory {
  struct Settings {
    var address: String?
    var port: Int?
    var user: String?
    var identity: String?
    var jump: String?
    var vars: [String: VarValue] = [:]

    mutating func apply(_ other: Settings) {
      address = other.address ?? address
      port = other.port ?? port
      user = other.user ?? user
      identity = other.identity ?? identity
      jump = other.jump ?? jump
      vars.merge(other.vars) { $1 }
    }
  }

  public static func parse(_ root: Node?, source: String) throws(InventoryError) -> ResolvedInventory {
    guard let top = root?.mapping else { throw InventoryError(file: source, "the inventory is empty") }
    var warnings: [InventoryWarning] = []
    for (key, _) in top where !["defaults", "groups", "hosts"].contains(key.string ?? "") {
      warnings.append(
        InventoryWarning(
          file: source, line: key.mark?.line,
          "unknown key '\(key.string ?? "")' ignored (expected defaults, groups, hosts)"))
    }
    let defaults = try settings(top["defaults"], source: source, context: "defaults", allowed: settingKeys)
    var groupSettings: [String: Settings] = [:]
    var groupNames: [String] = []
    if let groups = top["groups"], !YAMLInventory.isNull(groups) {
      guard let mapping = groups.mapping else {
        throw InventoryError(
          file: source, line: groups.mark?.line, "'groups' must be a mapping of group names")
      }
      for (key, node) in mapping {
        let name = try text(key, source: source, what: "a group name")
        groupSettings[name] = try settings(
          node, source: source, context: "group '\(name)'", allowed: settingKeys)
        groupNames.append(name)
      }
    }
    guard let list = top["hosts"]?.sequence else {
      throw InventoryError(file: source, line: top["hosts"]?.mark?.line, "'hosts' must be a list")
    }
    var hosts: [FleetHost] = []
    var seen: [String: Int] = [:]
    for node in list {
      let line = node.mark?.line
      var own = Settings()
      var names: [String] = []
      var groups: [String] = []
      if let scalar = node.scalar {
        let entry: PlainEntry
        do { entry = try PlainList.parseEntry(scalar.string) } catch {
          throw InventoryError(file: source, line: line, error.description)
        }
        names = [entry.host]
        own = Settings(address: nil, port: entry.port, user: entry.user)
      } else if let mapping = node.mapping {
        own = try settings(node, source: source, context: "host", allowed: settingKeys + ["name", "groups"])
        guard let nameNode = mapping["name"] else {
          throw InventoryError(file: source, line: line, "a host needs a 'name'")
        }
        let pattern = try text(nameNode, source: source, what: "a host name")
        do { names = try HostPattern.expand(pattern) } catch {
          throw InventoryError(file: source, line: nameNode.mark?.line, error.description)
        }
        if let groupList = mapping["groups"] {
          if let one = groupList.scalar {
            groups = [one.string]
          } else if let many = groupList.sequence {
            groups = try many.map { node throws(InventoryError) in
              try text(node, source: source, what: "a group name")
            }
          } else {
            throw InventoryError(file: source, line: groupList.mark?.line, "'groups' must be a list of names")
          }
        }
        if names.count > 1, own.address != nil {
          throw InventoryError(
            file: source, line: line,
            "'\(pattern)' names \(names.count) hosts, so it cannot have one 'address'")
        }
      } else {
        throw InventoryError(
          file: source, line: line, "a host is a mapping with a name, or a [user@]host[:port] entry")
      }
      for group in groups where groupSettings[group] == nil && !groupNames.contains(group) {
        groupNames.append(group)
      }
      for name in names {
        if let first = seen[name] {
          throw InventoryError(
            file: source, line: line,
            "host '\(name)' is listed twice (first on line \(first)); merge the entries")
        }
        seen[name] = line ?? 0
        var merged = defaults
        for group in groups { merged.apply(groupSettings[group] ?? Settings()) }
        merged.apply(own)
        hosts.append(
          FleetHost(
            name: name, address: merged.address, port: merged.port, user: merged.user,
            identityFile: merged.identity, jump: merged.jump, groups: Array(Set(groups)).sorted(),
            vars: merged.vars.filter { !InventoryGraph.isSecret($0.key) }.mapValues(\.display),
            source: line.map { Provenance(file: source, line: $0, origin: .unknown) }))
      }
    }
    return ResolvedInventory(hosts: hosts, groups: groupNames.sorted(), warnings: warnings)
  }

  static let settingKeys = ["address", "port", "user", "identity", "jump", "vars"]

  static func text(_ node: Node, source: String, what: String) throws(InventoryError) -> String {
    guard let scalar = node.scalar, !YAMLInventory.isNull(node), !scalar.string.isEmpty else {
      throw InventoryError(file: source, line: node.mark?.line, "expected \(what)")
    }
    return scalar.string
  }

  static func settings(_ node: Node?, source: String, context: String, allowed: [String])
    throws(InventoryError)
    -> Settings
  {
    guard let node, !YAMLInventory.isNull(node) else { return Settings() }
    guard let mapping = node.mapping else {
      throw InventoryError(file: source, line: node.mark?.line, "\(context) must be a mapping")
    }
    var result = Settings()
    for (key, value) in mapping {
      let name = key.string ?? ""
      guard allowed.contains(name) else {
        throw InventoryError(
          file: source, line: key.mark?.line,
          "unknown key '\(name)' in \(context) (expected \(allowed.joined(separator: ", ")))")
      }
      switch name {
      case "address": result.address = try text(value, source: source, what: "an address")
      case "user": result.user = try text(value, source: source, what: "a user name")
      case "identity": result.identity = try text(value, source: source, what: "a key file")
      case "jump":
        result.jump = try text(
          value, source: source, what: "jump hosts ([user@]host[:port], comma-separated)")
      case "port":
        let raw = try text(value, source: source, what: "a port")
        guard let port = Int(raw), (1...65535).contains(port) else {
          throw InventoryError(
            file: source, line: value.mark?.line, "port '\(raw)' is not a number from 1 to 65535")
        }
        result.port = port
      case "vars":
        guard let vars = value.mapping else {
          throw InventoryError(file: source, line: value.mark?.line, "'vars' must be a mapping")
        }
        for (k, v) in vars { result.vars[k.string ?? ""] = YAMLInventory.value(v) }
      default: break
      }
    }
    return result
  }
}
