import Foundation
import Testing
import UnitModel

@Suite("scan options in scan.json")
struct ScanOptionsTests {
  @Test("every option round-trips through scan.json; the agent socket is not recorded")
  func roundTrip() throws {
    let options = ScanOptions(
      concurrency: 3, maxOutputBytes: 1 << 20, deadlineSeconds: 12.5, connectTimeout: 4, graceSeconds: 2,
      user: "audit", identityFiles: ["/k/a", "/k/b"], sshConfig: "/etc/ssh/audit_config",
      knownHostsFile: "/k/known_hosts", acceptNewHostKeys: true, resumed: 2, history: "/k/history.db",
      agentSocket: "/run/agent")
    let data = try JSONEncoder().encode(options)
    var expected = options
    expected.agentSocket = nil
    #expect(try JSONDecoder().decode(ScanOptions.self, from: data) == expected)
    #expect(!String(decoding: data, as: UTF8.self).contains("agent"))
  }

  @Test("older scans (options as a map of strings) read into the same value")
  func legacyMap() throws {
    let ssh = #"""
      {"accept-new-host-keys":"true","concurrency":"8","connect-timeout":"5","deadline":"60.0",
       "identity":"/k/a\n/k/b","known-hosts":"/k/kh","max-output":"1048576","resumed":"1",
       "ssh-config":"","user":"audit"}
      """#
    #expect(
      try JSONDecoder().decode(ScanOptions.self, from: Data(ssh.utf8))
        == ScanOptions(
          concurrency: 8, maxOutputBytes: 1 << 20, deadlineSeconds: 60, connectTimeout: 5, user: "audit",
          identityFiles: ["/k/a", "/k/b"], sshConfig: nil, knownHostsFile: "/k/kh", acceptNewHostKeys: true,
          resumed: 1))
    // A local scan recorded the two limits only; the rest are the defaults.
    let local = #"{"deadline":"120.0","max-output":"67108864"}"#
    let read = try JSONDecoder().decode(ScanOptions.self, from: Data(local.utf8))
    #expect(read.maxOutputBytes == ScanOptions.defaultMaxOutputBytes)
    #expect(read.concurrency == ScanOptions.defaultConcurrency)
  }
}
