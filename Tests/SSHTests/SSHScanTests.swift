import Collector
import Foundation
import Inventory
import Normalize
import Storage
import TestSupport
import Testing
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Scans over SSH against real sshd servers on loopback: many hosts at once, the CLI's
/// progress, Ctrl-C and --resume.
@Suite("Fleet scans over SSH against real sshd", .tags(.integration), .serialized, .exclusive)
struct SSHScanTests {
  /// The test's sshd runs the probe on this machine: a host without systemd as PID 1
  /// (`no-systemd`) on a CI runner, a host with data on a booted machine.
  static let booted = FileManager.default.fileExists(atPath: "/run/systemd/system")

  /// Whether `code` is what the probe gives on this machine.
  static func probed(_ code: HostStatusCode) -> Bool { booted ? code.hasData : code == .noSystemd }

  /// The exit status of a scan of this machine's sshd alone: 1 where its hosts have no
  /// systemd, 0 where they have data.
  static var scanStatus: Int32 { booted ? 0 : 1 }

  /// `count` loopback addresses from 127.0.`subnet`.1 on, spread over as many sshd servers
  /// as needed (one sshd takes at most 16 ListenAddress lines).
  func servers(
    count: Int, subnet: Int, extraConfig: [String] = [], environment: [String: String] = [:]
  ) throws -> [TestSSHServer] {
    let addresses = (1...count).map { "127.0.\(subnet).\($0)" }
    return try stride(from: 0, to: count, by: 16).map { start in
      try TestSSHServer(
        addresses: Array(addresses[start..<min(start + 16, count)]), extraConfig: extraConfig,
        environment: environment)
    }
  }

