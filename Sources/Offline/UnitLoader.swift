import Foundation
import Normalize
import UnitModel

/// One file of a unit as `systemctl cat` shows it: its path in the tree and its bytes.
public struct UnitSource: Sendable, Hashable {
  public var path: String
  public var bytes: [UInt8]
}

/// A service unit of a tree, loaded as systemd's manager would load it, with what
/// `systemctl show` would say of it where a tree can tell (no active state: only a running
/// manager knows that).
public struct OfflineUnit: Sendable, Hashable {
  public var id: String
  /// The id first, then its aliases, sorted.
  public var names: [String]
  /// `loaded`, `masked`, `not-found` or `bad-setting` (a fragment that cannot be read).
  public var loadState: String
  public var fragmentPath: String?
  public var dropInPaths: [String]
  /// The fragment, then the drop-ins in the order systemd applies them.
  public var files: [UnitSource]
  public var unitFileState: String?
  public var description: String?
  public var type: String?
  public var user: String?
  public var dynamicUser: Bool
  /// A device node, FIFO or socket stands where systemd would read one of the unit's files:
  /// reading it (as `systemd-analyze` would) could block.
  public var hasSpecialFile = false
}

/// The services of a tree and what was found wrong on the way.
public struct OfflineUnits: Sendable {
  public var units: [OfflineUnit]
  public var diagnostics: [Diagnostic]
}

/// Finds and loads the service units of a tree as systemd does (src/shared/unit-file.c,
/// dropin.c, install.c): the first file of a name along the search path wins; a link to
/// `/dev/null` masks; a link to a file of another name is an alias; an instance without a
/// file of its own uses its template; drop-ins come from `NAME.d/`, the template's,
/// dash-prefix (`foo-.service.d/`) and type-level (`service.d/`) directories of every
/// search directory, a file name in an earlier directory hiding the same name in later
/// ones, applied in file-name order.
public struct UnitLoader {
  let tree: TreeReader
  let searchPath: UnitSearchPath
  /// The tree's systemd major version, when known: what `systemctl show` says of a masked
  /// unit depends on it.
  let systemd: Int?
  /// When loading stops: the units not loaded by then are left out, and the tree says so.
  let deadline: Date
  private(set) var diagnostics: [Diagnostic] = []
  /// Bytes of unit files read so far (bounded by `tree.limits.maxTotalBytes`).
  private var bytesRead = 0

  public init(
    tree: TreeReader, searchPath: UnitSearchPath, systemd: Int? = nil, deadline: Date = .distantFuture
  ) {
    self.tree = tree
    self.searchPath = searchPath
    self.systemd = systemd
    self.deadline = deadline
  }

  /// A unit file's bytes, within the tree's budget for all of them.
  private mutating func read(_ path: String) throws(TreeReadError) -> [UInt8] {
    guard bytesRead < tree.limits.maxTotalBytes else {
      throw .unreadable("past the \(tree.limits.maxTotalBytes) bytes read from this tree in all: not read")
    }
    let bytes = try tree.read(path)
    bytesRead += bytes.count
    return bytes
  }

  /// What one name found first along the search path is.
  enum Entry: Hashable {
    /// A unit file: its path as the search path spells it, and where it resolves to.
    case file(path: String, resolved: String)
    /// A link to `/dev/null` at `path`, in `directory`.
    case masked(path: String, directory: String)
    /// A link to a unit file of another name.
    case alias(of: String, directory: String)
    /// A link that leads nowhere inside the tree, or to something that is not a unit file.
    case broken(path: String, why: String)
  }

