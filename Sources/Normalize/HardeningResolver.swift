import UnitModel

/// Applies a unit's `[Service]` assignments in order (fragment, then drop-ins) with systemd's
/// rules, and normalizes the hardening settings into typed values.
///
/// The rules follow systemd's load-fragment.c: the last assignment wins for single values;
/// an empty assignment resets a list; `~` inverts a list into a deny list; for capability
/// sets an assignment replaces the set when it is empty or still the initial one and merges
/// otherwise; an allow-list `SystemCallFilter=` starts from `@default`. `DynamicUser=yes`
/// implies a sandbox (systemd's unit_patch_contexts), recorded with `impliedBy`.
public struct HardeningResolver {
  /// Built as plain fields (stored-property key paths, no copy-on-write checks), boxed once.
  private var fields = HardeningSettings.Fields()
  public var settings: HardeningSettings { HardeningSettings(fields) }
  public private(set) var diagnostics: [Diagnostic] = []
  let unit: String?
  /// The host's systemd major version: what it accepts decides what takes effect. Nil when
  /// unknown: every directive and value is taken as accepted.
  let systemd: Int?

  // List states that need more than the last value.
  private var bounding: Set<String>?
  private var ambient: Set<String>?
  private var addressFamilies: (mode: FilterList.Mode, entries: Set<String>)?
  private var syscalls: (mode: FilterList.Mode, entries: Set<String>)?
  private var namespaces: Set<String>?

  public init(unit: String? = nil, systemd: Int? = nil) {
    self.unit = unit
    self.systemd = systemd
  }

  /// Resolves the effective settings of one unit from its directives, as systemd `systemd`
  /// (the host's major version, when known) applies them.
  public static func resolve(_ directives: [Directive], unit: String? = nil, systemd: Int? = nil) -> (
    settings: HardeningSettings, diagnostics: [Diagnostic]
  ) {
    var resolver = HardeningResolver(unit: unit, systemd: systemd)
    for directive in directives where directive.section == "Service" {
      resolver.apply(directive)
    }
    resolver.applyImplications()
    resolver.applyEarlyBootTmp(directives)
    return (resolver.settings, resolver.diagnostics)
  }

  public mutating func apply(_ directive: Directive) {
    let value = directive.value
    let source = directive.source
    // One look-up per line: most lines (ExecStart=, Description=, …) are no directive of the
    // table and stop here.
    guard let spec = DirectiveTable.byName[directive.key] else { return }
    if let systemd, let since = spec.since, systemd < since {
      return unsupported(
        directive, "systemd \(systemd) does not know \(directive.key)= (systemd \(since) added it)")
    }
    if let path = spec.field.boolean {
      if let flag = parseSystemdBoolean(value) {
        fields[keyPath: path] = Setting(flag, source: source)
        return
      }
      guard let named = DirectiveSupport.namedValue(value, of: spec) else {
        let names = spec.namedValues.map(\.name)
        return reject(
          directive,
          names.isEmpty ? "not a boolean" : "not a boolean or one of \(names.joined(separator: ", "))")
      }
      if let systemd, systemd < named.since {
        return unsupported(
          directive,
          "systemd \(systemd) does not accept \(directive.key)=\(named.name) (systemd \(named.since) added it)"
        )
      }
      fields[keyPath: path] = Setting(true, source: source, variant: named.name)
      return
    }
    if case .choice = spec.kind {
      if !fields.setChoice(spec.directive, value, source: source) { reject(directive, "unknown value") }
      return
    }
    // Directives of the other kinds, each parsed by its own rule.
    switch directive.key {
    case "User":
      fields.user = value.isEmpty ? nil : Setting(value, source: source)
    case "UMask":
      guard let mode = Int(value, radix: 8), (0...0o777).contains(mode), !value.isEmpty else {
        return reject(directive, "not an octal mode")
      }
      fields.umask = Setting(String(mode, radix: 8).leftPadded(to: 4), source: source)
    case "CapabilityBoundingSet":
      bounding = applyCapabilities(directive, to: bounding, initial: Set(allCapabilities))
      fields.capabilityBoundingSet = bounding.map { Setting(sortCapabilities($0), source: source) }
    case "AmbientCapabilities":
      ambient = applyCapabilities(directive, to: ambient, initial: [])
      fields.ambientCapabilities = ambient.map { Setting(sortCapabilities($0), source: source) }
    case "RestrictAddressFamilies":
      applyAddressFamilies(directive)
    case "SystemCallFilter":
      applySystemCallFilter(directive)
    case "SystemCallArchitectures":
      fields.systemCallArchitectures = appendWords(directive, to: fields.systemCallArchitectures)
    case "IPAddressDeny":
      fields.ipAddressDeny = appendWords(directive, to: fields.ipAddressDeny)
    case "IPAddressAllow":
      fields.ipAddressAllow = appendWords(directive, to: fields.ipAddressAllow)
    case "RestrictNamespaces":
      applyNamespaces(directive)
    default:
      break
    }
  }

