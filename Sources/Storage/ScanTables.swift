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
  private var numbers = StoredNumbers()
  private var closed = false
  private let partCoder: PartCoder

  init(location: String, backend: any TableBackend) throws {
    self.location = location
    self.backend = backend
    do { partCoder = try PartCoder() } catch {
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

  private func checkOpen() throws {
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
  private func retrying<T>(
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

  private static func insertScan(_ json: String, db: any StoreSQL) throws -> Int64 {
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
        try insert(host, record: record, scan: number, db: db, known: &known, added: &added)
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
  /// `body` stores added to it on commit; a rolled-back transaction's additions are
  /// forgotten, and it runs again when the server dropped it and is back.
  private func writingHosts<T>(
    _ body: (any StoreSQL, inout StoredNumbers, inout StoredNumbers) throws -> T
  ) throws -> T {
    try checkOpen()
    var added = StoredNumbers()
    return try retrying(
      {
        added = StoredNumbers()
        let result = try backend.write { db in try body(db, &numbers, &added) }
        numbers.bound()
        return result
      }, rolledBack: { numbers.forget(added) })
  }

  /// The services of a host are inserted this many to a statement.
  private static let servicesPerInsert = 256

  private func insert(
    _ host: HostReport, record: String, scan: Int64, db: any StoreSQL, known: inout StoredNumbers,
    added: inout StoredNumbers
  ) throws {
    // Hosts of one image report the same problems: their diagnostics are a part too.
    let diagnosticsPart =
      host.diagnostics.isEmpty
      ? nil
      : try partNumber(.diagnostics, host.diagnostics, \.diagnostics, db: db, known: &known, added: &added)
    guard
      let hostID = try db.integer(
        """
        INSERT INTO host (scan, name, record, diagnostics) VALUES (?, ?, ?, ?)
        ON CONFLICT (scan, name) DO UPDATE SET record = excluded.record, diagnostics = excluded.diagnostics
        RETURNING id
        """, [.integer(scan), .text(host.name), .text(record), StoreValue(diagnosticsPart)])
    else { throw StorageError.cannotWrite(location, "the host row of \(host.name) was not written") }
    try db.execute("DELETE FROM service WHERE host = ?", [.integer(hostID)])
    var values: [StoreValue] = []
    for (position, service) in host.services.enumerated() {
      let config = try configNumber(service, db: db, known: &known, added: &added)
      let state = try stateNumber(
        UnitStateKey(active: service.activeState, sub: service.subState, unitFile: service.unitFileState),
        db: db, known: &known, added: &added)
      values += [.integer(hostID), StoreValue(position), .integer(config), .integer(state)]
    }
    // A statement per batch of services, not per service: a round trip each to a server.
    let width = 4
    for start in stride(from: 0, to: values.count, by: width * Self.servicesPerInsert) {
      let batch = Array(values[start..<min(start + width * Self.servicesPerInsert, values.count)])
      let rows = Array(repeating: "(?, ?, ?, ?)", count: batch.count / width).joined(separator: ", ")
      try db.execute("INSERT INTO service (host, position, config, state) VALUES \(rows)", batch)
    }
  }

  /// The number of `service`'s configuration, storing it (and any new part of it) if it is new.
  private func configNumber(
    _ service: ServiceRecord, db: any StoreSQL, known: inout StoredNumbers, added: inout StoredNumbers
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
    let arguments: [StoreValue] = [.text(summary)] + parts.map { .integer($0) }
    let number: Int64
    if let found = try db.integer(
      """
      SELECT id FROM config
      WHERE summary = ? AND unit_part = ? AND directives = ? AND hardening = ? AND checks = ?
      """, arguments)
    {
      number = found
    } else {
      guard
        let inserted = try db.integer(
          "INSERT INTO config (summary, unit_part, directives, hardening, checks) VALUES (?, ?, ?, ?, ?) RETURNING id",
          arguments)
      else { throw StoredRowMissing(what: "a configuration row was not written") }
      number = inserted
    }
    known.configs[config] = number
    added.configs[config] = number
    return number
  }

  /// The number of a part, storing it if it is new. Known by value first: a part already seen
  /// is neither encoded nor looked up again.
  private func partNumber<Value: Hashable & Encodable>(
    _ kind: PartKind, _ value: Value, _ cache: WritableKeyPath<StoredNumbers, [Value: Int64]>,
    db: any StoreSQL, known: inout StoredNumbers, added: inout StoredNumbers
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
  private func partNumber(_ kind: PartKind, _ bytes: [UInt8], db: any StoreSQL) throws -> Int64 {
    let digest = StoredDigest.of(kind.rawValue, bytes)
    // Another part can have the same digest: the bytes decide.
    for candidate in try db.rows(
      "SELECT id, body FROM part WHERE digest = ? AND kind = ?", [.integer(digest), .text(kind.rawValue)])
    where try Zstd.decompress(try candidate.blob(1), limit: StoredDigest.bodyLimit) == bytes {
      return try candidate.integer(0)
    }
    guard
      let number = try db.integer(
        "INSERT INTO part (kind, digest, body) VALUES (?, ?, ?) RETURNING id",
        [.text(kind.rawValue), .integer(digest), .blob(try partCoder.compressor.compress(bytes))])
    else { throw StoredRowMissing(what: "a part row was not written") }
    return number
  }

  private func checkNumber(
    _ check: SecurityCheck, db: any StoreSQL, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    try remembered(check, \.checks, known: &known, added: &added) {
      try Self.row(in: "check_result", body: try Self.json(check), db: db)
    }
  }

  private func stateNumber(
    _ state: UnitStateKey, db: any StoreSQL, known: inout StoredNumbers, added: inout StoredNumbers
  ) throws -> Int64 {
    try remembered(state, \.states, known: &known, added: &added) {
      try Self.row(in: "unit_state", body: try Self.json(state), db: db)
    }
  }

  /// The id of the row of `table` whose `body` is `body`, inserted if there is none.
  private static func row(in table: String, body: String, db: any StoreSQL) throws -> Int64 {
    if let found = try db.integer("SELECT id FROM \(table) WHERE body = ?", [.text(body)]) {
      return found
    }
    guard let number = try db.integer("INSERT INTO \(table) (body) VALUES (?) RETURNING id", [.text(body)])
    else {
      throw StoredRowMissing(what: "a \(table) row was not written")
    }
    return number
  }

  // MARK: Reading

  /// The configurations, in any scan, of the unit that answers to `name`: by its id or by one
  /// of its aliases (as `HostReport.service(named:)` finds a unit).
  public func configs(answeringTo name: String) throws -> Set<Int64> {
    // Aliases live in the unit part: each part that mentions the name at all is decoded.
    let needle = Array(try Self.json(name).utf8)
    return try reading { db in
      var found = Set(
        try db.rows("SELECT id FROM config WHERE unit = ?", [.text(name)]).map { try $0.integer(0) })
      var byPart: [Int64: [Int64]] = [:]
      for row in try db.rows("SELECT id, unit_part FROM config WHERE unit IS DISTINCT FROM ?", [.text(name)])
      {
        byPart[try row.integer(1), default: []].append(try row.integer(0))
      }
      let decoder = ScanCoding.decoder
      try db.each(
        "SELECT id, body FROM part WHERE kind = 'unit' AND id IN (SELECT unit_part FROM config)", []
      ) { row in
        let id = try row.integer(0)
        guard let configs = byPart[id] else { return }
        let bytes = try Zstd.decompress(try row.blob(1), limit: StoredDigest.bodyLimit)
        guard bytes.firstRange(of: needle) != nil else { return }
        let unit: ServiceRecord
        do {
          unit = try decoder.decode(ServiceRecord.self, from: Data(bytes))
        } catch {
          throw StorageError.notAScan(location, "part \(id) (unit) cannot be read: \(error)")
        }
        if unit.aliases.contains(name) { found.formUnion(configs) }
      }
      return found
    }
  }

  /// The scan `scan` (its metadata and every host with its services, in the order recorded).
  /// Each configuration is decoded once and shared by every host that has it.
  public func storedScan(_ scan: Int64) throws -> Scan {
    try reading { db in
      guard let json = try db.text("SELECT metadata FROM scan WHERE id = ?", [.integer(scan)]) else {
        throw StorageError.notAScan(location, "it has no scan \(scan)")
      }
      let metadata = try Self.decode(ScanMetadata.self, json, what: "the scan's metadata")
      var states: [Int64: UnitStateKey] = [:]
      for row in try db.rows("SELECT id, body FROM unit_state") {
        states[try row.integer(0)] = try Self.decode(
          UnitStateKey.self, try row.text(1), what: "a unit_state row")
      }
      let hostRows = try db.rows(
        "SELECT id, name, record, diagnostics FROM host WHERE scan = ? ORDER BY id", [.integer(scan)]
      ).map {
        StoredHostRow(
          id: try $0.integer(0), name: try $0.text(1), record: try $0.text(2),
          diagnostics: try $0.optionalInteger(3))
      }
      // The configurations this scan's services use, and the parts those and its hosts use.
      let (decoded, parts) = try decodedConfigs(
        db,
        used:
          "SELECT DISTINCT config AS id FROM service JOIN host ON host.id = service.host WHERE host.scan = ?",
        alsoParts: "SELECT diagnostics FROM host WHERE scan = ? AND diagnostics IS NOT NULL",
        arguments: [.integer(scan)])
      var hosts = try Self.decodeHosts(hostRows, parts: parts, location: location)
      var hostIndex: [Int64: Int] = [:]
      for (index, row) in hostRows.enumerated() { hostIndex[row.id] = index }
      // Each host's services in an array of exactly their number: a scan's services are most
      // of its memory, and arrays grown by appending keep up to twice what they hold.
      var counts: [Int64: Int] = [:]
      for row in try db.rows(
        """
        SELECT service.host, count(*) FROM service JOIN host ON host.id = service.host
        WHERE host.scan = ? GROUP BY service.host
        """, [.integer(scan)])
      {
        counts[try row.integer(0)] = try row.int(1)
      }
      var currentHost: Int64?
      var services: [ServiceRecord] = []
      func flush() throws {
        guard let currentHost else { return }
        guard let index = hostIndex[currentHost] else {
          throw StorageError.notAScan(
            location, "services of host \(currentHost) refer to a host that is missing")
        }
        hosts[index].services = services
      }
      try db.each(
        """
        SELECT service.host, service.config, service.state FROM service JOIN host ON host.id = service.host
        WHERE host.scan = ? ORDER BY service.host, service.position
        """, [.integer(scan)]
      ) { row in
        let hostID = try row.integer(0)
        let configID = try row.integer(1)
        let stateID = try row.integer(2)
        if hostID != currentHost {
          try flush()
          currentHost = hostID
          services = []
          services.reserveCapacity(counts[hostID] ?? 0)
        }
        guard var service = decoded[configID], let state = states[stateID] else {
          throw StorageError.notAScan(
            location, "a service of host \(hostID) refers to a row that is missing")
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
  /// once, with the parts they use and those `alsoParts` selects. `arguments` are bound to
  /// each of the two queries, so both have the same placeholders.
  func decodedConfigs(
    _ db: any StoreSQL, used: String, alsoParts: String? = nil, arguments: [StoreValue]
  ) throws -> (configs: [Int64: ServiceRecord], parts: [Int64: StoredPart]) {
    var checks: [Int: SecurityCheck] = [:]
    for row in try db.rows("SELECT id, body FROM check_result") {
      checks[try row.int(0)] = try Self.decode(
        SecurityCheck.self, try row.text(1), what: "a check_result row")
    }
    let configRows = try db.rows(
      """
      SELECT id, summary, unit_part, directives, hardening, checks FROM config
      WHERE id IN (\(used))
      """, arguments)
    // The parts of the configurations read above, by their numbers, and those `alsoParts` selects.
    var wanted = Set<Int64>()
    for row in configRows { for column in 2...5 { wanted.insert(try row.integer(column)) } }
    if let alsoParts {
      for row in try db.rows(alsoParts, arguments) {
        if let id = try row.optionalInteger(0) { wanted.insert(id) }
      }
    }
    var partRows: [StoredPartRow] = []
    try db.each(
      "SELECT id, kind, body FROM part WHERE id IN (\(db.dialect.numbersOfJSONArray))",
      [.text(try Self.json(wanted.sorted()))]
    ) { row in
      let id = try row.integer(0)
      let kind = try row.text(1)
      guard let known = PartKind(rawValue: kind) else {
        throw StorageError.notAScan(
          location, "part \(id) is of a kind this unitaudit does not know (\(kind))")
      }
      partRows.append(StoredPartRow(id: id, kind: known, body: try row.blob(2)))
    }
    let parts = try Self.decodeParts(partRows, checks: checks, location: location)
    var decoded: [Int64: ServiceRecord] = [:]
    decoded.reserveCapacity(configRows.count)
    for row in configRows {
      let id = try row.integer(0)
      let summary = try Self.decode(
        ConfigSummary.self, try row.text(1), what: "the summary of configuration \(id)")
      guard case .unit(var service)? = parts[try row.integer(2)],
        case .directives(let directives)? = parts[try row.integer(3)],
        case .hardening(let hardening)? = parts[try row.integer(4)],
        case .checks(let serviceChecks)? = parts[try row.integer(5)]
      else { throw StorageError.notAScan(location, "configuration \(id) refers to a part that is missing") }
      service.id = summary.id
      service.overall = summary.overall
      service.directives = directives
      service.hardening = hardening
      service.checks = serviceChecks
      decoded[id] = service
    }
    return (decoded, parts)
  }

  /// The configurations among `configs`, decoded (for `unit`).
  func decodedConfigs(_ configs: Set<Int64>, db: any StoreSQL) throws -> (
    configs: [Int64: ServiceRecord], wanted: String
  ) {
    let wanted = try Self.json(configs.sorted())
    return (
      try decodedConfigs(db, used: db.dialect.numbersOfJSONArray, arguments: [.text(wanted)]).configs, wanted
    )
  }

  /// One unit on each host that has data, in each of `scans`: the host's name and systemd
  /// version, and the service among `configs` (`configs(answeringTo:)`) that answers to
  /// `name` — by its id before an alias, as `HostReport.service(named:)` finds it — or nil.
  /// Reads the hosts' queryable columns and those configurations only, not whole scans; the
  /// scans in shares on every core where the backend has readers for them (most of the time
  /// goes to reading every service row of each scan: there is no index by configuration).
  public func unit(
    _ name: String, configs: Set<Int64>, scans: [Int64]
  ) throws -> [[(host: String, systemd: Int?, service: ServiceRecord?)]] {
    let (decoded, wanted) = try reading { db in try decodedConfigs(configs, db: db) }
    let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, scans.count))
    let shares = (0..<cores).map { core in
      Array(scans[(scans.count * core / cores)..<(scans.count * (core + 1) / cores)])
    }
    try checkOpen()
    let read = try retrying(
      {
        try backend.readShares(shares.count) { share, db in
          try shares[share].map { scan in
            try Self.unit(name, decoded: decoded, wanted: wanted, scan: scan, db: db)
          }
        }
      }, failed: backend.readFailure)
    return read.flatMap { $0 }
  }

  static func unit(
    _ name: String, decoded: [Int64: ServiceRecord], wanted: String, scan: Int64, db: any StoreSQL
  ) throws -> [(host: String, systemd: Int?, service: ServiceRecord?)] {
    var found: [Int64: ServiceRecord] = [:]
    try db.each(
      """
      SELECT service.host, service.config FROM service JOIN host ON host.id = service.host
      WHERE host.scan = ? AND service.config IN (\(db.dialect.numbersOfJSONArray))
      ORDER BY service.host, service.position
      """, [.integer(scan), .text(wanted)]
    ) { row in
      let host = try row.integer(0)
      guard let service = decoded[try row.integer(1)] else { return }
      if service.id == name || found[host] == nil { found[host] = service }
    }
    return try db.rows(
      "SELECT id, name, status, systemd FROM host WHERE scan = ? ORDER BY id", [.integer(scan)]
    ).compactMap { row in
      let status = try row.optionalText(2)
      guard let code = status.flatMap(HostStatusCode.init(rawValue:)), code.hasData else { return nil }
      return (
        host: try row.text(1), systemd: try row.optionalInteger(3).map(Int.init),
        service: found[try row.integer(0)]
      )
    }
  }

  /// Decodes the hosts' records on every core, each with its diagnostics.
  private static func decodeHosts(
    _ rows: [StoredHostRow], parts: [Int64: StoredPart], location: String
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
        throw StorageError.notAScan(location, "the record of host \(row.name) cannot be read: \(error)")
      }
    }
  }

  /// Decompresses and decodes parts on every core, a batch at a time.
  private static func decodeParts(
    _ rows: [StoredPartRow], checks: [Int: SecurityCheck], location: String
  ) throws -> [Int64: StoredPart] {
    let parts = try decodedInBatches(rows, of: 64) { row, decoder -> StoredPart in
      do {
        let bytes = Data(try Zstd.decompress(row.body, limit: StoredDigest.bodyLimit))
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
        throw StorageError.notAScan(
          location, "part \(row.id) (\(row.kind.rawValue)) cannot be read: \(error)")
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