  /// Every service of the tree that systemd would list: unit files that are not templates or
  /// aliases, masked names, and the instances that `.wants/`, `.requires/` and `.upholds/`
  /// links name.
  public mutating func load() -> OfflineUnits {
    var entries: [String: Entry] = [:]
    var enabledBy: [String: [String]] = [:]
    for directory in searchPath.directories {
      guard let resolved = try? tree.resolve(directory), case .directory = tree.kind(resolved.path),
        let listing = list(resolved.path, shown: directory)
      else { continue }
      for name in listing {
        let path = directory + "/" + name
        if Self.isServiceName(name) {
          if entries[name] == nil {
            entries[name] = entry(path, real: resolved.path + "/" + name, name: name, directory: directory)
          }
        } else if name.hasSuffix(".wants") || name.hasSuffix(".requires") || name.hasSuffix(".upholds") {
          for linked in list(resolved.path + "/" + name, shown: path) ?? [] where Self.isServiceName(linked) {
            enabledBy[linked, default: []].append(directory)
          }
        }
      }
    }

    // Aliases by the unit they name; then the units to list.
    var aliases: [String: [String]] = [:]
    var ids: Set<String> = []
    for (name, entry) in entries {
      guard case .alias(let target, _) = entry else { continue }
      if case .masked? = entries[target] {
        if !Self.isTemplate(name) { ids.insert(name) }
      } else {
        aliases[target, default: []].append(name)
      }
    }
    for (name, entry) in entries where !Self.isTemplate(name) {
      switch entry {
      case .file, .masked, .broken: ids.insert(name)
      case .alias: break
      }
    }
    for name in enabledBy.keys where Self.isInstance(name) && entries[name] == nil {
      if let template = Self.template(of: name), entries[template] != nil { ids.insert(name) }
    }
    var units: [OfflineUnit] = []
    let sorted = ids.sorted()
    for id in sorted {
      guard Date() < deadline else {
        diagnostics.append(
          Diagnostic(
            .error, code: "offline.deadline",
            "the deadline passed after \(units.count) of \(sorted.count) units: the rest are left out"))
        break
      }
      // An instance has the aliases of its template, instantiated (autovt@tty1 for getty@tty1).
      var names = aliases[id] ?? []
      if let template = Self.template(of: id), let instance = Self.instance(of: id) {
        names += (aliases[template] ?? []).map {
          $0.replacingOccurrences(of: "@.service", with: "@\(instance).service")
        }
      }
      units.append(unit(id, entries: entries, aliases: names, enabledBy: enabledBy))
    }
    return OfflineUnits(units: units, diagnostics: diagnostics)
  }

  private mutating func list(_ resolved: String, shown: String) -> [String]? {
    guard let listing = tree.list(resolved) else { return nil }
    if listing.truncated {
      diagnostics.append(
        Diagnostic(
          .warning, code: "offline.directory-truncated",
          "\(shown) holds more than \(tree.limits.maxDirectoryEntries) entries; the rest were not read"))
    }
    return listing.names
  }

  /// What the name at `path` (as the search path spells it; `real`, its directory resolved
  /// inside the tree) is.
  private mutating func entry(_ path: String, real: String, name: String, directory: String) -> Entry {
    switch tree.kind(real) {
    case .file: return .file(path: path, resolved: real)
    case .directory: return .broken(path: path, why: "a directory, not a unit file")
    case .special(let what): return .broken(path: path, why: "a \(what), not a unit file")
    case .missing: return .broken(path: path, why: "unreadable")
    case .symlink(let target):
      if target == "/dev/null" { return .masked(path: path, directory: directory) }
      let resolved: TreeReader.Resolved
      do {
        resolved = try tree.resolve(real)
      } catch {
        return .broken(path: path, why: "\(error)")
      }
      if resolved.climbedAboveRoot {
        diagnostics.append(
          Diagnostic(
            .warning, code: "offline.link-above-root",
            "\(path) links to \(target), above the tree's root: resolved inside the tree, as systemd --root does",
            unit: name))
      }
      if resolved.path == "/dev/null" { return .masked(path: path, directory: directory) }
      guard Self.isPrintable(resolved.path) else {
        return .broken(path: path, why: "links to a path with control characters")
      }
      guard case .file = tree.kind(resolved.path) else {
        return .broken(path: path, why: "links to \(target), which is not a file in the tree")
      }
      let targetName = String(resolved.path.split(separator: "/").last ?? "")
      if targetName == name { return .file(path: resolved.path, resolved: resolved.path) }
      guard Self.isServiceName(targetName) else {
        return .broken(path: path, why: "links to \(target), which is not a service unit")
      }
      return .alias(of: targetName, directory: directory)
    }
  }

