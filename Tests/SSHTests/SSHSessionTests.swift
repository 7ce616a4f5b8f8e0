import Foundation
import SSH
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// libssh against a real OpenSSH server: keys, agent, strict host-key checking, timeouts.
@Suite("SSH sessions against a real sshd", .tags(.integration), .serialized)
struct SSHSessionTests {
  func options(_ server: TestSSHServer, knownHosts: String, identity: String? = "user_ed25519") -> SSHOptions
  {
    SSHOptions(
      host: server.addresses[0], port: server.port, user: NSUserName(),
      identityFiles: identity.map { [server.keys.path($0)] } ?? [], configFile: nil,
      knownHostsFile: knownHosts,
      connectTimeout: 5, deadline: 30, maxOutputBytes: 64 << 20)
  }

  @Test("ed25519 host and user keys: stdout and stderr apart, exit status kept")
  func ed25519() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let result = try SSHSession.run(
      "echo out; echo err >&2; exit 3", options: options(server, knownHosts: try server.knownHosts("kh")))
    #expect(String(decoding: result.stdout, as: UTF8.self) == "out\n")
    #expect(String(decoding: result.stderr, as: UTF8.self) == "err\n")
    #expect(result.exitStatus == 3)
    #expect(!result.truncated)
  }

  @Test("RSA host key (the only one known) and RSA and ECDSA user keys")
  func rsa() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let rsaOnly = try server.knownHosts("kh-rsa", keys: ["host_rsa"])
    for key in ["user_rsa", "user_ecdsa"] {
      let result = try SSHSession.run(
        "echo \(key)", options: options(server, knownHosts: rsaOnly, identity: key))
      #expect(String(decoding: result.stdout, as: UTF8.self) == "\(key)\n")
    }
    // A server whose only host key is RSA.
    let rsaServer = try TestSSHServer(addresses: ["127.0.0.2"], hostKeys: ["host_rsa"])
    defer { rsaServer.stop() }
    let result = try SSHSession.run(
      "echo rsa", options: options(rsaServer, knownHosts: try rsaServer.knownHosts("kh", keys: ["host_rsa"])))
    #expect(result.exitStatus == 0)
  }

  @Test("authentication through ssh-agent")
  func agent() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let socket = server.directory.appendingPathComponent("agent.sock").path
    let agent = try Spawned(["ssh-agent", "-D", "-a", socket], output: socket + ".log")
    defer { agent.stop() }
    // The agent binds its socket before it listens: a connection in between is refused, so
    // the key is added again until the agent takes it.
    let deadline = Date().addingTimeInterval(5)
    while true {
      do {
        try sh("ssh-add -q \(server.keys.path("user_rsa"))", environment: ["SSH_AUTH_SOCK": socket])
        break
      } catch  where Date() < deadline {
        usleep(20_000)
      }
    }
    var opts = options(server, knownHosts: try server.knownHosts("kh"), identity: nil)
    opts.agentSocket = socket
    let result = try SSHSession.run("echo agent", options: opts)
    #expect(String(decoding: result.stdout, as: UTF8.self) == "agent\n")
  }

  @Test("a key the server does not know: auth-failed, with the user and the key named")
  func wrongKey() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    #expect {
      try SSHSession.run(
        "true", options: options(server, knownHosts: try server.knownHosts("kh"), identity: "stranger"))
    } throws: { error in
      guard case .authFailed(let text) = error as? SSHError else { return false }
      return text.contains(NSUserName()) && text.contains("stranger")
    }
  }

  @Test("an unknown host key is refused with its fingerprint; nothing runs")
  func unknownHostKey() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let marker = server.directory.appendingPathComponent("ran").path
    let empty = try server.knownHosts("empty", keys: [])
    #expect {
      try SSHSession.run("touch \(marker)", options: options(server, knownHosts: empty))
    } throws: { error in
      guard case .hostKeyUnknown(let text) = error as? SSHError else { return false }
      return text.contains("SHA256:") && text.contains("ssh-") && text.contains("--accept-new-host-keys")
    }
    // A known_hosts file that does not exist is the same refusal, and says so.
    #expect {
      try SSHSession.run("touch \(marker)", options: options(server, knownHosts: "/nonexistent/known_hosts"))
    } throws: { error in
      guard case .hostKeyUnknown(let text) = error as? SSHError else { return false }
      return text.contains("does not exist")
    }
    #expect(!FileManager.default.fileExists(atPath: marker))
    #expect(server.acceptedLogins() == 0)
  }

  @Test("a changed host key is refused loudly; nothing runs")
  func changedHostKey() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let marker = server.directory.appendingPathComponent("ran").path
    let wrong = try server.knownHosts("wrong", keys: ["other_host"])
    #expect {
      try SSHSession.run("touch \(marker)", options: options(server, knownHosts: wrong))
    } throws: { error in
      guard case .hostKeyChanged(let text) = error as? SSHError else { return false }
      return text.contains("CHANGED") || text.contains("other types")
    }
    #expect(!FileManager.default.fileExists(atPath: marker))
    #expect(server.acceptedLogins() == 0)
  }

  /// OpenSSH's verdict with the same files: 0 when it would run the command, 255 when host-key
  /// checking refuses.
  func openSSH(_ server: TestSSHServer, config: String, knownHosts: String) throws -> Int32 {
    try TestSupport.run([
      "/usr/bin/ssh", "-F", config, "-o", "UserKnownHostsFile=\(knownHosts)", "-o",
      "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", server.keys.path("user_ed25519"), "-p",
      String(server.port),
      "\(NSUserName())@\(server.addresses[0])", "true",
    ]).status
  }

  @Test(
    "the system-wide known hosts (the config's GlobalKnownHostsFile) count as OpenSSH counts them; --known-hosts alone does not read them"
  )
  func globalKnownHosts() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let empty = try server.knownHosts("empty", keys: [])
    let global = try server.knownHosts("global")
    let wrongGlobal = try server.knownHosts("global-wrong", keys: ["other_host"])
    func config(_ file: String) throws -> String {
      let path = server.directory.appendingPathComponent("ssh_config-\(UUID().uuidString)").path
      try "Host *\n  GlobalKnownHostsFile \(file)\n".write(toFile: path, atomically: true, encoding: .utf8)
      return path
    }
    var opts = options(server, knownHosts: empty)
    opts.globalKnownHosts = true
    // The key only in the system-wide file: both accept.
    opts.configFile = try config(global)
    #expect(try SSHSession.run("echo global", options: opts).stdout == Array("global\n".utf8))
    #expect(try openSSH(server, config: try #require(opts.configFile), knownHosts: empty) == 0)
    // Another key for the host there: both refuse, libssh as a changed key.
    opts.configFile = try config(wrongGlobal)
    #expect {
      try SSHSession.run("true", options: opts)
    } throws: { error in
      guard case .hostKeyChanged(let text) = error as? SSHError else { return false }
      return text.contains("system-wide")
    }
    #expect(try openSSH(server, config: try #require(opts.configFile), knownHosts: empty) == 255)
    // Only the given file (`--known-hosts FILE`): the system-wide one is not read.
    opts.configFile = try config(global)
    opts.globalKnownHosts = false
    #expect {
      try SSHSession.run("true", options: opts)
    } throws: { error in
      guard case .hostKeyUnknown = error as? SSHError else { return false }
      return true
    }
    #expect(try openSSH(server, config: try config("/dev/null"), knownHosts: empty) == 255)
  }

  @Test(
    "user certificates: KEY-cert.pub beside the key, --certificate, the config's CertificateFile, ssh-agent; OpenSSH decides the same"
  )
  func userCertificates() throws {
    // A CA the server trusts for users, and a key of the user's that authorized_keys does not list.
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-usercert-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let d = work.path
    _ = try sh(
      """
      ssh-keygen -q -t ed25519 -N '' -C ca -f \(d)/ca
      ssh-keygen -q -t ed25519 -N '' -C user -f \(d)/user
      ssh-keygen -q -s \(d)/ca -I unitaudit-test -n \(NSUserName()) -V -5m:+1h \(d)/user.pub
      cp \(d)/user \(d)/plain && cp \(d)/user.pub \(d)/plain.pub
      mkdir \(d)/elsewhere && cp \(d)/user-cert.pub \(d)/elsewhere/the-cert.pub
      ssh-keygen -q -s \(d)/ca -I wrong-user -n someone-else -V -5m:+1h -O no-port-forwarding \(d)/plain.pub
      mv \(d)/plain-cert.pub \(d)/elsewhere/wrong-principal-cert.pub
      """)
    let server = try TestSSHServer(extraConfig: ["TrustedUserCAKeys \(d)/ca.pub"])
    defer { server.stop() }
    let knownHosts = try server.knownHosts("kh")
    func attempt(_ identity: String, certificate: String? = nil) -> Bool {
      var opts = options(server, knownHosts: knownHosts, identity: nil)
      opts.identityFiles = ["\(d)/\(identity)"]
      opts.certificateFile = certificate
      return (try? SSHSession.run("true", options: opts)) != nil
    }
    func openSSH(_ identity: String, certificate: String? = nil) throws -> Bool {
      try TestSupport.run(
        [
          "/usr/bin/ssh", "-F", "/dev/null", "-o", "UserKnownHostsFile=\(knownHosts)", "-o",
          "StrictHostKeyChecking=yes",
          "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i",
          "\(d)/\(identity)",
        ] + (certificate.map { ["-o", "CertificateFile=\($0)"] } ?? []) + [
          "-p", String(server.port), "\(NSUserName())@\(server.addresses[0])", "true",
        ]
      ).status == 0
    }
    // The certificate beside the key: both log in.
    let viaFile = try openSSH("user")
    #expect(attempt("user") && viaFile)
    // The key alone (no certificate beside it, not in authorized_keys): both refused.
    let plain = try openSSH("plain")
    #expect(!attempt("plain") && !plain)
    // The certificate named (--certificate, CertificateFile): both log in.
    #expect(attempt("plain", certificate: "\(d)/elsewhere/the-cert.pub"))
    #expect(try openSSH("plain", certificate: "\(d)/elsewhere/the-cert.pub"))
    // CertificateFile in the SSH config, for this host, beside one for another key: both log in.
    let config = "\(d)/ssh_config"
    try """
    Host \(server.addresses[0])
      CertificateFile \(d)/elsewhere/wrong-principal-cert.pub
      CertificateFile \(d)/elsewhere/the-cert.pub
    """.write(toFile: config, atomically: true, encoding: .utf8)
    var fromConfig = options(server, knownHosts: knownHosts, identity: nil)
    fromConfig.identityFiles = ["\(d)/plain"]
    fromConfig.configFile = config
    #expect((try? SSHSession.run("true", options: fromConfig)) != nil)
    let openSSHConfig = try TestSupport.run([
      "/usr/bin/ssh", "-F", config, "-o", "UserKnownHostsFile=\(knownHosts)", "-o",
      "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i", "\(d)/plain",
      "-p", String(server.port), "\(NSUserName())@\(server.addresses[0])", "true",
    ]).status
    #expect(openSSHConfig == 0)
    // A certificate for another principal: both refused.
    #expect(!attempt("plain", certificate: "\(d)/elsewhere/wrong-principal-cert.pub"))
    #expect(!(try openSSH("plain", certificate: "\(d)/elsewhere/wrong-principal-cert.pub")))
    // The key and its certificate in ssh-agent.
    let socket = work.appendingPathComponent("agent.sock").path
    let agent = try Spawned(["ssh-agent", "-D", "-a", socket], output: socket + ".log")
    defer { agent.stop() }
    let deadline = Date().addingTimeInterval(5)
    while true {
      do {
        _ = try sh("ssh-add -q \(d)/user", environment: ["SSH_AUTH_SOCK": socket])
        break
      } catch  where Date() < deadline {
        usleep(20_000)
      }
    }
    #expect(try sh("ssh-add -l", environment: ["SSH_AUTH_SOCK": socket]).contains("CERT"))
    var opts = options(server, knownHosts: knownHosts, identity: nil)
    opts.agentSocket = socket
    #expect(try SSHSession.run("echo agent", options: opts).stdout == Array("agent\n".utf8))
  }

  @Test("--accept-new-host-keys records the key, and later connections check it")
  func acceptNew() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let file = try server.knownHosts("tofu", keys: [])
    var opts = options(server, knownHosts: file)
    opts.acceptNewHostKeys = true
    let first = try SSHSession.run("echo first", options: opts)
    #expect(first.acceptedHostKey?.contains("SHA256:") == true)
    let text = try String(contentsOfFile: file, encoding: .utf8)
    #expect(text.contains("[\(server.addresses[0])]:\(server.port)"))
    opts.acceptNewHostKeys = false
    let second = try SSHSession.run("echo second", options: opts)
    #expect(second.acceptedHostKey == nil)
    #expect(String(decoding: second.stdout, as: UTF8.self) == "second\n")
  }

  @Test("a StrictHostKeyChecking=no config line cannot turn checking off")
  func configCannotDisableChecking() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let config = server.directory.appendingPathComponent("ssh_config").path
    try "Host *\n  StrictHostKeyChecking no\n  LogLevel DEBUG3\n".write(
      toFile: config, atomically: true, encoding: .utf8)
    var opts = options(server, knownHosts: try server.knownHosts("empty", keys: []))
    opts.configFile = config
    #expect(throws: SSHError.self) { try SSHSession.run("true", options: opts) }
  }

  @Test(
    "through a jump host: an unknown jump-host key stops the scan of the target; a known one lets it through")
  func jumpHost() throws {
    let jump = try TestSSHServer(addresses: ["127.0.0.51"])
    let target = try TestSSHServer(addresses: ["127.0.0.52"])
    defer {
      jump.stop()
      target.stop()
    }
    let keys = target.keys
    var opts = options(target, knownHosts: try target.knownHosts("kh"))
    // ProxyJump, carried by unitaudit itself: the jump host's key is checked against the same
    // known hosts, which do not list it.
    let jumpConfig = target.directory.appendingPathComponent("jump_config").path
    try "Host \(target.addresses[0])\n  ProxyJump \(NSUserName())@\(jump.addresses[0]):\(jump.port)\n".write(
      toFile: jumpConfig, atomically: true, encoding: .utf8)
    opts.configFile = jumpConfig
    #expect {
      try SSHSession.run("echo reached", options: opts)
    } throws: { error in
      guard case .hostKeyUnknown(let text) = error as? SSHError else { return false }
      return text.hasPrefix("jump host")
    }
    // A ProxyCommand stays an external command: ssh -F with its own known_hosts.
    let hopConfig = target.directory.appendingPathComponent("hop_config").path
    let hopKnownHosts = target.directory.appendingPathComponent("hop_known_hosts").path
    try """
    Host *
      User \(NSUserName())
      IdentityFile \(keys.path("user_ed25519"))
      UserKnownHostsFile \(hopKnownHosts)
      GlobalKnownHostsFile /dev/null
      StrictHostKeyChecking yes
      BatchMode yes
    """.write(toFile: hopConfig, atomically: true, encoding: .utf8)
    try "".write(toFile: hopKnownHosts, atomically: true, encoding: .utf8)
    let proxyConfig = target.directory.appendingPathComponent("proxy_config").path
    try """
    Host \(target.addresses[0])
      ProxyCommand ssh -F \(hopConfig) -p \(jump.port) -W [%h]:%p \(jump.addresses[0])
    """.write(toFile: proxyConfig, atomically: true, encoding: .utf8)
    opts.configFile = proxyConfig
    #expect(throws: SSHError.self) { try SSHSession.run("echo reached", options: opts) }
    // Nothing ran on the target while the jump host was not trusted.
    #expect(target.acceptedLogins() == 0)
    try String(contentsOfFile: try jump.knownHosts("kh"), encoding: .utf8).write(
      toFile: hopKnownHosts, atomically: true, encoding: .utf8)
    let result = try SSHSession.run("echo reached", options: opts)
    #expect(String(decoding: result.stdout, as: UTF8.self) == "reached\n")
    target.stop()
    #expect(target.acceptedLogins() == 1)
  }

  @Test("a listener that never speaks: timeout within the connect timeout")
  func silentListener() throws {
    let listener = try SilentListener()
    let started = Date()
    let opts = SSHOptions(
      host: "127.0.0.1", port: listener.port, identityFiles: [], configFile: nil, knownHostsFile: "/dev/null",
      connectTimeout: 2, deadline: 10, maxOutputBytes: 1 << 20)
    #expect {
      try SSHSession.run("true", options: opts)
    } throws: { error in
      if case .timeout = error as? SSHError { return true }
      return false
    }
    #expect(Date().timeIntervalSince(started) < 4)
  }

  @Test("a closed port: unreachable")
  func closedPort() throws {
    let port = try freePort(on: ["127.0.0.1"])
    let opts = SSHOptions(
      host: "127.0.0.1", port: port, configFile: nil, knownHostsFile: "/dev/null", connectTimeout: 2,
      deadline: 10, maxOutputBytes: 1 << 20)
    #expect {
      try SSHSession.run("true", options: opts)
    } throws: { error in
      if case .unreachable(let text) = error as? SSHError { return text.contains("refused") }
      return false
    }
  }

  @Test("the output cap stops the command and marks the output truncated")
  func outputCap() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    var opts = options(server, knownHosts: try server.knownHosts("kh"))
    opts.maxOutputBytes = 1 << 20
    let result = try SSHSession.run("head -c 20000000 /dev/zero", options: opts)
    #expect(result.truncated)
    #expect(result.stdout.count <= 1 << 20)
  }
}

