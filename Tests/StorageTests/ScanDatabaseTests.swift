import Foundation
import GRDB
import TestSupport
import Testing
import UnitModel

@testable import Storage

@Suite("the scan database")
struct ScanDatabaseTests {
  /// The recorded fleet and the hosts with hostile strings and every field set.
  static func hosts() throws -> [HostReport] {
    try StoreFixtures.fleetHosts() + [StoreFixtures.trickyReport().report]
  }

  @Test("every host, fleet hosts and hostile strings alike, reads back as recorded, in order")
  func roundTrip() async throws {
    let hosts = try Self.hosts()
    #expect(hosts.count >= 5)
    #expect(hosts.map(\.services.count).reduce(0, +) > 250)
    let (directory, store) = try newStore("roundtrip", planned: hosts.map(\.name))
    for host in hosts { try await store.append(host, evidence: nil) }
    var metadata = try readScan(directory).metadata
    metadata.state = .complete
    try await store.writeMetadata(metadata)
    try await store.close()
    let loaded = try readScan(directory)
    #expect(loaded.metadata == metadata)
    #expect(loaded.hosts.map(\.name) == hosts.map(\.name))
    for (read, written) in zip(loaded.hosts, hosts) {
      #expect(read == written, "\(written.name)")
    }
    // One file, private, in rollback-journal mode once closed: nothing beside it.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["scan.db"])
    #expect(try mode(directory.appendingPathComponent("scan.db").path) == 0o600)
  }

