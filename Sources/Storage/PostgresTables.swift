import CLibPQ
import Foundation
import UnitModel

/// A history in PostgreSQL (`--history postgres://…`), through libpq: the tables of
/// `StoreSchema` as `StoreSchema.postgres` writes them, read and written by the same code as
/// an SQLite history (`ScanTables`), so both give the same answers.
///
/// Several collectors can write one history at once: each transaction that writes takes the
/// same transaction-level advisory lock first, so writers take turns a transaction (a host)
/// at a time, as they would on an SQLite file, and a part or configuration two collectors
/// both meet is stored once. Readers see one snapshot for the whole of a read (repeatable
/// read), whatever is written meanwhile.
extension ScanTables {
  /// Connects to the history at `url`, creating its tables when there are none and `create`
  /// is set. The URL is libpq's (https://www.postgresql.org/docs/current/libpq-connect.html):
  /// host, port, database, user, `sslmode` and the rest; the password comes from
  /// `PGPASSWORD` or `~/.pgpass`, never the URL (a scan records its options).
  public static func connectPostgres(_ url: String, create: Bool) throws -> ScanTables {
    try PostgresLocation.check(url)
    let connection = try PostgresConnection(url: url)
    do {
      try checkTables(connection, url: url, create: create)
    } catch let error as PostgresError {
      throw StorageError.historyUnusable(url, "\(error)")
    }
    return try ScanTables(location: url, backend: PostgresBackend(connection: connection))
  }

  /// Checks that the database has a history of this schema, or makes one (`create`): one
  /// collector at a time, under the writers' lock.
  private static func checkTables(_ connection: PostgresConnection, url: String, create: Bool) throws {
    try connection.transaction(writing: create) { db in
      let exists =
        try db.integer("SELECT count(*) FROM pg_catalog.pg_class WHERE oid = to_regclass('scan')") ?? 0
      if exists == 0 {
        guard create else {
          throw StorageError.historyUnusable(
            url, "the database has no unitaudit history (`history add` or `scan --history` creates one)")
        }
        try connection.script(StoreSchema.postgres)
        try connection.script("COMMENT ON TABLE scan IS '\(StoreSchema.postgresMarker)'")
        return
      }
      let comment = try db.text("SELECT obj_description(to_regclass('scan'), 'pg_class')") ?? ""
      guard let version = StoreSchema.version(inMarker: comment) else {
        throw StorageError.historyUnusable(url, "it has a table scan, but not one unitaudit made")
      }
      guard version == StoreSchema.version else { throw StorageError.unsupportedSchema(url, version) }
    }
  }

}

/// What `--history` accepts as a PostgreSQL location.
public enum PostgresLocation {
  /// Whether `location` names a PostgreSQL database rather than a file.
  public static func isURL(_ location: String) -> Bool {
    location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
  }

  /// Refuses a URL libpq cannot read, or one that carries a password.
  public static func check(_ url: String) throws {
    var message: UnsafeMutablePointer<CChar>?
    guard let options = PQconninfoParse(url, &message) else {
      let why =
        message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "out of memory"
      if let message { PQfreemem(message) }
      throw StorageError.historyUnusable(url, "not a PostgreSQL URL libpq reads (\(why))")
    }
    defer { PQconninfoFree(options) }
    var option = options
    while let keyword = option.pointee.keyword {
      if String(cString: keyword) == "password", option.pointee.val != nil {
        throw StorageError.historyUnusable(
          url.replacingOccurrences(of: #":[^:@/]*@"#, with: ":…@", options: .regularExpression),
          "the URL holds a password, which the scan would record with its options; "
            + "give it in PGPASSWORD or ~/.pgpass instead")
      }
      option = option.advanced(by: 1)
    }
  }
}

/// A PostgreSQL database, for `ScanTables`.
struct PostgresBackend: TableBackend {
  /// A read that failed here is a server that cannot be used, not a file that is not a scan.
  var readFailure: @Sendable (String, String) -> StorageError { StorageError.historyUnusable }

  let connection: PostgresConnection

  func write<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try connection.transaction(writing: true, body)
  }

  func read<T>(_ body: (any StoreSQL) throws -> T) throws -> T {
    try connection.transaction(writing: false, body)
  }

  func reconnected() -> Bool { connection.reconnected() }

  func close() throws { connection.close() }
}

