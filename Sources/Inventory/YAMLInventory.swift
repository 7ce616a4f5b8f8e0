import BoundedYAML
import Yams

/// Reads YAML inventories: Ansible's YAML format (groups with `hosts`, `vars`, `children`)
/// and unitaudit's own (a `hosts:` list). Pure: text in, graph or hosts out.
public enum YAMLInventory {
  /// Parses YAML text into a node, turning YAML errors into file:line messages.
  public static func compose(_ text: String, source: String) throws(InventoryError) -> Node? {
    do {
      return try BoundedYAML.compose(text)
    } catch let error as BoundedYAML.TooManyNodes {
      throw InventoryError(file: source, "invalid inventory: \(error)")
    } catch let error as YamlError {
      switch error {
      case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
        .composer(_, let problem, let mark, _):
        throw InventoryError(file: source, line: mark.line, "invalid YAML: \(problem)")
      case .duplicatedKeysInMapping(let duplicates, let context):
        throw InventoryError(
          file: source, line: context.mark.line,
          "duplicate key \(duplicates.first.map { "'\($0)'" } ?? "") in one mapping: merge the two entries")
      default:
        throw InventoryError(file: source, "invalid YAML: \(error)")
      }
    } catch {
      throw InventoryError(file: source, "invalid YAML: \(error)")
    }
  }

  /// True for unitaudit's own format: a top-level mapping whose `hosts` is a list.
  public static func isNative(_ root: Node?) -> Bool {
    guard let mapping = root?.mapping, let hosts = mapping["hosts"] else { return false }
    return hosts.sequence != nil
  }

  /// A node as an inventory variable.
  static func value(_ node: Node) -> VarValue {
    switch node {
    case .scalar(let scalar):
      return node.null != nil && scalar.style == .plain ? .null : .scalar(scalar.string)
    case .mapping(let mapping):
      var entries: [String: VarValue] = [:]
      for (key, item) in mapping { entries[key.string ?? "\(key)"] = value(item) }
      return .map(entries)
    case .sequence(let sequence):
      return .list(sequence.map(value))
    case .alias:
      return .null
    }
  }

  static func isNull(_ node: Node?) -> Bool {
    guard let node else { return true }
    if case .scalar(let scalar) = node { return node.null != nil && scalar.style == .plain }
    return false
  }

  // MARK: Ansible YAML

  /// Ansible's YAML inventory: top-level keys are groups; each group may have `hosts` (a
  /// mapping of host entries to their variables), `vars` and `children` (more groups).
  public static func parseAnsible(_ root: Node?, source: String) throws(InventoryError) -> (
    InventoryGraph, [InventoryWarning]
  ) {
    var graph = InventoryGraph(source: source)
    var warnings: [InventoryWarning] = []
    guard let root, !isNull(root) else { throw InventoryError(file: source, "the YAML inventory is empty") }
    guard let top = root.mapping else {
      throw InventoryError(
        file: source, line: root.mark?.line, "a YAML inventory must be a mapping of groups")
    }
    if top["plugin"] != nil {
      throw InventoryError(
        file: source, line: top["plugin"]?.mark?.line,
        "this is an inventory plugin configuration, which unitaudit cannot run; export the hosts with "
          + "`ansible-inventory -i FILE --list -y > hosts.yml` and scan that")
    }

    func parseGroup(_ name: String, _ node: Node?) throws(InventoryError) {
      guard isNull(node) || node?.mapping != nil else {
        warnings.append(
          InventoryWarning(
            file: source, line: node?.mark?.line, "'\(name)' is not a group definition; skipped"))
        return
      }
      graph.addGroup(name)
      guard let mapping = node?.mapping else { return }
      for (keyNode, section) in mapping {
        let key = keyNode.string ?? ""
        let line = keyNode.mark?.line
        // A bare string stands for a one-entry mapping.
        var entries: [(String, Node?, Int?)] = []
        if let scalar = section.scalar, !isNull(section) {
          entries = [(scalar.string, nil, section.mark?.line)]
        } else if let inner = section.mapping {
          for (k, v) in inner {
            guard k.scalar != nil else {
              throw InventoryError(
                file: source, line: k.mark?.line, "a key in '\(key)' of group '\(name)' must be text")
            }
            entries.append((k.string ?? "", v, k.mark?.line))
          }
        } else if !isNull(section) {
          if ["hosts", "vars", "children"].contains(key) {
            throw InventoryError(
              file: source, line: line, "'\(key)' of group '\(name)' must be a mapping, not a list")
          }
          warnings.append(
            InventoryWarning(file: source, line: line, "'\(key)' in group '\(name)' skipped: not a mapping"))
          continue
        }
        switch key {
        case "vars":
          for (variable, item, _) in entries { graph.setGroupVar(name, variable, item.map(value) ?? .null) }
        case "children":
          for (child, item, childLine) in entries {
            try parseGroup(child, item)
            do { try graph.addChild(child, to: name) } catch {
              throw InventoryError(file: source, line: childLine, error.description)
            }
          }
        case "hosts":
          for (entry, item, hostLine) in entries {
            if let item, !isNull(item), item.mapping == nil {
              throw InventoryError(
                file: source, line: hostLine, "the variables of host '\(entry)' must be a mapping")
            }
            if entry.hasSuffix(":") {
              throw InventoryError(
                file: source, line: hostLine, "host '\(entry)' ends in ':', which is reserved for a port")
            }
            let (pattern, port) = HostPattern.splitPort(entry)
            let names: [String]
            do { names = try HostPattern.expand(pattern) } catch {
              throw InventoryError(file: source, line: hostLine, error.description)
            }
            if names.contains(where: \.isEmpty) {
              throw InventoryError(
                file: source, line: hostLine,
                "a host of group '\(name)' has an empty name, which cannot be connected to")
            }
            for host in names {
              graph.addHost(host, to: name, port: port, line: hostLine)
              for (variable, varNode) in item?.mapping ?? [:] {
                graph.setHostVar(host, variable.string ?? "", value(varNode))
              }
            }
          }
        default:
          warnings.append(
            InventoryWarning(
              file: source, line: line,
              "unexpected key '\(key)' in group '\(name)' skipped: only hosts, vars and children are read"))
        }
      }
    }

    for (keyNode, node) in top {
      guard let name = keyNode.string, keyNode.scalar != nil else {
        throw InventoryError(file: source, line: keyNode.mark?.line, "a group name must be text")
      }
      try parseGroup(name, node)
    }
    graph.reconcile()
    return (graph, warnings)
  }

  /// A YAML file of variables (`group_vars/web.yml`): a mapping, or empty.
  public static func parseVars(_ text: String, source: String) throws(InventoryError) -> [String: VarValue] {
    let root = try compose(text, source: source)
    guard let root, !isNull(root) else { return [:] }
    guard let mapping = root.mapping else {
      throw InventoryError(file: source, line: root.mark?.line, "a variables file must be a mapping")
    }
    var vars: [String: VarValue] = [:]
    for (key, item) in mapping { vars[key.string ?? ""] = value(item) }
    return vars
  }
}
