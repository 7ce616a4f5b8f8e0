import Foundation
import Inventory
import Normalize
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Errors of the scan directory, each with what to do about it.
public enum ScanStoreError: Error, CustomStringConvertible {
  case notEmpty(String)
  case cannotCreate(String, String)
  case cannotWrite(String, String)
  case notAScan(String, String)
  case unsupportedSchema(String, Int)

  public var description: String {
    switch self {
    case .notEmpty(let path):
      "\(path) already exists and is not empty; choose another -o directory, or use --resume to finish that scan"
    case .cannotCreate(let path, let why): "cannot create \(path): \(why)"
    case .cannotWrite(let path, let why): "cannot write \(path): \(why)"
    case .notAScan(let path, let why): "\(path) is not a readable unitaudit scan: \(why)"
    case .unsupportedSchema(let path, let version):
      "\(path) has scan schema version \(version); this unitaudit reads versions \(ScanMetadata.readableSchemaVersions.lowerBound)–\(ScanMetadata.readableSchemaVersions.upperBound): use a newer unitaudit"
    }
  }
}

/// The scan directory: `scan.json` (metadata, rewritten by rename), `hosts.jsonl` (one host
/// per line, appended and flushed as each host finishes, so an interrupted scan loses
/// nothing), and `evidence/` (the raw probe output of each host, byte for byte).
///
/// Directories are created 0700 and files 0600: a scan describes a fleet's weak points.
public actor ScanStore {
  public nonisolated let directory: URL
  private var hostsHandle: FileHandle?

  public static let metadataFile = "scan.json"
  public static let hostsFile = "hosts.jsonl"
  public static let evidenceDirectory = "evidence"
  /// The resolved hosts the scan set out to probe, with how to reach them (`--resume` reads it).
  public static let planFile = "plan.json"

  /// Creates a new scan directory (which must not exist or be empty).
  public static func create(at directory: URL, metadata: ScanMetadata) throws -> ScanStore {
    let manager = FileManager.default
    let path = directory.path
    if let contents = try? manager.contentsOfDirectory(atPath: path), !contents.isEmpty {
      throw ScanStoreError.notEmpty(path)
    }
    do {
      try manager.createDirectory(
        at: directory.appendingPathComponent(evidenceDirectory), withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700])
      try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
    } catch {
      throw ScanStoreError.cannotCreate(path, "\(error.localizedDescription)")
    }
    let store = ScanStore(directory: directory)
    try writeMetadata(metadata, in: directory)
    return store
  }

  /// Opens an existing scan directory to append to it (`--resume`).
  public static func open(_ directory: URL) -> ScanStore { ScanStore(directory: directory) }

  private init(directory: URL) {
    self.directory = directory
  }

  public func writeMetadata(_ metadata: ScanMetadata) throws {
    try Self.writeMetadata(metadata, in: directory)
  }

  /// Writes `scan.json` outside the actor, for the last moment before an interrupted scan
  /// exits; nothing else may write it then.
  public static func writeMetadata(_ metadata: ScanMetadata, in directory: URL) throws {
    let data = try ScanCoding.prettyEncoder.encode(metadata)
    try writeAtomically(data + Data("\n".utf8), to: directory.appendingPathComponent(metadataFile))
  }

  /// Records one finished host: its evidence first, then its line in `hosts.jsonl`.
  /// Returns the host as recorded (with its evidence path).
  @discardableResult
  public func append(_ report: HostReport, evidence: HostEvidence?) throws -> HostReport {
    var report = report
    if let evidence {
      report.evidence = try writeEvidence(evidence, for: report.name)
    }
    var line = try HostLineWriter.line(report)
    line.append(UInt8(ascii: "\n"))
    let handle = try openHosts()
    do {
      try handle.write(contentsOf: line)
      try handle.synchronize()
    } catch {
      throw ScanStoreError.cannotWrite(directory.appendingPathComponent(Self.hostsFile).path, "\(error)")
    }
    return report
  }

  /// Records the hosts the scan will probe, so `--resume` can finish it.
  public func writePlan(_ hosts: [FleetHost]) throws {
    try Self.writeAtomically(
      try ScanCoding.prettyEncoder.encode(hosts) + Data("\n".utf8),
      to: directory.appendingPathComponent(Self.planFile))
  }

  /// The hosts recorded by `writePlan`.
  public static func loadPlan(_ directory: URL) throws -> [FleetHost] {
    let url = directory.appendingPathComponent(planFile)
    do {
      return try ScanCoding.decoder.decode([FleetHost].self, from: Data(contentsOf: url))
    } catch {
      throw ScanStoreError.notAScan(directory.path, "cannot read \(planFile): \(error)")
    }
  }

  public func close() {
    try? hostsHandle?.close()
    hostsHandle = nil
  }

  private func openHosts() throws -> FileHandle {
    if let hostsHandle { return hostsHandle }
    let path = directory.appendingPathComponent(Self.hostsFile).path
    let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ScanStoreError.cannotWrite(path, String(cString: strerror(errno))) }
    let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    hostsHandle = handle
    return handle
  }

  private func writeEvidence(_ evidence: HostEvidence, for host: String) throws -> String {
    let relative = "\(Self.evidenceDirectory)/\(evidenceName(for: host))"
    let folder = directory.appendingPathComponent(relative)
    // `evidence/` is made with the store, so one mkdir mostly does; FileManager checks every
    // level of the path each time.
    if mkdir(folder.path, 0o700) != 0 && errno != EEXIST {
      do {
        try FileManager.default.createDirectory(
          at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      } catch {
        throw ScanStoreError.cannotCreate(folder.path, "\(error.localizedDescription)")
      }
    }
    try EvidenceFolder.write(evidence, to: folder)
    return relative
  }

  /// Writes to a temporary file, then renames it into place: a reader sees all or nothing.
  static func writeAtomically(_ data: some DataProtocol, to url: URL) throws {
    try writeAtomically(to: url) { try $0.write(contentsOf: data) }
  }

  /// Writes through `body` to a temporary file, synced, then renames it into place.
  static func writeAtomically(to url: URL, _ body: (FileHandle) throws -> Void) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
    let path = temporary.path
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ScanStoreError.cannotWrite(path, String(cString: strerror(errno))) }
    let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    do {
      try body(handle)
      try handle.synchronize()
      try handle.close()
    } catch {
      throw ScanStoreError.cannotWrite(path, "\(error)")
    }
    guard rename(path, url.path) == 0 else {
      throw ScanStoreError.cannotWrite(url.path, String(cString: strerror(errno)))
    }
  }

}

/// A file-system-safe, collision-free folder name for a host's evidence.
func evidenceName(for host: String) -> String {
  let safe = String(
    host.unicodeScalars.prefix(80).map {
      ($0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)))
        ? Character($0) : "_"
    })
  if safe == host && !safe.isEmpty && !safe.hasPrefix(".") { return safe }
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in host.utf8 {
    hash ^= UInt64(byte)
    hash = hash &* 0x100_0000_01b3
  }
  let stem = safe.drop { $0 == "." }
  return "\(stem.isEmpty ? "host" : String(stem))-\(String(hash, radix: 16).leftPadded(to: 16))"
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
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
