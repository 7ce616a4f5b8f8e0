import Foundation
import SSH
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Host certificates and `@revoked` lines against real sshd servers, each case decided by
/// unitaudit and by OpenSSH's `ssh` on the same known_hosts file.
@Suite("Host certificates against a real sshd, as OpenSSH decides", .tags(.integration), .serialized)
struct HostCertificateTests {
  /// A CA made by ssh-keygen, a second CA, and a folder for the files of one test.
  final class Authority {
    let work: URL
    var d: String { work.path }

    init() throws {
      work = FileManager.default.temporaryDirectory.appendingPathComponent(
        "unitaudit-hostcert-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
      try sh(
        "ssh-keygen -q -t ed25519 -N '' -C ca -f \(d)/ca && ssh-keygen -q -t ecdsa -N '' -C other-ca -f \(d)/other_ca"
      )
    }

    deinit { try? FileManager.default.removeItem(at: work) }

    func line(_ name: String) throws -> String {
      try String(contentsOfFile: "\(d)/\(name).pub", encoding: .utf8).split(separator: " ").prefix(2).joined(
        separator: " ")
    }

    /// A new host key (in the shared key folder, where TestSSHServer finds host keys) and a
    /// certificate for it made by `ssh-keygen -s CA` with `signing` (its options); the
    /// key's name.
    func hostKey(_ keys: TestKeys, signing: String, by ca: String = "ca") throws -> String {
      let name = "hostcert-\(UUID().uuidString)"
      try sh(
        "ssh-keygen -q -t ed25519 -N '' -f \(keys.path(name)) && ssh-keygen -q -s \(d)/\(ca) \(signing) \(keys.path(name)).pub"
      )
      return name
    }
  }

  /// An sshd that presents `hostKey` with its certificate.
  func server(_ keys: TestKeys, _ hostKey: String) throws -> TestSSHServer {
    try TestSSHServer(hostKeys: [hostKey], extraConfig: ["HostCertificate \(keys.path(hostKey))-cert.pub"])
  }

  func knownHosts(_ authority: Authority, _ lines: [String]) throws -> String {
    let path = "\(authority.d)/known_hosts-\(UUID().uuidString)"
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// What unitaudit decides: nil when the command ran, else the error.
  func unitaudit(_ server: TestSSHServer, knownHosts: String) -> (SSHError?, [String]) {
    let options = SSHOptions(
      host: server.addresses[0], port: server.port, user: NSUserName(),
      identityFiles: [server.keys.path("user_ed25519")], knownHostsFile: knownHosts, connectTimeout: 5,
      deadline: 30, maxOutputBytes: 1 << 20)
    do {
      let result = try SSHSession.run("echo ran", options: options)
      return result.stdout == Array("ran\n".utf8) ? (nil, result.warnings) : (.failed("no output"), [])
    } catch {
      return (error, [])
    }
  }

  /// What OpenSSH decides on the same file: true when it logged in.
  func openSSH(_ server: TestSSHServer, knownHosts: String) throws -> Bool {
    try TestSupport.run([
      "/usr/bin/ssh", "-F", "/dev/null", "-o", "UserKnownHostsFile=\(knownHosts)", "-o",
      "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o",
      "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "LogLevel=ERROR", "-i",
      server.keys.path("user_ed25519"), "-p", String(server.port), "\(NSUserName())@\(server.addresses[0])",
      "true",
    ]).status == 0
  }

  /// Checks that unitaudit refuses with `code` and a reason containing `reason`, that OpenSSH
  /// refuses too, and that nothing logged in.
  func expectRefused(
    _ server: TestSSHServer, _ knownHosts: String, reason: String, revoked: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let (error, _) = unitaudit(server, knownHosts: knownHosts)
    switch error {
    case .hostCertificateInvalid(let text) where !revoked, .hostKeyRevoked(let text) where revoked:
      #expect(text.contains(reason), "\(text)", sourceLocation: sourceLocation)
      #expect(text.contains("Nothing was run"), sourceLocation: sourceLocation)
    default:
      Issue.record(
        "unitaudit: \(error.map { "\($0)" } ?? "logged in"), expected a refusal",
        sourceLocation: sourceLocation)
    }
    #expect(try !openSSH(server, knownHosts: knownHosts), "OpenSSH logged in", sourceLocation: sourceLocation)
    server.stop()
    #expect(server.acceptedLogins() == 0, sourceLocation: sourceLocation)
  }

  @Test(
    "a valid host certificate and only @cert-authority lines (patterns, hashed, ports): accepted, as by OpenSSH"
  )
  func accepted() throws {
    let keys = try TestKeys.shared.get()
    let authority = try Authority()
    let name = try authority.hostKey(keys, signing: "-h -I good -n 127.0.0.1,web1 -V -5m:+1h")
    let host = try server(keys, name)
    defer { host.stop() }
    let ca = try authority.line("ca")
    // A wildcard pattern with the port, a negated pattern that does not apply, the CA only.
    let patterns = try knownHosts(authority, ["@cert-authority [127.0.0.?]:\(host.port),!10.* \(ca)"])
    #expect(unitaudit(host, knownHosts: patterns).0 == nil)
    #expect(try openSSH(host, knownHosts: patterns))
    // The exact name, hashed by ssh-keygen -H (which hashes the names of plain lines only:
    // the hashed name is moved onto the CA line).
    let plainLine = try knownHosts(authority, ["[127.0.0.1]:\(host.port) \(ca)"])
    try sh("ssh-keygen -q -H -f \(plainLine) && rm -f \(plainLine).old")
    let hashedName = try #require(
      try String(contentsOfFile: plainLine, encoding: .utf8).split(separator: " ").first.map(String.init))
    #expect(hashedName.hasPrefix("|1|"))
    let hashed = try knownHosts(authority, ["@cert-authority \(hashedName) \(ca)"])
    #expect(unitaudit(host, knownHosts: hashed).0 == nil)
    #expect(try openSSH(host, knownHosts: hashed))
    // A CA line for other hosts only: both refuse (the plain key is not known either).
    let elsewhere = try knownHosts(authority, ["@cert-authority *.example.org \(ca)"])
    let unknown = unitaudit(host, knownHosts: elsewhere).0
    guard case .hostKeyUnknown = unknown else {
      Issue.record("expected host-key-unknown, got \(unknown.map { "\($0)" } ?? "a login")")
      return
    }
    #expect(try !openSSH(host, knownHosts: elsewhere))
  }

