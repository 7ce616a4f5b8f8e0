import BlockingWork
import Foundation
import Inventory
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// The scan directory: `scan.db`, the scan database (see `StoreSchema`): the metadata, the
/// plan, and each host with its evidence (the raw probe output, byte for byte, compressed),
/// committed in one transaction as it finishes, so an interrupted scan loses nothing.
/// `readScan` reads it back, `Evidence.read` a host's evidence.
///
/// Directories are created 0700 and files 0600: a scan describes a fleet's weak points.
///
/// The store owns its databases (the scan's, and a history's): they are used on its
/// executor only, so they need no lock, and no lock is held while a history server answers.
public actor ScanStore {
  /// Every write blocks (SQLite, a history server that may stall for
  /// seconds while it reconnects): the stores' methods run off the cooperative pool, on one
  /// thread of their own that every store of the process shares.
  private static let executor = ThreadExecutor(name: "unitaudit-store")
  public nonisolated var unownedExecutor: UnownedSerialExecutor { Self.executor.asUnownedSerialExecutor() }
  public nonisolated let directory: URL
  private let database: ScanTables
  /// The scan's number in `database` (its only scan).
  private let scan: Int64
  /// A history the scan is also recorded in as it goes (`scan --history`), and its number there.
  private var history: (database: ScanTables, scan: Int64)?
  /// The directory, open and locked (`flock`, exclusive) while this store writes it, so that
  /// a second scan or `--resume` of it is refused instead of writing beside it. The kernel
  /// lets go when the process ends, however it ends.
  private var lock: Int32?
  /// The evidence's zstd context, made with the first host's evidence and kept.
  private var compressor: ZstdCompressor?

  public static let databaseFile = "scan.db"

  /// Creates a new scan directory (which must not exist or be empty).
  public static func create(at directory: URL, metadata: ScanMetadata) throws -> ScanStore {
    let manager = FileManager.default
    let path = directory.path
    if let contents = try? manager.contentsOfDirectory(atPath: path), !contents.isEmpty {
      throw StorageError.notEmpty(path)
    }
    do {
      try manager.createDirectory(
        at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
    } catch {
      throw StorageError.cannotCreate(path, "\(error.localizedDescription)")
    }
    let lock = try lockDirectory(path)
    do {
      let database = try ScanTables.createSQLite(at: directory.appendingPathComponent(databaseFile).path)
      // New, and this process's alone while it holds the lock: what it stores, it knows.
      database.numbers.complete = true
      let scan = try database.addScan(metadata)
      return ScanStore(directory: directory, database: database, scan: scan, lock: lock)
    } catch {
      Glibc.close(lock)
      throw error
    }
  }

  /// `path` opened and locked for this process; `busy` when another process holds it.
  private static func lockDirectory(_ path: String) throws -> Int32 {
    let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw StorageError.cannotWrite(path, String(cString: strerror(errno))) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let error = errno
      Glibc.close(fd)
      if error == EWOULDBLOCK { throw StorageError.busy(path) }
      throw StorageError.cannotWrite(path, String(cString: strerror(error)))
    }
    return fd
  }

  /// Opens an existing scan directory to append to it (`--resume`).
  public static func open(_ directory: URL) throws -> ScanStore {
    let lock = try lockDirectory(directory.path)
    do {
      let database = try ScanTables.openSQLite(
        directory.appendingPathComponent(databaseFile).path, readOnly: false)
      guard let scan = try database.scans().first?.id else {
        try? database.close()
        throw StorageError.notAScan(directory.path, "its \(databaseFile) holds no scan")
      }
      return ScanStore(directory: directory, database: database, scan: scan, lock: lock)
    } catch {
      Glibc.close(lock)
      throw error
    }
  }

  private init(directory: URL, database: ScanTables, scan: Int64, lock: Int32) {
    self.directory = directory
    self.database = database
    self.scan = scan
    self.lock = lock
  }

  /// Replaces the scan's metadata, in the history too. Queued behind the hosts being
  /// recorded.
  public func writeMetadata(_ metadata: ScanMetadata) throws {
    try database.writeMetadata(metadata, scan: scan)
    if let history { try history.database.writeMetadata(metadata, scan: history.scan) }
  }

  /// Records the scan in `historyDatabase` too, from now on each host as it finishes. The
  /// history gets the scan if it lacks it (with `recorded`, the hosts already finished), or
  /// the hosts of `recorded` it lacks (a resumed scan whose last host reached the scan but
  /// not the history).
  public func attachHistory(
    _ historyDatabase: sending ScanTables, metadata: ScanMetadata, recorded: [HostReport]
  )
    throws
  {
    let number = try historyDatabase.catchUp(metadata, recorded: recorded)
    history = (historyDatabase, number)
  }

  /// Records one finished host with its evidence (none for a host that was not probed), in
  /// one transaction. Returns the host as recorded.
  @discardableResult
  public func append(_ report: HostReport, evidence: HostEvidence?) throws -> HostReport {
    var stored: Evidence.Stored?
    if let evidence {
      let compressor = try self.compressor ?? ZstdCompressor()
      self.compressor = compressor
      do { stored = try Evidence.encode(evidence, compressor: compressor) } catch {
        throw StorageError.cannotWrite(directory.path, "the evidence of \(report.name) (\(error))")
      }
    }
    return try append(report, stored: stored)
  }

  /// Records one host with evidence as another scan stored it (`merge`).
  @discardableResult
  func append(_ report: HostReport, stored evidence: Evidence.Stored?) throws -> HostReport {
    try database.record(report, evidence: evidence, scan: scan)
    if let history { try history.database.record(report, scan: history.scan) }
    return report
  }

  /// Records hosts without evidence in one transaction (a synthetic scan, a copy).
  public func append(_ reports: [HostReport]) throws {
    try database.record(reports, scan: scan)
    if let history { try history.database.record(reports, scan: history.scan) }
  }

  /// Records the hosts the scan will probe, so `--resume` can finish it.
  public func writePlan(_ hosts: [FleetHost]) throws {
    try database.writePlan(hosts, scan: scan)
  }

  /// How many hosts a scan directory's database has recorded so far (0 when there is none
  /// yet); readable while a scan writes it.
  public static func recordedHosts(in directory: URL) -> Int {
    let path = directory.appendingPathComponent(databaseFile).path
    guard FileManager.default.fileExists(atPath: path),
      let database = try? ScanTables.openSQLite(path, readOnly: true)
    else { return 0 }
    defer { try? database.close() }
    return (try? database.hostCount()) ?? 0
  }

  /// The hosts recorded by `writePlan`.
  public static func readPlan(_ directory: URL) throws -> [FleetHost] {
    try requireScanDirectory(directory)
    let database = try ScanTables.openSQLite(
      directory.appendingPathComponent(databaseFile).path, readOnly: true)
    defer { try? database.close() }
    guard let scan = try database.scans().first?.id,
      let plan = try database.plan(scan: scan, as: [FleetHost].self)
    else { throw StorageError.notAScan(directory.path, "its \(databaseFile) records no plan") }
    return plan
  }

  /// Closes the database (after the last metadata is written).
  public func close() throws {
    defer {
      if let lock { Glibc.close(lock) }
      lock = nil
    }
    try database.close()
    if let history { try history.database.close() }
  }
}

/// The JSON conventions of the scan files: sorted keys, ISO 8601 dates.
public enum ScanCoding {
  public static var lineEncoder: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
  }

  public static var prettyEncoder: JSONEncoder {
    let encoder = lineEncoder
    encoder.outputFormatting.insert(.prettyPrinted)
    return encoder
  }

  public static var decoder: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return decoder
  }
}
