import Foundation
import UnitModel

/// Host lines: one JSON object per host, as scans before the database stored them in
/// `hosts.jsonl` (schema 2: sorted keys, ISO 8601 dates, each distinct check once per host in
/// `checkTable`, C1 controls and bidirectional overrides escaped). `unitaudit export --jsonl`
/// writes them for jq and other tools; `loadScan` still reads older scans' files of them.
public enum HostLines {
  /// One host's line, without its newline.
  public static func line(_ host: HostReport) throws -> Data {
    let encoded = String(decoding: try ScanCoding.lineEncoder.encode(host), as: UTF8.self)
    return Data(JSONString.escapingInvisible(encoded).utf8)
  }

  /// Every host of `scan`, a line each, handed to `write` in order. Lines are encoded on every
  /// core, a batch of hosts at a time.
  public static func write(_ scan: Scan, _ write: (Data) throws -> Void) throws {
    var start = 0
    while start < scan.hosts.count {
      let batch = Array(scan.hosts[start..<min(start + 64, scan.hosts.count)])
      for encoded in batch.concurrentMap({ host in Result { try line(host) } }) {
        var line = try encoded.get()
        line.append(UInt8(ascii: "\n"))
        try write(line)
      }
      start += batch.count
    }
  }
}

/// The result of converting an older scan directory.
public struct ConvertedScan: Sendable {
  public var hosts: Int
  public var services: Int
  /// Lines of `hosts.jsonl` that could not be read (left out, as every reader leaves them out).
  public var skippedLines: [Int]
}

/// Converts a scan written before the scan database (`scan.json`, `plan.json`, `hosts.jsonl`)
/// into `scan.db` in the same directory. The older files are left as they were; the new
/// database is written under a temporary name and renamed into place when complete, so an
/// interrupted conversion leaves the scan as it was. The metadata keeps its `schemaVersion`:
/// the version the scan was collected with.
public func convertLegacyScan(_ directory: URL) throws -> ConvertedScan {
  try requireScanDirectory(directory)
  let target = directory.appendingPathComponent(ScanStore.databaseFile)
  if FileManager.default.fileExists(atPath: target.path) {
    throw ScanStoreError.notAScan(
      directory.path, "it already has a \(ScanStore.databaseFile); there is nothing to convert")
  }
  let loaded = try loadLegacyScan(directory, readSize: 8 << 20)
  let plan = try? ScanStore.loadPlan(directory)
  let temporary = directory.appendingPathComponent(".\(ScanStore.databaseFile).converting")
  for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temporary.path + suffix) }
  let database = try ScanDatabase.create(at: temporary.path)
  let scan = try database.addScan(loaded.scan.metadata)
  if let plan { try database.writePlan(plan, scan: scan) }
  // A few hundred hosts per transaction: the memory of one, the speed of few.
  var start = 0
  while start < loaded.scan.hosts.count {
    let end = min(start + 256, loaded.scan.hosts.count)
    try database.record(Array(loaded.scan.hosts[start..<end]), scan: scan)
    start = end
  }
  try database.close()
  guard rename(temporary.path, target.path) == 0 else {
    throw ScanStoreError.cannotWrite(target.path, String(cString: strerror(errno)))
  }
  return ConvertedScan(
    hosts: loaded.scan.hosts.count, services: loaded.scan.hosts.reduce(0) { $0 + $1.services.count },
    skippedLines: loaded.skippedLines)
}
