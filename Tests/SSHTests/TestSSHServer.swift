import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension Tag {
  /// Tests that start real servers (sshd, ssh-agent) on loopback.
  @Tag static var integration: Self
}

enum TestError: Error, CustomStringConvertible {
  case setup(String)
  var description: String {
    switch self {
    case .setup(let text): "test setup failed: \(text)"
    }
  }
}

/// Runs a shell command to completion and returns its stdout; throws when it fails.
@discardableResult
func sh(_ command: String, environment: [String: String] = [:]) throws -> String {
  let base = FileManager.default.temporaryDirectory.appendingPathComponent(
    "unitaudit-sh-\(UUID().uuidString)"
  ).path
  defer {
    unlink(base + ".out")
    unlink(base + ".err")
  }
  let child = try Spawned(
    ["/bin/sh", "-c", "{ \(command) ; } 2>'\(base).err'"], output: base + ".out", environment: environment)
  let status = child.wait()
  let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
  guard status == 0 else {
    let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
    throw TestError.setup("`\(command)` exited \(status): \(errors)")
  }
  return output
}

/// Keys made once per test run: host keys for the servers, user keys for the clients.
final class TestKeys: Sendable {
  let directory: URL

  static let shared: Result<TestKeys, TestError> = {
    do { return .success(try TestKeys()) } catch let error as TestError { return .failure(error) } catch {
      return .failure(.setup("\(error)"))
    }
  }()

  private init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("unitaudit-ssh-\(getpid())")
    try? FileManager.default.removeItem(at: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let d = directory.path
    try sh(
      """
      ssh-keygen -q -t ed25519 -N '' -f \(d)/host_ed25519 && ssh-keygen -q -t rsa -b 3072 -N '' -f \(d)/host_rsa && \
      ssh-keygen -q -t ed25519 -N '' -f \(d)/user_ed25519 && ssh-keygen -q -t rsa -b 3072 -N '' -f \(d)/user_rsa && \
      ssh-keygen -q -t ecdsa -N '' -f \(d)/user_ecdsa && ssh-keygen -q -t ed25519 -N '' -f \(d)/stranger && \
      ssh-keygen -q -t ed25519 -N '' -f \(d)/other_host && \
      cat \(d)/user_ed25519.pub \(d)/user_rsa.pub \(d)/user_ecdsa.pub > \(d)/authorized_keys
      """)
  }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// The public key line (`type base64`) of a key file.
  func publicKey(_ name: String) throws -> String {
    let text = try String(contentsOfFile: path(name + ".pub"), encoding: .utf8)
    return text.split(separator: " ").prefix(2).joined(separator: " ")
  }
}

/// A real OpenSSH server on loopback with its own config, host keys and authorized_keys.
final class TestSSHServer {
  let keys: TestKeys
  let addresses: [String]
  let port: Int
  let directory: URL
  private let process: Spawned

