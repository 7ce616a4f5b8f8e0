import Foundation
import UnitModel

/// Reading scans back: whole, or one unit across scans, each configuration decoded once.
extension ScanTables {

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
        var host = HostReport(record: try decoder.decode(HostRecord.self, from: Data(row.record.utf8)))
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
            SecurityChecks(
              try decoder.decode([String: Int].self, from: bytes).map { field, number in
                guard let found = checks[number] else {
                  throw StoredRowMissing(what: "check_result \(number)")
                }
                return (field, found)
              }))
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
}
