import CLibSSH
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One libssh session, used from one thread only: connect, verify the host key strictly,
/// authenticate with a key or the agent, run one command, disconnect. Blocking.
public final class SSHSession {
  let options: SSHOptions
  private(set) var session: ssh_session?
  /// When work on this host began: the deadline counts from here, across redials.
  let started: Date
  var warnings: [String] = []
  var acceptedHostKey: String?
  /// The known hosts lines for this host (from the files' shared, indexed parse), found
  /// once the session knows which files it checks and the name and port it looks up.
  private(set) var knownHostLines: [KnownHosts.Entry] = []
  /// The system-wide known hosts file checked, when one is.
  private(set) var globalFile: String?
  /// The jump hosts' connections, shared with the other sessions of a scan.
  let relays: JumpRelayPool?
  /// The jump hosts this session goes through (empty: none).
  var jumps: [JumpHost] = []
  /// The tunnel's socket when the session goes through jump hosts: libssh does not close a
  /// socket it was given, so the session does, after libssh is done with it.
  var tunnelSocket: Int32?
  /// How many times the server dropped the connection before its greeting.
  private(set) var redials = 0

  /// The host key algorithms offered, after those of the host's known keys: libssh's
  /// defaults but for DSA and security keys, which no fleet host presents as its host key.
  static let hostKeyAlgorithms = [
    "ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-512",
    "rsa-sha2-256",
  ]

  /// Serializes writes to known_hosts files across the threads of a scan.
  static let knownHostsLock = NSLock()

  public init(options: SSHOptions, started: Date = Date(), relays: JumpRelayPool? = nil) {
    self.options = options
    self.started = started
    self.relays = relays
  }

  deinit {
    if let session {
      ssh_disconnect(session)
      ssh_free(session)
    }
    if let tunnelSocket { close(tunnelSocket) }
  }

  /// Seconds to wait before dialling again when a server drops the connection before its
  /// greeting (each stretched by a random 50–150 %, so that many threads do not come back at
  /// once). sshd does that past its `MaxStartups` limit, which a scan's burst of connections
  /// can reach; it clears as soon as other connections authenticate.
  static let redialDelays = [0.5, 1.0, 2.0]

  /// Runs `command` on the host and returns what it printed. Throws `SSHError`. Jump hosts
  /// go through `relays` (a scan shares one among its hosts); without it, through connections
  /// of this call's own.
  public static func run(_ command: String, options: SSHOptions, relays: JumpRelayPool? = nil)
    throws(SSHError)
    -> SSHCommandResult
  {
    let own = relays == nil ? JumpRelayPool() : nil
    defer { own?.shutdown() }
    let session = try establish(options: options, relays: relays ?? own)
    var result = try session.execute(command)
    result.redials = session.redials
    return result
  }

  /// A session, connected, its host key checked and authenticated, for several commands in a
  /// row (`command`); every command must end within `options.deadline` of the connection.
  /// Blocks: call it on a thread of its own. Jump hosts go through `relays`.
  public static func open(options: SSHOptions, relays: JumpRelayPool) throws(SSHError) -> SSHSession {
    try establish(options: options, relays: relays)
  }

  /// Runs one more `command` on the host of a session made by `open`.
  public func command(_ command: String) throws(SSHError) -> SSHCommandResult {
    try execute(command)
  }

  /// A session connected, its host key checked and authenticated; dialled again when the
  /// server drops the connection before its greeting.
  static func establish(options: SSHOptions, relays: JumpRelayPool?) throws(SSHError) -> SSHSession {
    let started = Date()
    var delays = redialDelays[...]
    var drops: [String] = []
    while true {
      let session = SSHSession(options: options, started: started, relays: relays)
      do {
        try session.connect()
      } catch .dropped(let text) {
        drops.append(text)
        guard let delay = delays.popFirst().map({ $0 * Double.random(in: 0.5...1.5) }),
          session.remaining > delay + 1
        else {
          throw .unreachable(
            "the server closed the connection before its SSH greeting, \(drops.count) times (\(text)). "
              + "sshd does this past its MaxStartups limit of unauthenticated connections (scan with a "
              + "lower --concurrency, or raise MaxStartups on the host); a firewall or TCP wrapper that "
              + "closes connections, or a ProxyCommand that failed (its command's error is on "
              + "unitaudit's stderr), looks the same")
        }
        usleep(useconds_t(delay * 1_000_000))
        continue
      }
      try session.verifyHostKey()
      try session.authenticate()
      session.redials = drops.count
      return session
    }
  }

