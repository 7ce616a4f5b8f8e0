/// The hardening directives the model normalizes, each described once: its name and kind,
/// the systemd version that added it and each later value, what `systemctl show` prints when
/// no file sets it, its short label in reports, an example value, and its field in the model.
/// The resolver, the reports' labels, `DirectiveSupport` (and through it baselines' versions)
/// and the end-to-end comparison read this table. The `hosts.jsonl` writer and coverage's
/// evaluation keep one typed line per directive, being hot paths; `DirectiveTable*Tests` fail
/// when a field of `HardeningSettings.Fields`, the writer, the resolver or a baseline
/// directive lacks an entry. `field.read` is the table's view of the model for those tests.
///
/// Adding a value that a new systemd accepts: one `NamedValue` in its entry. Adding a
/// directive: its field and coding key in `HardeningSettings.Fields`, one entry here, its line
/// in `HostLineWriter.hardening`, and, when baselines may require it, its `HardeningDirective`
/// case with its evaluation; a directive that is not a plain boolean also needs its case in
/// `HardeningResolver.apply` (docs/systemd-versions.md shows a whole diff).
public struct DirectiveSpec: Sendable {
  public enum Kind: Sendable, Equatable {
    /// yes or no, and the entry's named values.
    case boolean
    /// One of these words.
    case choice([String])
    /// A user name.
    case user
    /// A list of words (capabilities, architectures, namespace types, addresses).
    case list
    /// An allow list, or a deny list (`~`).
    case filter
    /// Four octal digits.
    case umask
  }

  /// The directive's name, which is also its `systemctl show` property and its key in
  /// `hosts.jsonl`.
  public let name: String
  public let kind: Kind
  /// The systemd version that added it; nil when every version from
  /// `DirectiveSupport.oldestVersion` (239) on knows it.
  public let since: Int?
  /// Words that turn a boolean on in a named form, with the version that accepts each.
  public let namedValues: [DirectiveSupport.NamedValue]
  /// The `…Ex` property that names a boolean's form, and the name it prints for plain `yes`.
  public let extended: ExtendedProperty?
  /// What `systemctl show` prints when no file sets it (nil: compared another way).
  public let unsetShow: String?
  /// The short label of the reports' matrix.
  public let label: String
  /// A value a unit file may assign (for tests of every stage).
  public let example: String
  /// The model's field.
  public let field: FieldAccess

  public struct ExtendedProperty: Sendable, Hashable {
    public let property: String
    public let yes: String
  }

  init(
    _ name: String, _ kind: Kind, _ field: FieldAccess, label: String, example: String, unset: String?,
    since: Int? = nil, named: [DirectiveSupport.NamedValue] = [], extended: ExtendedProperty? = nil
  ) {
    self.name = name
    self.kind = kind
    self.field = field
    self.label = label
    self.example = example
    self.unsetShow = unset
    self.since = since
    self.namedValues = named
    self.extended = extended
  }
}

/// A setting of any directive, as one value type: what every stage that treats directives
/// alike reads.
public struct AnySetting: Sendable, Hashable {
  public enum Value: Sendable, Hashable {
    case bool(Bool)
    case word(String)
    case words([String])
    case filter(FilterList)
  }

  public var value: Value
  public var source: Provenance?
  public var impliedBy: String?
  public var variant: String?
}

/// Reads one field of `HardeningSettings.Fields` as an `AnySetting`; for booleans, also the
/// typed key path the resolver writes through.
public struct FieldAccess: Sendable {
  public let read: @Sendable (HardeningSettings.Fields) -> AnySetting?
  public let boolean: (any WritableKeyPath<HardeningSettings.Fields, Setting<Bool>?> & Sendable)?

  static func of(_ path: any WritableKeyPath<HardeningSettings.Fields, Setting<Bool>?> & Sendable) -> Self {
    Self(
      read: { $0[keyPath: path].map { AnySetting(value: .bool($0.value), $0) } }, boolean: path)
  }