  /// Starts sshd listening on `addresses` (at most 16) at one free port. A keyword in
  /// `extraConfig` replaces the default line with that keyword; `matchBlocks` come last, as
  /// sshd requires. Sessions get `environment` (sshd's SetEnv) and an empty HOME: the login
  /// shell (root's bash) would otherwise run this machine's ~/.bashrc for every command — on
  /// the build machines that starts pyenv, ~0.2 s of CPU per session, which the test hosts
  /// do not model.
  ///
  /// With `namespace`, sshd runs in that network namespace (`ip netns exec`), reachable only
  /// from where its addresses route.
  init(
    addresses: [String] = ["127.0.0.1"], hostKeys: [String] = ["host_ed25519", "host_rsa"],
    extraConfig: [String] = [], environment: [String: String] = [:], matchBlocks: [String] = [],
    namespace: String? = nil
  ) throws {
    let keys = try TestKeys.shared.get()
    self.keys = keys
    self.addresses = addresses
    let port = namespace == nil ? try freePort(on: addresses) : Int.random(in: 20000...60000)
    self.port = port
    let directory = keys.directory.appendingPathComponent("sshd-\(UUID().uuidString)")
    self.directory = directory
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    if getuid() == 0 {
      try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
    }
    let home = keys.directory.appendingPathComponent("home")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    let sessionEnvironment = environment.merging(["HOME": home.path]) { mine, _ in mine }
    let setEnv =
      "SetEnv "
      + sessionEnvironment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
      .joined(separator: " ")
    let defaults = [
      setEnv, "AuthorizedKeysFile \(keys.path("authorized_keys"))", "PidFile \(directory.path)/sshd.pid",
      "StrictModes no", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
      "KbdInteractiveAuthentication no", "UsePAM no", "MaxStartups 1000:30:1000", "MaxSessions 1000",
      "LogLevel VERBOSE", "UseDNS no",
    ]
    let replaced = Set(extraConfig.compactMap { $0.split(separator: " ").first.map(String.init) })
    let config =
      extraConfig + addresses.map { "ListenAddress \($0):\(port)" }
      + hostKeys.map { "HostKey \(keys.path($0))" }
      + defaults.filter { !replaced.contains(String($0.prefix { $0 != " " })) } + matchBlocks
    let configPath = directory.appendingPathComponent("sshd_config").path
    try config.joined(separator: "\n").appending("\n").write(
      toFile: configPath, atomically: true, encoding: .utf8)
    let logPath = directory.appendingPathComponent("sshd.log").path
    let process = try Spawned(
      (namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? [])
        + ["/usr/sbin/sshd", "-D", "-f", configPath, "-E", logPath],
      output: directory.appendingPathComponent("sshd.out").path)
    self.process = process
    if namespace != nil {
      // Not reachable from here: sshd's log says when it listens.
      let deadline = Date().addingTimeInterval(10)
      while !((try? String(contentsOfFile: logPath, encoding: .utf8))?.contains("Server listening") ?? false)
      {
        guard Date() < deadline, process.isRunning else {
          throw TestError.setup(
            "sshd did not listen in \(namespace ?? ""): \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")"
          )
        }
        usleep(20_000)
      }
    }
    for address in addresses where namespace == nil {
      let deadline = Date().addingTimeInterval(10)
      while !canConnect(address, port) {
        guard Date() < deadline, process.isRunning else {
          let log =
            (try? String(contentsOf: directory.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? ""
          throw TestError.setup("sshd did not listen on \(address):\(port): \(log)")
        }
        usleep(20_000)
      }
    }
  }

  func stop() { process.stop() }

  deinit { stop() }

  /// Writes a known_hosts file holding these host keys for every address.
  func knownHosts(_ name: String, keys hostKeys: [String] = ["host_ed25519", "host_rsa"]) throws -> String {
    let lines = try addresses.flatMap { address in
      try hostKeys.map { "[\(address)]:\(port) \(try keys.publicKey($0))" }
    }
    let path = directory.appendingPathComponent(name).path
    try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(
      toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// How many logins sshd accepted. Exact only after `stop()`: sshd writes some log lines late.
  func acceptedLogins() -> Int {
    let log = (try? String(contentsOf: directory.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? ""
    // sshd ends its log lines with CR LF, one Character in Swift: split on any newline.
    return log.split(whereSeparator: \.isNewline).filter { $0.contains("Accepted publickey") }.count
  }
}

/// A TCP listener that accepts connections (the kernel completes the handshake) and never speaks.
final class SilentListener {
  let port: Int
  private let fd: Int32

  init(address: String = "127.0.0.1") throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    self.fd = fd
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    inet_pton(AF_INET, address, &addr.sin_addr)
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(fd, 64) == 0 else { throw TestError.setup("cannot listen") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    port = Int(UInt16(bigEndian: addr.sin_port))
  }

  deinit { close(fd) }
}

/// Runs `call` on a fresh TCP socket with the IPv4 address and port; true when it returns 0.
private func withSocket(
  _ address: String, _ port: Int, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32
) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = in_port_t(UInt16(port).bigEndian)
  inet_pton(AF_INET, address, &addr.sin_addr)
  return withUnsafePointer(to: &addr) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  } == 0
}

func canConnect(_ address: String, _ port: Int) -> Bool { withSocket(address, port, connect) }

func canBind(_ address: String, _ port: Int) -> Bool { withSocket(address, port, bind) }

/// A port that is free on every address.
func freePort(on addresses: [String]) throws -> Int {
  for _ in 0..<200 {
    let port = Int.random(in: 20000...60000)
    if addresses.allSatisfy({ !canConnect($0, port) && canBind($0, port) }) { return port }
  }
  throw TestError.setup("no free port")
}
