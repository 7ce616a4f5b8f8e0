import Coverage
import Foundation
import UnitModel

/// The tables of `StoreSchema` in a database: one scan (a scan directory's `scan.db`) or many
/// (a history, in SQLite or PostgreSQL). Every query is here, once, run through the database's
/// `TableBackend` (`SQLiteBackend` through GRDB, `PostgresBackend` through libpq), so both
/// databases give the same answers.
///
/// Each host is recorded in one transaction, so a killed writer leaves every host it
/// finished. One owner uses it at a time (a command, or the scan store's actor), so it needs no
/// lock and holds none across a server's round trips. Writing keeps what it has stored in memory (check and configuration numbers), so
/// a host of an image already seen costs a lookup per service; what a failed transaction
/// stored is forgotten with it. Parts, configurations, checks and states are never deleted,
/// so a number another writer stored stays valid.
public final class ScanTables {
  /// Where the tables are, as messages name it: a file, or a PostgreSQL URL without password.
  public let location: String
  let backend: any TableBackend
  /// What this writer has stored, by value; a transaction's additions become known only with
  /// its commit.
  var numbers = StoredNumbers()
  private var closed = false
  /// Compresses parts, one context kept for all. (Their JSON is `StoredJSON`'s: keys sorted,
  /// since equal values must give equal bytes for a later writer, `--resume`, to find a part
  /// again.)
  let partCompressor: ZstdCompressor

  init(location: String, backend: any TableBackend) throws {
    self.location = location
    self.backend = backend
    do { partCompressor = try ZstdCompressor() } catch {
      throw StorageError.cannotCreate(location, "\(error)")
    }
  }

  /// Opens the history at `location`: a PostgreSQL URL (`postgres://…`, `postgresql://…`) or
  /// an SQLite file, created (0600, or its tables) when there is none and `create` is set.
  public static func history(_ location: String, create: Bool) throws -> ScanTables {
    if PostgresLocation.isURL(location) { return try connectPostgres(location, create: create) }
    if create && !FileManager.default.fileExists(atPath: location) { return try createSQLite(at: location) }
    return try openSQLite(location, readOnly: false)
  }

  /// Opens the history at `location` to read it only.
  public static func readOnlyHistory(_ location: String) throws -> ScanTables {
    if PostgresLocation.isURL(location) { return try connectPostgres(location, create: false) }
    return try openSQLite(location, readOnly: true)
  }

  // MARK: Transactions

  /// Closes the database; later calls fail.
  public func close() throws {
    guard !closed else { return }
    do { try backend.close() } catch let error as StorageError { throw error } catch {
      throw StorageError.cannotWrite(location, "\(error)")
    }
    closed = true
  }

  func checkOpen() throws {
    if closed { throw StorageError.cannotWrite(location, "the database is closed") }
  }

  /// How many times a transaction runs when the server keeps dropping it.
  static let attempts = 3