  private mutating func unit(
    _ id: String, entries: [String: Entry], aliases: [String], enabledBy: [String: [String]]
  ) -> OfflineUnit {
    // An alias of a masked unit is a unit of its own that fails to load (systemd follows the
    // alias to the mask): `error`, the mask as its fragment.
    var aliasOfMasked = false
    var entries = entries
    if case .alias(let target, _)? = entries[id], case .masked? = entries[target] {
      aliasOfMasked = true
      entries[id] = entries[target]
    }
    var unit = OfflineUnit(
      id: id, names: [id] + aliases.sorted(), loadState: "loaded", fragmentPath: nil, dropInPaths: [],
      files: [],
      unitFileState: nil, description: nil, type: nil, user: nil, dynamicUser: false)
    let template = Self.template(of: id)
    let instance = template.map { _ in Self.instance(of: id) } ?? nil
    switch entries[id] ?? template.flatMap({ entries[$0] }) {
    case .masked(let path, let directory)?:
      // What `systemctl show` says of a masked unit: its id as description; the mask's path
      // as fragment (systemd 247 said /dev/null; 252 the link's path).
      unit.loadState = aliasOfMasked && (systemd ?? Int.max) >= 250 ? "error" : "masked"
      unit.names = [id]
      unit.description = id
      unit.fragmentPath = (systemd ?? Int.max) < 250 ? "/dev/null" : path
      unit.unitFileState = UnitSearchPath.runtimeDirectories.contains(directory) ? "masked-runtime" : "masked"
      return unit
    case .broken(let path, let why)?:
      unit.loadState = "not-found"
      diagnostics.append(
        Diagnostic(.warning, code: "offline.unit-unreadable", "\(path): \(why)", unit: id))
      return unit
    case .file(let path, let resolved)?:
      do {
        unit.files.append(UnitSource(path: path, bytes: try read(resolved)))
        unit.fragmentPath = path
      } catch {
        unit.loadState = "bad-setting"
        diagnostics.append(
          Diagnostic(.error, code: "offline.unit-unreadable", "\(path): \(error)", unit: id))
        return unit
      }
    case .alias?, nil:
      unit.loadState = "not-found"
      return unit
    }
    let found = dropIns(names: unit.names + (template.map { [$0] } ?? []))
    unit.hasSpecialFile = found.special
    for (path, bytes) in found.files {
      unit.dropInPaths.append(path)
      unit.files.append(UnitSource(path: path, bytes: bytes))
    }
    let settings = Self.settings(of: unit.files, unit: id)
    unit.description = settings.description.map { Self.expandSpecifiers($0, id: id, instance: instance) }
    unit.type = settings.type
    unit.user = settings.user
    unit.dynamicUser = settings.dynamicUser
    unit.unitFileState = Self.unitFileState(
      id: id, hasInstall: settings.hasInstall, aliases: aliases, entries: entries, enabledBy: enabledBy)
    return unit
  }

  /// The drop-in directories' names for a unit's names, most general first: `service.d`,
  /// then each dash prefix (`a-.service.d`, `a-b-.service.d`), then each name's own.
  static func dropInDirectoryNames(_ names: [String]) -> [String] {
    var result = ["service.d"]
    for name in names {
      let base = name.dropLast(".service".count)
      let stem = base.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? base
      var index = stem.startIndex
      while let dash = stem[index...].firstIndex(of: "-") {
        let prefix = String(stem[..<dash]) + "-.service.d"
        if !result.contains(prefix) { result.append(prefix) }
        index = stem.index(after: dash)
      }
    }
    for name in names where !result.contains(name + ".d") { result.append(name + ".d") }
    return result
  }