  @Test("a host whose transaction rolls back leaves nothing remembered: recorded again, it reads back whole")
  func rolledBack() throws {
    let hosts = try Self.hosts()
    let path = try temporaryDirectory("rollback").appendingPathComponent("scan.db").path
    let database = try ScanTables.createSQLite(at: path)
    defer { try? database.close() }
    // As a scan directory's writer: every row it stored is in its memory, so it inserts the
    // rows it has not seen without looking them up; one it wrongly remembered would be lost.
    database.numbers.complete = true
    let scan = try database.addScan(
      ScanMetadata(
        id: "rollback", toolVersion: "test", probeVersion: 2, mode: .ssh, startedAt: Date(),
        targets: [], plannedHosts: hosts.map(\.name)))
    try database.record(hosts[0], scan: scan)
    // The next host fails at its services, after its new configurations and parts went in.
    try database.backend.write { db in
      try db.execute(
        "CREATE TEMP TRIGGER fail BEFORE INSERT ON service BEGIN SELECT RAISE(ABORT, 'injected'); END", [])
    }
    #expect(throws: (any Error).self) { try database.record(hosts[1], scan: scan) }
    try database.backend.write { db in try db.execute("DROP TRIGGER fail", []) }
    for host in hosts.dropFirst() { try database.record(host, scan: scan) }
    let stored = try database.storedScan(scan)
    #expect(stored.hosts.map(\.name) == hosts.map(\.name))
    for (read, written) in zip(stored.hosts, hosts) { #expect(read == written, "\(written.name)") }
  }

  @Test("every generated column of the schema reads its value from the model's JSON")
  func generatedColumns() async throws {
    let hosts = try StoreFixtures.fleetHosts()
    let (directory, store) = try newStore("columns", planned: hosts.map(\.name))
    for host in hosts { try await store.append(host, evidence: nil) }
    try await store.close()
    let scan = try readScan(directory)
    let queue = try DatabaseQueue(path: directory.appendingPathComponent("scan.db").path)
    try await queue.read { db in
      let row = try #require(try Row.fetchOne(db, sql: "SELECT uuid, state, started_at FROM scan"))
      #expect(row["uuid"] as String? == scan.metadata.id)
      #expect(row["state"] as String? == scan.metadata.state.rawValue)
      #expect((row["started_at"] as String?)?.hasPrefix(String(UTCDate.day(scan.metadata.startedAt))) == true)
      for host in scan.hosts {
        let row = try #require(
          try Row.fetchOne(
            db, sql: "SELECT status, reason, os_id, os_version, systemd FROM host WHERE name = ?",
            arguments: [host.name]))
        #expect(row["status"] as String? == host.status.code.rawValue, "\(host.name)")
        #expect(row["reason"] as String? == host.status.reason, "\(host.name)")
        #expect(row["os_id"] as String? == host.identity?.osID, "\(host.name)")
        #expect(row["os_version"] as String? == host.identity?.osVersionID, "\(host.name)")
        #expect(row["systemd"] as Int? == host.identity?.systemdVersion, "\(host.name)")
      }
      let services = scan.hosts.flatMap(\.services)
      let configs = try Row.fetchAll(db, sql: "SELECT unit, exposure, rating FROM config")
      #expect(!configs.isEmpty)
      for row in configs {
        let unit: String = try #require(row["unit"])
        // A unit has a configuration per distinct form of it across the hosts.
        #expect(
          services.contains {
            $0.id == unit && $0.overall?.exposure.value == row["exposure"]
              && $0.overall?.predicate == row["rating"]
          }, "\(unit)")
      }
      let checks = Set(services.flatMap(\.checks.values))
      for row in try Row.fetchAll(db, sql: "SELECT name, description, passed, exposure FROM check_result") {
        let name: String = try #require(row["name"])
        #expect(
          checks.contains {
            $0.name == name && $0.description == row["description"]
              && $0.set.map { $0 ? 1 : 0 } == row["passed"]
              && $0.exposure?.value == row["exposure"]
          }, "\(name)")
      }
      let states = Set(services.map { [$0.activeState, $0.subState, $0.unitFileState] })
      for row in try Row.fetchAll(db, sql: "SELECT active, sub, unit_file FROM unit_state") {
        #expect(states.contains([row["active"], row["sub"], row["unit_file"]]))
      }
    }
  }

  @Test("while a scan writes, the write-ahead log is private too")
  func walIsPrivate() async throws {
    let (directory, store) = try newStore("wal", planned: ["a"])
    try await store.append(try StoreFixtures.fleetHosts()[0], evidence: nil)
    for suffix in ["", "-wal", "-shm"] {
      #expect(
        try mode(directory.appendingPathComponent("scan.db" + suffix).path) == 0o600, "scan.db\(suffix)")
    }
    try await store.close()
  }

  @Test("hosts of one image store each configuration, check and state once")
  func storedOnce() async throws {
    let image = try StoreFixtures.fleetHosts()[0]
    let copies = (0..<40).map { index in
      var host = image
      host.name = "copy\(index)"
      return host
    }
    let (directory, store) = try newStore("once", planned: copies.map(\.name))
    try await store.append(image, evidence: nil)
    let path = directory.appendingPathComponent("scan.db").path
    func count(_ table: String) throws -> Int {
      try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }
    let configs = try count("config")
    let parts = try count("part")
    let checks = try count("check_result")
    let states = try count("unit_state")
    #expect(configs == Set(image.services.map(\.id)).count)
    #expect(checks > 0 && states > 0)
    for copy in copies { try await store.append(copy, evidence: nil) }
    #expect(try count("config") == configs)
    #expect(try count("part") == parts)
    #expect(try count("check_result") == checks)
    #expect(try count("unit_state") == states)
    #expect(try count("service") == image.services.count * 41)
    try await store.close()
    // A writer that starts afresh (a resumed scan) finds them again through their digests.
    let resumed = try ScanStore.open(directory)
    var changed = image
    changed.name = "changed"
    changed.services[0].description = "changed"
    try await resumed.append(changed, evidence: nil)
    try await resumed.close()
    // A new configuration, which shares every part but the one that changed.
    #expect(try count("config") == configs + 1)
    #expect(try count("part") == parts + 1)
    #expect(try readScan(directory).hosts.last == changed)
  }

  @Test("a scan directory being written is refused to a second writer, and free once closed")
  func oneWriter() async throws {
    let (directory, store) = try newStore("one-writer", planned: ["a"])
    #expect {
      try ScanStore.open(directory)
    } throws: { error in
      guard case StorageError.busy(let path) = error else { return false }
      return path == directory.path && "\(error)".contains("being written by another unitaudit process")
    }
    // A reader is not a writer: reports and `unitaudit report` read a scan being written.
    #expect(try readScan(directory).hosts.isEmpty)
    try await store.append(HostReport(name: "a", status: HostStatus(.ok)), evidence: nil)
    try await store.close()
    let resumed = try ScanStore.open(directory)
    try await resumed.close()
    #expect(try readScan(directory).hosts.map(\.name) == ["a"])
  }

  @Test("two parts with one digest stay apart: the bytes decide")
  func digestCollision() async throws {
    var host = HostReport(name: "a", status: HostStatus(.ok))
    host.services = [
      ServiceRecord(id: "x.service", description: "one", loadState: "loaded"),
      ServiceRecord(id: "x.service", description: "two", loadState: "loaded"),
    ]
    let (directory, store) = try newStore("collision", planned: ["a", "b"])
    try await store.append(host, evidence: nil)
    try await store.close()
    let path = directory.appendingPathComponent("scan.db").path
    // Give the unit part of "one" the digest of that of "two": a lookup by digest now finds
    // both.
    let (one, two) = try await DatabaseQueue(path: path).write { db in
      let one = try #require(try Int64.fetchOne(db, sql: "SELECT unit_part FROM config WHERE id = 1"))
      let two = try #require(try Int64.fetchOne(db, sql: "SELECT unit_part FROM config WHERE id = 2"))
      try db.execute(
        sql: "UPDATE part SET digest = (SELECT digest FROM part WHERE id = ?) WHERE id = ?",
        arguments: [two, one])
      return (one, two)
    }
    #expect(one != two)
    let again = try ScanStore.open(directory)
    var second = host
    second.name = "b"
    second.services = [host.services[1]]
    try await again.append(second, evidence: nil)
    try await again.close()
    let references = try await DatabaseQueue(path: path).read { db in
      try Int64.fetchAll(db, sql: "SELECT config FROM service ORDER BY host, position")
    }
    #expect(references == [1, 2, 2])
    #expect(
      try readScan(directory).hosts.map { $0.services.map(\.description) } == [["one", "two"], ["two"]])
  }

  @Test("a part's digest is its frame's checksum: XXH64 of the body, low 32 bits, the body's alone")
  func digestIsTheChecksum() throws {
    let compressor = try ZstdCompressor()
    // XXH64 of nothing (seed 0) is 0xEF46DB3751D8E999.
    #expect(try StoredDigest.of(frame: try compressor.compress([])) == 0x51D8_E999)
    let body = Array(#"{"ProtectSystem":"strict"}"#.utf8)
    let digest = try StoredDigest.of(frame: try compressor.compress(body))
    // The same body gives the same digest from another context; another body another one.
    #expect(try StoredDigest.of(frame: try ZstdCompressor().compress(body)) == digest)
    #expect(try StoredDigest.of(frame: try compressor.compress(body + [0x20])) != digest)
    #expect(throws: ZstdError.self) { try StoredDigest.of(frame: [0x28]) }
  }

  @Test("a scan.db that is not ours, or of a newer schema, is refused in words")
  func notOurs() throws {
    let directory = try temporaryDirectory("notours")
    let path = directory.appendingPathComponent("scan.db").path
    func message() -> String {
      do {
        _ = try readScan(directory)
        return "read"
      } catch { return "\(error)" }
    }
    try Data("not a database at all, just text".utf8).write(to: URL(fileURLWithPath: path))
    #expect(message().contains("cannot open it as an SQLite database"), "\(message())")
    try FileManager.default.removeItem(atPath: path)
    try DatabaseQueue(path: path).write { try $0.execute(sql: "CREATE TABLE t (x)") }
    #expect(message().contains("not one unitaudit wrote"), "\(message())")
    try FileManager.default.removeItem(atPath: path)
    _ = try ScanTables.createSQLite(at: path)
    try DatabaseQueue(path: path).write { try $0.execute(sql: "PRAGMA user_version = 99") }
    #expect(message().contains("scan schema version 99"), "\(message())")
  }

  @Test("export --jsonl -o writes a private file; without --jsonl it says which format to ask for")
  func export() async throws {
    let hosts = try StoreFixtures.fleetHosts()
    let (directory, store) = try newStore("export", planned: hosts.map(\.name))
    for host in hosts { try await store.append(host, evidence: nil) }
    try await store.close()
    let binary = try TestSupport.unitauditBinary()
    let file = directory.deletingLastPathComponent().appendingPathComponent("hosts.jsonl")
    let written = try TestSupport.run([binary, "export", directory.path, "--jsonl", "-o", file.path])
    #expect(written.status == 0, "\(written.output)")
    #expect(try mode(file.path) == 0o600)
    let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
    #expect(try lines.map { try ScanCoding.decoder.decode(HostReport.self, from: Data($0.utf8)) } == hosts)
    let bare = try TestSupport.run([binary, "export", directory.path])
    #expect(bare.status == 2 && bare.output.contains("--jsonl"), "\(bare.output)")
  }

  @Test("the schema in docs/scan-database.md is the schema the store creates")
  func documentedSchema() throws {
    let doc = try String(
      contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/scan-database.md"), encoding: .utf8)
    let start = try #require(doc.range(of: "```sql\n"))
    let end = try #require(doc.range(of: "\n```", range: start.upperBound..<doc.endIndex))
    #expect(String(doc[start.upperBound..<end.lowerBound]) == StoreSchema.sql)
  }
}