  @Test(
    "refused with their reason, as by OpenSSH: expired, another name, a user certificate, a critical option")
  func invalid() throws {
    let keys = try TestKeys.shared.get()
    let authority = try Authority()
    let kh = try knownHosts(authority, ["@cert-authority * \(try authority.line("ca"))"])
    let expired = try server(
      keys, try authority.hostKey(keys, signing: "-h -I old -n 127.0.0.1 -V 20200101:20200201"))
    try expectRefused(expired, kh, reason: "expired at 2020-02-01")
    let notYet = try server(keys, try authority.hostKey(keys, signing: "-h -I later -n 127.0.0.1 -V +1d:+2d"))
    try expectRefused(notYet, kh, reason: "not yet valid")
    let otherName = try server(
      keys, try authority.hostKey(keys, signing: "-h -I db -n 127.0.0.99,db1 -V -5m:+1h"))
    try expectRefused(otherName, kh, reason: "is for 127.0.0.99, db1, not 127.0.0.1")
    let user = try server(keys, try authority.hostKey(keys, signing: "-I alice -n 127.0.0.1 -V -5m:+1h"))
    try expectRefused(user, kh, reason: "presented a user certificate")
    // ssh-keygen puts no critical option in a host certificate: Python's cryptography makes
    // one, signed by the same CA.
    let critical = "hostcert-\(UUID().uuidString)"
    try sh("ssh-keygen -q -t ed25519 -N '' -f \(keys.path(critical))")
    try signWithCriticalOption(ca: "\(authority.d)/ca", key: keys.path(critical))
    let criticalServer = try server(keys, critical)
    try expectRefused(criticalServer, kh, reason: "critical options (force-command)")
  }

  @Test("@revoked: the host key, and the CA, refuse the host as OpenSSH refuses it")
  func revoked() throws {
    let keys = try TestKeys.shared.get()
    let authority = try Authority()
    let ca = try authority.line("ca")
    let name = try authority.hostKey(keys, signing: "-h -I good -n 127.0.0.1 -V -5m:+1h")
    let hostKey = try keys.publicKey(name)
    let revokedKey = try knownHosts(authority, ["@cert-authority * \(ca)", "@revoked * \(hostKey)"])
    try expectRefused(try server(keys, name), revokedKey, reason: "marked @revoked", revoked: true)
    let revokedCA = try knownHosts(authority, ["@cert-authority * \(ca)", "@revoked * \(ca)"])
    try expectRefused(try server(keys, name), revokedCA, reason: "the CA that signed", revoked: true)
    // A revoked plain key (no certificate), even when it is also listed as the host's key.
    let plain = try TestSSHServer(hostKeys: [name])
    let revokedPlain = try knownHosts(
      authority, ["[127.0.0.1]:\(plain.port) \(hostKey)", "@revoked [127.0.0.1]:\(plain.port) \(hostKey)"])
    try expectRefused(plain, revokedPlain, reason: "marked @revoked", revoked: true)
  }