  /// The drop-ins that apply, each file name once (from the earliest search directory), in
  /// file-name order, with the path systemd shows (the directory resolved inside the tree).
  private mutating func dropIns(names: [String]) -> (files: [(String, [UInt8])], special: Bool) {
    var chosen: [String: (path: String, resolved: String)?] = [:]
    var special = false
    for directory in searchPath.directories {
      for dropIn in Self.dropInDirectoryNames(names) {
        guard let resolved = try? tree.resolve(directory + "/" + dropIn),
          case .directory = tree.kind(resolved.path),
          let listing = list(resolved.path, shown: directory + "/" + dropIn)
        else { continue }
        for file in listing where file.hasSuffix(".conf") && chosen[file] == nil {
          let path = resolved.path + "/" + file
          guard Self.isPrintable(path) else {
            diagnostics.append(
              Diagnostic(
                .warning, code: "offline.dropin-unreadable",
                "a drop-in in \(resolved.path) has control characters in its name: not read"))
            chosen[file] = .some(nil)
            continue
          }
          if case .symlink(let target) = tree.kind(path),
            target == "/dev/null" || (try? tree.resolve(path))?.path == "/dev/null"
          {
            chosen[file] = .some(nil)  // masked: hides the same name in later directories
            continue
          }
          if case .special = tree.kind(path) { special = true }
          chosen[file] = (path, path)
        }
      }
    }
    var result: [(String, [UInt8])] = []
    for file in chosen.keys.sorted() {
      guard let found = chosen[file], let found else { continue }
      do {
        result.append((found.path, try read(found.resolved)))
      } catch {
        diagnostics.append(
          Diagnostic(.error, code: "offline.dropin-unreadable", "\(found.path): \(error)"))
      }
    }
    return (result, special)
  }

  struct LoadedSettings {
    var description: String?
    var type: String?
    var user: String?
    var dynamicUser = false
    var hasInstall = false
  }

  /// What `systemctl show` would print for the few properties a tree can tell, from the
  /// unit's files in order (the last assignment wins; an empty one resets).
  static func settings(of files: [UnitSource], unit: String) -> LoadedSettings {
    var settings = LoadedSettings()
    var busName: String?
    var hasExecStart = false
    for file in files {
      let text = String(decoding: file.bytes, as: UTF8.self)
      let parsed = parseUnitFile(
        UnitFileText(path: file.path, lines: text.split(separator: "\n", omittingEmptySubsequences: false)),
        unit: unit)
      for directive in parsed.directives {
        let value = directive.value.isEmpty ? nil : directive.value
        switch (directive.section, directive.key) {
        case ("Unit", "Description"): settings.description = value
        case ("Service", "Type"): settings.type = value
        case ("Service", "User"): settings.user = value
        case ("Service", "DynamicUser"): settings.dynamicUser = value.flatMap(parseSystemdBoolean) ?? false
        case ("Service", "BusName"): busName = value
        case ("Service", "ExecStart"): hasExecStart = value != nil
        case ("Install", "WantedBy"), ("Install", "RequiredBy"), ("Install", "Alias"),
          ("Install", "UpheldBy"):
          if value != nil { settings.hasInstall = true }
        default: break
        }
      }
    }
    if settings.type == nil {
      settings.type = busName != nil ? "dbus" : hasExecStart ? "simple" : "oneshot"
    }
    return settings
  }

  /// `enabled` when a link in a configuration directory's `.wants/`, `.requires/` or
  /// `.upholds/` names the unit (or an alias of it there), `static` without an `[Install]`
  /// section, `disabled` otherwise.
  static func unitFileState(
    id: String, hasInstall: Bool, aliases: [String], entries: [String: Entry], enabledBy: [String: [String]]
  ) -> String {
    let configured = UnitSearchPath.configurationDirectories
    if (enabledBy[id] ?? []).contains(where: configured.contains) { return "enabled" }
    for alias in aliases {
      if case .alias(_, let directory)? = entries[alias], configured.contains(directory) { return "enabled" }
    }
    if (enabledBy[id] ?? []).contains(where: UnitSearchPath.runtimeDirectories.contains) {
      return "enabled-runtime"
    }
    return hasInstall ? "disabled" : "static"
  }
}