@Suite("SSH config files", .tags(.integration), .serialized)
struct SSHConfigTests {
  @Test("a config line libssh cannot read is reported on the host, which is still scanned")
  func badConfigLine() throws {
    let server = try TestSSHServer()
    defer { server.stop() }
    let config = server.directory.appendingPathComponent("ssh_config").path
    try "Host *\n  Match foo\n".write(toFile: config, atomically: true, encoding: .utf8)
    let opts = SSHOptions(
      host: server.addresses[0], port: server.port, user: NSUserName(),
      identityFiles: [server.keys.path("user_ed25519")], configFile: config,
      knownHostsFile: try server.knownHosts("kh"), connectTimeout: 5, deadline: 30, maxOutputBytes: 1 << 20)
    let result = try SSHSession.run("echo ok", options: opts)
    #expect(String(decoding: result.stdout, as: UTF8.self) == "ok\n")
    #expect(result.warnings.count == 1)
    #expect(result.warnings.first?.contains(config) == true)
  }

  @Test("the config lint names file and line of unknown keywords, missing values and open quotes")
  func lint() {
    let text = """
      # comment
      Host web*
        HostName 10.0.0.1
        Prot 22
        User
        IdentityFile "/path/with space
      IgnoreUnknown UseKeychain,Foo*
      Host *
        UseKeychain yes
        FooBar 1
        port=2222
      """
    let problems = SSHConfigLint.check(text, file: "cfg")
    #expect(problems.map(\.line) == [4, 5, 6])
    #expect(problems[0].description == "cfg:4: unknown keyword 'Prot'")
    #expect(problems[1].description.contains("no value"))
    #expect(problems[2].description.contains("quote"))
  }

