import Coverage
import Foundation
import GRDB
import Synchronization
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// A scan database (`scan.db` in a scan directory): SQLite through GRDB, with the tables of
/// `StoreSchema`. Each host is recorded in one transaction, so a killed
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
  /// Used under `numbers`' lock only, as the writer is.
  private let partCoder: PartCoder

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
    do { partCoder = try PartCoder() } catch {
      throw ScanStoreError.cannotCreate(path, "\(error)")
    }
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

  /// Opens the history database at `path`, creating it (0600) when there is none.
  public static func openHistory(_ path: String) throws -> ScanDatabase {
    FileManager.default.fileExists(atPath: path) ? try open(path, readOnly: false) : try create(at: path)
  }

  /// Adds a whole scan, metadata and hosts, in one transaction: a history holds a scan whole
  /// or not at all. Refuses a scan it already holds (the same scan id).
  public func addScan(_ scan: Scan) throws -> Int64 {
    let json = try Self.json(scan.metadata)
    let rows = try Self.hostRows(scan.hosts)
    return try writingHosts { db, known, added in
      if let found = try Int64.fetchOne(
        db, sql: "SELECT id FROM scan WHERE uuid = ?", arguments: [scan.metadata.id])
      {
        throw ScanStoreError.alreadyHeld(path, scan.metadata.id, found)
      }
      try db.execute(sql: "INSERT INTO scan (metadata) VALUES (?)", arguments: [json])
      let number = db.lastInsertedRowID
      for (host, record) in rows {
        try insert(host, record: record, scan: number, db: db, known: &known, added: &added)
      }
      return number
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

  /// The number of the scan whose id is `id`, when the database holds it.
  public func scanNumber(id: String) throws -> Int64? {
    try reading { db in try Int64.fetchOne(db, sql: "SELECT id FROM scan WHERE uuid = ?", arguments: [id]) }
  }

  /// The names of the hosts recorded for scan `scan`.
  public func hostNames(scan: Int64) throws -> [String] {
    try reading { db in
      try String.fetchAll(db, sql: "SELECT name FROM host WHERE scan = ?", arguments: [scan])
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

  // MARK: Judgements

  /// The judgement named `key` of scan `scan`, when one is stored.
  public func judgement(scan: Int64, key: String) throws -> Judgement? {
    try reading { db in
      guard
        let hosts = try Int.fetchOne(
          db, sql: "SELECT hosts FROM judgement WHERE scan = ? AND judged = ?", arguments: [scan, key])
      else { return nil }
      let rows = try Row.fetchAll(
        db, sql: "SELECT service, status, hosts, missing FROM service_state WHERE scan = ? AND judged = ?",
        arguments: [scan, key])
      return Judgement(
        hosts: hosts,
        services: try rows.map { row in
          let status: String = row["status"]
          guard let known = CoverageStatus(rawValue: status) else {
            throw StoredRowMissing(
              what: "a service state of scan \(scan) is '\(status)', which this unitaudit does not know")
          }
          return Judgement.ServiceState(
            service: row["service"], status: known, hosts: row["hosts"],
            missing: try Self.decode(
              [String: Int].self, row["missing"] as String, what: "a service state's missing"))
        })
    }
  }

  /// Stores the judgement named `key` of scan `scan`, in one transaction (replacing one of
  /// the same name).
  public func storeJudgement(_ judgement: Judgement, scan: Int64, key: String, baseline: String) throws {
    let rows = try judgement.services.map { ($0, try Self.json($0.missing)) }
    try writing { db in
      try db.execute(sql: "DELETE FROM judgement WHERE scan = ? AND judged = ?", arguments: [scan, key])
      try db.execute(
        sql: "INSERT INTO judgement (scan, judged, baseline, hosts) VALUES (?, ?, ?, ?)",
        arguments: [scan, key, baseline, judgement.hosts])
      let insert = try db.cachedStatement(
        sql:
          "INSERT INTO service_state (scan, judged, service, status, hosts, missing) VALUES (?, ?, ?, ?, ?, ?)"
      )
      for (state, missing) in rows {
        try insert.execute(arguments: [scan, key, state.service, state.status.rawValue, state.hosts, missing])
      }
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
    let rows = try Self.hostRows(hosts)
    try writingHosts { db, known, added in
      for (host, record) in rows {
        try insert(host, record: record, scan: scan, db: db, known: &known, added: &added)
      }
    }
  }

  /// Runs `body` in one write transaction with what the writer knows it has stored, and what
  /// `body` stores added to it on commit; a rolled-back transaction's additions are forgotten.
  private func writingHosts<T: Sendable>(
    _ body: (Database, inout StoredNumbers, inout StoredNumbers) throws -> T
  ) throws -> T {
    try numbers.withLock { known in
      var added = StoredNumbers()
      do {
        let result = try writing { db in try body(db, &known, &added) }
        known.bound()
        return result
      } catch {
        known.forget(added)
        throw error
      }
    }
  }

  private func insert(
    _ host: HostReport, record: String, scan: Int64, db: Database, known: inout StoredNumbers,
    added: inout StoredNumbers
  ) throws {
    // Hosts of one image report the same problems: their diagnostics are a part too.
    let diagnosticsPart =
      host.diagnostics.isEmpty
      ? nil
      : try partNumber(.diagnostics, host.diagnostics, \.diagnostics, db: db, known: &known, added: &added)
    guard
      let hostID = try Int64.fetchOne(
        db,
        sql: """
          INSERT INTO host (scan, name, record, diagnostics) VALUES (?, ?, ?, ?)
          ON CONFLICT (scan, name) DO UPDATE SET record = excluded.record, diagnostics = excluded.diagnostics
          RETURNING id
          """, arguments: [scan, host.name, record, diagnosticsPart])
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

  /// The number of `service`'s configuration, storing it (and any new part of it) if it is new.
  private func configNumber(
    _ service: ServiceRecord, db: Database, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    var record = service
    record.activeState = nil
    record.subState = nil
    record.unitFileState = nil
    let config = ConfigKey(record: record)
    if let number = known.configs[config] { return number }
    var unit = record
    unit.id = ""
    unit.overall = nil
    unit.directives = []
    unit.hardening = HardeningSettings()
    unit.checks = [:]
    let checks = try service.checks.mapValues { check in
      SecurityCheck.stored(number: Int(try checkNumber(check, db: db, known: &known, added: &added)))
    }
    let parts = [
      try partNumber(.unit, unit, \.units, db: db, known: &known, added: &added),
      try partNumber(.directives, service.directives, \.directives, db: db, known: &known, added: &added),
      try partNumber(.hardening, service.hardening, \.hardening, db: db, known: &known, added: &added),
      try partNumber(.checks, checks, \.checkParts, db: db, known: &known, added: &added),
    ]
    let summary = try Self.json(ConfigSummary(id: service.id, overall: service.overall))
    let arguments: StatementArguments = [summary, parts[0], parts[1], parts[2], parts[3]]
    let number: Int64
    if let found = try Int64.fetchOne(
      db,
      sql: """
        SELECT id FROM config
        WHERE summary = ? AND unit_part = ? AND directives = ? AND hardening = ? AND checks = ?
        """, arguments: arguments)
    {
      number = found
    } else {
      try db.execute(
        sql: "INSERT INTO config (summary, unit_part, directives, hardening, checks) VALUES (?, ?, ?, ?, ?)",
        arguments: arguments)
      number = db.lastInsertedRowID
    }
    known.configs[config] = number
    added.configs[config] = number
    return number
  }

  /// The number of a part, storing it if it is new. Known by value first: a part already seen
  /// is neither encoded nor looked up again.
  private func partNumber<Value: Hashable & Encodable>(
    _ kind: PartKind, _ value: Value, _ cache: WritableKeyPath<StoredNumbers, [Value: Int64]>, db: Database,
    known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    try remembered(value, cache, known: &known, added: &added) {
      try partNumber(kind, Array(try partCoder.encoder.encode(value)), db: db)
    }
  }

  /// The number `known` has for `value`, or the one `store` gives it, remembered in both.
  private func remembered<Value: Hashable>(
    _ value: Value, _ cache: WritableKeyPath<StoredNumbers, [Value: Int64]>, known: inout StoredNumbers,
    added: inout StoredNumbers, store: () throws -> Int64
  ) rethrows -> Int64 {
    if let number = known[keyPath: cache][value] { return number }
    let number = try store()
    known[keyPath: cache][value] = number
    added[keyPath: cache][value] = number
    return number
  }

  /// The number of the part of `kind` whose JSON is `bytes`, inserted if there is none.
  private func partNumber(_ kind: PartKind, _ bytes: [UInt8], db: Database) throws -> Int64 {
    let digest = StoredDigest.of(kind.rawValue, bytes)
    // Another part can have the same digest: the bytes decide.
    for candidate in try Row.fetchAll(
      db, sql: "SELECT id, body FROM part WHERE digest = ? AND kind = ?", arguments: [digest, kind.rawValue])
    where try Zstd.decompress(Array(candidate["body"] as Data), limit: StoredDigest.bodyLimit) == bytes {
      return candidate["id"]
    }
    try db.execute(
      sql: "INSERT INTO part (kind, digest, body) VALUES (?, ?, ?)",
      arguments: [kind.rawValue, digest, Data(try partCoder.compressor.compress(bytes))])
    return db.lastInsertedRowID
  }

  private func checkNumber(
    _ check: SecurityCheck, db: Database, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    try remembered(check, \.checks, known: &known, added: &added) {
      try Self.row(in: "check_result", body: try Self.json(check), db: db)
    }
  }

  private func stateNumber(
    _ state: UnitStateKey, db: Database, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    try remembered(state, \.states, known: &known, added: &added) {
      try Self.row(in: "unit_state", body: try Self.json(state), db: db)
    }
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

  /// The configurations, in any scan, of the unit that answers to `name`: by its id or by one
  /// of its aliases (as `HostReport.service(named:)` finds a unit).
  public func configs(answeringTo name: String) throws -> Set<Int64> {
    // Aliases live in the unit part: each part that mentions the name at all is decoded.
    let needle = Array(try Self.json(name).utf8)
    return try reading { db in
      var found = Set(try Int64.fetchAll(db, sql: "SELECT id FROM config WHERE unit = ?", arguments: [name]))
      var byPart: [Int64: [Int64]] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT id, unit_part FROM config WHERE unit IS NOT ?", arguments: [name])
      {
        byPart[row[1], default: []].append(row[0])
      }
      let decoder = ScanCoding.decoder
      for row in try Row.fetchAll(
        db, sql: "SELECT id, body FROM part WHERE kind = 'unit' AND id IN (SELECT unit_part FROM config)")
      {
        let id: Int64 = row[0]
        guard let configs = byPart[id] else { continue }
        let body: Data = row[1]
        let bytes = try Zstd.decompress(Array(body), limit: StoredDigest.bodyLimit)
        guard bytes.firstRange(of: needle) != nil else { continue }
        let unit: ServiceRecord
        do {
          unit = try decoder.decode(ServiceRecord.self, from: Data(bytes))
        } catch {
          throw ScanStoreError.notAScan(path, "part \(id) (unit) cannot be read: \(error)")
        }
        if unit.aliases.contains(name) { found.formUnion(configs) }
      }
      return found
    }
  }

  /// The scan `scan` (its metadata and every host with its services, in the order recorded).
  /// Each configuration is decoded once and shared by every host that has it.
  public func loadScan(_ scan: Int64) throws -> Scan {
    try reading { db in
      guard
        let json = try String.fetchOne(db, sql: "SELECT metadata FROM scan WHERE id = ?", arguments: [scan])
      else { throw ScanStoreError.notAScan(path, "it has no scan \(scan)") }
      let metadata = try Self.decode(ScanMetadata.self, json, what: "the scan's metadata")
      var states: [Int64: UnitStateKey] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT id, body FROM unit_state") {
        states[row["id"]] = try Self.decode(
          UnitStateKey.self, row["body"] as String, what: "a unit_state row")
      }
      let hostRows = try Row.fetchAll(
        db, sql: "SELECT id, name, record, diagnostics FROM host WHERE scan = ? ORDER BY id",
        arguments: [scan]
      ).map { StoredHostRow(id: $0[0], name: $0[1], record: $0[2], diagnostics: $0[3]) }
      // The configurations this scan's services use, and the parts those and its hosts use.
      let (decoded, parts) = try decodedConfigs(
        db,
        used: """
          SELECT DISTINCT config AS id FROM service JOIN host ON host.id = service.host WHERE host.scan = ?1
          """,
        alsoParts: "SELECT diagnostics FROM host WHERE scan = ?1 AND diagnostics IS NOT NULL",
        arguments: [scan])
      var hosts = try Self.decodeHosts(hostRows, parts: parts, path: path)
      var hostIndex: [Int64: Int] = [:]
      for (index, row) in hostRows.enumerated() { hostIndex[row.id] = index }
      // Each host's services in an array of exactly their number: a scan's services are most
      // of its memory, and arrays grown by appending keep up to twice what they hold.
      var counts: [Int64: Int] = [:]
      for row in try Row.fetchAll(
        db,
        sql: """
          SELECT service.host, count(*) FROM service JOIN host ON host.id = service.host
          WHERE host.scan = ?1 GROUP BY service.host
          """, arguments: [scan])
      {
        counts[row[0]] = row[1]
      }
      let cursor = try Row.fetchCursor(
        db,
        sql: """
          SELECT service.host, service.config, service.state FROM service JOIN host ON host.id = service.host
          WHERE host.scan = ?1 ORDER BY service.host, service.position
          """, arguments: [scan])
      var currentHost: Int64?
      var services: [ServiceRecord] = []
      func flush() throws {
        guard let currentHost else { return }
        guard let index = hostIndex[currentHost] else {
          throw ScanStoreError.notAScan(
            path, "services of host \(currentHost) refer to a host that is missing")
        }
        hosts[index].services = services
      }
      while let row = try cursor.next() {
        let hostID: Int64 = row[0]
        let configID: Int64 = row[1]
        let stateID: Int64 = row[2]
        if hostID != currentHost {
          try flush()
          currentHost = hostID
          services = []
          services.reserveCapacity(counts[hostID] ?? 0)
        }
        guard var service = decoded[configID], let state = states[stateID] else {
          throw ScanStoreError.notAScan(path, "a service of host \(hostID) refers to a row that is missing")
        }
        service.activeState = state.active
        service.subState = state.sub
        service.unitFileState = state.unitFile
        services.append(service)
      }
      try flush()
      return Scan(metadata: metadata, hosts: hosts)
    }
  }

  /// The configurations whose ids the query `used` selects (as a column `id`), each decoded
  /// once, with the parts they use and those `alsoParts` selects.
  private func decodedConfigs(
    _ db: Database, used: String, alsoParts: String? = nil, arguments: StatementArguments
  ) throws -> (configs: [Int64: ServiceRecord], parts: [Int64: StoredPart]) {
    var checks: [Int: SecurityCheck] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT id, body FROM check_result") {
      checks[row["id"]] = try Self.decode(
        SecurityCheck.self, row["body"] as String, what: "a check_result row")
    }
    let with = "WITH used AS (\(used)) "
    let configRows = try Row.fetchAll(
      db,
      sql: with + """
        SELECT id, summary, unit_part, directives, hardening, checks FROM config
        WHERE id IN (SELECT id FROM used)
        """, arguments: arguments)
    let partCursor = try Row.fetchCursor(
      db,
      sql: with + """
        , parts AS (
          SELECT unit_part AS id FROM config WHERE id IN (SELECT id FROM used)
          UNION SELECT directives FROM config WHERE id IN (SELECT id FROM used)
          UNION SELECT hardening FROM config WHERE id IN (SELECT id FROM used)
          UNION SELECT checks FROM config WHERE id IN (SELECT id FROM used)
          \(alsoParts.map { "UNION " + $0 } ?? ""))
        SELECT id, kind, body FROM part WHERE id IN (SELECT id FROM parts)
        """, arguments: arguments)
    var partRows: [StoredPartRow] = []
    while let row = try partCursor.next() {
      let id: Int64 = row[0]
      let kind: String = row[1]
      guard let known = PartKind(rawValue: kind) else {
        throw ScanStoreError.notAScan(
          path, "part \(id) is of a kind this unitaudit does not know (\(kind))")
      }
      partRows.append(StoredPartRow(id: id, kind: known, body: row[2]))
    }
    let parts = try Self.decodeParts(partRows, checks: checks, path: path)
    var decoded: [Int64: ServiceRecord] = [:]
    decoded.reserveCapacity(configRows.count)
    for row in configRows {
      let id: Int64 = row[0]
      let summary = try Self.decode(
        ConfigSummary.self, row[1] as String, what: "the summary of configuration \(id)")
      guard case .unit(var service)? = parts[row[2]], case .directives(let directives)? = parts[row[3]],
        case .hardening(let hardening)? = parts[row[4]], case .checks(let serviceChecks)? = parts[row[5]]
      else { throw ScanStoreError.notAScan(path, "configuration \(id) refers to a part that is missing") }
      service.id = summary.id
      service.overall = summary.overall
      service.directives = directives
      service.hardening = hardening
      service.checks = serviceChecks
      decoded[id] = service
    }
    return (decoded, parts)
  }

  /// One unit on each host that has data, in each of `scans`: the host's name and systemd
  /// version, and the service among `configs` (`configs(answeringTo:)`) that answers to
  /// `name` — by its id before an alias, as `HostReport.service(named:)` finds it — or nil.
  /// Reads the hosts' queryable columns and those configurations only, not whole scans; the
  /// scans on every core, each core with a read-only connection of its own.
  public func unit(
    _ name: String, configs: Set<Int64>, scans: [Int64]
  ) throws -> [[(host: String, systemd: Int?, service: ServiceRecord?)]] {
    let wanted = try Self.json(configs.sorted())
    let decoded = try reading { db in
      try decodedConfigs(db, used: "SELECT value AS id FROM json_each(?1)", arguments: [wanted]).configs
    }
    // Most of the time goes to reading every service row of each scan (there is no index by
    // configuration), so the scans are shared out.
    let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, scans.count))
    let shares = (0..<cores).map { core in
      Array(scans[(scans.count * core / cores)..<(scans.count * (core + 1) / cores)])
    }
    let read = shares.enumerated().map { ($0, $1) }.concurrentMap { core, share in
      Result { () throws -> [[(host: String, systemd: Int?, service: ServiceRecord?)]] in
        let body = { (db: Database) in
          try share.map { scan in try Self.unit(name, decoded: decoded, wanted: wanted, scan: scan, db: db) }
        }
        if core == 0 { return try reading(body) }
        var configuration = Configuration()
        configuration.readonly = true
        do {
          return try DatabaseQueue(path: path, configuration: configuration).read(body)
        } catch let error as ScanStoreError {
          throw error
        } catch {
          throw ScanStoreError.notAScan(path, "\(error)")
        }
      }
    }
    return try read.flatMap { try $0.get() }
  }

  private static func unit(
    _ name: String, decoded: [Int64: ServiceRecord], wanted: String, scan: Int64, db: Database
  ) throws -> [(host: String, systemd: Int?, service: ServiceRecord?)] {
    var found: [Int64: ServiceRecord] = [:]
    for row in try Row.fetchAll(
      db,
      sql: """
        SELECT service.host, service.config FROM service JOIN host ON host.id = service.host
        WHERE host.scan = ?1 AND service.config IN (SELECT value FROM json_each(?2))
        ORDER BY service.host, service.position
        """, arguments: [scan, wanted])
    {
      let host: Int64 = row[0]
      guard let service = decoded[row[1]] else { continue }
      if service.id == name || found[host] == nil { found[host] = service }
    }
    return try Row.fetchAll(
      db, sql: "SELECT id, name, status, systemd FROM host WHERE scan = ? ORDER BY id", arguments: [scan]
    ).compactMap { row in
      let status: String? = row[2]
      guard let code = status.flatMap(HostStatusCode.init(rawValue:)), code.hasData else { return nil }
      return (host: row[1], systemd: row[3], service: found[row[0]])
    }
  }

  /// Decodes the hosts' records on every core, each with its diagnostics.
  private static func decodeHosts(
    _ rows: [StoredHostRow], parts: [Int64: StoredPart], path: String
  ) throws -> [HostReport] {
    try decodedInBatches(rows, of: 256) { row, decoder in
      do {
        var host = try decoder.decode(HostReport.self, from: Data(row.record.utf8))
        if let part = row.diagnostics {
          guard case .diagnostics(let diagnostics)? = parts[part] else {
            throw StoredRowMissing(what: "its diagnostics, part \(part)")
          }
          host.diagnostics = diagnostics
        }
        return host
      } catch {
        throw ScanStoreError.notAScan(path, "the record of host \(row.name) cannot be read: \(error)")
      }
    }
  }

  /// Decompresses and decodes parts on every core, a batch at a time.
  private static func decodeParts(
    _ rows: [StoredPartRow], checks: [Int: SecurityCheck], path: String
  ) throws -> [Int64: StoredPart] {
    let parts = try decodedInBatches(rows, of: 64) { row, decoder -> StoredPart in
      do {
        let bytes = Data(try Zstd.decompress(Array(row.body), limit: StoredDigest.bodyLimit))
        switch row.kind {
        case .unit: return .unit(try decoder.decode(ServiceRecord.self, from: bytes))
        case .directives: return .directives(try decoder.decode([Directive].self, from: bytes))
        case .hardening: return .hardening(try decoder.decode(HardeningSettings.self, from: bytes))
        case .diagnostics: return .diagnostics(try decoder.decode([Diagnostic].self, from: bytes))
        case .checks:
          return .checks(
            try decoder.decode(SecurityChecks.self, from: bytes).mapValues { check in
              guard let number = check.storedNumber else { return check }
              guard let found = checks[number] else { throw StoredRowMissing(what: "check_result \(number)") }
              return found
            })
        }
      } catch {
        throw ScanStoreError.notAScan(path, "part \(row.id) (\(row.kind.rawValue)) cannot be read: \(error)")
      }
    }
    return Dictionary(zip(rows.map(\.id), parts), uniquingKeysWith: { first, _ in first })
  }

  /// `rows` transformed in order, a batch of `size` on each core at a time, each batch with a
  /// decoder of its own; the first error is thrown.
  private static func decodedInBatches<Row: Sendable, Value: Sendable>(
    _ rows: [Row], of size: Int, _ transform: @Sendable (Row, JSONDecoder) throws -> Value
  ) throws -> [Value] {
    let batches = stride(from: 0, to: rows.count, by: size).map {
      Array(rows[$0..<min($0 + size, rows.count)])
    }
    let results = batches.concurrentMap { batch in
      Result { () throws -> [Value] in
        let decoder = ScanCoding.decoder
        return try batch.map { try transform($0, decoder) }
      }
    }
    var values: [Value] = []
    values.reserveCapacity(rows.count)
    for result in results { values += try result.get() }
    return values
  }

  /// Each host with its record: the host as JSON without its services and diagnostics.
  private static func hostRows(_ hosts: [HostReport]) throws -> [(HostReport, String)] {
    try hosts.map { host in
      var shell = host
      shell.services = []
      shell.diagnostics = []
      return (host, try json(shell))
    }
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

/// What writes parts: one JSON encoder and one zstd context, kept. Keys are sorted: the
/// encoder's own order changes from one process to the next, and equal values must give
/// equal bytes for a later writer (`--resume`) to find a part again. Used by one
/// writer at a time (`ScanDatabase` under its lock).
final class PartCoder: @unchecked Sendable {
  let encoder: JSONEncoder
  let compressor: ZstdCompressor

  init() throws {
    encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    compressor = try ZstdCompressor()
  }
}

/// The kinds of a configuration's parts (`part.kind`).
enum PartKind: String, Sendable {
  case unit, directives, hardening, checks
  /// A host's diagnostics (`host.diagnostics`).
  case diagnostics
}

private struct StoredHostRow: Sendable {
  var id: Int64
  var name: String
  var record: String
  var diagnostics: Int64?
}

private struct StoredPartRow: Sendable {
  var id: Int64
  var kind: PartKind
  var body: Data
}

private enum StoredPart: Sendable {
  case unit(ServiceRecord)
  case directives([Directive])
  case hardening(HardeningSettings)
  case checks(SecurityChecks)
  case diagnostics([Diagnostic])
}

/// A configuration (a service without its per-host state) as the writer's memory keys it:
/// equal when the records are equal, hashed on what tells configurations apart cheaply — the
/// directives' values and lines, the checks' verdicts — rather than every string of the
/// record (the effective settings follow from the directives). Hashing is most of a cache
/// hit's cost, and a host of a known image is nothing but hits.
struct ConfigKey: Hashable, Sendable {
  var record: ServiceRecord

  static func == (lhs: ConfigKey, rhs: ConfigKey) -> Bool { lhs.record == rhs.record }

  func hash(into hasher: inout Hasher) {
    hasher.combine(record.id)
    hasher.combine(record.directives.count)
    for directive in record.directives {
      hasher.combine(directive.value)
      hasher.combine(directive.source.line)
    }
    hasher.combine(record.checks.count)
    for check in record.checks.values {
      hasher.combine(check.set)
      hasher.combine(check.exposure?.tenths)
    }
    hasher.combine(record.overall?.exposure.tenths)
  }
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
/// per-host state), states and parts.
struct StoredNumbers: Sendable {
  var checks: [SecurityCheck: Int64] = [:]
  var configs: [ConfigKey: Int64] = [:]
  var states: [UnitStateKey: Int64] = [:]
  // The parts, by kind and value.
  var units: [ServiceRecord: Int64] = [:]
  var directives: [[Directive]: Int64] = [:]
  var hardening: [HardeningSettings: Int64] = [:]
  var checkParts: [SecurityChecks: Int64] = [:]
  var diagnostics: [[Diagnostic]: Int64] = [:]

  static let configLimit = 20_000

  mutating func forget(_ other: StoredNumbers) {
    for key in other.checks.keys { checks[key] = nil }
    for key in other.configs.keys { configs[key] = nil }
    for key in other.states.keys { states[key] = nil }
    for key in other.units.keys { units[key] = nil }
    for key in other.directives.keys { directives[key] = nil }
    for key in other.hardening.keys { hardening[key] = nil }
    for key in other.checkParts.keys { checkParts[key] = nil }
    for key in other.diagnostics.keys { diagnostics[key] = nil }
  }

  /// Starts the configurations and parts afresh when there are more than `configLimit` of a
  /// kind: a fleet of hosts that all differ does not keep them all.
  mutating func bound() {
    if configs.count > Self.configLimit { configs.removeAll() }
    if units.count > Self.configLimit { units.removeAll() }
    if directives.count > Self.configLimit { directives.removeAll() }
    if hardening.count > Self.configLimit { hardening.removeAll() }
    if checkParts.count > Self.configLimit { checkParts.removeAll() }
    if diagnostics.count > Self.configLimit { diagnostics.removeAll() }
  }
}

enum StoredDigest {
  /// The most a stored body or diagnostics list may decompress to.
  static let bodyLimit = 64 << 20

  /// FNV-1a of a part's kind and body, as SQLite's signed integer.
  static func of(_ kind: String, _ bytes: [UInt8]) -> Int64 {
    var hasher = FNV1a()
    hasher.combine(kind.utf8)
    hasher.combine(0)
    bytes.withUnsafeBufferPointer { hasher.combine($0) }
    return Int64(bitPattern: hasher.value)
  }
}
