import Foundation
import Inventory
import TestSupport
import Testing
import UnitModel

@testable import Storage

/// `unitaudit merge`: shard scans of the recorded fleet joined into one scan.
@Suite("merge: the shards of one inventory joined")
struct ScanMergeTests {
  static func root() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
  }

  /// A complete scan of `hosts` (with their recorded evidence) as shard `shard`.
  static func scan(
    _ hosts: [HostReport], shard: String?, at directory: URL, state: ScanMetadata.State = .complete
  )
    async throws
  {
    var metadata = ScanMetadata(
      id: UUID().uuidString, toolVersion: "test", probeVersion: 2, mode: .ssh, state: .running,
      startedAt: Date(timeIntervalSince1970: 1_795_000_000), targets: ["fleet.yml"],
      plannedHosts: hosts.map(\.name))
    metadata.shard = shard
    let store = try ScanStore.create(at: directory, metadata: metadata)
    try await store.writePlan(hosts.map { FleetHost(name: $0.name, address: "127.0.0.1") })
    for host in hosts {
      let evidence = try RecordedProbe.read(StoreFixtures.probes.appendingPathComponent(host.name))
      try await store.append(host, evidence: evidence)
    }
    metadata.state = state
    metadata.finishedAt = Date(timeIntervalSince1970: 1_795_000_060)
    metadata.counts = ScanMetadata.Counts(hosts: hosts)
    try await store.writeMetadata(metadata)
    try await store.close()
  }

  @Test("every host, its evidence byte for byte and each shard's origin; hosts by name like a whole scan")
  func merges() async throws {
    let root = Self.root()
    defer { try? FileManager.default.removeItem(at: root) }
    let hosts = try StoreFixtures.fleetHosts()
    let shards = try (0..<3).map { try Shard(index: $0, count: 3) }
    var directories: [URL] = []
    for shard in shards {
      let directory = root.appendingPathComponent("s\(shard.index)")
      try await Self.scan(hosts.filter { shard.owns($0.name) }, shard: shard.description, at: directory)
      directories.append(directory)
    }
    let whole = root.appendingPathComponent("whole")
    try await Self.scan(hosts.shuffled(), shard: nil, at: whole)

    let out = root.appendingPathComponent("merged")
    let metadata = try await ScanMerge.merge(directories, into: out, toolVersion: "test")
    #expect(metadata.state == .complete && metadata.counts.hosts == hosts.count)
    #expect(metadata.mergedFrom?.map(\.shard) == ["0/3", "1/3", "2/3"])
    #expect(metadata.mergedFrom?.map(\.directory) == directories.map(\.path))
    #expect(metadata.mergedFrom?.map(\.hosts).reduce(0, +) == hosts.count)

    let merged = try readScan(out)
    // The whole scan recorded its hosts shuffled (as they finished); reports read it by name.
    let reference = try readScan(whole).inNameOrder()
    #expect(merged.hosts.map(\.name) == hosts.map(\.name).sorted())
    #expect(merged.hosts.map(\.name) == reference.hosts.map(\.name))
    for (a, b) in zip(merged.hosts, reference.hosts) {
      #expect(a == b, "\(a.name)")
      let evidence = try Evidence.read(scan: out, host: a.name)
      #expect(evidence == (try RecordedProbe.read(StoreFixtures.probes.appendingPathComponent(a.name))))
    }
    // The plan joins the shards' plans: resume and reports see the whole inventory.
    #expect(try ScanStore.readPlan(out).map(\.name) == hosts.map(\.name).sorted())
  }

  @Test("overlapping hosts and an unfinished scan are refused with the reason")
  func refusals() async throws {
    let root = Self.root()
    defer { try? FileManager.default.removeItem(at: root) }
    let hosts = try StoreFixtures.fleetHosts()
    let a = root.appendingPathComponent("a")
    let b = root.appendingPathComponent("b")
    let c = root.appendingPathComponent("c")
    try await Self.scan(Array(hosts.prefix(3)), shard: "0/2", at: a)
    try await Self.scan(Array(hosts.dropFirst(2)), shard: "0/2", at: b)
    try await Self.scan(Array(hosts.suffix(1)), shard: "1/2", at: c, state: .interrupted)
    do {
      _ = try await ScanMerge.merge([a, b], into: root.appendingPathComponent("x"), toolVersion: "test")
      Issue.record("overlapping scans merged")
    } catch let error as StorageError {
      #expect(error.description.contains("1 host is in more than one: \(hosts[2].name)"), "\(error)")
    }
    do {
      _ = try await ScanMerge.merge([a, c], into: root.appendingPathComponent("y"), toolVersion: "test")
      Issue.record("an interrupted scan merged")
    } catch let error as StorageError {
      #expect(
        error.description.contains("is interrupted, not complete: finish it with `unitaudit scan --resume"))
    }
    #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("x").path))
    // The command says the same and exits 2.
    let result = try TestSupport.run([
      try TestSupport.unitauditBinary(), "merge", root.appendingPathComponent("z").path, a.path, b.path,
    ])
    #expect(result.status == 2 && result.output.contains("the scans overlap"), "\(result.output)")
  }
}
