import Foundation

/// A value bound to a statement or read from a row, in either database that holds the scan
/// tables (SQLite or PostgreSQL).
enum StoreValue: Sendable, Equatable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)
  case blob([UInt8])

  init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
  init(_ value: Int) { self = .integer(Int64(value)) }
}

/// One row of a result, read by column number.
struct StoreRow: Sendable {
  var values: [StoreValue]

  func integer(_ column: Int) throws -> Int64 {
    guard let value = try optionalInteger(column) else {
      throw StoredRowMissing(what: "column \(column) is NULL")
    }
    return value
  }

  func optionalInteger(_ column: Int) throws -> Int64? {
    switch values[column] {
    case .null: return nil
    case .integer(let value): return value
    case .real(let value) where value.rounded() == value: return Int64(exactly: value)
    case .text(let text) where Int64(text) != nil: return Int64(text)
    default: throw StoredRowMissing(what: "column \(column) is not an integer (\(values[column]))")
    }
  }

  func int(_ column: Int) throws -> Int { Int(try integer(column)) }

  func text(_ column: Int) throws -> String {
    guard case .text(let text) = values[column] else {
      throw StoredRowMissing(what: "column \(column) is not text (\(values[column]))")
    }
    return text
  }

  func optionalText(_ column: Int) throws -> String? {
    if case .null = values[column] { return nil }
    return try text(column)
  }

  func blob(_ column: Int) throws -> [UInt8] {
    switch values[column] {
    case .blob(let bytes): return bytes
    case .text(let text): return Array(text.utf8)
    default: throw StoredRowMissing(what: "column \(column) is not a blob (\(values[column]))")
    }
  }
}

/// The SQL that differs between the two databases, as the shared queries need it.
enum StoreDialect: Sendable {
  case sqlite, postgres

  /// A subquery giving the numbers of a JSON array bound at `?`, as a column `value`.
  var numbersOfJSONArray: String {
    switch self {
    case .sqlite: "SELECT value FROM json_each(?)"
    case .postgres: "SELECT value::bigint AS value FROM jsonb_array_elements_text(?::jsonb) AS value"
    }
  }
}

/// One connection inside a transaction: what the scan tables' code (`ScanTables`) reads
/// and writes through. Statements use `?` for their arguments, in order.
protocol StoreSQL {
  var dialect: StoreDialect { get }
  func execute(_ sql: String, _ arguments: [StoreValue]) throws
  /// Runs a query and hands each row to `body`, in order.
  func each(_ sql: String, _ arguments: [StoreValue], _ body: (StoreRow) throws -> Void) throws
}

extension StoreSQL {
  func rows(_ sql: String, _ arguments: [StoreValue] = []) throws -> [StoreRow] {
    var rows: [StoreRow] = []
    try each(sql, arguments) { rows.append($0) }
    return rows
  }

  /// The first column of the first row, as an integer; nil when there is no row or it is NULL.
  func integer(_ sql: String, _ arguments: [StoreValue] = []) throws -> Int64? {
    try first(sql, arguments) { try $0.optionalInteger(0) }
  }

  /// The first column of the first row, as text; nil when there is no row or it is NULL.
  func text(_ sql: String, _ arguments: [StoreValue] = []) throws -> String? {
    try first(sql, arguments) { try $0.optionalText(0) }
  }

  /// `read` of the first row; nil when there is none.
  private func first<T>(_ sql: String, _ arguments: [StoreValue], _ read: (StoreRow) throws -> T?) throws
    -> T?
  {
    var found: T?
    var first = true
    try each(sql, arguments) { row in
      if first { found = try read(row) }
      first = false
    }
    return found
  }
}

/// A database the scan tables live in: transactions on it, and closing it. Used by one owner
/// at a time, as `ScanTables` is.
protocol TableBackend {
  /// Runs `body` in a write transaction; one writer at a time, across processes too.
  func write<T>(_ body: (any StoreSQL) throws -> T) throws -> T
  /// Runs `body` in a read transaction that sees one state of the tables throughout.
  func read<T>(_ body: (any StoreSQL) throws -> T) throws -> T
  /// Runs `body` once for each of `count` shares of one read, in order, each share in a read
  /// transaction; on several connections at once where the database allows it.
  func readShares<T: Sendable>(_ count: Int, _ body: @Sendable (Int, any StoreSQL) throws -> T) throws -> [T]
  /// After a transaction failed: whether the connection was lost and is back, so that the
  /// transaction is worth running again.
  func reconnected() -> Bool
  /// What a read that failed is called here: a file that is not a readable scan database, or
  /// a history server that cannot be used.
  var readFailure: @Sendable (String, String) -> StorageError { get }
  func close() throws
}

extension TableBackend {
  /// The shares one after another, in one read transaction.
  func readShares<T: Sendable>(_ count: Int, _ body: @Sendable (Int, any StoreSQL) throws -> T) throws -> [T]
  {
    try read { db in try (0..<count).map { try body($0, db) } }
  }
}
