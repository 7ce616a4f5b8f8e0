import Foundation
import GRDB
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// A scan database in SQLite (`scan.db` in a scan directory, or a history file), through
/// GRDB: the tables of `StoreSchema`, read and written by `HistoryDatabase`.
public final class ScanDatabase: HistoryDatabase, @unchecked Sendable {
  public var path: String { location }
  private let queue: DatabaseQueue

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

  /// Opens the history database at `path`, creating it (0600) when there is none.
  public static func openHistory(_ path: String) throws -> ScanDatabase {
    FileManager.default.fileExists(atPath: path) ? try open(path, readOnly: false) : try create(at: path)
  }

  private init(path: String, readOnly: Bool) throws {
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
    let queue: DatabaseQueue
    do {
      queue = try DatabaseQueue(path: path, configuration: configuration)
    } catch {
      throw ScanStoreError.notAScan(path, "cannot open it as an SQLite database (\(error))")
    }
    self.queue = queue
    try super.init(location: path, backend: SQLiteBackend(queue: queue))
  }

  /// One unit on each host that has data, in each of `scans` (`HistoryDatabase.unit`): the
  /// scans on every core, each core with a read-only connection of its own. Most of the time
  /// goes to reading every service row of each scan (there is no index by configuration).
  public override func unit(
    _ name: String, configs: Set<Int64>, scans: [Int64]
  ) throws -> [[(host: String, systemd: Int?, service: ServiceRecord?)]] {
    let (decoded, wanted) = try reading { db in try decodedConfigs(configs, db: db) }
    let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, scans.count))
    let shares = (0..<cores).map { core in
      Array(scans[(scans.count * core / cores)..<(scans.count * (core + 1) / cores)])
    }
    let path = path
    let read = shares.enumerated().map { ($0, $1) }.concurrentMap { core, share in
      Result { () throws -> [[(host: String, systemd: Int?, service: ServiceRecord?)]] in
        let body = { (db: any StoreSQL) in
          try share.map { scan in try Self.unit(name, decoded: decoded, wanted: wanted, scan: scan, db: db) }
        }
        if core == 0 { return try reading(body) }
        var configuration = Configuration()
        configuration.readonly = true
        do {
          return try DatabaseQueue(path: path, configuration: configuration).read { db in
            try body(SQLiteConnection(db: db))
          }
        } catch let error as ScanStoreError {
          throw error
        } catch {
          throw ScanStoreError.notAScan(path, "\(error)")
        }
      }
    }
    return try read.flatMap { try $0.get() }
  }
}

/// An SQLite database through GRDB, for `HistoryDatabase`.
struct SQLiteBackend: TableBackend {
  let queue: DatabaseQueue

  func write<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try queue.write { db in try body(SQLiteConnection(db: db)) }
  }

  func read<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try queue.read { db in try body(SQLiteConnection(db: db)) }
  }

  /// A file does not come back by waiting.
  func reconnected() -> Bool { false }

  /// Folds the write-ahead log into the database file and closes it: what is left is one
  /// file that can be copied alone. While open for writing, the database is in WAL mode: a
  /// host's commit is one sync, and readers (progress, tests) do not block it.
  func close() throws {
    if !queue.configuration.readonly {
      // Back to a rollback journal: readers then need no -wal or -shm file beside it.
      try queue.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        try db.execute(sql: "PRAGMA journal_mode = DELETE")
      }
    }
    try queue.close()
  }
}

/// A GRDB connection in a transaction, as `StoreSQL`; statements are prepared once and kept.
struct SQLiteConnection: StoreSQL {
  let db: Database
  var dialect: StoreDialect { .sqlite }

  func execute(_ sql: String, _ arguments: [StoreValue]) throws {
    try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
  }

  func each(_ sql: String, _ arguments: [StoreValue], _ body: (StoreRow) throws -> Void) throws {
    let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: Self.arguments(arguments))
    while let row = try cursor.next() {
      try body(
        StoreRow(
          values: row.databaseValues.map { value in
            switch value.storage {
            case .null: .null
            case .int64(let number): .integer(number)
            case .double(let number): .real(number)
            case .string(let text): .text(text)
            case .blob(let data): .blob(Array(data))
            }
          }))
    }
  }

  private static func arguments(_ values: [StoreValue]) -> StatementArguments {
    StatementArguments(
      values.map { value -> DatabaseValue in
        switch value {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
      })
  }
}