  @Test("config lines that weaken host-key checking are named, louder when a ProxyCommand's ssh obeys them")
  func lintWeakening() {
    let plain = SSHConfigLint.check(
      "Host lab*\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n", file: "cfg")
    #expect(plain.map(\.line) == [2, 3])
    #expect(plain.allSatisfy { $0.message.contains("unitaudit ignores it (checking stays strict)") })
    // ProxyJump is carried by unitaudit, which ignores the line for the jump host too.
    let jumped = SSHConfigLint.check(
      "Host bastion\n  StrictHostKeyChecking=accept-new\nHost web*\n  ProxyJump bastion\n", file: "cfg")
    #expect(jumped.map(\.line) == [2])
    #expect(jumped.allSatisfy { $0.message.contains("unitaudit ignores it (checking stays strict)") })
    let proxied = SSHConfigLint.check(
      "Host bastion\n  StrictHostKeyChecking=accept-new\nHost web*\n  ProxyCommand ssh -W %h:%p bastion\n"
        + "Host *\n  StrictHostKeyChecking yes\n  KnownHostsCommand /bin/true\n", file: "cfg")
    #expect(proxied.map(\.line) == [2, 7])
    #expect(proxied.allSatisfy { $0.message.contains("a ProxyCommand runs obeys it") })
    #expect(SSHConfigLint.check("Host *\n  ProxyJump none\n  StrictHostKeyChecking ask\n", file: "c").isEmpty)
    // The system-wide file read (GlobalKnownHostsFile, even /dev/null: fewer keys trusted) is no
    // weakening; CertificateFile is read by unitaudit.
    #expect(
      SSHConfigLint.check(
        "Host *\n  GlobalKnownHostsFile /dev/null\n  CertificateFile ~/.ssh/id_ed25519-cert.pub\n", file: "c"
      ).isEmpty)
  }

  @Test("the config's CertificateFile lines for a host: Host and Match blocks, negation, expansions")
  func configCertificates() {
    let text = """
      CertificateFile ~/.ssh/global-cert.pub
      Host web* !web9
        CertificateFile %d/.ssh/%r@%h-cert.pub
      Host db1
        CertificateFile /etc/db-cert.pub
      Match host 10.0.0.*
        CertificateFile "/etc/by-address-%%-cert.pub"
      Match exec "true"
        CertificateFile /etc/never-cert.pub
      Include other.conf
      """
    func find(_ host: String, _ hostName: String) -> SSHConfigCertificates.Found {
      SSHConfigCertificates.find(
        in: text, file: "cfg", host: host, hostName: hostName, remoteUser: "audit", home: "/home/me",
        localUser: "me")
    }
    let web1 = find("web1", "10.0.0.5")
    #expect(
      web1.files == [
        "/home/me/.ssh/global-cert.pub", "/home/me/.ssh/audit@10.0.0.5-cert.pub",
        "/etc/by-address-%-cert.pub",
      ])
    #expect(
      web1.skipped == [
        "cfg:9: CertificateFile in a Match block unitaudit does not evaluate",
        "cfg:10: Include is not followed for CertificateFile",
      ])
    #expect(find("web9", "web9").files == ["/home/me/.ssh/global-cert.pub"])
    #expect(find("DB1", "db1.example.org").files == ["/home/me/.ssh/global-cert.pub", "/etc/db-cert.pub"])
  }
}