  var remaining: Double { options.deadline - Date().timeIntervalSince(started) }

  var errorText: String {
    guard let session, let text = ssh_get_error(UnsafeMutableRawPointer(session)) else {
      return "unknown error"
    }
    return String(cString: text)
  }

  func set(_ option: ssh_options_e, _ text: String) {
    guard let session else { return }
    _ = text.withCString { ssh_options_set(session, option, $0) }
  }

  private func set(_ option: ssh_options_e, int value: Int32) {
    guard let session else { return }
    var number = value
    _ = ssh_options_set(session, option, &number)
  }

  func connect() throws(SSHError) {
    guard let created = ssh_new() else { throw .failed("libssh could not create a session") }
    session = created
    set(SSH_OPTIONS_LOG_VERBOSITY, int: 0)
    set(SSH_OPTIONS_HOST, options.host)
    if let config = options.configFile {
      if FileManager.default.isReadableFile(atPath: config) {
        if ssh_options_parse_config(created, config) < 0 {
          let why = errorText.trimmingCharacters(in: .whitespaces)
          warnings.append(
            "could not fully parse SSH config \(config)\(why.isEmpty ? "" : ": \(why)"); using what was read")
        }
      } else if config != Self.defaultConfigFile {
        warnings.append("SSH config \(config) is not readable; ignored")
      }
    }
    var noMoreConfig = false
    _ = ssh_options_set(created, SSH_OPTIONS_PROCESS_CONFIG, &noMoreConfig)
    // Options set after the config, because parsing a config overwrites earlier options; a
    // config's LogLevel or StrictHostKeyChecking must never win.
    set(SSH_OPTIONS_LOG_VERBOSITY, int: 0)
    if let port = options.port {
      var value = CUnsignedInt(port)
      _ = ssh_options_set(created, SSH_OPTIONS_PORT, &value)
    }
    if let user = options.user { set(SSH_OPTIONS_USER, user) }
    set(SSH_OPTIONS_STRICTHOSTKEYCHECK, int: 1)
    if let agent = options.agentSocket { set(SSH_OPTIONS_IDENTITY_AGENT, agent) }
    var timeout = CLong(max(1, min(Double(options.connectTimeout), remaining.rounded(.up))))
    _ = ssh_options_set(created, SSH_OPTIONS_TIMEOUT, &timeout)
    // The known hosts are checked by unitaudit (`HostKeyCheck`), against an index of the files
    // that a scan's hosts share: libssh would read and match every line of them for every
    // host, twice. libssh reads none; it is told which key types the host is known by. The
    // files: the given one, and the system-wide one (the config's GlobalKnownHostsFile, else
    // /etc/ssh/ssh_known_hosts) unless only the given file counts.
    globalFile = globalKnownHostsFile
    let (host, port) = effectiveHostAndPort
    knownHostLines = KnownHostsFiles.cached([options.knownHostsFile] + (globalFile.map { [$0] } ?? []))
      .matching(host: host, port: port)
    set(SSH_OPTIONS_KNOWNHOSTS, "/dev/null")
    set(SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null")
    set(
      SSH_OPTIONS_HOSTKEYS,
      HostKeyCheck.algorithmOrder(for: knownHostLines, algorithms: Self.hostKeyAlgorithms).joined(
        separator: ","))

    guard remaining > 0 else { throw .timeout("no time left before connecting") }
    try connectThroughJumpHosts()
    if ssh_connect(created) != SSH_OK {
      let text = errorText
      if text.localizedCaseInsensitiveContains("timeout")
        || text.localizedCaseInsensitiveContains("timed out")
      {
        throw .timeout(
          "no SSH greeting within \(timeout) s: nothing answered, or what answered does not speak SSH (\(text))"
        )
      }
      // Accepted, then closed before the greeting: sshd past MaxStartups, worth another try.
      if text.contains("reset by peer") || text.contains("disconnected") || text.contains("closed by remote")
      {
        throw .dropped(text)
      }
      throw .unreachable(text)
    }
  }

  func authenticate() throws(SSHError) {
    guard let session else { throw .failed("no session") }
    let user = currentUser()
    var tried: [String] = []
    let fromConfig = configCertificates(user: user)
    if !options.identityFiles.isEmpty {
      for path in options.identityFiles {
        // The key with its user certificates first (as OpenSSH offers them), then alone.
        let named =
          options.certificateFile.map { [$0] }
          ?? (access(path + "-cert.pub", R_OK) == 0 ? [path + "-cert.pub"] : [])
        if try offer(path, certificates: named, alsoTry: fromConfig, alone: true, user: user, tried: &tried) {
          return
        }
      }
    } else {
      if options.agentSocket != nil || ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil {
        let result = ssh_userauth_agent(session, nil)
        if result == SSH_AUTH_SUCCESS.rawValue { return }
        if result == SSH_AUTH_ERROR.rawValue && remaining <= 0 { throw .timeout("authentication timed out") }
        tried.append("ssh-agent")
      }
      // The config's certificates go with the default keys they certify.
      if !fromConfig.isEmpty {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] where access("\(home)/.ssh/\(name)", R_OK) == 0 {
          if try offer(
            "\(home)/.ssh/\(name)", certificates: [], alsoTry: fromConfig, alone: false, user: user,
            tried: &tried)
          {
            return
          }
        }
      }
      let result = ssh_userauth_publickey_auto(session, nil, nil)
      if result == SSH_AUTH_SUCCESS.rawValue { return }
      tried.append("default identities")
    }
    if remaining <= 0 { throw .timeout("no time left to authenticate") }
    throw .authFailed(
      "authentication as \(user) refused; tried \(tried.isEmpty ? "nothing" : tried.joined(separator: ", ")) "
        + "(\(errorText)). Check the user, the key (-i/--identity or the inventory) and the host's authorized_keys."
    )
  }