  /// A directive or value that a newer systemd accepts and this host's does not: systemd
  /// ignores the line, and so does the model.
  private mutating func unsupported(_ directive: Directive, _ why: String) {
    ignore(directive, code: "unit.unsupported", "\(why); it ignores this line")
  }

  private mutating func reject(_ directive: Directive, _ why: String) {
    ignore(directive, code: "unit.bad-value", "\(why); systemd ignores it too")
  }

  /// A line the model leaves out, as systemd does, with a warning at its file and line.
  private mutating func ignore(_ directive: Directive, code: String, _ why: String) {
    diagnostics.append(
      Diagnostic(
        .warning, code: code, "\(directive.key)=\(directive.value.prefix(80)): \(why)", section: "cat",
        unit: unit, file: directive.source.file, line: directive.source.line))
  }

  /// An enum setting; the empty assignment resets to the default. `booleanMeaning` maps
  /// yes/no synonyms for settings that also take a boolean (ProtectSystem=yes).
  private mutating func applyCapabilities(
    _ directive: Directive, to current: Set<String>?, initial: Set<String>
  ) -> Set<String>? {
    var text = Substring(directive.value)
    let invert = text.first == "~"
    if invert { text = text.dropFirst() }
    var sum: Set<String> = []
    for word in splitWords(String(text)) {
      if let name = capabilityName(word) {
        sum.insert(name)
      } else {
        reject(directive, "unknown capability '\(word.prefix(40))' ignored")
      }
    }
    let state = current ?? initial
    let all = Set(allCapabilities)
    if sum.isEmpty || state == initial {
      return invert ? all.subtracting(sum) : sum
    }
    return invert ? state.subtracting(sum) : state.union(sum)
  }

  /// Other names Linux gives an address family's number, with the name systemd prints for it.
  static let addressFamilyAliases = ["AF_LOCAL": "AF_UNIX", "AF_FILE": "AF_UNIX", "AF_ROUTE": "AF_NETLINK"]

  private mutating func applyAddressFamilies(_ directive: Directive) {
    var text = Substring(directive.value)
    if text.isEmpty {
      addressFamilies = nil
    } else if text == "none" {
      addressFamilies = (.allow, [])
    } else {
      let invert = text.first == "~"
      if invert { text = text.dropFirst() }
      var state = addressFamilies ?? (invert ? .deny : .allow, [])
      for given in splitWords(String(text)) {
        guard given.hasPrefix("AF_") else {
          reject(directive, "unknown address family '\(given.prefix(40))' ignored")
          continue
        }
        // systemd keeps families by number and names each by its first name in Linux's
        // socket.h: AF_LOCAL and AF_FILE are AF_UNIX, AF_ROUTE is AF_NETLINK.
        let word = Self.addressFamilyAliases[String(given)] ?? String(given)
        if invert == (state.mode == .deny) {
          state.entries.insert(word)
        } else {
          state.entries.remove(word)
        }
      }
      addressFamilies = state
    }
    fields.restrictAddressFamilies = addressFamilies.map {
      Setting(FilterList(mode: $0.mode, entries: Array($0.entries)), source: directive.source)
    }
  }

