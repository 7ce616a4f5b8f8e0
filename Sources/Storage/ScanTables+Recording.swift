import Foundation
import UnitModel

/// Recording hosts: each in one transaction, its services as numbers of configurations,
/// parts, checks and states stored once.
extension ScanTables {

  /// Records one finished host of `scan` in one transaction: its row, its evidence (none
  /// for a host that was not probed), and its services as numbers of stored configurations
  /// and states. A host recorded again (a resumed scan) replaces the earlier record and
  /// evidence and keeps its place.
  public func record(_ host: HostReport, evidence: Evidence.Stored? = nil, scan: Int64) throws {
    let rows = try Self.hostRows([host])
    try writingHosts { db, known, added in
      for (host, record) in rows {
        try insert(host, record: record, evidence: evidence, scan: scan, db: db, known: &known, added: &added)
      }
    }
  }

  /// The evidence recorded for the host named `host` of `scan`.
  func evidence(host: String, scan: Int64) throws -> Evidence.Stored? {
    try reading { db in
      try db.rows(
        """
        SELECT evidence.meta, evidence.stdout, evidence.stderr FROM evidence
        JOIN host ON host.id = evidence.host WHERE host.scan = ? AND host.name = ?
        """, [.integer(scan), .text(host)]
      ).first.map { row in
        Evidence.Stored(meta: try row.text(0), stdout: try row.blob(1), stderr: try row.blob(2))
      }
    }
  }

  /// Records hosts in one transaction (converting or copying a whole scan).
  public func record(_ hosts: [HostReport], scan: Int64) throws {
    let rows = try Self.hostRows(hosts)
    try writingHosts { db, known, added in
      for (host, record) in rows {
        try insert(host, record: record, evidence: nil, scan: scan, db: db, known: &known, added: &added)
      }
    }
  }

  /// Runs `body` in one write transaction with what the writer knows it has stored, and what
  /// `body` stores added to it on commit; a rolled-back transaction's additions are
  /// forgotten, and it runs again when the server dropped it and is back.
  func writingHosts<T>(
    _ body: (any StoreSQL, inout StoredNumbers, inout StoredAdditions) throws -> T
  ) throws -> T {
    try checkOpen()
    var added = StoredAdditions()
    return try retrying(
      {
        added = StoredAdditions()
        let result = try backend.write { db in try body(db, &numbers, &added) }
        numbers.bound()
        return result
      }, rolledBack: { added.forget(in: &numbers) })
  }

  /// The services of a host are inserted this many to a statement.
  private static let servicesPerInsert = 256

  func insert(
    _ host: HostReport, record: String, evidence: Evidence.Stored?, scan: Int64, db: any StoreSQL,
    known: inout StoredNumbers, added: inout StoredAdditions
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
    if let evidence {
      try db.execute(
        """
        INSERT INTO evidence (host, meta, stdout, stderr) VALUES (?, ?, ?, ?)
        ON CONFLICT (host) DO UPDATE SET meta = excluded.meta, stdout = excluded.stdout, stderr = excluded.stderr
        """, [.integer(hostID), .text(evidence.meta), .blob(evidence.stdout), .blob(evidence.stderr)])
    } else {
      try db.execute("DELETE FROM evidence WHERE host = ?", [.integer(hostID)])
    }
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
    _ service: ServiceRecord, db: any StoreSQL, known: inout StoredNumbers, added: inout StoredAdditions
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
    // A service's checks part maps each json_field to its check_result row.
    var checks: [String: Int64] = [:]
    for (field, check) in service.checks {
      checks[field] = try checkNumber(check, db: db, known: &known, added: &added)
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
    if !known.complete,
      let found = try db.integer(
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
    added.undo.append { $0.configs[config] = nil }
    return number
  }

  /// The number of a part, storing it if it is new. Known by value first: a part already seen
  /// is neither encoded nor looked up again.
  private func partNumber<Value: Hashable & Encodable>(
    _ kind: PartKind, _ value: Value, _ cache: WritableKeyPath<StoredNumbers, [Value: Int64]>,
    db: any StoreSQL, known: inout StoredNumbers, added: inout StoredAdditions
  ) throws -> Int64 {
    let complete = known.complete
    return try remembered(value, cache, known: &known, added: &added) {
      try partNumber(kind, try StoredJSON.encode(value), complete: complete, db: db)
    }
  }

  /// The number `known` has for `value`, or the one `store` gives it, remembered in both.
  private func remembered<Value: Hashable>(
    _ value: Value, _ cache: WritableKeyPath<StoredNumbers, [Value: Int64]>, known: inout StoredNumbers,
    added: inout StoredAdditions, store: () throws -> Int64
  ) rethrows -> Int64 {
    if let number = known[keyPath: cache][value] { return number }
    let number = try store()
    known[keyPath: cache][value] = number
    added.undo.append { $0[keyPath: cache][value] = nil }
    return number
  }

  /// The number of the part of `kind` whose JSON is `bytes`, inserted if there is none
  /// (`complete`: the writer knows there is none). Compressed first: its frame's checksum is
  /// the digest that finds it again.
  private func partNumber(_ kind: PartKind, _ bytes: [UInt8], complete: Bool, db: any StoreSQL) throws
    -> Int64
  {
    let frame = try partCompressor.compress(bytes)
    let digest = try StoredDigest.of(frame: frame)
    // Another part can have the same digest: the bytes decide.
    for candidate in complete
      ? []
      : try db.rows(
        "SELECT id, body FROM part WHERE digest = ? AND kind = ?", [.integer(digest), .text(kind.rawValue)])
    where try Zstd.decompress(try candidate.blob(1), limit: StoredDigest.bodyLimit) == bytes {
      return try candidate.integer(0)
    }
    guard
      let number = try db.integer(
        "INSERT INTO part (kind, digest, body) VALUES (?, ?, ?) RETURNING id",
        [.text(kind.rawValue), .integer(digest), .blob(frame)])
    else { throw StoredRowMissing(what: "a part row was not written") }
    return number
  }

  private func checkNumber(
    _ check: SecurityCheck, db: any StoreSQL, known: inout StoredNumbers, added: inout StoredAdditions
  ) throws -> Int64 {
    let complete = known.complete
    return try remembered(check, \.checks, known: &known, added: &added) {
      try Self.row(in: "check_result", body: try Self.json(check), complete: complete, db: db)
    }
  }

  private func stateNumber(
    _ state: UnitStateKey, db: any StoreSQL, known: inout StoredNumbers, added: inout StoredAdditions
  ) throws -> Int64 {
    let complete = known.complete
    return try remembered(state, \.states, known: &known, added: &added) {
      try Self.row(in: "unit_state", body: try Self.json(state), complete: complete, db: db)
    }
  }

  /// The id of the row of `table` whose `body` is `body`, inserted if there is none
  /// (`complete`: the writer knows there is none).
  private static func row(in table: String, body: String, complete: Bool, db: any StoreSQL) throws -> Int64 {
    if !complete, let found = try db.integer("SELECT id FROM \(table) WHERE body = ?", [.text(body)]) {
      return found
    }
    guard let number = try db.integer("INSERT INTO \(table) (body) VALUES (?) RETURNING id", [.text(body)])
    else {
      throw StoredRowMissing(what: "a \(table) row was not written")
    }
    return number
  }

  /// Each host with its record's JSON (`HostRecord`: the host without its services and
  /// diagnostics, which are rows and parts of their own).
  static func hostRows(_ hosts: [HostReport]) throws -> [(HostReport, String)] {
    try hosts.map { ($0, try json($0.record)) }
  }
}
