import Foundation
import Testing
import UnitModel

@Suite("scan options in the scan metadata")
struct ScanOptionsTests {
  @Test("every option round-trips through the metadata; the agent socket is not recorded")
  func roundTrip() throws {
    let options = ScanOptions(
      concurrency: 3, maxOutputBytes: 1 << 20, deadlineSeconds: 12.5, connectTimeout: 4, graceSeconds: 2,
      user: "audit", identityFiles: ["/k/a", "/k/b"], sshConfig: "/etc/ssh/audit_config",
      knownHostsFile: "/k/known_hosts", globalKnownHosts: false, acceptNewHostKeys: true, resumed: 2,
      history: "/k/history.db",
      agentSocket: "/run/agent")
    let data = try JSONEncoder().encode(options)
    var expected = options
    expected.agentSocket = nil
    #expect(try JSONDecoder().decode(ScanOptions.self, from: data) == expected)
    #expect(!String(decoding: data, as: UTF8.self).contains("agent"))
  }

  @Test("the system-wide known hosts are read unless --known-hosts names the only file, also on resume")
  func globalKnownHosts() {
    let defaults = ScanOptions(sshConfig: nil, knownHostsFile: "/home/u/.ssh/known_hosts")
    #expect(defaults.globalKnownHosts)
    var given = ScanOptions.Overrides()
    given.knownHostsFile = "/k/fleet_known_hosts"
    let only = defaults.applying(given)
    #expect(only.knownHostsFile == "/k/fleet_known_hosts" && !only.globalKnownHosts)
    var resumed = ScanOptions.Overrides()
    resumed.concurrency = 8
    #expect(!only.applying(resumed).globalKnownHosts, "a resumed scan keeps what it recorded")
  }
}
