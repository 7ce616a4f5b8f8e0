import Collector
import Foundation
import Inventory
import Normalize
import SSH
import Storage
import Synchronization
import TestSupport
import Testing
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Two network namespaces: the first reachable from here over a veth pair (10.231.N.1 here,
/// .2 there), the second reachable from the first only (10.232.N.1 there, .2 in the second).
/// Whatever listens on the second's loopback is reachable through both, and from nowhere else.
final class JumpNamespaces {
  let outer: String
  let inner: String
  let outerAddress: String
  let innerAddress: String

  init() throws {
    let n = Int.random(in: 1...250)
    let tag = "\(getpid() % 10000)x\(n)"
    outer = "ua-jo-\(tag)"
    inner = "ua-ji-\(tag)"
    outerAddress = "10.231.\(n).2"
    innerAddress = "10.232.\(n).2"
    try sh(
      """
      ip netns add \(outer) && ip netns add \(inner)
      ip link add uao\(tag) type veth peer name uaop\(tag) netns \(outer)
      ip addr add 10.231.\(n).1/30 dev uao\(tag) && ip link set uao\(tag) up
      ip -n \(outer) addr add \(outerAddress)/30 dev uaop\(tag) && ip -n \(outer) link set uaop\(tag) up
      ip -n \(outer) link set lo up
      ip -n \(outer) link add uai\(tag) type veth peer name uaip\(tag) netns \(inner)
      ip -n \(outer) addr add 10.232.\(n).1/30 dev uai\(tag) && ip -n \(outer) link set uai\(tag) up
      ip -n \(inner) addr add \(innerAddress)/30 dev uaip\(tag) && ip -n \(inner) link set uaip\(tag) up
      ip -n \(inner) link set lo up
      """)
  }

  deinit {
    _ = try? sh("ip netns del \(inner); ip netns del \(outer)")
  }
}

/// ProxyJump carried inside unitaudit, against real sshd servers: one connection per jump
/// host shared by the hosts behind it, every hop's key checked strictly.
@Suite("Native jump hosts against real sshd", .tags(.integration), .serialized)
struct JumpHostTests {
  func options(_ target: TestSSHServer, knownHosts: String, jumps: [JumpHost]? = nil) -> SSHOptions {
    var options = SSHOptions(
      host: target.addresses[0], port: target.port, user: NSUserName(),
      identityFiles: [target.keys.path("user_ed25519")], knownHostsFile: knownHosts, connectTimeout: 5,
      deadline: 30, maxOutputBytes: 1 << 20)
    options.jumpHosts = jumps
    return options
  }

  /// A known_hosts file with the servers' keys.
  func knownHosts(_ servers: [TestSSHServer], extra: [String] = []) throws -> String {
    var lines = extra
    for server in servers {
      lines += try String(contentsOfFile: try server.knownHosts("kh"), encoding: .utf8).split(separator: "\n")
        .map(
          String.init)
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-jump-kh-\(UUID().uuidString)"
    )
    .path
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test(
    "hosts reachable only through two jump hosts are probed; each jump host logs in once for all of them, within its channel limit",
    .enabled(if: getuid() == 0, "network namespaces need root"))
  func twoHops() throws {
    let spaces = try JumpNamespaces()
    let first = try TestSSHServer(addresses: [spaces.outerAddress], namespace: spaces.outer)
    let second = try TestSSHServer(addresses: [spaces.innerAddress], namespace: spaces.inner)
    let targets = try (0..<6).map { _ in try TestSSHServer(namespace: spaces.inner) }
    defer {
      for server in [first, second] + targets { server.stop() }
    }
    let kh = try knownHosts([first, second] + targets)
    let chain = [
      JumpHost(host: spaces.outerAddress, port: first.port, user: NSUserName()),
      JumpHost(host: spaces.innerAddress, port: second.port, user: NSUserName()),
    ]
    // Not reachable directly.
    #expect(throws: SSHError.self) {
      try SSHSession.run("true", options: options(targets[0], knownHosts: kh))
    }
    let relays = JumpRelayPool()
    let outputs = Mutex<[String]>([])
    // Six hosts at once through a second jump host that may carry two channels at once.
    let each = targets.map { target in
      var limited = options(target, knownHosts: kh, jumps: chain)
      limited.jumpChannels = 2
      return limited
    }
    DispatchQueue.concurrentPerform(iterations: each.count) { index in
      let text =
        (try? SSHSession.run("echo reached-$PPID", options: each[index], relays: relays))
        .map { String(decoding: $0.stdout, as: UTF8.self) } ?? "failed"
      outputs.withLock { $0.append(text) }
    }
    #expect(relays.peakChannels == [chain[0]: 1, chain[1]: 2])
    relays.shutdown()
    #expect(
      outputs.withLock { $0 }.filter { $0.hasPrefix("reached-") }.count == targets.count,
      "\(outputs.withLock { $0 })")
    for server in [first, second] + targets { server.stop() }
    #expect(first.acceptedLogins() == 1)
    #expect(second.acceptedLogins() == 1)
    #expect(targets.map { $0.acceptedLogins() } == Array(repeating: 1, count: targets.count))
  }

  @Test(
    "a scan of 32 hosts behind two jump hosts (inventory 'jump'): every host ok, one login per jump host; an unknown jump-host key refuses them all with its reason",
    .enabled(if: getuid() == 0, "network namespaces need root"))
  func scanBehindJumpHosts() async throws {
    let spaces = try JumpNamespaces()
    let first = try TestSSHServer(addresses: [spaces.outerAddress], namespace: spaces.outer)
    let second = try TestSSHServer(addresses: [spaces.innerAddress], namespace: spaces.inner)
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let faults = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-faults-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: faults, withIntermediateDirectories: true)
    // Recorded real hosts' probe outputs, on the inner namespace's loopback only.
    let targets = try [1, 17].map { start in
      try TestSSHServer(
        addresses: (start..<start + 16).map { "127.0.0.\($0)" },
        extraConfig: ["ForceCommand \(repository.path)/Tests/Faults/fault-host"],
        environment: [
          "FAULT_DIR": faults.path,
          "FIXTURES": repository.appendingPathComponent("Tests/NormalizeTests/Fixtures/probe").path,
        ], namespace: spaces.inner)
    }
    defer {
      for server in [first, second] + targets { server.stop() }
    }
    let jump =
      "\(NSUserName())@\(spaces.outerAddress):\(first.port),\(NSUserName())@\(spaces.innerAddress):\(second.port)"
    let hosts = targets.flatMap { server in
      server.addresses.map {
        FleetHost(name: "host-\($0)", address: $0, port: server.port, user: NSUserName(), jump: jump)
      }
    }
    func scan(knownHosts: String) async throws -> [HostReport] {
      let transport = SSHTransport(
        options: ScanOptions(
          concurrency: 16, deadlineSeconds: 60, connectTimeout: 10,
          identityFiles: [first.keys.path("user_ed25519")], sshConfig: nil, knownHostsFile: knownHosts))
      let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "unitaudit-jumpscan-\(UUID().uuidString)")
      defer { try? FileManager.default.removeItem(at: directory) }
      let metadata = ScanMetadata(
        id: "t", toolVersion: "test", probeVersion: Probe.version, mode: .ssh, startedAt: Date(), targets: [],
        plannedHosts: hosts.map(\.name))
      let store = try ScanStore.create(at: directory, metadata: metadata)
      let collector = Collector(transport: transport, probe: Probe.random(), store: store, concurrency: 16)
      let reports = try await collector.collect(hosts)
      transport.shutdown()
      try await store.close()
      return reports
    }
    let reports = try await scan(knownHosts: try knownHosts([first, second] + targets))
    #expect(reports.count == 32)
    #expect(
      reports.allSatisfy { $0.status.code == .ok },
      "\(reports.filter { $0.status.code != .ok }.map(\.status))")
    #expect(reports.allSatisfy { $0.services.count > 50 })
    // The second jump host's key missing: every host refused, and why.
    let refused = try await scan(knownHosts: try knownHosts([first] + targets))
    #expect(
      refused.allSatisfy {
        $0.status.code == .hostKeyUnknown
          && $0.status.reason?.hasPrefix(
            "jump host \(NSUserName())@\(spaces.innerAddress):\(second.port) (hop 2 of the chain): unknown host key"
          ) == true
      }, "\(refused.map(\.status))")
    for server in [first, second] + targets { server.stop() }
    #expect(first.acceptedLogins() == 2)
    #expect(second.acceptedLogins() == 1)
    #expect(targets.map { $0.acceptedLogins() }.reduce(0, +) == 32)
  }

  @Test(
    "a jump host's unknown or changed key refuses every host behind it, naming the hop",
    .enabled(if: getuid() == 0, "network namespaces need root"))
  func jumpHostKeyRefused() throws {
    let spaces = try JumpNamespaces()
    let bastion = try TestSSHServer(addresses: [spaces.outerAddress], namespace: spaces.outer)
    let target = try TestSSHServer(namespace: spaces.outer)
    defer {
      bastion.stop()
      target.stop()
    }
    let chain = [JumpHost(host: spaces.outerAddress, port: bastion.port, user: NSUserName())]
    let unknown = try knownHosts([target])
    #expect {
      try SSHSession.run("true", options: options(target, knownHosts: unknown, jumps: chain))
    } throws: { error in
      guard case .hostKeyUnknown(let text) = error as? SSHError else { return false }
      return text.hasPrefix(
        "jump host \(NSUserName())@\(spaces.outerAddress):\(bastion.port): unknown host key")
    }
    let changed = try knownHosts(
      [target],
      extra: ["[\(spaces.outerAddress)]:\(bastion.port) \(try bastion.keys.publicKey("other_host"))"])
    #expect {
      try SSHSession.run("true", options: options(target, knownHosts: changed, jumps: chain))
    } throws: { error in
      guard case .hostKeyChanged(let text) = error as? SSHError else { return false }
      return text.contains("jump host") && text.contains("HAS CHANGED")
    }
    bastion.stop()
    target.stop()
    #expect(bastion.acceptedLogins() == 0)
    #expect(target.acceptedLogins() == 0)
  }

  @Test(
    "a host known only through its CA, behind a jump host: its certificate is read through the jump too",
    .enabled(if: getuid() == 0, "network namespaces need root"))
  func certificateBehindJumpHost() throws {
    let spaces = try JumpNamespaces()
    let keys = try TestKeys.shared.get()
    let ca = keys.path("jump-ca-\(UUID().uuidString)")
    let hostKey = "hostcert-\(UUID().uuidString)"
    try sh(
      """
      ssh-keygen -q -t ed25519 -N '' -f \(ca) && ssh-keygen -q -t ed25519 -N '' -f \(keys.path(hostKey)) && \
      ssh-keygen -q -s \(ca) -h -I inner -n 127.0.0.1 -V -5m:+1h \(keys.path(hostKey)).pub
      """)
    let bastion = try TestSSHServer(addresses: [spaces.outerAddress], namespace: spaces.outer)
    let target = try TestSSHServer(
      hostKeys: [hostKey], extraConfig: ["HostCertificate \(keys.path(hostKey))-cert.pub"],
      namespace: spaces.outer)
    defer {
      bastion.stop()
      target.stop()
    }
    let caLine = try String(contentsOfFile: ca + ".pub", encoding: .utf8)
    let kh = try knownHosts([bastion], extra: ["@cert-authority [127.0.0.1]:\(target.port) \(caLine)"])
    let chain = [JumpHost(host: spaces.outerAddress, port: bastion.port, user: NSUserName())]
    let result = try SSHSession.run("echo certified", options: options(target, knownHosts: kh, jumps: chain))
    #expect(String(decoding: result.stdout, as: UTF8.self) == "certified\n")
    #expect(result.warnings.isEmpty, "\(result.warnings)")
  }

  @Test("ProxyJump from the SSH config (user@host:port) goes through unitaudit's own relay, not ssh -W")
  func configProxyJump() throws {
    let bastion = try TestSSHServer(addresses: ["127.0.0.53"])
    let target = try TestSSHServer(addresses: ["127.0.0.54"])
    defer {
      bastion.stop()
      target.stop()
    }
    let config = target.directory.appendingPathComponent("ssh_config").path
    try "Host 127.0.0.54\n  ProxyJump \(NSUserName())@127.0.0.53:\(bastion.port)\n".write(
      toFile: config, atomically: true, encoding: .utf8)
    var opts = options(target, knownHosts: try knownHosts([bastion, target]))
    opts.configFile = config
    // PATH without ssh: an ssh -W would fail to start.
    let path = getenv("PATH").map { String(cString: $0) }
    setenv("PATH", "/nonexistent", 1)
    defer { if let path { setenv("PATH", path, 1) } }
    let result = try SSHSession.run("echo through", options: opts)
    #expect(String(decoding: result.stdout, as: UTF8.self) == "through\n")
    bastion.stop()
    target.stop()
    #expect(bastion.acceptedLogins() == 1)
  }

  @Test("ProxyJump values and libssh's ProxyCommand for them read back as the same chain")
  func chains() throws {
    #expect(
      JumpHost.fromLibsshProxyCommand("ssh -l alice -p 2222 -W '[%h]:%p' bastion")
        == [JumpHost(host: "bastion", port: 2222, user: "alice")])
    #expect(
      JumpHost.fromLibsshProxyCommand("ssh -J bob@b2:2200 -W '[%h]:%p' a")
        == [JumpHost(host: "a"), JumpHost(host: "b2", port: 2200, user: "bob")])
    #expect(JumpHost.fromLibsshProxyCommand("nc %h %p") == nil)
    #expect(JumpHost.fromLibsshProxyCommand("ssh -W '[%h]:%p' -o X=y a") == nil)
    #expect(
      (try? JumpHost.chain("a, u@[2001:db8::1]:2200 ,b:22").get())
        == [
          JumpHost(host: "a"), JumpHost(host: "2001:db8::1", port: 2200, user: "u"),
          JumpHost(host: "b", port: 22),
        ])
    #expect((try? JumpHost.chain("none").get()) == [])
    #expect(throws: JumpSpecError.self) { try JumpHost.chain("a,,b").get() }
    #expect(throws: JumpSpecError.self) { try JumpHost.chain("a:99999").get() }
  }
}
