import Foundation
import Synchronization
import TestSupport
import Testing
import UnitModel

@testable import Storage

/// A history in PostgreSQL: the same answers as in SQLite, several writers at once, and the
/// refusals. Against the server of `TestPostgres` (Scripts/test starts Debian's); skipped
/// without one, but for the schema's translation, which needs none.
@Suite("history in PostgreSQL")
struct PostgresTablesTests {
  static let server: ConditionTrait = .enabled(
    if: TestPostgres.configured,
    "needs a PostgreSQL server: Scripts/test starts Debian's and sets UNITAUDIT_TEST_POSTGRES")

  /// The recorded fleet and a host of hostile strings (a NUL among them), as two scans: the
  /// second has lost a service on one host and gained a waiver-free variant on another.
  static func scans(_ label: String) async throws -> (first: URL, second: URL, hosts: [[HostReport]]) {
    let fleet = try StoreFixtures.fleetHosts() + [StoreFixtures.trickyReport().report]
    var later = fleet
    later[0].services.removeLast()
    later[1].services[0].directives.append(
      Directive(
        section: "Service", key: "PrivateTmp", value: "yes",
        source: Provenance(file: "/etc/systemd/system/x.d/override.conf", line: 2)))
    let first = try await HistoryTests.scan("\(label)1", day: 3, hosts: fleet)
    let second = try await HistoryTests.scan("\(label)2", day: 17, hosts: later)
    return (first, second, [fleet, later])
  }