  private mutating func applySystemCallFilter(_ directive: Directive) {
    var text = Substring(directive.value)
    if text.isEmpty {
      syscalls = nil
    } else {
      let invert = text.first == "~"
      if invert { text = text.dropFirst() }
      // An allow list starts from @default, as systemd does.
      var state = syscalls ?? (invert ? .deny : .allow, invert ? [] : ["@default"])
      for word in splitWords(String(text)) {
        // `name:errno` keeps only the name.
        let name = String(word.split(separator: ":", maxSplits: 1).first ?? word)
        if invert == (state.mode == .deny) { state.entries.insert(name) } else { state.entries.remove(name) }
      }
      syscalls = state
    }
    fields.systemCallFilter = syscalls.map {
      Setting(FilterList(mode: $0.mode, entries: Array($0.entries)), source: directive.source)
    }
  }

  private mutating func applyNamespaces(_ directive: Directive) {
    var text = Substring(directive.value)
    if text.isEmpty {
      namespaces = nil
    } else if let flag = parseSystemdBoolean(String(text)) {
      namespaces = flag ? [] : Set(allNamespaceTypes)
    } else {
      let invert = text.first == "~"
      if invert { text = text.dropFirst() }
      var flags: Set<String> = []
      for word in splitWords(String(text)) {
        guard allNamespaceTypes.contains(String(word)) else {
          return reject(directive, "unknown namespace type '\(word.prefix(40))'")
        }
        flags.insert(String(word))
      }
      if let current = namespaces {
        namespaces = invert ? current.subtracting(flags) : current.union(flags)
      } else {
        namespaces = invert ? Set(allNamespaceTypes).subtracting(flags) : flags
      }
    }
    fields.restrictNamespaces = namespaces.map { Setting($0.sorted(), source: directive.source) }
  }

  /// A plain list: words append, the empty assignment resets to the default.
  private func appendWords(_ directive: Directive, to current: Setting<[String]>?) -> Setting<[String]>? {
    if directive.value.isEmpty { return nil }
    let words = splitWords(directive.value).map(String.init)
    let merged = (current?.value ?? []) + words.filter { !(current?.value ?? []).contains($0) }
    return Setting(merged, source: directive.source)
  }

  /// What systemd derives when it loads a unit (unit_patch_contexts in systemd's unit.c), so
  /// the settings match what `systemctl show` reports. Each derived value names its cause in
  /// `impliedBy`; a value narrowed from a file's assignment keeps that file as its source.
  mutating func applyImplications() {
    expandUserSpecifiers()
    if fields.dynamicUser?.value == true { applyDynamicUser() }
    // Sandboxing options take capabilities out of the bounding set.
    let narrowing: [(String, Bool, [String])] = [
      ("PrivateDevices", fields.privateDevices?.value == true, ["CAP_MKNOD", "CAP_SYS_RAWIO"]),
      ("ProtectKernelModules", fields.protectKernelModules?.value == true, ["CAP_SYS_MODULE"]),
      ("ProtectKernelLogs", fields.protectKernelLogs?.value == true, ["CAP_SYSLOG"]),
      ("ProtectClock", fields.protectClock?.value == true, ["CAP_SYS_TIME", "CAP_WAKE_ALARM"]),
    ]
    for (cause, active, dropped) in narrowing where active {
      let current = fields.capabilityBoundingSet
      let set = Set(current?.value ?? allCapabilities)
      guard !set.isDisjoint(with: dropped) else { continue }
      let causes = [current?.impliedBy, cause].compactMap { $0 }.joined(separator: ", ")
      fields.capabilityBoundingSet = Setting(
        sortCapabilities(set.subtracting(dropped)), source: current?.source, impliedBy: causes)
    }
    // PrivateDevices=yes closes the device cgroup when no policy was chosen.
    if fields.privateDevices?.value == true, (fields.devicePolicy?.value ?? .auto) == .auto {
      fields.devicePolicy = Setting(.closed, source: nil, impliedBy: "PrivateDevices")
    }
  }

