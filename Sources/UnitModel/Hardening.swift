/// A list that is either an allow list or a deny list (`~` prefix), as in
/// `RestrictAddressFamilies=` and `SystemCallFilter=`.
public struct FilterList: Codable, Sendable, Hashable {
  public enum Mode: String, Codable, Sendable {
    case allow, deny
  }

  public var mode: Mode
  /// Sorted, de-duplicated entries (`AF_INET`, `@system-service`, `ptrace`, …).
  public var entries: [String]

  public init(mode: Mode, entries: [String]) {
    self.mode = mode
    self.entries = Array(Set(entries)).sorted()
  }
}

/// An effective setting with the assignment that produced it.
public struct Setting<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
  public var value: Value
  /// The assignment that decided the value; nil when the value is implied by another setting.
  public var source: Provenance?
  /// The directive that implied this value (`DynamicUser`), when no file assigned it.
  public var impliedBy: String?
  /// The named form a boolean setting is on in, when it is not a plain yes
  /// (`PrivateTmp=disconnected`, `PrivateUsers=identity`: `DirectiveSpec.namedValues`);
  /// systemd reports it in the directive's `…Ex` property.
  public var variant: String?

  public init(_ value: Value, source: Provenance?, impliedBy: String? = nil, variant: String? = nil) {
    self.value = value
    self.source = source
    self.impliedBy = impliedBy
    self.variant = variant
  }
}

/// The effective hardening settings of one service, after the fragment and its drop-ins
/// are applied in order. A nil field means no file assigned it: systemd's default applies.
///
/// JSON keys are systemd's directive names, so the scan reads like a unit file.
///
/// The fields (`Fields`, one per directive of `Directives.table`, about 2 KB) live in a
/// copy-on-write box: a service record copied into a report row, a coverage result or a
/// synthetic host copies a pointer, and services with the same settings can share one box. Read and write them as properties
/// (`settings.protectSystem`); key paths such as `\HardeningSettings.privateTmp` work too.
@dynamicMemberLookup
public struct HardeningSettings: Codable, Sendable, Hashable {
  // Inlinable (with the box) so that `settings.privateTmp` compiles to a field load in other
  // modules, not a key-path projection at run time: reports read fields per service.
  @usableFromInline
  // @unchecked: written only through `HardeningSettings` while uniquely referenced (copy on write).
  final class Box: @unchecked Sendable {
    @usableFromInline var fields: Fields
    @usableFromInline init(_ fields: Fields) { self.fields = fields }
  }

  @usableFromInline var box: Box

  public init() { box = Box(Fields()) }

  public init(_ fields: Fields) { box = Box(fields) }

  /// Every field at once.
  public var fields: Fields {
    @inlinable get { box.fields }
    set {
      if isKnownUniquelyReferenced(&box) { box.fields = newValue } else { box = Box(newValue) }
    }
  }

  @inlinable
  public subscript<Value>(dynamicMember path: WritableKeyPath<Fields, Value>) -> Value {
    get { box.fields[keyPath: path] }
    set {
      if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
      box.fields[keyPath: path] = newValue
    }
  }

  /// True when both share one box: equal without comparing fields.
  public func sharesStorage(with other: HardeningSettings) -> Bool { box === other.box }

  public static func == (lhs: HardeningSettings, rhs: HardeningSettings) -> Bool {
    lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
  }

  public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }

  public init(from decoder: any Decoder) throws { box = Box(try Fields(from: decoder)) }

  public func encode(to encoder: any Encoder) throws { try box.fields.encode(to: encoder) }

  /// The directive names this model normalizes, sorted (`DirectiveTable`).
  public static let directiveNames: [String] = DirectiveTable.all.map(\.name)
}

extension Setting where Value: RawRepresentable, Value.RawValue == String {
  /// The setting with its value as the word a unit file writes.
  @inlinable
  public var word: Setting<String> {
    Setting<String>(value.rawValue, source: source, impliedBy: impliedBy, variant: variant)
  }
}

extension HardeningSettings.Fields {
  /// `setChoice`'s rule for one field.
  static func assign<Choice: RawRepresentable & Codable & Sendable & Hashable>(
    _ text: String, _ source: Provenance?, to field: inout Setting<Choice>?,
    boolean: (yes: Choice, no: Choice)?
  ) -> Bool where Choice.RawValue == String {
    if text.isEmpty {
      field = nil
    } else if let choice = Choice(rawValue: text) {
      field = Setting(choice, source: source)
    } else if let boolean, let flag = parseSystemdBoolean(text) {
      field = Setting(flag ? boolean.yes : boolean.no, source: source)
    } else {
      return false
    }
    return true
  }
}

/// systemd's parse_boolean(): 1/yes/y/true/t/on and 0/no/n/false/f/off, any case.
public func parseSystemdBoolean(_ text: String) -> Bool? {
  switch text.lowercased() {
  case "1", "yes", "y", "true", "t", "on": true
  case "0", "no", "n", "false", "f", "off": false
  default: nil
  }
}