  /// The config's `CertificateFile` lines for this host (`SSHConfigCertificates`), which
  /// libssh does not read; lines it cannot evaluate are named in the warnings.
  private func configCertificates(user: String) -> [String] {
    guard let config = options.configFile, let data = FileManager.default.contents(atPath: config) else {
      return []
    }
    let (hostName, _) = effectiveHostAndPort
    let found = SSHConfigCertificates.find(
      in: String(decoding: data, as: UTF8.self), file: config, host: options.host, hostName: hostName,
      remoteUser: user, home: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory(),
      localUser: NSUserName())
    warnings += found.skipped
    return found.files
  }

  /// Offers the key at `path`: with each of `certificates` (each must certify it), then with
  /// each of `alsoTry` that certifies it (the config's, which may be for other keys), then, if
  /// `alone`, by itself. True when the server accepted one.
  private func offer(
    _ path: String, certificates: [String], alsoTry: [String], alone: Bool, user: String,
    tried: inout [String]
  ) throws(SSHError) -> Bool {
    guard let session else { throw .failed("no session") }
    var attempts: [(certificate: String?, named: Bool)] =
      certificates.map { ($0, true) } + alsoTry.filter { !certificates.contains($0) }.map { ($0, false) }
    if alone { attempts.append((nil, true)) }
    for (certificate, named) in attempts {
      var key: ssh_key?
      let imported = ssh_pki_import_privkey_file(path, nil, unitaudit_no_passphrase, nil, &key)
      guard imported == SSH_OK, let key else {
        tried.append("key \(path) (unreadable, or encrypted: use ssh-agent for keys with a passphrase)")
        return false
      }
      defer { ssh_key_free(key) }
      var label = "key \(path)"
      if let certificate {
        var cert: ssh_key?
        guard ssh_pki_import_cert_file(certificate, &cert) == SSH_OK, let cert else {
          tried.append("certificate \(certificate) (unreadable, or not an OpenSSH certificate)")
          continue
        }
        defer { ssh_key_free(cert) }
        guard ssh_pki_copy_cert_to_privkey(cert, key) == SSH_OK else {
          if named { tried.append("certificate \(certificate) (it does not certify \(path))") }
          continue
        }
        label = "key \(path) with certificate \(certificate)"
      }
      let result = ssh_userauth_publickey(session, nil, key)
      if result == SSH_AUTH_SUCCESS.rawValue { return true }
      if result == SSH_AUTH_ERROR.rawValue {
        throw .authFailed("authentication as \(user) failed: \(errorText)")
      }
      tried.append(label)
    }
    return false
  }

