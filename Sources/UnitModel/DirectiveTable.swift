/// One directive of `Directives.table`, the file that describes each hardening directive the
/// model normalizes once: its name and kind, the systemd version that added it and each later
/// value, what `systemctl show` prints when no file sets it, its short label in reports, what
/// a baseline accepts by default, and its field in the model. The build generates from that
/// file the model's fields, `HardeningDirective`, `DirectiveTable.all` and the typed
/// accessors (`HardeningSettings.Fields.flag(_:)`, `setChoice(_:_:source:)`, …)
/// that the resolver and coverage go through.
///
/// Adding a boolean or a choice directive, or a value that a new systemd accepts, is one
/// entry of the table (docs/systemd-versions.md shows a whole diff). A list, filter, user or
/// umask directive also needs its parsing in `HardeningResolver.apply`.
public struct DirectiveSpec: Sendable {
  public enum Kind: Sendable, Equatable {
    /// yes or no, and the entry's named values.
    case boolean
    /// One of these words.
    case choice([String])
    /// A user name.
    case user
    /// A list of words (capabilities, architectures, namespace types, addresses); when the
    /// words are given, only those.
    case list([String])
    /// An allow list, or a deny list (`~`).
    case filter
    /// Four octal digits.
    case umask
  }

  /// The directive's name, which is also its `systemctl show` property and its key in
  /// a service's stored `hardening`.
  /// A kind without its words.
  public enum Form: Sendable, Hashable {
    case boolean, choice, list, filter, user, umask
  }

  public let name: String
  /// The same directive, as baselines and coverage name it.
  public let directive: HardeningDirective
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
  /// What a baseline accepts by default (choices, lists of words); empty for the others,
  /// whose rule is their kind's (a boolean: on).
  public let hardened: [String]
  /// The checks of `systemd-analyze security` that assess it, by `json_field`; a name ending
  /// in `*` stands for every field that begins with the rest (`CapabilityBoundingSet_*`).
  /// Empty when systemd assesses nothing of it.
  public let checks: [String]
  /// The line that meets a requirement of it, when it is not `NAME=yes` (a boolean) or the
  /// weakest accepted word (a choice): `DynamicUser=yes` for `User`.
  public let suggest: String?
  /// Why no line meets a requirement of it for every service (its own list is needed).
  public let noSuggestion: String?
  /// Why a suggested line of it may stop a service, and where that is said.
  public let review: String?
  /// Why a baseline cannot require (or waive) it; nil for most.
  public let notRequired: String?
  /// What assigning it does to `systemd-analyze security`'s checks: per word (nil for the
  /// `suggest:` line, or a boolean's yes), the badness each check gets. A boolean's yes sets
  /// each of its `checks` to 0 unless an effect says otherwise.
  public let effects: [Effect]
  /// The settings systemd turns on with a word of it (`DynamicUser=yes` implies
  /// `ProtectSystem=strict`, …), where they are stricter than the unit's own.
  public let implies: [Implied]

  public struct Effect: Sendable, Hashable {
    public let word: String?
    /// `json_field` (a trailing `*` for every field that begins so) and the badness it gets.
    public let checks: [Check]

    public struct Check: Sendable, Hashable {
      public let field: String
      public let badness: Int
    }

    init(word: String?, checks: [(String, Int)]) {
      self.word = word
      self.checks = checks.map { Check(field: $0.0, badness: $0.1) }
    }
  }

  public struct Implied: Sendable, Hashable {
    public let word: String
    /// Directive name and value.
    public let settings: [Setting]

    public struct Setting: Sendable, Hashable {
      public let name: String
      public let value: String
    }

    init(word: String, settings: [(String, String)]) {
      self.word = word
      self.settings = settings.map { Setting(name: $0.0, value: $0.1) }
    }
  }
  /// The model's field.
  public let field: FieldAccess

  public struct ExtendedProperty: Sendable, Hashable {
    public let property: String
    public let yes: String
  }

  init(
    _ name: String, _ directive: HardeningDirective, _ kind: Kind, _ field: FieldAccess, label: String,
    example: String, unset: String?, since: Int?, named: [DirectiveSupport.NamedValue],
    extended: ExtendedProperty?, hardened: [String], checks: [String], suggest: String?,
    noSuggestion: String?, review: String?, effects: [Effect], implies: [Implied], notRequired: String?
  ) {
    self.notRequired = notRequired
    self.effects = effects
    self.implies = implies
    self.checks = checks
    self.suggest = suggest
    self.noSuggestion = noSuggestion
    self.review = review
    self.name = name
    self.directive = directive
    self.hardened = hardened
    self.kind = kind
    self.field = field
    self.label = label
    self.example = example
    self.unsetShow = unset
    self.since = since
    self.namedValues = named
    self.extended = extended
  }

  /// Whether the security check `field` (a `json_field`) assesses this directive.
  public func assesses(_ field: String) -> Bool {
    checks.contains { pattern in
      pattern.hasSuffix("*") ? field.hasPrefix(pattern.dropLast()) : field == pattern
    }
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

  // `all`, every entry sorted by name, is generated from Directives.table.

  /// The entries by name.
  public static let byName: [String: DirectiveSpec] = Dictionary(
    all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
}

/// A directive keys JSON objects by its name (a baseline's `notApplicable`), so that equal
/// values encode to equal bytes.
extension HardeningDirective: CodingKeyRepresentable {}