  static func of<Word: RawRepresentable & Sendable>(
    _ path: any KeyPath<HardeningSettings.Fields, Setting<Word>?> & Sendable
  ) -> Self where Word.RawValue == String {
    Self(read: { $0[keyPath: path].map { AnySetting(value: .word($0.value.rawValue), $0) } }, boolean: nil)
  }

  static func of(_ path: any KeyPath<HardeningSettings.Fields, Setting<String>?> & Sendable) -> Self {
    Self(read: { $0[keyPath: path].map { AnySetting(value: .word($0.value), $0) } }, boolean: nil)
  }

  static func of(_ path: any KeyPath<HardeningSettings.Fields, Setting<[String]>?> & Sendable) -> Self {
    Self(read: { $0[keyPath: path].map { AnySetting(value: .words($0.value), $0) } }, boolean: nil)
  }

  static func of(_ path: any KeyPath<HardeningSettings.Fields, Setting<FilterList>?> & Sendable) -> Self {
    Self(read: { $0[keyPath: path].map { AnySetting(value: .filter($0.value), $0) } }, boolean: nil)
  }
}

extension AnySetting {
  init<Stored>(value: Value, _ setting: Setting<Stored>) {
    self.init(value: value, source: setting.source, impliedBy: setting.impliedBy, variant: setting.variant)
  }
}

public enum DirectiveTable {
  typealias Named = DirectiveSupport.NamedValue

