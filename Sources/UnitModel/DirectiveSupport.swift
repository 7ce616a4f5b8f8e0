/// What each systemd version knows of the hardening directives this model normalizes, read
/// from `DirectiveTable`: the version that added a directive, and the named values that
/// later versions accept beside yes and no. The versions are those of systemd's NEWS (as
/// Debian ships it in /usr/share/doc/systemd/NEWS.gz) and systemd.exec(5); the test fleet's
/// releases (systemd 247, 252, 257, 262) confirm them end to end.
public enum DirectiveSupport {
  /// The oldest systemd a fleet is expected to run (RHEL 8). Directives that every version
  /// from there on knows have no `since`.
  public static let oldestVersion = 239

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

  /// Whether systemd `version` knows `directive` (true when the version is unknown).
  public static func knows(_ directive: String, systemd version: Int?) -> Bool {
    guard let version, let since = DirectiveTable.byName[directive]?.since else { return true }
    return version >= since
  }

  /// The named value of `spec` that `text` spells (`private` for `private:myhost`), if any.
  public static func namedValue(_ text: String, of spec: DirectiveSpec) -> NamedValue? {
    guard !spec.namedValues.isEmpty else { return nil }
    let name = spec.name == "ProtectHostname" ? String(text.prefix { $0 != ":" }) : text
    return spec.namedValues.first { $0.name == name }
  }
}
