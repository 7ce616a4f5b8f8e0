import Foundation
import Inventory
import Normalize
import Storage
import Synchronization
import TestSupport
import Testing
import UnitModel

@testable import Collector

/// Replays recorded probe output of real hosts (the fleet's fixtures), with the probe's nonce
/// in place of the recorded one, and remembers which hosts it was asked for. Hosts named in
/// `unreachable` fail as an unreachable host does; no host is contacted.
final class ReplayTransport: Transport {
  let name = "replay"
  let recordings: [HostEvidence]
  let unreachable: Set<String>
  let asked = Mutex<[String]>([])

  init(unreachable: Set<String> = []) throws {
    let probes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("NormalizeTests/Fixtures/probe")
    recordings = try ["h1", "h2", "h3"].map { try RecordedProbe.read(probes.appendingPathComponent($0)) }
    self.unreachable = unreachable
  }

  func run(_ probe: Probe, on host: FleetHost) async -> TransportRun {
    asked.withLock { $0.append(host.name) }
    if unreachable.contains(host.name) {
      return TransportRun(.failed(HostStatus(.unreachable, reason: "connection refused")))
    }
    let number = Int(host.name.filter(\.isNumber)) ?? 0
    let recording = recordings[number % recordings.count]
    var output = recording.output
    output.stdout = Self.replacing(
      Array(recording.nonce.utf8), with: Array(probe.nonce.utf8), in: output.stdout)
    return TransportRun(.output(output, notes: []))
  }

  func shutdown() {}

  /// `bytes` with every `old` (as long as `new`) replaced by `new`.
  static func replacing(_ old: [UInt8], with new: [UInt8], in bytes: [UInt8]) -> [UInt8] {
    precondition(old.count == new.count && !old.isEmpty)
    var result = bytes
    var index = 0
    while index + old.count <= result.count {
      if result[index] == old[0] && result[index..<index + old.count].elementsEqual(old) {
        result.replaceSubrange(index..<index + old.count, with: new)
        index += old.count
      } else {
        index += 1
      }
    }
    return result
  }
}

@Suite("a scan's lifecycle, in process: start, collect, kill, resume, finish")
struct ScanSessionTests {
  static func hosts(_ count: Int) -> [FleetHost] {
    (1...count).map { FleetHost(name: "host\($0)", address: "192.0.2.\($0)") }
  }

  static func newScan(_ name: String, hosts: [FleetHost], options: ScanOptions? = nil) throws -> NewScan {
    NewScan(
      directory: try temporaryDirectory(name).appendingPathComponent("scan"), hosts: hosts, mode: .ssh,
      options: options ?? ScanOptions(concurrency: 1, sshConfig: nil, knownHostsFile: "/dev/null"),
      targets: ["test"], toolVersion: "test")
  }

  /// The transports a session makes: always `transport`.
  static func replaying(_ transport: ReplayTransport) -> TransportFactory {
    TransportFactory { _, _ in transport }
  }

  /// Collects until `stopAfter` hosts have finished, then cancels, as Ctrl-C does.
  static func collect(_ session: ScanSession, stopAfter: Int) async throws {
    let done = Mutex(0)
    let task = Task {
      try await session.collect(onFinish: { _ in
        if done.withLock({
          $0 += 1; return $0
        }) == stopAfter {
          withUnsafeCurrentTask { $0?.cancel() }
        }
      })
    }
    _ = await task.result
    #expect(done.withLock { $0 } == stopAfter)
  }