  /// Every directive, sorted by name (the order of `hosts.jsonl`'s keys).
  public static let all: [DirectiveSpec] = [
    DirectiveSpec(
      "AmbientCapabilities", .list, .of(\.ambientCapabilities), label: "AmbC", example: "CAP_NET_RAW",
      unset: nil),
    DirectiveSpec(
      "CapabilityBoundingSet", .list, .of(\.capabilityBoundingSet), label: "CapBS", example: "CAP_CHOWN",
      unset: nil),
    DirectiveSpec(
      "DevicePolicy", .choice(DevicePolicy.allCases.map(\.rawValue)), .of(\.devicePolicy), label: "DevP",
      example: "closed", unset: "auto"),
    DirectiveSpec("DynamicUser", .boolean, .of(\.dynamicUser), label: "DynU", example: "yes", unset: "no"),
    DirectiveSpec(
      "IPAddressAllow", .list, .of(\.ipAddressAllow), label: "IPAl", example: "localhost", unset: nil),
    DirectiveSpec("IPAddressDeny", .list, .of(\.ipAddressDeny), label: "IPDn", example: "any", unset: nil),
    DirectiveSpec(
      "KeyringMode", .choice(KeyringMode.allCases.map(\.rawValue)), .of(\.keyringMode), label: "Keyr",
      example: "private", unset: "private"),
    DirectiveSpec(
      "LockPersonality", .boolean, .of(\.lockPersonality), label: "LckP", example: "yes", unset: "no"),
    DirectiveSpec(
      "MemoryDenyWriteExecute", .boolean, .of(\.memoryDenyWriteExecute), label: "MDWE", example: "yes",
      unset: "no"),
    DirectiveSpec(
      "NoNewPrivileges", .boolean, .of(\.noNewPrivileges), label: "NNP", example: "yes", unset: "no"),
    DirectiveSpec(
      "PrivateDevices", .boolean, .of(\.privateDevices), label: "PDev", example: "yes", unset: "no"),
    DirectiveSpec(
      "PrivateIPC", .boolean, .of(\.privateIPC), label: "PIPC", example: "yes", unset: "no", since: 248),
    DirectiveSpec(
      "PrivateNetwork", .boolean, .of(\.privateNetwork), label: "PNet", example: "yes", unset: "no"),
    DirectiveSpec(
      "PrivatePIDs", .boolean, .of(\.privatePIDs), label: "PPID", example: "yes", unset: "no", since: 257),
    DirectiveSpec(
      "PrivateTmp", .boolean, .of(\.privateTmp), label: "PTmp", example: "yes", unset: "no",
      named: [Named(name: "disconnected", since: 257)],
      extended: .init(property: "PrivateTmpEx", yes: "connected")),
    DirectiveSpec(
      "PrivateUsers", .boolean, .of(\.privateUsers), label: "PUsr", example: "yes", unset: "no",
      named: [
        Named(name: "self", since: 257), Named(name: "identity", since: 257), Named(name: "full", since: 258),
        Named(name: "managed", since: 260),
      ],
      extended: .init(property: "PrivateUsersEx", yes: "self")),
    DirectiveSpec(
      "ProcSubset", .choice(ProcSubset.allCases.map(\.rawValue)), .of(\.procSubset), label: "PSub",
      example: "pid", unset: "all", since: 247),
    DirectiveSpec(
      "ProtectClock", .boolean, .of(\.protectClock), label: "PClk", example: "yes", unset: "no", since: 245),
    DirectiveSpec(
      "ProtectControlGroups", .boolean, .of(\.protectControlGroups), label: "PCG", example: "yes",
      unset: "no",
      named: [Named(name: "private", since: 257), Named(name: "strict", since: 257)],
      extended: .init(property: "ProtectControlGroupsEx", yes: "yes")),
    DirectiveSpec(
      "ProtectHome", .choice(ProtectHome.allCases.map(\.rawValue)), .of(\.protectHome), label: "PHome",
      example: "read-only", unset: "no"),
    // `private` may carry a host name (`private:myhost`); ProtectHostnameEx is a pair that
    // `systemctl show` cannot print.
    DirectiveSpec(
      "ProtectHostname", .boolean, .of(\.protectHostname), label: "PHost", example: "yes", unset: "no",
      since: 242, named: [Named(name: "private", since: 258)]),
    DirectiveSpec(
      "ProtectKernelLogs", .boolean, .of(\.protectKernelLogs), label: "PKL", example: "yes", unset: "no",
      since: 244),
    DirectiveSpec(
      "ProtectKernelModules", .boolean, .of(\.protectKernelModules), label: "PKM", example: "yes", unset: "no"
    ),
    DirectiveSpec(
      "ProtectKernelTunables", .boolean, .of(\.protectKernelTunables), label: "PKT", example: "yes",
      unset: "no"),
    DirectiveSpec(
      "ProtectProc", .choice(ProtectProc.allCases.map(\.rawValue)), .of(\.protectProc), label: "PProc",
      example: "invisible", unset: "default", since: 247),
    DirectiveSpec(
      "ProtectSystem", .choice(ProtectSystem.allCases.map(\.rawValue)), .of(\.protectSystem), label: "PSys",
      example: "strict", unset: "no"),
    DirectiveSpec("RemoveIPC", .boolean, .of(\.removeIPC), label: "RIPC", example: "yes", unset: "no"),
    DirectiveSpec(
      "RestrictAddressFamilies", .filter, .of(\.restrictAddressFamilies), label: "RAF", example: "AF_UNIX",
      unset: nil),
    DirectiveSpec(
      "RestrictNamespaces", .list, .of(\.restrictNamespaces), label: "RNS", example: "yes", unset: nil),
    DirectiveSpec(
      "RestrictRealtime", .boolean, .of(\.restrictRealtime), label: "RRT", example: "yes", unset: "no"),
    DirectiveSpec(
      "RestrictSUIDSGID", .boolean, .of(\.restrictSUIDSGID), label: "RSUID", example: "yes", unset: "no",
      since: 242),
    DirectiveSpec(
      "SystemCallArchitectures", .list, .of(\.systemCallArchitectures), label: "SCA", example: "native",
      unset: nil),
    DirectiveSpec(
      "SystemCallFilter", .filter, .of(\.systemCallFilter), label: "SCF", example: "@system-service",
      unset: nil),
    DirectiveSpec("UMask", .umask, .of(\.umask), label: "UMsk", example: "0077", unset: "0022"),
    DirectiveSpec("User", .user, .of(\.user), label: "User", example: "nobody", unset: ""),
  ]

  /// The entries by name.
  public static let byName: [String: DirectiveSpec] = Dictionary(
    all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
}