  /// The repository's root, for Tests/Faults and the recorded probe outputs.
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  func knownHosts(_ servers: [TestSSHServer]) throws -> String {
    let paths = try servers.map { try $0.knownHosts("kh") }
    let merged = try paths.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
    let path = try scratch().appendingPathComponent("known_hosts").path
    try merged.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func scratch() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-scan-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// The hosts answer with probe outputs recorded from real systemd hosts (Tests/Faults/fault-host,
  /// no faults), so the test weighs the fan-out alone and gives the same on any machine: a
  /// booted machine's own probe, run 100 times on the machine that also runs the collector,
  /// would measure that machine instead.
  @Test("100 hosts at concurrency 32: every host probed once and recorded")
  func hundredHosts() async throws {
    let faults = try scratch()
    let fleet = try servers(
      count: 100, subnet: 61,
      extraConfig: ["ForceCommand \(Self.repository.path)/Tests/Faults/fault-host"],
      environment: [
        "FAULT_DIR": faults.path,
        "FIXTURES": Self.repository.appendingPathComponent("Tests/NormalizeTests/Fixtures/probe").path,
      ])
    defer { fleet.forEach { $0.stop() } }
    #expect(fleet.count == 7)
    let hosts = fleet.flatMap { server in
      server.addresses.map {
        FleetHost(name: "host-\($0)", address: $0, port: server.port, user: NSUserName())
      }
    }
    let keys = try TestKeys.shared.get()
    let transport = SSHTransport(
      options: ScanOptions(
        concurrency: 32, deadlineSeconds: 60, connectTimeout: 10, identityFiles: [keys.path("user_ed25519")],
        sshConfig: nil, knownHostsFile: try knownHosts(fleet)))
    let directory = try scratch().appendingPathComponent("scan")
    let metadata = ScanMetadata(
      id: "t", toolVersion: "test", probeVersion: Probe.version, mode: .ssh, startedAt: Date(), targets: [],
      plannedHosts: hosts.map(\.name))
    let store = try ScanStore.create(at: directory, metadata: metadata)
    let collector = Collector(transport: transport, probe: Probe.random(), store: store, concurrency: 32)
    let started = Date()
    let reports = try await collector.collect(hosts)
    transport.shutdown()
    try await store.close()
    let elapsed = Date().timeIntervalSince(started)
    #expect(reports.count == 100)
    // Every host answered with a recorded real host's output, and each was understood.
    let statuses = Dictionary(grouping: reports, by: \.status.code).mapValues(\.count)
    #expect(statuses == [.ok: 100], "\(reports.filter { $0.status.code != .ok }.map(\.status))")
    #expect(reports.allSatisfy { $0.services.count > 50 })
    let loaded = try readScan(directory)
    #expect(Set(loaded.hosts.map(\.name)) == Set(hosts.map(\.name)))
    for host in hosts {
      #expect(try Evidence.read(scan: directory, host: host.name).output.stdout.count > 100_000)
    }
    fleet.forEach { $0.stop() }
    let logins = fleet.map { $0.acceptedLogins() }
    #expect(logins.reduce(0, +) == 100)
    print("100 hosts over SSH at concurrency 32: \(String(format: "%.1f", elapsed)) s")
  }

  func unitauditBinary() throws -> String { try TestSupport.unitauditBinary() }

  func lines(_ url: URL) -> [String] {
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map(String.init)
  }

  /// Servers whose every probe takes a second longer, so that a scan is still running when it
  /// is interrupted; and a plain inventory of their addresses (with `user@` when given).
  func slowFleet(count: Int, subnet: Int, user: String?, in work: URL) throws -> (
    fleet: [TestSSHServer], inventory: String
  ) {
    let fleet = try servers(
      count: count, subnet: subnet,
      extraConfig: ["ForceCommand sleep 1; exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\""])
    let inventory = work.appendingPathComponent("hosts.txt").path
    let entries = fleet.flatMap { server in
      server.addresses.map { "\(user.map { $0 + "@" } ?? "")\($0):\(server.port)" }
    }
    try entries.joined(separator: "\n").write(toFile: inventory, atomically: true, encoding: .utf8)
    return (fleet, inventory)
  }

  /// Starts `unitaudit scan ARGUMENTS`, sends it Ctrl-C once `directory` holds `hosts` hosts,
  /// and returns its exit status and output.
  func scanInterrupted(_ arguments: [String], directory: URL, after hosts: Int, log: String) throws -> (
    status: Int32, output: String
  ) {
    let scan = try Spawned(
      [try unitauditBinary(), "scan"] + arguments + ["-o", directory.path], output: log)
    let deadline = Date().addingTimeInterval(60)
    while ScanStore.recordedHosts(in: directory) < hosts && Date() < deadline && scan.isRunning {
      usleep(50_000)
    }
    kill(scan.pid, SIGINT)
    let status = scan.wait()
    return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
  }

  @Test("Ctrl-C leaves a valid interrupted scan with every finished host; --resume probes only the rest")
  func interruptAndResume() throws {
    let work = try scratch()
    let (fleet, inventory) = try slowFleet(count: 12, subnet: 62, user: NSUserName(), in: work)
    defer { fleet.forEach { $0.stop() } }
    let server = try #require(fleet.first)
    let keys = try TestKeys.shared.get()
    let directory = work.appendingPathComponent("scan")
    let log = work.appendingPathComponent("scan.log").path
    let (status, output) = try scanInterrupted(
      [
        "-i", inventory, "--concurrency", "2", "--known-hosts", try knownHosts(fleet), "--identity",
        keys.path("user_ed25519"), "--no-ssh-config",
      ], directory: directory, after: 3, log: log)
    #expect(status == 130, "\(output)")
    #expect(output.contains("--resume"))

    let interrupted = try readScan(directory)
    #expect(interrupted.metadata.state == .interrupted)
    let finished = interrupted.hosts.map(\.name)
    #expect(finished.count >= 3 && finished.count < 12, "\(finished)")
    #expect(interrupted.metadata.counts.hosts == finished.count)
    #expect(interrupted.hosts.allSatisfy { Self.probed($0.status.code) })

    let resumed = try Spawned(
      [try unitauditBinary(), "scan", "--resume", directory.path], output: log + ".2")
    let resumedStatus = resumed.wait()
    let resumedOutput = (try? String(contentsOfFile: log + ".2", encoding: .utf8)) ?? ""
    // Exit 1: these hosts have no systemd, which is a failure to audit, not a crash.
    #expect(resumedStatus == Self.scanStatus, "\(resumedOutput)")
    #expect(resumedOutput.contains("\(finished.count) of 12 hosts done"))
    let complete = try readScan(directory)
    #expect(complete.metadata.state == .complete)
    #expect(Set(complete.hosts.map(\.name)) == Set(server.addresses))
    // Nothing was probed twice: one record and one login per host.
    #expect(ScanStore.recordedHosts(in: directory) == 12)
    server.stop()
    #expect(server.acceptedLogins() == 12)
  }

  @Test("--resume reads back every option the interrupted scan was given")
  func resumeKeepsOptions() throws {
    let work = try scratch()
    let (fleet, inventory) = try slowFleet(count: 8, subnet: 64, user: nil, in: work)
    defer { fleet.forEach { $0.stop() } }
    let keys = try TestKeys.shared.get()
    let directory = work.appendingPathComponent("scan")
    let config = work.appendingPathComponent("ssh_config").path
    try "# no settings\n".write(toFile: config, atomically: true, encoding: .utf8)
    let knownHostsFile = try knownHosts(fleet)
    // Every option away from its default (--known-hosts: that file only, not the system-wide one).
    let certificate = work.appendingPathComponent("no-such-cert.pub").path
    let expected = ScanOptions(
      concurrency: 2, maxOutputBytes: 32 << 20, deadlineSeconds: 45, connectTimeout: 7, graceSeconds: 3,
      user: NSUserName(), identityFiles: [keys.path("user_ed25519")], certificateFile: certificate,
      sshConfig: config,
      knownHostsFile: knownHostsFile, globalKnownHosts: false, acceptNewHostKeys: true)
    let arguments = [
      "--concurrency", "2", "--max-output", String(32 << 20), "--deadline", "45", "--connect-timeout", "7",
      "--grace", "3", "--user", NSUserName(), "--identity", keys.path("user_ed25519"), "--certificate",
      certificate,
      "--ssh-config", config, "--known-hosts", knownHostsFile, "--accept-new-host-keys",
    ]
    let log = work.appendingPathComponent("scan.log").path
    let interruptedRun = try scanInterrupted(
      ["-i", inventory] + arguments, directory: directory, after: 2, log: log)
    #expect(interruptedRun.status == 130, "\(interruptedRun.output)")
    let interrupted = try readScan(directory).metadata
    #expect(interrupted.state == .interrupted)
    #expect(interrupted.options == expected)

    // Resumed with no option: the recorded ones apply, and stay recorded.
    let resumed = try Spawned(
      [try unitauditBinary(), "scan", "--resume", directory.path], output: log + ".2")
    let status = resumed.wait()
    let output = (try? String(contentsOfFile: log + ".2", encoding: .utf8)) ?? ""
    #expect(status == Self.scanStatus, "\(output)")
    let complete = try readScan(directory)
    #expect(complete.metadata.state == .complete)
    var again = expected
    again.resumed = 1
    #expect(complete.metadata.options == again)
    #expect(complete.hosts.count == 8)
    // Connected as the recorded user with the recorded key: every host answered.
    #expect(complete.hosts.allSatisfy { Self.probed($0.status.code) }, "\(complete.hosts.map(\.status))")
  }

  @Test("the CLI: unreachable, unknown key and working hosts in one scan, each with its reason")
  func mixedFleet() throws {
    let fleet = try servers(count: 2, subnet: 63)
    defer { fleet.forEach { $0.stop() } }
    let server = try #require(fleet.first)
    let keys = try TestKeys.shared.get()
    let work = try scratch()
    // The known_hosts file knows the first address only.
    let known = work.appendingPathComponent("kh").path
    try "[\(server.addresses[0])]:\(server.port) \(try keys.publicKey("host_ed25519"))\n"
      .write(toFile: known, atomically: true, encoding: .utf8)
    let closed = try freePort(on: ["127.0.63.9"])
    let hosts =
      "\(server.addresses[0]):\(server.port),\(server.addresses[1]):\(server.port),127.0.63.9:\(closed)"
    let log = work.appendingPathComponent("log").path
    let scan = try Spawned(
      [
        try unitauditBinary(), "scan", "-H", hosts, "-u", NSUserName(), "--identity",
        keys.path("user_ed25519"),
        "--known-hosts", known, "--no-ssh-config", "-o", work.appendingPathComponent("scan").path,
      ], output: log)
    #expect(scan.wait() == 1)
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(
      output.contains("1 unreachable") && output.contains("1 host-key-unknown")
        && (Self.booted
          ? output.contains("1 ok") || output.contains("1 partial") : output.contains("1 no-systemd")),
      "\(output)")
    #expect(output.contains("SHA256:"))
    server.stop()
    #expect(server.acceptedLogins() == 1)
  }

  @Test("a host that sends more than --max-output before any section marker is truncated, and says so")
  func floodBeforeMarkers() throws {
    // 100 MB of one byte, exit status 0: no section of the probe ever begins.
    let fleet = try servers(
      count: 1, subnet: 65, extraConfig: ["ForceCommand head -c 100000000 /dev/zero | tr '\\0' x"])
    defer { fleet.forEach { $0.stop() } }
    let server = try #require(fleet.first)
    let keys = try TestKeys.shared.get()
    let work = try scratch()
    let directory = work.appendingPathComponent("scan")
    let log = work.appendingPathComponent("log").path
    let scan = try Spawned(
      [
        try unitauditBinary(), "scan", "-H", "\(server.addresses[0]):\(server.port)", "-u", NSUserName(),
        "--identity", keys.path("user_ed25519"), "--known-hosts", try knownHosts(fleet), "--no-ssh-config",
        "--max-output", String(1 << 20), "-o", directory.path,
      ], output: log)
    // Exit 0, as for every truncated host: the scan ran; the summary and the host say why
    // nothing could be read.
    #expect(scan.wait() == 0)
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(output.contains("1 truncated"), "\(output)")
    let host = try #require(try readScan(directory).hosts.first)
    #expect(host.status.code == .truncated, "\(host.status)")
    #expect(host.status.reason?.contains("more than the output cap") == true, "\(host.status)")
    #expect(host.diagnostics.map(\.code) == ["probe.truncated-before-sections"])
    // The evidence keeps what arrived up to the cap, and says it was cut.
    let evidence = try Evidence.read(scan: directory, host: host.name)
    #expect(evidence.output.truncated)
    #expect(evidence.output.stdout.count + evidence.output.stderr.count <= 1 << 20)
    #expect(evidence.output.stdout.count > 0)
  }

  /// Scans one server with `options` and returns the host and its evidence.
  func scanOne(_ server: TestSSHServer, _ fleet: [TestSSHServer], options: [String] = []) throws -> (
    HostReport, HostEvidence
  ) {
    let keys = try TestKeys.shared.get()
    let work = try scratch()
    let directory = work.appendingPathComponent("scan")
    let scan = try Spawned(
      [
        try unitauditBinary(), "scan", "-H", "\(server.addresses[0]):\(server.port)", "-u", NSUserName(),
        "--identity", keys.path("user_ed25519"), "--known-hosts", try knownHosts(fleet), "--no-ssh-config",
        "-o", directory.path,
      ] + options, output: work.appendingPathComponent("log").path)
    _ = scan.wait()
    let host = try #require(try readScan(directory).hosts.first)
    return (host, try Evidence.read(scan: directory, host: host.name))
  }

  @Test(
    "the host compresses the probe's output with the first of zstd and gzip it has; the evidence is the script's stdout"
  )
  func remoteCompression() throws {
    let fleet = try servers(count: 1, subnet: 66)
    defer { fleet.forEach { $0.stop() } }
    let server = try #require(fleet.first)
    let (host, evidence) = try scanOne(server, fleet)
    let (plainHost, plainEvidence) = try scanOne(server, fleet, options: ["--no-remote-compression"])
    #expect(Self.probed(host.status.code) && host.status == plainHost.status, "\(host.status)")
    let expected: TransferEncoding? = TransferEncoding.allCases.first { encoding in
      ["/usr/local/bin", "/usr/bin", "/bin"].contains {
        FileManager.default.isExecutableFile(atPath: "\($0)/\(encoding.program)")
      }
    }
    #expect(evidence.output.transfer?.encoding == expected, "\(String(describing: evidence.output.transfer))")
    #expect(evidence.output.transfer?.damage == nil)
    #expect(plainEvidence.output.transfer == nil)
    // The same script's stdout either way, but for each scan's own nonce.
    func text(_ evidence: HostEvidence) -> String {
      String(decoding: evidence.output.stdout, as: UTF8.self).replacingOccurrences(
        of: evidence.nonce, with: "N")
    }
    #expect(text(evidence) == text(plainEvidence))
    #expect(host.services == plainHost.services)
  }

  @Test("a host's small compressed stream cannot inflate past --max-output: the host is truncated at the cap")
  func compressedFlood() throws {
    // The server answers with this probe's stream line and 256 MiB of one byte through gzip.
    let script = try scratch().appendingPathComponent("flood.sh")
    try #"""
    n=${SSH_ORIGINAL_COMMAND#*N=}
    n=${n%%[!0-9a-f]*}
    printf '@@unitaudit-%s stream gzip\n' "$n"
    head -c 268435456 /dev/zero | gzip -1 -c
    """#.write(to: script, atomically: true, encoding: .utf8)
    let fleet = try servers(count: 1, subnet: 67, extraConfig: ["ForceCommand /bin/sh \(script.path)"])
    defer { fleet.forEach { $0.stop() } }
    let server = try #require(fleet.first)
    let (host, evidence) = try scanOne(server, fleet, options: ["--max-output", String(1 << 20)])
    #expect(host.status.code == .truncated, "\(host.status)")
    #expect(evidence.output.truncated && evidence.output.transfer?.encoding == .gzip)
    #expect(evidence.output.stdout.count + evidence.output.stderr.count == 1 << 20)
  }
}
