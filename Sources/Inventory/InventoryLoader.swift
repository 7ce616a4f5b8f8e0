import Foundation

/// The inventory formats unitaudit reads.
public enum InventoryFormat: String, Sendable, CaseIterable, Codable {
  /// Chosen from the file name and content.
  case auto
  /// unitaudit's YAML (a top-level `hosts:` list).
  case native
  case ansibleINI = "ansible-ini"
  case ansibleYAML = "ansible-yaml"
  /// One `[user@]host[:port]` per line.
  case list
}

/// Reads inventory files from disk (the I/O edge of the `Inventory` target) and hands the text
/// to the pure parsers.
public enum InventoryLoader {
  /// Reads and resolves one inventory file. For Ansible formats, `group_vars/` and
  /// `host_vars/` next to the file are read as `ansible-inventory` reads them.
  public static func load(_ path: String, format: InventoryFormat = .auto) throws(InventoryError)
    -> ResolvedInventory
  {
    let text = try read(path)
    let yaml = [".yml", ".yaml", ".json"].contains { path.lowercased().hasSuffix($0) }
    var chosen = format
    if chosen == .auto {
      if yaml {
        chosen =
          YAMLInventory.isNative(try YAMLInventory.compose(text, source: path)) ? .native : .ansibleYAML
      } else {
        chosen = looksLikePlainList(text) ? .list : .ansibleINI
      }
    }
    switch chosen {
    case .native:
      return try NativeInventory.parse(try YAMLInventory.compose(text, source: path), source: path)
    case .list, .auto:
      return try PlainList.parse(text, source: path)
    case .ansibleINI:
      var graph = try AnsibleINI.parse(text, source: path)
      try addVarsDirectories(to: &graph, next: path)
      return try graph.resolve()
    case .ansibleYAML:
      var (graph, warnings) = try YAMLInventory.parseAnsible(
        try YAMLInventory.compose(text, source: path), source: path)
      try addVarsDirectories(to: &graph, next: path)
      return try graph.resolve(warnings: warnings)
    }
  }

  /// Several inventories and `-H` hosts, merged; then `--limit`.
  public static func load(
    paths: [String], hosts: String? = nil, format: InventoryFormat = .auto, limit: String? = nil
  ) throws(InventoryError) -> ResolvedInventory {
    var parts: [(source: String, inventory: ResolvedInventory)] = []
    for path in paths { parts.append((path, try load(path, format: format))) }
    if let hosts { parts.append(("--hosts", try PlainList.parseCommandLine(hosts))) }
    var inventory = try ResolvedInventory.merging(parts)
    inventory.hosts = inventory.hosts.map(expandingHome)
    if let limit {
      let pattern = try Limit.expandFiles(limit) { (file: String) throws(InventoryError) -> String in
        try read(file)
      }
      inventory.hosts = try Limit.select(pattern, from: inventory)
      if inventory.hosts.isEmpty {
        throw InventoryError(file: "--limit", "'\(limit)' matches no host of the inventory")
      }
    }
    return inventory
  }

  /// No section headers and one word per line: a plain host list. (Ansible would read the
  /// same file as INI hosts; the two differ only for `user@host` entries.)
  static func looksLikePlainList(_ text: String) -> Bool {
    var any = false
    for raw in text.split(separator: "\n") {
      let line = raw.trimming(" \t\r")
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("[") && !line.contains("]:") { return false }
      var body = Substring(line)
      if let hash = body.firstIndex(of: "#") { body = body[..<hash] }
      if body.trimming(" \t").contains(where: { $0 == " " || $0 == "\t" || $0 == "=" }) { return false }
      any = true
    }
    return any
  }

  static func read(_ path: String) throws(InventoryError) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw InventoryError(file: path, "no such file")
    }
    guard !isDirectory.boolValue else {
      throw InventoryError(file: path, "is a directory; name the inventory file inside it")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InventoryError(file: path, "cannot be read (permissions?)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw InventoryError(file: path, "is not UTF-8 text")
    }
    return text
  }

  /// `~/` in a key path means the home directory of the user running unitaudit.
  static func expandingHome(_ host: FleetHost) -> FleetHost {
    guard let key = host.identityFile, key.hasPrefix("~/") else { return host }
    var copy = host
    copy.identityFile = NSHomeDirectory() + key.dropFirst()
    return copy
  }

  /// `group_vars/NAME[.yml|.yaml|.json]` and `group_vars/NAME/*` (and the same for
  /// `host_vars/`) in the inventory's directory.
  static func addVarsDirectories(to graph: inout InventoryGraph, next inventory: String)
    throws(InventoryError)
  {
    let directory = (inventory as NSString).deletingLastPathComponent
    let base = directory.isEmpty ? "." : directory
    for group in graph.groupOrder {
      let vars = try varsFiles(in: base + "/group_vars", named: group)
      if !vars.isEmpty { graph.setGroupFileVars(group, vars) }
    }
    for host in graph.hostOrder {
      let vars = try varsFiles(in: base + "/host_vars", named: host)
      if !vars.isEmpty { graph.setHostFileVars(host, vars) }
    }
  }

  static func varsFiles(in directory: String, named name: String) throws(InventoryError) -> [String: VarValue]
  {
    let manager = FileManager.default
    var files: [String] = []
    for candidate in ["", ".yml", ".yaml", ".json"] {
      let path = "\(directory)/\(name)\(candidate)"
      var isDirectory: ObjCBool = false
      guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
      if isDirectory.boolValue {
        let entries = (try? manager.contentsOfDirectory(atPath: path)) ?? []
        files += entries.filter { !$0.hasPrefix(".") }.sorted().map { "\(path)/\($0)" }
      } else {
        files.append(path)
      }
    }
    var vars: [String: VarValue] = [:]
    for file in files {
      vars.merge(try YAMLInventory.parseVars(try read(file), source: file)) { $1 }
    }
    return vars
  }
}
