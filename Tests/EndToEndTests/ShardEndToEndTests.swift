import Foundation
import Storage
import Synchronization
import TestSupport
import Testing
import UnitModel

/// `scan --shard` and `merge` on the fleet: four collectors, each scanning its share at the
/// same time, merged, against one scan of the whole inventory.
@Suite("End to end: four shard scans merged equal one scan", .tags(.e2e), .exclusive)
struct ShardEndToEndTests {
  /// A report file with what differs between two scans of the same fleet blanked: the scan's
  /// id and the times it started and the report was made.
  static func comparable(_ text: String) -> String {
    text.replacing(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, with: "ID")
      .replacing(/\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?( UTC|Z)?/, with: "TIME")
  }

  @Test(
    "the shards' hosts are disjoint and complete, each also written at once into one PostgreSQL history; merged, every report equals the whole scan's (ids and times aside)",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"),
    .enabled(
      if: TestPostgres.configured,
      "needs a PostgreSQL server: Scripts/test starts Debian's and sets UNITAUDIT_TEST_POSTGRES"))
  func shardsMerged() throws {
    let fleet = try #require(Fleet.configured)
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "e2e-shards-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let binary = try unitauditBinary()
    let common = [
      "-i", fleet.inventory, "--known-hosts", fleet.knownHosts, "--no-ssh-config", "--connect-timeout", "5",
      "-q",
    ]
    let whole = work.appendingPathComponent("whole")
    _ = try run([binary, "scan"] + common + ["-o", whole.path])
    // Four collectors at once, as an Indexed Job's pods would run, each also recording its
    // hosts as they finish in one PostgreSQL history the team shares.
    let history = try TestPostgres.createDatabase("shards")
    defer { TestPostgres.dropDatabase(history) }
    let shards = (0..<4).map { work.appendingPathComponent("shard-\($0)") }
    let statuses = Mutex<[Int32?]>(Array(repeating: nil, count: 4))
    DispatchQueue.concurrentPerform(iterations: 4) { index in
      let arguments: [String] =
        [binary, "scan"] + common + ["--shard", "\(index)/4", "-o", shards[index].path, "--history", history]
      let status = (try? run(arguments))?.status
      statuses.withLock { $0[index] = status }
    }
    // 1: some hosts of the fleet are meant to fail (dead, an unknown key).
    #expect(statuses.withLock { $0 }.allSatisfy { $0 == 0 || $0 == 1 }, "\(statuses.withLock { $0 })")

    let wholeScan = try readScan(whole)
    let shardScans = try shards.map { try readScan($0) }
    let names = shardScans.map { Set($0.hosts.map(\.name)) }
    for (i, a) in names.enumerated() {
      for b in names.dropFirst(i + 1) { #expect(a.isDisjoint(with: b)) }
    }
    #expect(names.reduce(Set<String>()) { $0.union($1) } == Set(wholeScan.hosts.map(\.name)))
    #expect(shardScans.map { $0.metadata.shard } == ["0/4", "1/4", "2/4", "3/4"])
    #expect(names.filter { !$0.isEmpty }.count >= 3, "the 14 hosts spread over the shares: \(names)")
    // The history holds the four shard scans whole, as their directories do.
    let database = try ScanTables.readOnlyHistory(history)
    let held = try database.scans()
    #expect(Set(held.map(\.metadata.id)) == Set(shardScans.map(\.metadata.id)))
    for (number, metadata) in held {
      let shard = try #require(shardScans.first { $0.metadata.id == metadata.id })
      let stored = try database.storedScan(number)
      #expect(stored.metadata == shard.metadata, "\(metadata.shard ?? "?"): the final metadata")
      #expect(
        stored.hosts == shard.hosts, "\(metadata.shard ?? "?"): every host, as the scan directory has it")
    }
    try database.close()

    let merged = work.appendingPathComponent("merged")
    let merging = try run([binary, "merge", merged.path] + shards.map(\.path))
    #expect(merging.status == 0, "\(merging.output)")
    #expect(try readScan(merged).metadata.mergedFrom?.count == 4)

    let reports = (
      whole: work.appendingPathComponent("report-whole"), merged: work.appendingPathComponent("report-merged")
    )
    #expect(
      try run([
        binary, "report", whole.path, "-o", reports.whole.path, "--format", "html,md,csv,json,metrics",
      ]).status == 0)
    #expect(
      try run([
        binary, "report", merged.path, "-o", reports.merged.path, "--format", "html,md,csv,json,metrics",
      ]).status == 0)
    let files = try FileManager.default.contentsOfDirectory(atPath: reports.whole.path).sorted()
    #expect(try FileManager.default.contentsOfDirectory(atPath: reports.merged.path).sorted() == files)
    var identical: [String] = []
    for file in files {
      let a = try String(contentsOf: reports.whole.appendingPathComponent(file), encoding: .utf8)
      let b = try String(contentsOf: reports.merged.appendingPathComponent(file), encoding: .utf8)
      if a == b { identical.append(file) }
      if file == "report.json" {
        // The scan's metadata differs (its id, times, and what the merge joined); the rest not.
        let left = try JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any]
        let right = try JSONSerialization.jsonObject(with: Data(b.utf8)) as? [String: Any]
        func canonical(_ value: Any?) throws -> Data? {
          guard let value else { return nil }
          return try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        }
        for key in ["baseline", "required", "coverage", "owners", "hosts"] {
          #expect(try canonical(left?[key]) == canonical(right?[key]), "report.json \(key) differs")
          #expect(left?[key] != nil)
        }
      } else if file == "unitaudit.prom" {
        let drop = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("unitaudit_scan_") }
        }
        #expect(drop(a) == drop(b), "unitaudit.prom differs beyond the scan's times")
      } else {
        #expect(Self.comparable(a) == Self.comparable(b), "\(file) differs beyond ids and times")
      }
    }
    print(
      "shards on the fleet: \(names.map(\.count)) hosts in 4 shares of \(wholeScan.hosts.count); merged; "
        + "byte-identical to the whole scan's: \(identical.joined(separator: ", ")); the others equal but for ids and times"
    )
  }
}