/// A PostgreSQL server's error, with its SQLSTATE.
struct PostgresError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }

  /// libpq's messages break lines and indent with tabs: as one line.
  init(message: String) {
    self.message = message.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }
}

/// One libpq connection, used by its `ScanTables`' one owner, a transaction at a time.
final class PostgresConnection {
  private var handle: OpaquePointer?
  /// Statements with `?` rewritten as `$1`, `$2`…, by their text.
  private var rewritten: [String: String] = [:]

  /// Every transaction that writes takes this advisory lock first: "UADT", the application id.
  static let writerLock = Int64(StoreSchema.applicationID)

  init(url: String) throws {
    // Without a connect_timeout of its own, libpq waits as long as TCP does; the URL's wins.
    let keywords = ["connect_timeout", "dbname", "fallback_application_name"]
    let values = ["15", url, "unitaudit"]
    let connection = withCStrings(keywords) { keywords in
      withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
    }
    guard let connection else { throw StorageError.historyUnusable(url, "libpq is out of memory") }
    guard PQstatus(connection) == CONNECTION_OK else {
      let why = PostgresError(message: String(cString: PQerrorMessage(connection)))
      PQfinish(connection)
      throw StorageError.historyUnusable(url, "cannot connect: \(why)")
    }
    // The server's notices (an index that exists, a cast) are not the user's business.
    PQsetNoticeProcessor(connection, { _, _ in }, nil)
    handle = connection
  }

  deinit { if let handle { PQfinish(handle) } }

  func close() {
    if let handle { PQfinish(handle) }
    handle = nil
  }

  /// How long a lost connection is tried again, in all (a server restart takes seconds).
  static let reconnectDelays: [Double] = [0.5, 1, 2, 4, 8, 16]

  /// Whether the connection was lost and is back: reconnects, waiting between tries, when it
  /// was lost; false when it was not lost (the failure was something else) or stays lost.
  func reconnected() -> Bool {
    guard let handle, PQstatus(handle) != CONNECTION_OK else { return false }
    for delay in Self.reconnectDelays {
      Thread.sleep(forTimeInterval: delay)
      PQreset(handle)
      if PQstatus(handle) == CONNECTION_OK { return true }
    }
    return false
  }