  @Test("a new scan records every host as it finishes and ends complete, with its counts and plan")
  func newScanComplete() async throws {
    let transport = try ReplayTransport(unreachable: ["host2"])
    let scan = try Self.newScan("session-new", hosts: Self.hosts(5))
    let session = try await ScanSession.start(scan, transports: Self.replaying(transport))
    try await session.collect()
    let ending = try await session.finish(interrupted: false)
    let stored = try readScan(scan.directory)
    #expect(stored.metadata.state == .complete)
    // Stored dates keep whole seconds.
    #expect(stored.metadata.counts == ending.metadata.counts && stored.metadata.id == ending.metadata.id)
    #expect(Set(stored.hosts.map(\.name)) == Set(scan.hosts.map(\.name)))
    #expect(stored.metadata.counts.byStatus["unreachable"] == 1)
    #expect(stored.metadata.counts.hosts == 5)
    #expect(stored.metadata.counts.services == stored.hosts.reduce(0) { $0 + $1.services.count })
    #expect(stored.hosts.filter { $0.status.code.hasData }.allSatisfy { !$0.services.isEmpty })
    #expect(try ScanStore.readPlan(scan.directory).map(\.name) == scan.hosts.map(\.name))
  }

  @Test("killed after 4 of 10 hosts, the scan keeps them; resume probes only the other 6, once each")
  func resumeAfterKill() async throws {
    let first = try ReplayTransport()
    let scan = try Self.newScan("session-kill", hosts: Self.hosts(10))
    let session = try await ScanSession.start(scan, transports: Self.replaying(first))
    try await Self.collect(session, stopAfter: 4)
    // A kill: the directory's lock goes with the process, and nothing finishes the metadata.
    try await session.store.close()
    let killed = try readScan(scan.directory)
    #expect(killed.metadata.state == .running)
    #expect(killed.hosts.map(\.name) == first.asked.withLock { $0 })
    #expect(killed.hosts.count == 4)

    let second = try ReplayTransport()
    guard
      case .resumed(let resumed) = try await ScanSession.resume(
        scan.directory, transports: Self.replaying(second))
    else {
      Issue.record("a killed scan resumes")
      return
    }
    #expect(resumed.alreadyDone == 4)
    #expect(
      resumed.hosts.map(\.name) == scan.hosts.map(\.name).filter { !killed.hosts.map(\.name).contains($0) })
    try await resumed.collect()
    let ending = try await resumed.finish(interrupted: false)
    #expect(second.asked.withLock { $0 } == resumed.hosts.map(\.name))
    let complete = try readScan(scan.directory)
    #expect(complete.metadata.state == .complete)
    #expect(complete.metadata.options.resumed == 1)
    #expect(complete.hosts.map(\.name).sorted() == scan.hosts.map(\.name).sorted())
    #expect(ending.metadata.counts.hosts == 10)
    #expect(ending.hosts.count == 10)
  }

  @Test("options given again on resume win over the recorded ones; the others are kept")
  func resumedOptions() async throws {
    var options = ScanOptions(
      concurrency: 5, deadlineSeconds: 77, sshConfig: nil, knownHostsFile: "/dev/null")
    options.user = "audit"
    let scan = try Self.newScan("session-options", hosts: Self.hosts(3), options: options)
    let session = try await ScanSession.start(scan, transports: Self.replaying(try ReplayTransport()))
    try await session.store.close()
    var overrides = ScanOptions.Overrides()
    overrides.concurrency = 2
    overrides.user = "other"
    guard
      case .resumed(let resumed) = try await ScanSession.resume(
        scan.directory, with: overrides, transports: Self.replaying(try ReplayTransport()))
    else {
      Issue.record("the scan resumes")
      return
    }
    try await resumed.collect()
    _ = try await resumed.finish(interrupted: false)
    let recorded = try readScan(scan.directory).metadata.options
    #expect(recorded.concurrency == 2)
    #expect(recorded.user == "other")
    #expect(recorded.deadlineSeconds == 77)
    #expect(recorded.knownHostsFile == "/dev/null")
    #expect(recorded.resumed == 1)
  }

  @Test("killed between the scan's write and the history's, resume gives the history the host it missed")
  func killBetweenScanAndHistory() async throws {
    let directory = try temporaryDirectory("session-history")
    let history = directory.appendingPathComponent("history.db").path
    var options = ScanOptions(concurrency: 1, sshConfig: nil, knownHostsFile: "/dev/null")
    options.history = history
    let scan = try Self.newScan("session-history-scan", hosts: Self.hosts(6), options: options)
    let session = try await ScanSession.start(scan, transports: Self.replaying(try ReplayTransport()))
    try await Self.collect(session, stopAfter: 3)
    try await session.store.close()
    // The fourth host reaches the scan database, and the process dies before the history
    // write: what a kill between the two leaves on disk.
    let recorded = Set(try readScan(scan.directory).hosts.map(\.name))
    let fourth = try #require(session.hosts.first { !recorded.contains($0.name) })
    let scanDatabase = try ScanTables.openSQLite(
      scan.directory.appendingPathComponent(ScanStore.databaseFile).path, readOnly: false)
    try scanDatabase.record(
      HostReport(name: fourth.name, status: HostStatus(.timeout, reason: "slow")),
      scan: try #require(try scanDatabase.scans().first?.id))
    try scanDatabase.close()
    func historyHosts() throws -> [String] {
      let database = try ScanTables.readOnlyHistory(history)
      defer { try? database.close() }
      return try database.hostNames(scan: try #require(try database.scanNumber(id: session.metadata.id)))
    }
    #expect(try historyHosts().count == 3)
    #expect(try readScan(scan.directory).hosts.count == 4)

    guard
      case .resumed(let resumed) = try await ScanSession.resume(
        scan.directory, transports: Self.replaying(try ReplayTransport()))
    else {
      Issue.record("the scan resumes")
      return
    }
    // Caught up on attaching: the history holds the fourth host before any other is probed.
    #expect(try historyHosts().contains(fourth.name))
    #expect(!resumed.hosts.contains { $0.name == fourth.name })
    try await resumed.collect()
    _ = try await resumed.finish(interrupted: false)
    let scanned = try readScan(scan.directory)
    #expect(try historyHosts().sorted() == scanned.hosts.map(\.name).sorted())
    let database = try ScanTables.readOnlyHistory(history)
    defer { try? database.close() }
    let stored = try database.storedScan(try #require(try database.scanNumber(id: session.metadata.id)))
    #expect(stored.metadata.state == .complete)
    #expect(stored.hosts.sorted { $0.name < $1.name } == scanned.hosts.sorted { $0.name < $1.name })
  }

  @Test("resuming a complete scan without a history is refused in words; a busy one is refused too")
  func refusals() async throws {
    let scan = try Self.newScan("session-refusals", hosts: Self.hosts(2))
    let session = try await ScanSession.start(scan, transports: Self.replaying(try ReplayTransport()))
    await #expect {
      _ = try await ScanSession.resume(scan.directory, transports: Self.replaying(try ReplayTransport()))
    } throws: { "\($0)".contains("being written by another unitaudit process") }
    try await session.collect()
    _ = try await session.finish(interrupted: false)
    await #expect {
      _ = try await ScanSession.resume(scan.directory, transports: Self.replaying(try ReplayTransport()))
    } throws: { "\($0)".contains("already complete; nothing to resume") }
  }

  @Test("an interrupted session marks the scan interrupted, at once or when it finishes")
  func interrupted() async throws {
    let scan = try Self.newScan("session-interrupted", hosts: Self.hosts(4))
    let session = try await ScanSession.start(scan, transports: Self.replaying(try ReplayTransport()))
    try await Self.collect(session, stopAfter: 1)
    let now = try await session.markInterrupted()
    #expect(now.metadata.state == .interrupted)
    #expect(now.metadata.counts.hosts == 1)
    let ending = try await session.finish(interrupted: true)
    #expect(try readScan(scan.directory).metadata.state == .interrupted)
    #expect(ending.hosts.map(\.name) == ["host1"])
  }
}
