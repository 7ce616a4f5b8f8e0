/// What each systemd version knows of the hardening directives this model normalizes: the
/// version that added a directive, and the named values that later versions accept beside
/// yes and no, as `DirectiveTable` records them. The versions are those of systemd's NEWS (as
/// Debian ships it in /usr/share/doc/systemd/NEWS.gz) and systemd.exec(5); the test fleet's
/// releases (systemd 247, 252, 257, 262) confirm them end to end.
public enum DirectiveSupport {
  /// The oldest systemd a fleet is expected to run (RHEL 8). Directives that every version
  /// from there on knows are not listed in `introduced`.
  public static let oldestVersion = 239

  /// Directives added after `oldestVersion`, with the systemd version that added them. An
  /// older systemd ignores such a line ("Unknown key name") and reports no such property.
  public static let introduced: [String: Int] = Dictionary(
    DirectiveTable.all.compactMap { spec in spec.since.map { (spec.name, $0) } },
    uniquingKeysWith: { a, _ in a })

  /// A boolean directive's named values: the value turns the setting on (`systemctl show`
  /// prints the plain property as `yes`) in a form that the directive's `…Ex` property names.
  public struct NamedValue: Sendable, Hashable {
    public var name: String
    /// The systemd version that accepts it first.
    public var since: Int

    public init(name: String, since: Int) {
      self.name = name
      self.since = since
    }
  }

  /// The named values of boolean directives, by directive.
  public static let namedValues: [String: [NamedValue]] = Dictionary(
    DirectiveTable.all.filter { !$0.namedValues.isEmpty }.map { ($0.name, $0.namedValues) },
    uniquingKeysWith: { a, _ in a })

  /// The `…Ex` property that reports a directive's named value, and the name it prints for a
  /// plain `yes` (`PrivateTmp=yes` is `PrivateTmpEx=connected`).
  public static let extendedProperty: [String: (property: String, yes: String)] = Dictionary(
    DirectiveTable.all.compactMap { spec in spec.extended.map { (spec.name, ($0.property, $0.yes)) } },
    uniquingKeysWith: { a, _ in a })

  /// Whether systemd `version` knows `directive` (true when the version is unknown).
  public static func knows(_ directive: String, systemd version: Int?) -> Bool {
    guard let version, let since = introduced[directive] else { return true }
    return version >= since
  }

  /// The named value of `directive` that `text` spells (`private` for `private:myhost`), if any.
  public static func namedValue(_ text: String, of directive: String) -> NamedValue? {
    guard let values = namedValues[directive] else { return nil }
    let name = directive == "ProtectHostname" ? String(text.prefix { $0 != ":" }) : text
    return values.first { $0.name == name }
  }
}