  @Test("the same scans give the same answers in SQLite and PostgreSQL, byte for byte", server)
  func sameAnswers() async throws {
    let (first, second, hosts) = try await Self.scans("same")
    let work = first.deletingLastPathComponent()
    let sqlite = work.appendingPathComponent("same.db").path
    let postgres = try TestPostgres.createDatabase("same")
    defer { TestPostgres.dropDatabase(postgres) }
    let binary = try TestSupport.unitauditBinary()
    for history in [sqlite, postgres] {
      let added = try TestSupport.run([
        binary, "history", "add", first.path, second.path, "--history", history,
      ])
      #expect(added.status == 0, "\(added.output)")
    }
    let questions: [[String]] = [
      ["history", "list", "--json"],
      ["trend", "--json"],
      ["trend"],
      ["trend", "--service", "cups.service", "--json"],
      ["trend", "--service", "sshd.service"],
    ]
    for question in questions {
      let answers = try [sqlite, postgres].map { history in
        try TestSupport.run([binary] + question + ["--history", history])
      }
      #expect(answers[0].status == 0 && answers[1].status == 0, "\(question): \(answers)")
      #expect(answers[0].output == answers[1].output, "\(question)")
      #expect(answers[0].output.count > 100, "\(question) answered: \(answers[0].output)")
    }
    // Each scan reads back as it was given, NUL and all, from both.
    let databases = [
      try ScanTables.readOnlyHistory(sqlite), try ScanTables.readOnlyHistory(postgres),
    ]
    defer { for database in databases { try? database.close() } }
    for database in databases {
      let scans = try database.scans()
      #expect(scans.map(\.metadata.id) == ["scan-same1", "scan-same2"])
      for (index, scan) in scans.enumerated() {
        #expect(
          try database.storedScan(scan.id).hosts == hosts[index], "\(database.location) scan \(index + 1)")
      }
    }
    // The queryable columns say the same, hostile strings included, up to a NUL: SQLite's
    // column ends the text there, PostgreSQL's (whose jsonb cannot hold one) reads it as
    // U+FFFD and goes on. The JSON the rows keep has the value whole in both.
    for (table, columns) in [
      ("host", "scan, name, status, reason, os_id, os_version, systemd"),
      ("check_result", "name, description, passed, exposure"), ("config", "unit, exposure, rating"),
      ("unit_state", "active, sub, unit_file"), ("scan", "uuid, state, started_at, finished_at"),
    ] {
      let fromSQLite = try TestSupport.run([
        "/usr/bin/sqlite3", sqlite,
        "SELECT json_group_array(json_array(\(columns))) FROM (SELECT \(columns) FROM \(table) ORDER BY id)",
      ])
      let fromPostgres = try TestPostgres.query(
        postgres, "SELECT json_agg(json_build_array(\(columns)) ORDER BY id) FROM \(table)")
      func rows(_ json: String) throws -> [[String]] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[Any]])
        return array.map { row in
          row.map { value in
            if let number = value as? NSNumber { return String(number.doubleValue) }
            guard let text = value as? String else { return "\(value)" }
            return String(text.prefix { $0 != "\u{0}" && $0 != "\u{FFFD}" })
          }
        }
      }
      let expected = try rows(fromSQLite.output)
      #expect(expected.count > 1, "\(table)")
      let found = try rows(fromPostgres)
      let differing = (0..<min(found.count, expected.count)).first { found[$0] != expected[$0] }
      #expect(
        found == expected,
        "\(table): \(found.count) rows, \(expected.count) in SQLite; first differing: \(differing.map { "\(found[$0]) against \(expected[$0])" } ?? "none")"
      )
    }
  }

  @Test(
    "four collectors write one PostgreSQL history at once and lose nothing; shared parts are stored once",
    server)
  func concurrentCollectors() async throws {
    let (first, second, hosts) = try await Self.scans("busy")
    let history = try TestPostgres.createDatabase("busy")
    defer { TestPostgres.dropDatabase(history) }
    let binary = try TestSupport.unitauditBinary()
    // Four collectors, scan by scan and host by host, started together on an empty database:
    // they race to make the tables too. Two are processes adding whole scans; two record
    // host by host, each host its own transaction, as `scan --history` does.
    var scanCopies: [[URL]] = []
    for collector in 0..<2 {
      scanCopies.append(
        try await [
          HistoryTests.scan("busy-p\(collector)a", day: 4 + collector, hosts: hosts[0]),
          HistoryTests.scan("busy-p\(collector)b", day: 8 + collector, hosts: hosts[1]),
        ])
    }
    let copies = scanCopies
    let failures = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 4) { collector in
      do {
        if collector < 2 {
          let added = try TestSupport.run(
            [binary, "history", "add"] + copies[collector].map(\.path) + ["--history", history])
          if added.status != 0 { failures.withLock { $0.append("collector \(collector): \(added.output)") } }
        } else {
          let database = try ScanTables.history(history, create: true)
          defer { try? database.close() }
          for round in 0..<2 {
            var metadata = ScanMetadata(
              id: "busy-h\(collector)-\(round)", toolVersion: "test", probeVersion: 1, mode: .ssh,
              startedAt: Date(timeIntervalSince1970: 1_793_900_000 + Double(collector * 10 + round)),
              targets: [],
              plannedHosts: hosts[round].map(\.name))
            let number = try database.addScan(metadata)
            for host in hosts[round] { try database.record(host, scan: number) }
            metadata.state = .complete
            try database.writeMetadata(metadata, scan: number)
          }
        }
      } catch {
        failures.withLock { $0.append("collector \(collector): \(error)") }
      }
    }
    #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")

    let database = try ScanTables.readOnlyHistory(history)
    defer { try? database.close() }
    let scans = try database.scans()
    #expect(
      Set(scans.map(\.metadata.id))
        == [
          "scan-busy-p0a", "scan-busy-p0b", "scan-busy-p1a", "scan-busy-p1b", "busy-h2-0", "busy-h2-1",
          "busy-h3-0",
          "busy-h3-1",
        ])
    for scan in scans {
      let round = scan.metadata.id.hasSuffix("a") || scan.metadata.id.hasSuffix("-0") ? 0 : 1
      #expect(try database.storedScan(scan.id).hosts == hosts[round], "\(scan.metadata.id) whole")
    }
    #expect(try database.hostCount() == 4 * (hosts[0].count + hosts[1].count))
    // Nothing stored twice: what the eight scans share is one row each.
    for (table, key) in [
      ("part", "(kind, body)"), ("config", "(summary, unit_part, directives, hardening, checks)"),
      ("check_result", "body"), ("unit_state", "body"),
    ] {
      let counts = try TestPostgres.query(history, "SELECT count(*), count(DISTINCT \(key)) FROM \(table)")
      let numbers = counts.split(separator: "|")
      #expect(numbers.count == 2 && numbers[0] == numbers[1] && numbers[0] != "0", "\(table): \(counts)")
    }
    // As many configurations as one SQLite history of the two scans holds.
    let sqlite = HistoryBackend.sqlite
    let single = try sqlite.newHistory(in: first.deletingLastPathComponent(), label: "single")
    let added = try TestSupport.run([binary, "history", "add", first.path, second.path, "--history", single])
    #expect(added.status == 0, "\(added.output)")
    let sqliteConfigs = try TestSupport.run(["/usr/bin/sqlite3", single, "SELECT count(*) FROM config"])
    #expect(try TestPostgres.query(history, "SELECT count(*) FROM config") + "\n" == sqliteConfigs.output)
  }

  @Test(
    "refused, with the reason: a password in the URL, someone else's table, another schema, no history, no server",
    server)
  func refusals() throws {
    let binary = try TestSupport.unitauditBinary()
    let password = try TestSupport.run([
      binary, "history", "list", "--history", "postgres://audit:s3cret@127.0.0.1/history",
    ])
    #expect(password.status == 2 && password.output.contains("PGPASSWORD"), "\(password.output)")
    #expect(!password.output.contains("s3cret"), "the password is not printed")

    let empty = try TestPostgres.createDatabase("refuse")
    defer { TestPostgres.dropDatabase(empty) }
    let none = try TestSupport.run([binary, "history", "list", "--history", empty])
    #expect(
      none.status == 2 && none.output.hasPrefix("error: ")
        && none.output.contains("has no unitaudit history"), "\(none.output)")
    #expect(
      try TestPostgres.query(empty, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0")

    _ = try TestPostgres.query(empty, "CREATE TABLE scan (x integer)")
    let foreign = try TestSupport.run([binary, "history", "list", "--history", empty])
    #expect(
      foreign.status == 2 && foreign.output.hasPrefix("error: ")
        && foreign.output.contains("not one unitaudit made"), "\(foreign.output)")
    _ = try TestPostgres.query(empty, "DROP TABLE scan")

    let made = try ScanTables.history(empty, create: true)
    try made.close()
    _ = try TestPostgres.query(
      empty,
      "COMMENT ON TABLE scan IS 'unitaudit scan database, application \(StoreSchema.applicationID), schema 999'"
    )
    let newer = try TestSupport.run([binary, "trend", "--history", empty])
    #expect(
      newer.status == 2 && newer.output.hasPrefix("error: ")
        && newer.output.contains("scan schema version 999"), "\(newer.output)")

    let closed = try TestSupport.run([
      binary, "history", "list", "--history", "postgres://127.0.0.1:1/history?connect_timeout=3",
    ])
    #expect(
      closed.status == 2 && closed.output.hasPrefix("error: ") && closed.output.contains("cannot connect"),
      "\(closed.output)")

    // A scan refuses both before it writes anything: no directory is left to get in the way.
    let work = try temporaryDirectory("refuse")
    for (url, reason) in [
      ("postgres://audit:s3cret@127.0.0.1/history", "PGPASSWORD"),
      ("postgres://127.0.0.1:1/history?connect_timeout=3", "cannot connect"),
    ] {
      let directory = work.appendingPathComponent(reason.replacing(" ", with: "-"))
      let scan = try TestSupport.run([binary, "scan", "--local", "-o", directory.path, "--history", url])
      #expect(scan.status == 2 && scan.output.contains(reason), "\(scan.output)")
      #expect(!scan.output.contains("s3cret"))
      #expect(!FileManager.default.fileExists(atPath: directory.path), "\(reason): no scan directory")
    }
  }

  @Test(
    "a writer and a reader wait for their server to come back and go on; resuming a complete scan gives its history what it missed",
    server)
  func serverAway() async throws {
    let server = try PrivatePostgres()
    defer { server.remove() }
    let hosts = try StoreFixtures.fleetHosts()
    // A scan that wrote its directory whole; its history had the first two hosts when the
    // server went away for good.
    let directory = try await HistoryTests.scan("away", day: 20, hosts: hosts, history: server.url)
    var metadata = try readScan(directory).metadata
    metadata.state = .running
    let database = try ScanTables.history(server.url, create: true)
    let number = try database.addScan(metadata)
    try database.record(hosts[0], scan: number)
    /// Stops the server, starts it again 2 s later, and meanwhile runs `body`: how long
    /// `body` took.
    func whileAway(_ body: () throws -> Void) throws -> TimeInterval {
      try server.stop()
      let restart = Thread {
        Thread.sleep(forTimeInterval: 2)
        try? server.start()
      }
      let started = Date()
      restart.start()
      try body()
      return Date().timeIntervalSince(started)
    }
    // The server stops between two hosts and is back two seconds later: the second host's
    // transaction fails, the writer reconnects, and it is written.
    #expect(try whileAway { try database.record(hosts[1], scan: number) } >= 2, "the write waited")
    // A read waits for it too.
    var read: [HostReport] = []
    #expect(try whileAway { read = try database.storedScan(number).hosts } >= 2, "the read waited")
    #expect(read == Array(hosts[0...1]))
    try database.close()

    // `scan --resume` of the complete scan gives the history the rest.
    let resumed = try TestSupport.run([try TestSupport.unitauditBinary(), "scan", "--resume", directory.path])
    #expect(resumed.status == 0 && resumed.output.contains("now holds it whole"), "\(resumed.output)")
    let caughtUp = try ScanTables.readOnlyHistory(server.url)
    defer { try? caughtUp.close() }
    #expect(try caughtUp.scans().map(\.metadata.state) == [.complete])
    #expect(try caughtUp.storedScan(number).hosts == hosts)
  }

  @Test(
    "the PostgreSQL schema is SQLite's, translated: every table and generated column, none of SQLite's words")
  func schemaTranslation() {
    let postgres = StoreSchema.postgres
    for word in ["VIRTUAL", "WITHOUT ROWID", "BLOB", "INTEGER", "REAL", "'$."] {
      #expect(!postgres.contains(word), "\(word)")
    }
    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
    #expect(count("CREATE TABLE", in: postgres) == count("CREATE TABLE", in: StoreSchema.sql))
    #expect(count(" STORED", in: postgres) == count(" VIRTUAL", in: StoreSchema.sql))
    // Each table's own id (not a key that is another table's id, as evidence.host).
    #expect(
      count("GENERATED BY DEFAULT AS IDENTITY", in: postgres)
        == count("\n  id INTEGER PRIMARY KEY", in: StoreSchema.sql))
    #expect(postgres.contains("CREATE INDEX check_result_body ON check_result USING hash (body);"))
    #expect(
      PostgresConnection.numberedPlaceholders("SELECT '?', a FROM t WHERE b = ? AND c IN (?, ?)")
        == "SELECT '?', a FROM t WHERE b = $1 AND c IN ($2, $3)")
    #expect(StoreSchema.version(inMarker: StoreSchema.postgresMarker) == StoreSchema.version)
    #expect(StoreSchema.version(inMarker: "something else") == nil)
  }
}
