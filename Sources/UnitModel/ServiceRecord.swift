/// One service on one host: identity, state, the files that define it, every directive with
/// its provenance, the effective hardening settings and systemd's own exposure verdict.
public struct ServiceRecord: Codable, Sendable, Hashable {
  /// The canonical unit id (`ssh.service`, `getty@tty1.service`).
  public var id: String
  /// The other names of the unit (`sshd.service`), from `Names=` without the id.
  public var aliases: [String]
  public var description: String?
  /// `loaded`, `masked`, `not-found`, `error`, `bad-setting`.
  public var loadState: String
  public var activeState: String?
  public var subState: String?
  /// `enabled`, `static`, `disabled`, `masked`, `generated`, … (empty for instances of some templates).
  public var unitFileState: String?
  /// `simple`, `notify`, `oneshot`, `forking`, …
  public var type: String?
  public var fragmentPath: String?
  /// The package that owns `fragmentPath`, as the host's package manager says (dpkg-query
  /// -S; probe 2 on); nil when none does, or the host has no dpkg.
  public var package: String?
  /// The installed version of `package`, where the scan can tell it (a tree's own package
  /// database, a package file; not asked of a running host).
  public var packageVersion: String?
  public var dropInPaths: [String]
  /// The file a generator read to produce the unit (a SysV init script), if any.
  public var sourcePath: String?
  /// The files as applied: fragment first, then drop-ins in systemd's order.
  public var files: [UnitFileRef]
  /// Every assignment in every file, in the order systemd reads them.
  public var directives: [Directive]
  public var hardening: HardeningSettings
  /// systemd's overall verdict; nil when the host could not analyse the unit.
  public var overall: OverallExposure?
  /// `systemd-analyze security` checks keyed by `json_field`.
  public var checks: SecurityChecks

  public init(
    id: String, aliases: [String] = [], description: String? = nil, loadState: String,
    activeState: String? = nil, subState: String? = nil, unitFileState: String? = nil,
    type: String? = nil, fragmentPath: String? = nil, dropInPaths: [String] = [],
    sourcePath: String? = nil, files: [UnitFileRef] = [], directives: [Directive] = [],
    hardening: HardeningSettings = HardeningSettings(), overall: OverallExposure? = nil,
    checks: SecurityChecks = [:]
  ) {
    self.id = id
    self.aliases = aliases
    self.description = description
    self.loadState = loadState
    self.activeState = activeState
    self.subState = subState
    self.unitFileState = unitFileState
    self.type = type
    self.fragmentPath = fragmentPath
    self.dropInPaths = dropInPaths
    self.sourcePath = sourcePath
    self.files = files
    self.directives = directives
    self.hardening = hardening
    self.overall = overall
    self.checks = checks
  }

  public var isMasked: Bool { loadState == "masked" }

  /// The unit's names: its id first, then its aliases.
  public var names: [String] { [id] + aliases }

  /// True when any file of the unit comes from outside the vendor directories.
  public var hasOverrides: Bool { files.contains { $0.origin.isOverride } }
}
