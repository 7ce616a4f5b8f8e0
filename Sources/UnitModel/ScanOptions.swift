/// How a scan runs: the options `unitaudit scan` was given, defaults filled in. The scan's
/// metadata records them, and `scan --resume` reads them back (options given again on its command
/// line win). The defaults are defined here and nowhere else.
public struct ScanOptions: Codable, Sendable, Hashable {
  public static let defaultConcurrency = 64
  public static let defaultMaxOutputBytes = 64 << 20
  public static let defaultDeadlineSeconds: Double = 120
  public static let defaultConnectTimeout = 10
  public static let defaultGraceSeconds: Double = 10

  /// Hosts probed at once.
  public var concurrency: Int
  /// Bytes of stdout + stderr kept per host; the host is `truncated` past it.
  public var maxOutputBytes: Int
  /// The longest one host may take in all (connection, authentication, probe), in seconds.
  public var deadlineSeconds: Double
  /// Seconds for the TCP connection, banner and key exchange, and each later SSH round trip.
  public var connectTimeout: Int
  /// After Ctrl-C, seconds to wait for running hosts.
  public var graceSeconds: Double
  /// The SSH user when the inventory names none.
  public var user: String?
  /// Keys offered when the inventory names none; empty: ssh-agent, then the default keys.
  public var identityFiles: [String]
  /// A user certificate presented with the key it certifies; nil: `KEY-cert.pub` beside each
  /// key, when there is one.
  public var certificateFile: String?
  /// The OpenSSH client config libssh reads; nil: none.
  public var sshConfig: String?
  /// The known_hosts file host keys are checked against.
  public var knownHostsFile: String
  /// The system-wide known hosts are checked too (the SSH config's `GlobalKnownHostsFile`,
  /// else `/etc/ssh/ssh_known_hosts`), as OpenSSH checks them; false when `--known-hosts FILE`
  /// names the only file to trust.
  public var globalKnownHosts: Bool
  /// Unknown host keys are trusted on first use and added to `knownHostsFile`.
  public var acceptNewHostKeys: Bool
  /// How many times `--resume` continued the scan.
  public var resumed: Int
  /// A history database each host is also recorded in (`scan --history`).
  public var history: String?
  /// An ssh-agent socket; nil: `$SSH_AUTH_SOCK`. Not recorded: it belongs to the session
  /// that runs the scan.
  public var agentSocket: String?
  /// Jump hosts (a `ProxyJump` value) for hosts whose inventory entry names none; nil: the
  /// SSH config's `ProxyJump`, if any.
  public var jump: String?
  /// Channels open at once through one jump host's connection.
  public var jumpChannels: Int = ScanOptions.defaultJumpChannels
  /// sshd's default `MaxSessions`: what a bastion is asked to carry at once per connection.
  public static let defaultJumpChannels = 10
  /// Hosts compress the probe's stdout with zstd or gzip, when they have either
  /// (`Probe.remoteCommand`); false: it comes as the probe prints it.
  public var remoteCompression = true

  public init(
    concurrency: Int = ScanOptions.defaultConcurrency,
    maxOutputBytes: Int = ScanOptions.defaultMaxOutputBytes,
    deadlineSeconds: Double = ScanOptions.defaultDeadlineSeconds,
    connectTimeout: Int = ScanOptions.defaultConnectTimeout,
    graceSeconds: Double = ScanOptions.defaultGraceSeconds, user: String? = nil, identityFiles: [String] = [],
    certificateFile: String? = nil, sshConfig: String?, knownHostsFile: String, globalKnownHosts: Bool = true,
    acceptNewHostKeys: Bool = false,
    resumed: Int = 0, history: String? = nil, agentSocket: String? = nil
  ) {
    self.concurrency = concurrency
    self.maxOutputBytes = maxOutputBytes
    self.deadlineSeconds = deadlineSeconds
    self.connectTimeout = connectTimeout
    self.graceSeconds = graceSeconds
    self.user = user
    self.identityFiles = identityFiles
    self.certificateFile = certificateFile
    self.sshConfig = sshConfig
    self.knownHostsFile = knownHostsFile
    self.globalKnownHosts = globalKnownHosts
    self.acceptNewHostKeys = acceptNewHostKeys
    self.resumed = resumed
    self.history = history
    self.agentSocket = agentSocket
  }

  /// The defaults, with no SSH files: what a local scan records.
  public static let local = ScanOptions(concurrency: 1, sshConfig: nil, knownHostsFile: "")

  /// What the metadata records: every option but the agent socket.
  enum CodingKeys: String, CodingKey {
    case concurrency, maxOutputBytes, deadlineSeconds, connectTimeout, graceSeconds, user, identityFiles
    case certificateFile, sshConfig, knownHostsFile, globalKnownHosts, acceptNewHostKeys, resumed, history
    case jump, jumpChannels, remoteCompression
  }
}

extension ScanOptions {
  /// Options given on a command line, each nil when not given: a new scan applies them to the
  /// defaults, a resumed one to the options it recorded (the ones given again win).
  public struct Overrides: Sendable, Hashable {
    public var concurrency: Int?
    public var maxOutputBytes: Int?
    public var deadlineSeconds: Double?
    public var connectTimeout: Int?
    public var graceSeconds: Double?
    public var user: String?
    /// Empty: not given.
    public var identityFiles: [String] = []
    public var certificateFile: String?
    /// `.some(nil)`: read no SSH config (`--no-ssh-config`).
    public var sshConfig: String??
    /// Given: the only known hosts file (the system-wide one is not read).
    public var knownHostsFile: String?
    /// Only ever turns acceptance on: a resumed scan that trusted new keys keeps doing so.
    public var acceptNewHostKeys = false
    public var history: String?
    public var jump: String?
    public var jumpChannels: Int?
    public var remoteCompression: Bool?

    public init() {}
  }

  /// These options with every one `overrides` gives.
  public func applying(_ overrides: Overrides) -> ScanOptions {
    var options = self
    if let value = overrides.concurrency { options.concurrency = value }
    if let value = overrides.maxOutputBytes { options.maxOutputBytes = value }
    if let value = overrides.deadlineSeconds { options.deadlineSeconds = value }
    if let value = overrides.connectTimeout { options.connectTimeout = value }
    if let value = overrides.graceSeconds { options.graceSeconds = value }
    if let value = overrides.user { options.user = value }
    if !overrides.identityFiles.isEmpty { options.identityFiles = overrides.identityFiles }
    if let value = overrides.certificateFile { options.certificateFile = value }
    if let value = overrides.sshConfig { options.sshConfig = value }
    if let value = overrides.knownHostsFile {
      options.knownHostsFile = value
      options.globalKnownHosts = false
    }
    if overrides.acceptNewHostKeys { options.acceptNewHostKeys = true }
    if let value = overrides.history { options.history = value }
    if let value = overrides.jump { options.jump = value }
    if let value = overrides.jumpChannels { options.jumpChannels = value }
    if let value = overrides.remoteCompression { options.remoteCompression = value }
    return options
  }
}