  private func currentUser() -> String {
    guard let session else { return "?" }
    var value: UnsafeMutablePointer<CChar>?
    guard ssh_options_get(session, SSH_OPTIONS_USER, &value) == SSH_OK, let value else { return "?" }
    defer { ssh_string_free_char(value) }
    return String(cString: value)
  }

  func execute(_ command: String) throws(SSHError) -> SSHCommandResult {
    guard let session else { throw .failed("no session") }
    guard let channel = ssh_channel_new(session) else {
      throw .probeFailed("cannot open a channel: \(errorText)")
    }
    defer { ssh_channel_free(channel) }
    guard ssh_channel_open_session(channel) == SSH_OK else {
      throw .probeFailed("the server refused a session channel: \(errorText)")
    }
    guard ssh_channel_request_exec(channel, command) == SSH_OK else {
      throw .probeFailed("the server refused to run the probe: \(errorText)")
    }
    ssh_channel_send_eof(channel)

    let stdout = OutputBuffer()
    let stderr = OutputBuffer()
    var truncated = false
    var lost: String?
    func drain(_ isStderr: Int32) -> Bool {
      guard lost == nil else { return false }
      let output = isStderr == 0 ? stdout : stderr
      guard let space = output.space() else {
        lost = "no memory left for the probe's output"
        return false
      }
      let count = ssh_channel_read_nonblocking(channel, space.baseAddress, UInt32(space.count), isStderr)
      if count == SSH_ERROR {
        lost = errorText
        return false
      }
      guard count > 0 else { return false }
      if stdout.count + stderr.count + Int(count) > options.maxOutputBytes {
        truncated = true
        return false
      }
      output.commit(Int(count))
      return true
    }
    // Reads until the command ends, the cap is reached or the connection breaks; what arrived
    // before a break is kept (the status then says the probe did not finish).
    while !truncated && lost == nil {
      if remaining <= 0 {
        // Closing the channel and disconnecting must not wait on this host any longer:
        // in blocking mode libssh would flush for up to --connect-timeout more.
        ssh_set_blocking(session, 0)
        throw .timeout("the probe did not finish within the \(Int(options.deadline)) s deadline")
      }
      let waiting = ssh_channel_poll_timeout(channel, Int32(min(200, max(1, remaining * 1000))), 0)
      if waiting == SSH_ERROR { lost = errorText }
      while drain(0) {}
      while drain(1) {}
      if ssh_channel_is_eof(channel) != 0 {
        while drain(0) {}
        while drain(1) {}
        break
      }
      if ssh_channel_is_open(channel) == 0 { break }
    }
    var status: Int32?
    if truncated || lost != nil {
      ssh_channel_close(channel)
    } else {
      let code = ssh_channel_get_exit_status(channel)
      if code >= 0 { status = code }
      ssh_channel_close(channel)
    }
    return SSHCommandResult(
      stdout: stdout.joined(), stderr: stderr.joined(), exitStatus: status, truncated: truncated,
      connectionLost: lost,
      acceptedHostKey: acceptedHostKey,
      warnings: warnings)
  }

  /// `~/.ssh/config` of the user running unitaudit.
  public static var defaultConfigFile: String {
    (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.ssh/config"
  }

  /// `~/.ssh/known_hosts` of the user running unitaudit.
  public static var defaultKnownHostsFile: String {
    (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.ssh/known_hosts"
  }
}
