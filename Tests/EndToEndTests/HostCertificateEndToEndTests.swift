import Foundation
import Storage
import TestSupport
import Testing
import UnitModel

/// The fleet's hosts present host certificates of a CA made here; the known hosts hold only
/// that CA's `@cert-authority` line. Each host is scanned `ok` by unitaudit and accepted by
/// OpenSSH's `ssh`; afterwards every host is as it was.
@Suite("End to end: the fleet known only through an SSH certificate authority", .tags(.e2e), .exclusive)
struct HostCertificateEndToEndTests {
  @Test(
    "every release's sshd presents a host certificate; unitaudit scans each host ok, and OpenSSH agrees",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func certifiedFleet() throws {
    let fleet = try #require(Fleet.configured)
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "e2e-hostcert-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let d = work.path
    _ = try run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-ca", "-f", "\(d)/ca"])

    // The hosts whose ed25519 key the fleet's known_hosts lists (the one left out cannot be
    // reached to install a certificate).
    let knownLines = try String(contentsOfFile: fleet.knownHosts, encoding: .utf8).split(separator: "\n")
    var keys: [String: String] = [:]
    for line in knownLines {
      let fields = line.split(separator: " ")
      if fields.count >= 3, fields[1] == "ssh-ed25519" {
        keys[String(fields[0])] = "\(fields[1]) \(fields[2])"
      }
    }
    let inventory = try String(contentsOfFile: fleet.inventory, encoding: .utf8)
    let hosts = inventory.split(separator: "\n").compactMap { line -> (name: String, address: String)? in
      guard let name = line.firstMatch(of: /name: ([^,]+),/)?.1,
        let address = line.firstMatch(of: /address: ([0-9.]+),/)?.1, keys[String(address)] != nil
      else { return nil }
      return (String(name), String(address))
    }
    #expect(hosts.count >= 6)

    func ssh(_ address: String, _ script: String, knownHosts: String) throws -> (
      status: Int32, output: String
    ) {
      try run(
        [
          "/usr/bin/timeout", "60", "/usr/bin/ssh", "-F", "/dev/null", "-i", fleet.key, "-o", "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(knownHosts)", "-o",
          "GlobalKnownHostsFile=/dev/null",
          "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "root@\(address)", "sh", "-s",
        ], input: script)
    }
    let remove = """
      rm -f /etc/ssh/sshd_config.d/unitaudit-test-cert.conf /etc/ssh/unitaudit-test-cert.pub
      systemctl reload ssh
      """
    defer {
      for host in hosts { _ = try? ssh(host.address, remove, knownHosts: fleet.knownHosts) }
    }
    // Each host's ed25519 key certified for the address unitaudit connects to.
    for host in hosts {
      let key = "\(d)/\(host.name).pub"
      try (try #require(keys[host.address]) + "\n").write(toFile: key, atomically: true, encoding: .utf8)
      _ = try run([
        "/usr/bin/ssh-keygen", "-q", "-s", "\(d)/ca", "-h", "-I", host.name, "-n", host.address, "-V",
        "-5m:+1h", key,
      ])
      let certificate = try String(contentsOfFile: "\(d)/\(host.name)-cert.pub", encoding: .utf8)
      let installed = try ssh(
        host.address,
        """
        printf '%s\\n' '\(certificate.trimmingCharacters(in: .whitespacesAndNewlines))' > /etc/ssh/unitaudit-test-cert.pub
        echo 'HostCertificate /etc/ssh/unitaudit-test-cert.pub' > /etc/ssh/sshd_config.d/unitaudit-test-cert.conf
        sshd -t && systemctl reload ssh
        """, knownHosts: fleet.knownHosts)
      #expect(installed.status == 0, "\(host.name): \(installed.output)")
    }
    usleep(500_000)

    let caOnly = "\(d)/known_hosts"
    let ca = try String(contentsOfFile: "\(d)/ca.pub", encoding: .utf8)
    try "@cert-authority 127.0.77.*,127.0.78.* \(ca)".write(toFile: caOnly, atomically: true, encoding: .utf8)
    var list = "defaults: { user: root, identity: \(fleet.key) }\nhosts:\n"
    for host in hosts { list += "  - { name: \(host.name), address: \(host.address) }\n" }
    let certifiedInventory = "\(d)/inventory.yml"
    try list.write(toFile: certifiedInventory, atomically: true, encoding: .utf8)
    let scanDirectory = "\(d)/scan"
    let scan = try run([
      try unitauditBinary(), "scan", "-i", certifiedInventory, "--known-hosts", caOnly, "--no-ssh-config",
      "--connect-timeout", "5", "-o", scanDirectory, "-q",
    ])
    #expect(scan.status == 0, "\(scan.output)")
    let scanned = try readScan(URL(fileURLWithPath: scanDirectory)).hosts
    #expect(scanned.count == hosts.count)
    for host in scanned {
      #expect(host.status.code == .ok, "\(host.name): \(host.status.description)")
      #expect(!host.services.isEmpty, "\(host.name)")
    }
    for host in hosts {
      #expect(try ssh(host.address, "true", knownHosts: caOnly).status == 0, "OpenSSH refused \(host.name)")
    }
  }
}