  /// From systemd 260 on, a unit with `PrivateTmp=yes` and `DefaultDependencies=no` that
  /// does not require the mounts for /tmp gets a disconnected /tmp (NEWS of 260: this avoids
  /// ordering races in early boot). The `[Unit]` section's last `DefaultDependencies=` and
  /// its `RequiresMountsFor=` paths (an empty assignment resets them) decide.
  private mutating func applyEarlyBootTmp(_ directives: [Directive]) {
    guard let systemd, systemd >= 260, let tmp = fields.privateTmp, tmp.value, tmp.variant == nil else {
      return
    }
    var defaultDependencies = true
    var mounts: [String] = []
    for directive in directives where directive.section == "Unit" {
      switch directive.key {
      case "DefaultDependencies":
        if let flag = parseSystemdBoolean(directive.value) { defaultDependencies = flag }
      case "RequiresMountsFor":
        if directive.value.isEmpty {
          mounts = []
        } else {
          mounts += directive.value.split(separator: " ").map(String.init)
        }
      default: break
      }
    }
    let requiresTmp = mounts.contains { $0 == "/tmp" || $0.hasPrefix("/tmp/") }
    if !defaultDependencies && !requiresTmp {
      fields.privateTmp = Setting(true, source: tmp.source, impliedBy: tmp.impliedBy, variant: "disconnected")
    }
  }

  /// What `DynamicUser=yes` forces on, whatever the files say, and the user it runs as.
  private mutating func applyDynamicUser() {
    let implied = "DynamicUser"
    // From systemd 257 on, the implied private /tmp is a disconnected one unless a file
    // set PrivateTmp=yes itself (systemd.exec(5), DynamicUser=).
    if let systemd, systemd >= 257 {
      let explicit = fields.privateTmp.map { $0.source != nil && $0.value && $0.variant == nil } ?? false
      if !explicit {
        fields.privateTmp = Setting(true, source: nil, impliedBy: implied, variant: "disconnected")
      }
    } else {
      fields.privateTmp = Setting(true, source: nil, impliedBy: implied)
    }
    fields.removeIPC = Setting(true, source: nil, impliedBy: implied)
    fields.noNewPrivileges = Setting(true, source: nil, impliedBy: implied)
    fields.restrictSUIDSGID = Setting(true, source: nil, impliedBy: implied)
    if fields.protectSystem?.value != .strict {
      fields.protectSystem = Setting(.strict, source: nil, impliedBy: implied)
    }
    if (fields.protectHome?.value ?? .no) == .no {
      fields.protectHome = Setting(.readOnly, source: nil, impliedBy: implied)
    }
    // Without User=, the user is named after the unit (when that is a valid user name).
    if fields.user == nil, let unit, let name = Self.dynamicUserName(unit) {
      fields.user = Setting(name, source: nil, impliedBy: implied)
    }
  }

  /// The unit's prefix (`chrony-wait` of `chrony-wait.service`, `foo` of `foo@x.service`)
  /// when it is a valid user name; systemd hashes other names.
  static func dynamicUserName(_ unit: String) -> String? {
    var prefix = Substring(unit)
    if let dot = prefix.lastIndex(of: ".") { prefix = prefix[..<dot] }
    if let at = prefix.firstIndex(of: "@") { prefix = prefix[..<at] }
    guard let first = prefix.first, first.isASCII, first.isLetter || first == "_", prefix.count <= 31,
      prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
    else { return nil }
    return String(prefix)
  }

  /// `User=%i` and friends name the user through the unit's name; systemd resolves them.
  private mutating func expandUserSpecifiers() {
    guard let user = fields.user, user.value.contains("%"), let unit else { return }
    var base = Substring(unit)
    if let dot = base.lastIndex(of: ".") { base = base[..<dot] }
    let prefix = base.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? base
    let instance =
      base.contains("@")
      ? String(base[base.index(after: base.firstIndex(of: "@") ?? base.startIndex)...]) : ""
    var result = ""
    var iterator = user.value.makeIterator()
    while let character = iterator.next() {
      guard character == "%" else {
        result.append(character)
        continue
      }
      switch iterator.next() {
      case "i", "I": result += instance
      case "p", "P": result += prefix
      case "n": result += unit
      case "N": result += base
      case "%": result += "%"
      case let other?:
        // A specifier unitaudit does not resolve: keep the value as written.
        _ = other
        return
      case nil: return
      }
    }
    fields.user = Setting(result, source: user.source, impliedBy: user.impliedBy)
  }
}