  @Test(
    "a certificate that fails, with its plain key known: accepted with a warning, as OpenSSH falls back to it"
  )
  func fallBackToPlainKey() throws {
    let keys = try TestKeys.shared.get()
    let authority = try Authority()
    let name = try authority.hostKey(keys, signing: "-h -I old -n 127.0.0.1 -V 20200101:20200201")
    let host = try server(keys, name)
    defer { host.stop() }
    let kh = try knownHosts(
      authority,
      [
        "@cert-authority * \(try authority.line("ca"))",
        "[127.0.0.1]:\(host.port) \(try keys.publicKey(name))",
      ])
    let (error, warnings) = unitaudit(host, knownHosts: kh)
    #expect(error == nil)
    #expect(warnings.contains { $0.contains("expired") && $0.contains("known key of the host") })
    #expect(try openSSH(host, knownHosts: kh))
  }

  /// Writes `KEY-cert.pub`: a host certificate for 127.0.0.1 with the critical option
  /// `force-command`, signed by `ca`, made with Python's cryptography (Ansible's dependency).
  func signWithCriticalOption(ca: String, key: String) throws {
    let python = try #require(
      ProcessInfo.processInfo.environment["UNITAUDIT_TEST_PYTHON"],
      "UNITAUDIT_TEST_PYTHON names the test venv's python")
    let script = """
      import sys, time
      from cryptography.hazmat.primitives import serialization
      from cryptography.hazmat.primitives.serialization import SSHCertificateBuilder, SSHCertificateType
      ca = serialization.load_ssh_private_key(open(sys.argv[1], "rb").read(), None)
      key = serialization.load_ssh_public_key(open(sys.argv[2] + ".pub", "rb").read())
      now = int(time.time())
      cert = (SSHCertificateBuilder().public_key(key).serial(7).type(SSHCertificateType.HOST)
              .key_id(b"critical").valid_principals([b"127.0.0.1"]).valid_after(now - 300)
              .valid_before(now + 3600).add_critical_option(b"force-command", b"true").sign(ca))
      open(sys.argv[2] + "-cert.pub", "wb").write(cert.public_bytes())
      """
    let path = key + ".py"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    try sh("'\(python)' '\(path)' '\(ca)' '\(key)'")
  }
}

/// The certificate check over files made by ssh-keygen, without a server.
@Suite("Host certificate checks over ssh-keygen's certificates")
struct HostCertificateCheckTests {
  /// A host key, certified for 127.0.0.1 by a CA of `caType` signing with `algorithm`; the
  /// certificate's blob, the plain key's blob and a known-hosts view holding the CA.
  func certified(caType: String, algorithm: String? = nil) throws -> (
    certificate: [UInt8], key: [UInt8], knownHosts: KnownHosts
  ) {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-certcheck-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let d = work.path
    try sh(
      """
      ssh-keygen -q -t \(caType) -N '' -f \(d)/ca && ssh-keygen -q -t ecdsa -N '' -f \(d)/host && \
      ssh-keygen -q -s \(d)/ca \(algorithm.map { "-t \($0)" } ?? "") -h -I h -n 127.0.0.1 -V -5m:+1h \(d)/host.pub
      """)
    func blob(_ file: String) throws -> [UInt8] {
      let field = try String(contentsOfFile: "\(d)/\(file)", encoding: .utf8).split(separator: " ")[1]
      return Array(try #require(Data(base64Encoded: String(field))))
    }
    let caLine = try String(contentsOfFile: "\(d)/ca.pub", encoding: .utf8)
    return (
      try blob("host-cert.pub"), try blob("host.pub"),
      KnownHosts(text: "@cert-authority * \(caLine)", file: "kh")
    )
  }

  func evaluate(_ made: (certificate: [UInt8], key: [UInt8], knownHosts: KnownHosts)) -> HostKeyCheck.Outcome
  {
    HostKeyCheck.evaluate(
      presented: made.certificate, sessionKey: made.key, host: "127.0.0.1", port: 22,
      knownHosts: made.knownHosts,
      now: Date())
  }

  @Test("CAs of every accepted kind verify: Ed25519, ECDSA P-256/384/521, RSA with SHA-256 and SHA-512")
  func caKinds() throws {
    for (type, algorithm) in [
      ("ed25519", nil), ("ecdsa -b 256", nil), ("ecdsa -b 384", nil), ("ecdsa -b 521", nil),
      ("rsa -b 2048", "rsa-sha2-256"), ("rsa -b 3072", "rsa-sha2-512"),
    ] {
      let outcome = evaluate(try certified(caType: type, algorithm: algorithm))
      guard case .certificateAccepted = outcome else {
        Issue.record("\(type) \(algorithm ?? ""): \(outcome)")
        continue
      }
    }
  }

  @Test("a SHA-1 RSA signature, a tampered certificate, and one for another key are refused")
  func refused() throws {
    let sha1 = evaluate(try certified(caType: "rsa -b 2048", algorithm: "ssh-rsa"))
    guard case .certificateInvalid(let sha1Why) = sha1 else {
      Issue.record("a SHA-1 signature passed: \(sha1)")
      return
    }
    #expect(sha1Why.contains("ssh-rsa (RSA with SHA-1)"))
    var tampered = try certified(caType: "ed25519")
    tampered.certificate[tampered.certificate.count - 1] ^= 1
    guard case .certificateInvalid(let why) = evaluate(tampered) else {
      Issue.record("a tampered certificate passed")
      return
    }
    #expect(why.contains("does not verify"))
    var swapped = try certified(caType: "ed25519")
    swapped.key = try certified(caType: "ed25519").key
    guard case .certificateInvalid(let other) = evaluate(swapped) else {
      Issue.record("a certificate of another key passed")
      return
    }
    #expect(other.contains("man-in-the-middle"))
  }

  @Test("known_hosts host fields: wildcards, negation, ports, hashed names, markers")
  func hostFields() {
    let text = """
      # a comment
      @cert-authority *.corp.example.org,!bad.corp.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==
      @revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB==
      [web?.example.org]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC==
      @unknown-marker host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID==
      short-line ssh-ed25519
      """
    let hosts = KnownHosts(text: text, file: "kh")
    #expect(hosts.entries.count == 3)
    #expect(
      hosts.matching(host: "DB1.corp.example.org", port: 22).map(\.marker) == [.certAuthority, .revoked])
    #expect(hosts.matching(host: "bad.corp.example.org", port: 22).map(\.marker) == [.revoked])
    #expect(hosts.matching(host: "db1.corp.example.org", port: 2222).map(\.marker) == [.revoked])
    #expect(hosts.matching(host: "web1.example.org", port: 2222).map(\.marker) == [.revoked, .none])
    #expect(hosts.matching(host: "web10.example.org", port: 2222).map(\.marker) == [.revoked])
  }