  /// Runs `body` in a write transaction; the database's errors become the store's. A
  /// transaction the server dropped (a restart, a network cut) runs again once it is back.
  func writing<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try checkOpen()
    return try retrying { try backend.write(body) }
  }

  /// Runs `transaction` until it commits, fails other than by a lost connection that comes
  /// back, or has run `attempts` times; `rolledBack` after each run that failed. The last
  /// failure is the store's error that `failed` makes of it.
  func retrying<T>(
    _ transaction: () throws -> T, failed: (String, String) -> StorageError = StorageError.cannotWrite,
    rolledBack: () -> Void = {}
  ) throws -> T {
    var attempt = 1
    while true {
      do {
        return try transaction()
      } catch let error as StorageError {
        rolledBack()
        throw error
      } catch {
        rolledBack()
        guard attempt < Self.attempts, backend.reconnected() else { throw failed(location, "\(error)") }
        attempt += 1
      }
    }
  }

  /// Runs `body` in a read transaction; the database's errors become the store's. A read the
  /// server dropped runs again once it is back, as a write does.
  func reading<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try checkOpen()
    return try retrying({ try backend.read(body) }, failed: backend.readFailure)
  }

  // MARK: Scans

  /// Adds a scan; returns its number.
  public func addScan(_ metadata: ScanMetadata) throws -> Int64 {
    let json = try Self.json(metadata)
    return try writing { db in try Self.insertScan(json, db: db) }
  }

  static func insertScan(_ json: String, db: any StoreSQL) throws -> Int64 {
    guard let number = try db.integer("INSERT INTO scan (metadata) VALUES (?) RETURNING id", [.text(json)])
    else {
      throw StoredRowMissing(what: "the scan row was not written")
    }
    return number
  }

  /// Adds a whole scan, metadata and hosts, in one transaction: a history holds a scan whole
  /// or not at all. Refuses a scan it already holds (the same scan id).
  public func addScan(_ scan: Scan) throws -> Int64 {
    let json = try Self.json(scan.metadata)
    let rows = try Self.hostRows(scan.hosts)
    return try writingHosts { db, known, added in
      if let found = try db.integer("SELECT id FROM scan WHERE uuid = ?", [.text(scan.metadata.id)]) {
        throw StorageError.alreadyHeld(location, scan.metadata.id, found)
      }
      let number = try Self.insertScan(json, db: db)
      for (host, record) in rows {
        try insert(host, record: record, evidence: nil, scan: number, db: db, known: &known, added: &added)
      }
      return number
    }
  }

  /// Gives the history the scan with `metadata` and the hosts of `recorded` it lacks (a
  /// scan whose last hosts or words did not reach it); returns the scan's number here.
  @discardableResult
  public func catchUp(_ metadata: ScanMetadata, recorded: [HostReport]) throws -> Int64 {
    guard let found = try scanNumber(id: metadata.id) else {
      return try addScan(Scan(metadata: metadata, hosts: recorded))
    }
    let held = Set(try hostNames(scan: found))
    try record(recorded.filter { !held.contains($0.name) }, scan: found)
    try writeMetadata(metadata, scan: found)
    return found
  }

  /// Replaces a scan's metadata.
  public func writeMetadata(_ metadata: ScanMetadata, scan: Int64) throws {
    let json = try Self.json(metadata)
    try writing { db in
      try db.execute("UPDATE scan SET metadata = ? WHERE id = ?", [.text(json), .integer(scan)])
    }
  }

  /// Replaces a scan's plan (the hosts it set out to probe, with how to reach them).
  public func writePlan(_ plan: some Encodable, scan: Int64) throws {
    let json = try Self.json(plan)
    try writing { db in
      try db.execute("UPDATE scan SET plan = ? WHERE id = ?", [.text(json), .integer(scan)])
    }
  }

  /// The scans, oldest first, with their metadata.
  public func scans() throws -> [(id: Int64, metadata: ScanMetadata)] {
    try reading { db in
      try db.rows("SELECT id, metadata FROM scan ORDER BY id").map { row in
        (try row.integer(0), try Self.decode(ScanMetadata.self, try row.text(1), what: "the scan's metadata"))
      }
    }
  }

  /// The number of the scan whose id is `id`, when the database holds it.
  public func scanNumber(id: String) throws -> Int64? {
    try reading { db in try db.integer("SELECT id FROM scan WHERE uuid = ?", [.text(id)]) }
  }

  /// The names of the hosts recorded for scan `scan`.
  public func hostNames(scan: Int64) throws -> [String] {
    try reading { db in
      try db.rows("SELECT name FROM host WHERE scan = ? ORDER BY id", [.integer(scan)]).map { try $0.text(0) }
    }
  }

  /// How many hosts are recorded, in every scan.
  public func hostCount() throws -> Int {
    try reading { db in Int(try db.integer("SELECT count(*) FROM host") ?? 0) }
  }

  /// The plan recorded for a scan.
  public func plan<Entry: Decodable>(scan: Int64, as type: [Entry].Type) throws -> [Entry]? {
    try reading { db in
      guard let json = try db.text("SELECT plan FROM scan WHERE id = ?", [.integer(scan)]) else { return nil }
      return try Self.decode(type, json, what: "the scan's plan")
    }
  }

  // MARK: Judgements

  /// The judgement named `key` of scan `scan`, when one is stored.
  public func judgement(scan: Int64, key: String) throws -> Judgement? {
    try reading { db in
      guard
        let hosts = try db.integer(
          "SELECT hosts FROM judgement WHERE scan = ? AND judged = ?", [.integer(scan), .text(key)])
      else { return nil }
      let rows = try db.rows(
        "SELECT service, status, hosts, missing FROM service_state WHERE scan = ? AND judged = ? ORDER BY service",
        [.integer(scan), .text(key)])
      return Judgement(
        hosts: Int(hosts),
        services: try rows.map { row in
          let status = try row.text(1)
          guard let known = CoverageStatus(rawValue: status) else {
            throw StoredRowMissing(
              what: "a service state of scan \(scan) is '\(status)', which this unitaudit does not know")
          }
          return Judgement.ServiceState(
            service: try row.text(0), status: known, hosts: try row.int(2),
            missing: try Self.decode([String: Int].self, try row.text(3), what: "a service state's missing"))
        })
    }
  }

  /// Stores the judgement named `key` of scan `scan`, in one transaction (replacing one of
  /// the same name).
  public func storeJudgement(_ judgement: Judgement, scan: Int64, key: String, baseline: String) throws {
    let rows = try judgement.services.map { ($0, try Self.json($0.missing)) }
    try writing { db in
      try db.execute("DELETE FROM judgement WHERE scan = ? AND judged = ?", [.integer(scan), .text(key)])
      try db.execute(
        "INSERT INTO judgement (scan, judged, baseline, hosts) VALUES (?, ?, ?, ?)",
        [.integer(scan), .text(key), .text(baseline), StoreValue(judgement.hosts)])
      for (state, missing) in rows {
        try db.execute(
          "INSERT INTO service_state (scan, judged, service, status, hosts, missing) VALUES (?, ?, ?, ?, ?, ?)",
          [
            .integer(scan), .text(key), .text(state.service), .text(state.status.rawValue),
            StoreValue(state.hosts),
            .text(missing),
          ])
      }
    }
  }

  // MARK: JSON

  static func json(_ value: some Encodable) throws -> String {
    String(decoding: try StoredJSON.encode(value), as: UTF8.self)
  }

  static func decode<T: Decodable>(_ type: T.Type, _ json: String, what: String) throws -> T {
    do {
      return try ScanCoding.decoder.decode(type, from: Data(json.utf8))
    } catch {
      throw StoredRowMissing(what: "\(what) is not valid (\(error))")
    }
  }
}