  /// Runs `body` in a transaction: a writing one takes the writers' advisory lock first; a
  /// reading one is read only and sees one snapshot throughout. Rolled back when `body` throws.
  func transaction<T>(writing: Bool, _ body: (any StoreSQL) throws -> T) throws -> T {
    try script(
      writing
        ? "BEGIN; SELECT pg_advisory_xact_lock(\(Self.writerLock))"
        : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    do {
      let result = try body(Statements(connection: self))
      try script("COMMIT")
      return result
    } catch {
      try? script("ROLLBACK")
      throw error
    }
  }

  /// Runs SQL without arguments, statements separated by semicolons (the schema).
  func script(_ sql: String) throws {
    guard let handle else { throw PostgresError(message: "the connection is closed") }
    let result = PQexec(handle, sql)
    defer { PQclear(result) }
    try check(result, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
  }

  /// Runs one statement with its arguments; the result is the caller's to clear.
  fileprivate func run(_ sql: String, _ arguments: [StoreValue]) throws -> OpaquePointer {
    guard let handle else { throw PostgresError(message: "the connection is closed") }
    let statement: String
    if let known = rewritten[sql] {
      statement = known
    } else {
      statement = Self.numberedPlaceholders(sql)
      rewritten[sql] = statement
    }
    // Text arguments as C strings; blobs in binary, with their length.
    var buffers: [UnsafeMutablePointer<CChar>?] = []
    defer { for buffer in buffers { buffer?.deallocate() } }
    var lengths: [Int32] = []
    var formats: [Int32] = []
    for argument in arguments {
      let bytes: [UInt8]?
      var binary = false
      switch argument {
      case .null: bytes = nil
      case .integer(let number): bytes = Array(String(number).utf8)
      case .real(let number): bytes = Array("\(number)".utf8)
      case .text(let text):
        guard !text.utf8.contains(0) else {
          throw PostgresError(message: "a text value holds a NUL byte, which PostgreSQL's text cannot hold")
        }
        bytes = Array(text.utf8)
      case .blob(let blob):
        bytes = blob
        binary = true
      }
      guard let bytes else {
        buffers.append(nil)
        lengths.append(0)
        formats.append(0)
        continue
      }
      let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
      bytes.withUnsafeBytes { source in
        UnsafeMutableRawPointer(buffer).copyMemory(
          from: source.baseAddress ?? UnsafeRawPointer(buffer), byteCount: bytes.count)
      }
      buffer[bytes.count] = 0
      buffers.append(buffer)
      lengths.append(Int32(bytes.count))
      formats.append(binary ? 1 : 0)
    }
    let values = buffers.map { UnsafePointer($0) }
    guard
      let result = PQexecParams(
        handle, statement, Int32(arguments.count), nil, values, lengths, formats, 0)
    else { throw PostgresError(message: String(cString: PQerrorMessage(handle))) }
    do {
      try check(result, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    } catch {
      PQclear(result)
      throw error
    }
    return result
  }

  private func check(_ result: OpaquePointer?, expecting: [ExecStatusType]) throws {
    guard let result else {
      throw PostgresError(message: handle.map { String(cString: PQerrorMessage($0)) } ?? "no connection")
    }
    let status = PQresultStatus(result)
    guard expecting.contains(status) else {
      // The primary message alone ("relation … does not exist"), without libpq's "ERROR:" and
      // context lines.
      var message =
        PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
      if let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) {
        message += " (SQLSTATE \(String(cString: state)))"
      }
      throw PostgresError(message: message.isEmpty ? String(cString: PQresStatus(status)) : message)
    }
  }

  /// `sql` with each `?` outside quotes as `$1`, `$2`… in order.
  static func numberedPlaceholders(_ sql: String) -> String {
    var output = ""
    var number = 0
    var quoted = false
    for character in sql {
      if character == "'" { quoted.toggle() }
      if character == "?" && !quoted {
        number += 1
        output += "$\(number)"
      } else {
        output.append(character)
      }
    }
    return output
  }
}

/// The statements of one transaction on a `PostgresConnection`, as `StoreSQL`.
private struct Statements: StoreSQL {
  let connection: PostgresConnection
  var dialect: StoreDialect { .postgres }

  func execute(_ sql: String, _ arguments: [StoreValue]) throws {
    PQclear(try connection.run(sql, arguments))
  }

  func each(_ sql: String, _ arguments: [StoreValue], _ body: (StoreRow) throws -> Void) throws {
    let result = try connection.run(sql, arguments)
    defer { PQclear(result) }
    let columns = PQnfields(result)
    let types = (0..<columns).map { PQftype(result, $0) }
    for row in 0..<PQntuples(result) {
      var values: [StoreValue] = []
      values.reserveCapacity(Int(columns))
      for column in 0..<columns {
        if PQgetisnull(result, row, column) == 1 {
          values.append(.null)
          continue
        }
        let raw = PQgetvalue(result, row, column)
        if types[Int(column)] == 17 {  // bytea, in its text form: libpq decodes it
          values.append(.blob(try Self.bytes(bytea: raw)))
          continue
        }
        let text = raw.map { String(cString: $0) } ?? ""
        switch types[Int(column)] {
        case 20, 21, 23, 26:  // int8, int2, int4, oid
          guard let number = Int64(text) else { throw PostgresError(message: "'\(text)' is not an integer") }
          values.append(.integer(number))
        case 700, 701, 1700:  // float4, float8, numeric
          guard let number = Double(text) else { throw PostgresError(message: "'\(text)' is not a number") }
          values.append(.real(number))
        case 16:  // bool
          values.append(.integer(text == "t" ? 1 : 0))
        default:
          values.append(.text(text))
        }
      }
      try body(StoreRow(values: values))
    }
  }

  /// A bytea's text form (`\x0a1b…`) as bytes, decoded by `PQunescapeBytea`.
  static func bytes(bytea text: UnsafePointer<CChar>?) throws -> [UInt8] {
    var length = 0
    let decoded = text.flatMap {
      PQunescapeBytea(UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), &length)
    }
    guard let decoded else { throw PostgresError(message: "a bytea value libpq cannot decode") }
    defer { PQfreemem(decoded) }
    return Array(UnsafeBufferPointer(start: decoded, count: length))
  }
}

/// `strings` as a NULL-terminated array of C strings, for `body`.
private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
  let copies = strings.map { strdup($0) }
  defer { for copy in copies { free(copy) } }
  var pointers = copies.map { UnsafePointer($0) } + [nil]
  return body(&pointers)
}
