/// The directories systemd's system manager loads units from, first wins (systemd.unit(5),
/// "System Unit Search Path"; `systemd-analyze unit-paths`), for a tree that has not booted.
public struct UnitSearchPath: Sendable, Hashable {
  public var directories: [String]

  public init(directories: [String]) {
    self.directories = directories
  }

  /// The search path of a tree's systemd. A systemd built for a split /usr (Debian up to
  /// bookworm, whose package installs its units in `/lib/systemd/system`) searches `/lib`
  /// before `/usr/lib`; a merged-/usr build (trixie on, Fedora) only `/usr/lib`. The runtime
  /// directories are searched too: a tree's `/run` is usually empty, and what is there is what
  /// the manager would find.
  public static func of(splitUsr: Bool) -> UnitSearchPath {
    UnitSearchPath(
      directories: [
        "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
        "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
        "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
        "/usr/local/lib/systemd/system",
      ] + (splitUsr ? ["/lib/systemd/system"] : []) + [
        "/usr/lib/systemd/system", "/run/systemd/generator.late",
      ])
  }

  /// The configuration directories: a link in one of them is the administrator's choice
  /// (enabled, masked), one in a vendor directory is the package's.
  static let configurationDirectories: Set<String> = ["/etc/systemd/system", "/etc/systemd/system.control"]
  static let runtimeDirectories: Set<String> = [
    "/run/systemd/system", "/run/systemd/system.control", "/run/systemd/transient",
  ]
}