  @Test(
    "known_hosts of 10,000 lines: each host finds its own lines, by name, pattern or hash; appended lines are found"
  )
  func largeFile() throws {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    var lines = (0..<10_000).map { "[10.0.\($0 / 250).\($0 % 250)]:2222 \(key)" }
    lines.append("web*.example.org,!web9.example.org \(key)")
    let salt = Array("0123456789abcdefghij".utf8)
    let hashed =
      "|1|\(Data(salt).base64EncodedString())|\(Data(hmacForTests(salt, "db1.example.org")).base64EncodedString())"
    lines.append("\(hashed) \(key)")
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-kh-\(UUID().uuidString)"
    ).path
    defer { unlink(path) }
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    let hosts = KnownHosts.cached(file: path)
    #expect(hosts.entries.count == 10_002)
    #expect(hosts.matching(host: "10.0.7.42", port: 2222).map(\.line) == [7 * 250 + 42 + 1])
    #expect(hosts.matching(host: "10.0.7.42", port: 22).isEmpty)
    #expect(hosts.matching(host: "WEB1.example.org", port: 22).map(\.line) == [10_001])
    #expect(hosts.matching(host: "web9.example.org", port: 22).isEmpty)
    #expect(hosts.matching(host: "db1.example.org", port: 22).map(\.line) == [10_002])
    try KnownHosts.append(line: "[10.9.9.9]:2222 \(key)", to: path)
    let after = KnownHosts.cached(file: path)
    #expect(after.matching(host: "10.9.9.9", port: 2222).map(\.line) == [10_003])
    #expect(after.matching(host: "10.0.7.42", port: 2222).map(\.line) == [7 * 250 + 42 + 1])
    // The file as OpenSSH reads it: the appended line is its last, whole.
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.hasSuffix("\n[10.9.9.9]:2222 \(key)\n"))
  }
}

/// HMAC-SHA1 by OpenSSL's command line, as a second opinion on hashed names.
func hmacForTests(_ key: [UInt8], _ text: String) -> [UInt8] {
  let hexKey = key.map { String(format: "%02x", $0) }.joined()
  let output =
    (try? sh(
      "printf '%s' '\(text)' | openssl dgst -sha1 -mac HMAC -macopt hexkey:\(hexKey) -binary | od -An -tx1"))
    ?? ""
  let hex = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
  return hex.compactMap { UInt8($0, radix: 16) }
}
