import Foundation
import GRDB
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

extension ScanTables {
  /// Creates a new SQLite database of the scan tables at `path` (a file that must not exist),
  /// 0600: a scan directory's `scan.db`, or a history file.
  public static func createSQLite(at path: String) throws -> ScanTables {
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StorageError.cannotCreate(path, String(cString: strerror(errno))) }
    Glibc.close(fd)
    let backend = try SQLiteBackend(path: path, readOnly: false)
    do {
      try backend.queue.write { db in
        try db.execute(sql: StoreSchema.sql)
        try db.execute(sql: "PRAGMA application_id = \(StoreSchema.applicationID)")
        try db.execute(sql: "PRAGMA user_version = \(StoreSchema.version)")
      }
    } catch {
      throw StorageError.cannotCreate(path, "\(error)")
    }
    return try ScanTables(location: path, backend: backend)
  }

  /// Opens an existing SQLite database of the scan tables; refuses a file that is not one of
  /// ours or is of a schema this unitaudit does not read.
  public static func openSQLite(_ path: String, readOnly: Bool) throws -> ScanTables {
    guard FileManager.default.fileExists(atPath: path) else {
      throw StorageError.notAScan(path, "no such file")
    }
    let backend = try SQLiteBackend(path: path, readOnly: readOnly)
    let (application, version): (Int32, Int)
    do {
      (application, version) = try backend.queue.read { db in
        (
          try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
          try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        )
      }
    } catch {
      throw StorageError.notAScan(path, "not an SQLite database (\(error))")
    }
    guard application == StoreSchema.applicationID else {
      throw StorageError.notAScan(path, "an SQLite database, but not one unitaudit wrote")
    }
    guard version == StoreSchema.version else {
      throw StorageError.unsupportedSchema(path, version)
    }
    return try ScanTables(location: path, backend: backend)
  }
}

/// An SQLite database through GRDB, for `ScanTables`.
struct SQLiteBackend: TableBackend {
  let queue: DatabaseQueue
  let path: String

  init(path: String, readOnly: Bool) throws {
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
      throw StorageError.notAScan(path, "cannot open it as an SQLite database (\(error))")
    }
    self.path = path
  }

  func write<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try queue.write { db in try body(SQLiteConnection(db: db)) }
  }

  func read<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try queue.read { db in try body(SQLiteConnection(db: db)) }
  }

  /// The first share on this connection, the others each on a read-only connection of its
  /// own, all at once on the cores.
  func readShares<T: Sendable>(_ count: Int, _ body: @Sendable (Int, any StoreSQL) throws -> T) throws -> [T]
  {
    let results = Array(0..<count).concurrentMap { share in
      Result { () throws -> T in
        if share == 0 { return try read { db in try body(share, db) } }
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
          try body(share, SQLiteConnection(db: db))
        }
      }
    }
    return try results.map { try $0.get() }
  }

  /// A file does not come back by waiting.
  func reconnected() -> Bool { false }

  var readFailure: @Sendable (String, String) -> StorageError { StorageError.notAScan }

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

  /// The arguments as GRDB's optional values: its initializer over values of one type maps
  /// them with a key path, which is built anew at each call (a fifth of a statement's cost).
  private static func arguments(_ values: [StoreValue]) -> StatementArguments {
    StatementArguments(
      values.map { value -> (any DatabaseValueConvertible)? in
        switch value {
        case .null: nil
        case .integer(let number): number
        case .real(let number): number
        case .text(let text): text
        case .blob(let bytes): Data(bytes)
        }
      })
  }
}
