import Foundation
import UnitModel

/// Reads a scan directory's `scan.db`: its metadata and its hosts, in the order they were
/// recorded (a host recorded twice, by a resumed scan, keeps its first place and its last
/// record).
public func readScan(_ directory: URL) throws -> Scan {
  try readingScanDatabase(directory) { database, scan in try database.storedScan(scan) }
}

/// Runs `body` with a scan directory's database, open read-only, and the number of its scan.
func readingScanDatabase<T>(_ directory: URL, _ body: (ScanTables, Int64) throws -> T) throws -> T {
  try requireScanDirectory(directory)
  let databasePath = directory.appendingPathComponent(ScanStore.databaseFile).path
  guard FileManager.default.fileExists(atPath: databasePath) else {
    throw StorageError.notAScan(
      directory.path, "it has no \(ScanStore.databaseFile) (`unitaudit scan -o DIR` makes a scan directory)")
  }
  let database = try ScanTables.openSQLite(databasePath, readOnly: true)
  defer { try? database.close() }
  guard let scan = try database.scans().first?.id else {
    throw StorageError.notAScan(directory.path, "its \(ScanStore.databaseFile) holds no scan")
  }
  return try body(database, scan)
}

/// Refuses a path that is not a directory, in words that say so.
func requireScanDirectory(_ directory: URL) throws {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
    throw StorageError.notAScan(directory.path, "no such directory")
  }
  guard isDirectory.boolValue else {
    throw StorageError.notAScan(
      directory.path, "a file, not a scan directory (`unitaudit scan -o DIR` makes one)")
  }
}
