import Foundation
import GRDB
import Synchronization
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// A scan database (`scan.db` in a scan directory) or a history database: SQLite through GRDB,
/// with the tables of `StoreSchema`. Each host is recorded in one transaction, so a killed
/// writer leaves every host it finished and a database that opens.
///
/// Writing keeps what it has stored in memory (check and configuration numbers), so a host of
/// an image already seen costs a lookup per service; what a failed transaction stored is
/// forgotten with it.
public final class ScanDatabase: Sendable {
  public let path: String
  let queue: DatabaseQueue
  /// Held for the whole of a host's transaction: the numbers it stores become known only
  /// with it.
  private let numbers: Mutex<StoredNumbers>
  private let closed = Mutex(false)

  /// Creates a new database at `path` (a file that must not exist), 0600.
  public static func create(at path: String) throws -> ScanDatabase {
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ScanStoreError.cannotCreate(path, String(cString: strerror(errno))) }
    Glibc.close(fd)
    let database = try ScanDatabase(path: path, readOnly: false)
    do {
      try database.queue.write { db in
        try db.execute(sql: StoreSchema.sql)
        try db.execute(sql: "PRAGMA application_id = \(StoreSchema.applicationID)")
        try db.execute(sql: "PRAGMA user_version = \(StoreSchema.version)")
      }
    } catch {
      throw ScanStoreError.cannotCreate(path, "\(error)")
    }
    return database
  }

  /// Opens an existing database; refuses a file that is not one of ours or is of a schema
  /// this unitaudit does not read.
  public static func open(_ path: String, readOnly: Bool) throws -> ScanDatabase {
    guard FileManager.default.fileExists(atPath: path) else {
      throw ScanStoreError.notAScan(path, "no such file")
    }
    let database = try ScanDatabase(path: path, readOnly: readOnly)
    let (application, version): (Int32, Int)
    do {
      (application, version) = try database.queue.read { db in
        (
          try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
          try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        )
      }
    } catch {
      throw ScanStoreError.notAScan(path, "not an SQLite database (\(error))")
    }
    guard application == StoreSchema.applicationID else {
      throw ScanStoreError.notAScan(path, "an SQLite database, but not one unitaudit wrote")
    }
    guard version == StoreSchema.version else {
      throw ScanStoreError.unsupportedSchema(path, version)
    }
    return database
  }

  private init(path: String, readOnly: Bool) throws {
    self.path = path
    var configuration = Configuration()
    configuration.readonly = readOnly
    configuration.journalMode = readOnly ? .default : .wal
    // A second connection (an interrupted scan's last words, a reader) waits for a host's
    // transaction instead of failing.
    configuration.busyMode = .timeout(30)
    configuration.prepareDatabase { db in
      // Every committed host is on disk before the next starts, as the scan directory promises.
      if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = FULL") }
    }
    do {
      queue = try DatabaseQueue(path: path, configuration: configuration)
    } catch {
      throw ScanStoreError.notAScan(path, "cannot open it as an SQLite database (\(error))")
    }
    numbers = Mutex(StoredNumbers())
  }

  // MARK: Scans

  /// Adds a scan; returns its number.
  public func addScan(_ metadata: ScanMetadata) throws -> Int64 {
    let json = try Self.json(metadata)
    return try writing { db in
      try db.execute(sql: "INSERT INTO scan (metadata) VALUES (?)", arguments: [json])
      return db.lastInsertedRowID
    }
  }

  /// Replaces a scan's metadata.
  public func writeMetadata(_ metadata: ScanMetadata, scan: Int64) throws {
    let json = try Self.json(metadata)
    try writing { db in
      try db.execute(sql: "UPDATE scan SET metadata = ? WHERE id = ?", arguments: [json, scan])
    }
  }

  /// Replaces a scan's plan (the hosts it set out to probe, with how to reach them).
  public func writePlan(_ plan: some Encodable, scan: Int64) throws {
    let json = try Self.json(plan)
    try writing { db in
      try db.execute(sql: "UPDATE scan SET plan = ? WHERE id = ?", arguments: [json, scan])
    }
  }

  /// The scans, oldest first, with their metadata.
  public func scans() throws -> [(id: Int64, metadata: ScanMetadata)] {
    try reading { db in
      try Row.fetchAll(db, sql: "SELECT id, metadata FROM scan ORDER BY id").map { row in
        (
          row["id"],
          try Self.decode(ScanMetadata.self, row["metadata"] as String, what: "the scan's metadata")
        )
      }
    }
  }

  /// How many hosts are recorded, in every scan.
  public func hostCount() throws -> Int {
    try reading { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM host") ?? 0 }
  }

  /// The plan recorded for a scan.
  public func plan<Entry: Decodable>(scan: Int64, as type: [Entry].Type) throws -> [Entry]? {
    try reading { db in
      guard let json = try String.fetchOne(db, sql: "SELECT plan FROM scan WHERE id = ?", arguments: [scan])
      else { return nil }
      return try Self.decode(type, json, what: "the scan's plan")
    }
  }

  // MARK: Hosts

  /// Records one finished host of `scan` in one transaction: its row, and its services as
  /// numbers of stored configurations and states. A host recorded again (a resumed scan)
  /// replaces the earlier record and keeps its place.
  public func record(_ host: HostReport, scan: Int64) throws {
    try record([host], scan: scan)
  }

  /// Records hosts in one transaction (converting or copying a whole scan).
  public func record(_ hosts: [HostReport], scan: Int64) throws {
    let rows = try hosts.map { host -> (HostReport, String, Data?) in
      var shell = host
      shell.services = []
      shell.diagnostics = []
      let diagnostics: Data? =
        host.diagnostics.isEmpty
        ? nil : Data(try Zstd.compress(Array(ScanCoding.lineEncoder.encode(host.diagnostics))))
      return (host, try Self.json(shell), diagnostics)
    }
    try numbers.withLock { known in
      var added = StoredNumbers()
      do {
        try writing { db in
          for (host, record, diagnostics) in rows {
            try insert(
              host, record: record, diagnostics: diagnostics, scan: scan, db: db, known: &known, added: &added
            )
          }
        }
      } catch {
        // The transaction rolled back: what it stored is not there.
        known.forget(added)
        throw error
      }
      known.bound()
    }
  }

  private func insert(
    _ host: HostReport, record: String, diagnostics: Data?, scan: Int64, db: Database,
    known: inout StoredNumbers, added: inout StoredNumbers
  ) throws {
    guard
      let hostID = try Int64.fetchOne(
        db,
        sql: """
          INSERT INTO host (scan, name, record, diagnostics) VALUES (?, ?, ?, ?)
          ON CONFLICT (scan, name) DO UPDATE SET record = excluded.record, diagnostics = excluded.diagnostics
          RETURNING id
          """, arguments: [scan, host.name, record, diagnostics])
    else { throw ScanStoreError.cannotWrite(path, "the host row of \(host.name) was not written") }
    try db.execute(sql: "DELETE FROM service WHERE host = ?", arguments: [hostID])
    let insert = try db.cachedStatement(
      sql: "INSERT INTO service (host, position, config, state) VALUES (?, ?, ?, ?)")
    for (position, service) in host.services.enumerated() {
      let config = try configNumber(service, db: db, known: &known, added: &added)
      let state = try stateNumber(
        UnitStateKey(active: service.activeState, sub: service.subState, unitFile: service.unitFileState),
        db: db, known: &known, added: &added)
      try insert.execute(arguments: [hostID, position, config, state])
    }
  }

  /// Folds the write-ahead log into the database file and closes it: what is left is one
  /// file, `scan.db`, that can be copied alone. While open for writing, the database is in
  /// WAL mode: a host's commit is one sync, and readers (progress, tests) do not block it.
  public func close() throws {
    try closed.withLock { closed in
      guard !closed else { return }
      do {
        if !queue.configuration.readonly {
          // Back to a rollback journal: readers then need no -wal or -shm file beside it.
          try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
          }
        }
        try queue.close()
      } catch {
        throw ScanStoreError.cannotWrite(path, "\(error)")
      }
      closed = true
    }
  }

  private func checkOpen() throws {
    if closed.withLock({ $0 }) { throw ScanStoreError.cannotWrite(path, "the database is closed") }
  }

  /// Runs `body` in a write transaction; SQLite's errors become the store's.
  private func writing<T>(_ body: (Database) throws -> T) throws -> T {
    try checkOpen()
    do {
      return try queue.write(body)
    } catch let error as ScanStoreError {
      throw error
    } catch {
      throw ScanStoreError.cannotWrite(path, "\(error)")
    }
  }

  func reading<T>(_ body: (Database) throws -> T) throws -> T {
    try checkOpen()
    do {
      return try queue.read(body)
    } catch let error as ScanStoreError {
      throw error
    } catch {
      throw ScanStoreError.notAScan(path, "\(error)")
    }
  }

  /// The number of `service`'s configuration, storing it if it is new.
  private func configNumber(
    _ service: ServiceRecord, db: Database, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    var config = service
    config.activeState = nil
    config.subState = nil
    config.unitFileState = nil
    if let number = known.configs[config] { return number }
    var body = config
    body.id = ""
    body.overall = nil
    body.checks = try service.checks.mapValues { check in
      .stored(number: Int(try checkNumber(check, db: db, known: &known, added: &added)))
    }
    let bytes = Array(try ScanCoding.lineEncoder.encode(body))
    let summary = try Self.json(ConfigSummary(id: service.id, overall: service.overall))
    let digest = StoredDigest.of(summary, bytes)
    // Another configuration can have the same digest: the bytes decide.
    for candidate in try Row.fetchAll(
      db, sql: "SELECT id, summary, body FROM config WHERE digest = ?", arguments: [digest])
    where (candidate["summary"] as String) == summary {
      let stored = try Zstd.decompress(Array(candidate["body"] as Data), limit: StoredDigest.bodyLimit)
      if stored == bytes {
        let number: Int64 = candidate["id"]
        known.configs[config] = number
        added.configs[config] = number
        return number
      }
    }
    try db.execute(
      sql: "INSERT INTO config (digest, summary, body) VALUES (?, ?, ?)",
      arguments: [digest, summary, Data(try Zstd.compress(bytes))])
    let number = db.lastInsertedRowID
    known.configs[config] = number
    added.configs[config] = number
    return number
  }

  private func checkNumber(
    _ check: SecurityCheck, db: Database, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    if let number = known.checks[check] { return number }
    let number = try Self.row(in: "check_result", body: try Self.json(check), db: db)
    known.checks[check] = number
    added.checks[check] = number
    return number
  }

  private func stateNumber(
    _ state: UnitStateKey, db: Database, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    if let number = known.states[state] { return number }
    let number = try Self.row(in: "unit_state", body: try Self.json(state), db: db)
    known.states[state] = number
    added.states[state] = number
    return number
  }

  /// The id of the row of `table` whose `body` is `body`, inserted if there is none.
  private static func row(in table: String, body: String, db: Database) throws -> Int64 {
    if let found = try Int64.fetchOne(db, sql: "SELECT id FROM \(table) WHERE body = ?", arguments: [body]) {
      return found
    }
    try db.execute(sql: "INSERT INTO \(table) (body) VALUES (?)", arguments: [body])
    return db.lastInsertedRowID
  }

  // MARK: Reading

  /// The scan `scan` (its metadata and every host with its services, in the order recorded).
  /// Each configuration is decoded once and shared by every host that has it.
  public func loadScan(_ scan: Int64) throws -> Scan {
    try reading { db in
      guard
        let json = try String.fetchOne(db, sql: "SELECT metadata FROM scan WHERE id = ?", arguments: [scan])
      else { throw ScanStoreError.notAScan(path, "it has no scan \(scan)") }
      let metadata = try Self.decode(ScanMetadata.self, json, what: "the scan's metadata")
      var checks: [Int: SecurityCheck] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT id, body FROM check_result") {
        checks[row["id"]] = try Self.decode(
          SecurityCheck.self, row["body"] as String, what: "a check_result row")
      }
      var states: [Int64: UnitStateKey] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT id, body FROM unit_state") {
        states[row["id"]] = try Self.decode(
          UnitStateKey.self, row["body"] as String, what: "a unit_state row")
      }
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT id, summary, body FROM config WHERE id IN
            (SELECT DISTINCT config FROM service JOIN host ON host.id = service.host WHERE host.scan = ?)
          """, arguments: [scan]
      ).map { StoredConfigRow(id: $0["id"], summary: $0["summary"], body: $0["body"]) }
      let decoded = try Self.decodeConfigs(rows, checks: checks, path: path)
      var hosts: [HostReport] = []
      var hostIndex: [Int64: Int] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT id, name, record, diagnostics FROM host WHERE scan = ? ORDER BY id",
        arguments: [scan])
      {
        let name: String = row["name"]
        var host = try Self.decode(
          HostReport.self, row["record"] as String, what: "the record of host \(name)")
        if let packed = row["diagnostics"] as Data? {
          let bytes = try Zstd.decompress(Array(packed), limit: StoredDigest.bodyLimit)
          host.diagnostics = try Self.decode(
            [Diagnostic].self, String(decoding: bytes, as: UTF8.self), what: "the diagnostics of host \(name)"
          )
        }
        hostIndex[row["id"]] = hosts.count
        hosts.append(host)
      }
      let cursor = try Row.fetchCursor(
        db,
        sql: """
          SELECT service.host, service.config, service.state FROM service JOIN host ON host.id = service.host
          WHERE host.scan = ? ORDER BY service.host, service.position
          """, arguments: [scan])
      while let row = try cursor.next() {
        let hostID: Int64 = row[0]
        let configID: Int64 = row[1]
        let stateID: Int64 = row[2]
        guard let index = hostIndex[hostID], var service = decoded[configID], let state = states[stateID]
        else {
          throw ScanStoreError.notAScan(path, "a service of host \(hostID) refers to a row that is missing")
        }
        service.activeState = state.active
        service.subState = state.sub
        service.unitFileState = state.unitFile
        hosts[index].services.append(service)
      }
      return Scan(metadata: metadata, hosts: hosts)
    }
  }

  /// Decompresses and decodes configurations on every core, a batch at a time.
  private static func decodeConfigs(
    _ rows: [StoredConfigRow], checks: [Int: SecurityCheck], path: String
  ) throws -> [Int64: ServiceRecord] {
    let batches = stride(from: 0, to: rows.count, by: 64).map { Array(rows[$0..<min($0 + 64, rows.count)]) }
    let results = batches.concurrentMap { batch -> Result<[(Int64, ServiceRecord)], ScanStoreError> in
      let decoder = ScanCoding.decoder
      var out: [(Int64, ServiceRecord)] = []
      for row in batch {
        do {
          let bytes = try Zstd.decompress(Array(row.body), limit: StoredDigest.bodyLimit)
          var service = try decoder.decode(ServiceRecord.self, from: Data(bytes))
          let summary = try decoder.decode(ConfigSummary.self, from: Data(row.summary.utf8))
          service.id = summary.id
          service.overall = summary.overall
          service.checks = try service.checks.mapValues { check in
            guard let number = check.storedNumber else { return check }
            guard let found = checks[number] else { throw StoredRowMissing(what: "check_result \(number)") }
            return found
          }
          out.append((row.id, service))
        } catch {
          return .failure(.notAScan(path, "configuration \(row.id) cannot be read: \(error)"))
        }
      }
      return .success(out)
    }
    var decoded: [Int64: ServiceRecord] = [:]
    decoded.reserveCapacity(rows.count)
    for result in results {
      for (id, service) in try result.get() { decoded[id] = service }
    }
    return decoded
  }

  // MARK: JSON

  static func json(_ value: some Encodable) throws -> String {
    String(decoding: try ScanCoding.lineEncoder.encode(value), as: UTF8.self)
  }

  static func decode<T: Decodable>(_ type: T.Type, _ json: String, what: String) throws -> T {
    do {
      return try ScanCoding.decoder.decode(type, from: Data(json.utf8))
    } catch {
      throw StoredRowMissing(what: "\(what) is not valid (\(error))")
    }
  }
}

struct StoredRowMissing: Error, CustomStringConvertible {
  var what: String
  var description: String { what }
}

private struct StoredConfigRow: Sendable {
  var id: Int64
  var summary: String
  var body: Data
}

/// A configuration's unit and verdict: `config.summary`.
private struct ConfigSummary: Codable {
  var id: String
  var overall: OverallExposure?
}

struct UnitStateKey: Codable, Hashable, Sendable {
  var active: String?
  var sub: String?
  var unitFile: String?
}

/// What a writer has stored, by value: checks, configurations (services without their
/// per-host state), states. Bounded: a fleet of hosts that all differ does not keep them all.
struct StoredNumbers: Sendable {
  var checks: [SecurityCheck: Int64] = [:]
  var configs: [ServiceRecord: Int64] = [:]
  var states: [UnitStateKey: Int64] = [:]

  static let configLimit = 20_000

  mutating func forget(_ other: StoredNumbers) {
    for key in other.checks.keys { checks[key] = nil }
    for key in other.configs.keys { configs[key] = nil }
    for key in other.states.keys { states[key] = nil }
  }

  /// Starts the configurations afresh when there are more than `configLimit`.
  mutating func bound() {
    if configs.count > Self.configLimit { configs.removeAll() }
  }
}

enum StoredDigest {
  /// The most a stored body or diagnostics list may decompress to.
  static let bodyLimit = 64 << 20

  /// FNV-1a (64 bits) of a configuration's summary and body, as SQLite's signed integer.
  static func of(_ summary: String, _ bytes: [UInt8]) -> Int64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ byte: UInt8) {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    for byte in summary.utf8 { mix(byte) }
    mix(0)
    bytes.withUnsafeBufferPointer { for byte in $0 { mix(byte) } }
    return Int64(bitPattern: hash)
  }
}
