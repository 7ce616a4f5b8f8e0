import Foundation
import Normalize
import UnitModel

/// A scan read back from its directory.
public struct LoadedScan: Sendable {
  public var scan: Scan
  /// Lines of an older scan's `hosts.jsonl` that could not be read (a torn last line after a
  /// crash); always empty for a scan database.
  public var skippedLines: [Int]
}

/// Reads a scan directory: its `scan.db`, or the `scan.json` and `hosts.jsonl` of a scan
/// written before the database. A torn or unreadable line of `hosts.jsonl` is skipped and
/// reported, never mis-read; when a host appears twice (a resumed scan), the later line wins.
public func loadScan(_ directory: URL) throws -> LoadedScan {
  try loadScan(directory, readSize: 8 << 20)
}

/// `readSize`: how many bytes of an older scan's `hosts.jsonl` are read (and their lines
/// decoded) at a time.
func loadScan(_ directory: URL, readSize: Int) throws -> LoadedScan {
  try requireScanDirectory(directory)
  let databasePath = directory.appendingPathComponent(ScanStore.databaseFile).path
  if FileManager.default.fileExists(atPath: databasePath) {
    let database = try ScanDatabase.open(databasePath, readOnly: true)
    guard let scan = try database.scans().first?.id else {
      throw ScanStoreError.notAScan(directory.path, "its \(ScanStore.databaseFile) holds no scan")
    }
    return LoadedScan(scan: try database.loadScan(scan), skippedLines: [])
  }
  return try loadLegacyScan(directory, readSize: readSize)
}

/// Refuses a path that is not a directory, in words that say so.
func requireScanDirectory(_ directory: URL) throws {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
    throw ScanStoreError.notAScan(directory.path, "no such directory")
  }
  guard isDirectory.boolValue else {
    throw ScanStoreError.notAScan(
      directory.path, "a file, not a scan directory (`unitaudit scan -o DIR` makes one)")
  }
}

/// Reads the `scan.json` and `hosts.jsonl` of a scan written before the scan database.
func loadLegacyScan(_ directory: URL, readSize: Int) throws -> LoadedScan {
  let metaURL = directory.appendingPathComponent(ScanStore.legacyMetadataFile)
  let metadata: ScanMetadata
  guard FileManager.default.fileExists(atPath: metaURL.path) else {
    throw ScanStoreError.notAScan(
      directory.path,
      "it has no \(ScanStore.databaseFile) (`unitaudit scan -o DIR` makes a scan directory)")
  }
  do {
    let data: Data
    do {
      data = try Data(contentsOf: metaURL)
    } catch {
      throw ScanStoreError.notAScan(
        directory.path, "cannot read \(ScanStore.legacyMetadataFile): \(error.localizedDescription)")
    }
    if let probe = try? JSONDecoder().decode(SchemaProbe.self, from: data),
      !ScanMetadata.legacySchemaVersions.contains(probe.schemaVersion)
    {
      throw ScanStoreError.unsupportedSchema(directory.path, probe.schemaVersion)
    }
    metadata = try ScanCoding.decoder.decode(ScanMetadata.self, from: data)
  } catch let error as ScanStoreError {
    throw error
  } catch let error as DecodingError {
    throw ScanStoreError.notAScan(
      directory.path, "\(ScanStore.legacyMetadataFile) is not a scan's metadata: \(describe(error))")
  } catch {
    throw ScanStoreError.notAScan(directory.path, "cannot read \(ScanStore.legacyMetadataFile): \(error)")
  }
  let hostsURL = directory.appendingPathComponent(ScanStore.legacyHostsFile)
  var hosts: [HostReport] = []
  var index: [String: Int] = [:]
  var skipped: [Int] = []
  var shared = SharedValues()
  var number = 0
  // Lines are decoded in parallel, a batch at a time, then taken in file order.
  func take(_ batch: [DecodedLine]) {
    for decoded in batch {
      number += 1
      guard case .host(var host) = decoded else {
        if case .unreadable = decoded { skipped.append(number) }
        continue
      }
      shared.share(&host)
      if let existing = index[host.name] {
        hosts[existing] = host
      } else {
        index[host.name] = hosts.count
        hosts.append(host)
      }
    }
  }
  // Read in pieces: a 10,000-host file holds gigabytes, which need not be in memory at once.
  // The pieces are split as byte arrays, which index without Data's bridging. While this
  // thread shares the values of one batch, the next batch is decoded on the other cores.
  if let file = try? FileHandle(forReadingFrom: hostsURL) {
    defer { try? file.close() }
    var carry: [UInt8] = []
    var decoding: DecodingBatch?
    while let chunk = try? file.read(upToCount: readSize), !chunk.isEmpty {
      var buffer = carry
      carry = []  // the buffer alone holds the bytes: appending to it does not copy them
      buffer.append(contentsOf: chunk)
      let (lines, rest) = completeLines(buffer)
      carry = Array(buffer[rest...])
      let next = DecodingBatch(lines)
      if let decoding { take(decoding.wait()) }
      decoding = next
    }
    if let decoding { take(decoding.wait()) }
    take(decodeHostLines([carry[...]]))
  }
  return LoadedScan(scan: Scan(metadata: metadata, hosts: hosts), skippedLines: skipped)
}

/// A decoding error in words: what is wrong, and at which key.
private func describe(_ error: DecodingError) -> String {
  func path(_ context: DecodingError.Context) -> String {
    let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
    return keys.isEmpty ? "" : " at \(keys.joined(separator: "."))"
  }
  switch error {
  case .dataCorrupted(let context):
    return context.codingPath.isEmpty ? "not valid JSON" : "\(context.debugDescription)\(path(context))"
  case .keyNotFound(let key, let context): return "'\(key.stringValue)' is missing\(path(context))"
  case .typeMismatch(_, let context), .valueNotFound(_, let context):
    return "\(context.debugDescription)\(path(context))"
  @unknown default: return "\(error)"
  }
}

private struct SchemaProbe: Decodable {
  var schemaVersion: Int
}

/// One line of `hosts.jsonl`, decoded.
private enum DecodedLine: Sendable {
  case empty
  case unreadable
  case host(HostReport)
}

/// The complete lines of `buffer` (each without its newline), and where the incomplete rest
/// begins.
func completeLines(_ buffer: [UInt8]) -> (lines: [ArraySlice<UInt8>], rest: Int) {
  var lines: [ArraySlice<UInt8>] = []
  var start = 0
  buffer.withUnsafeBytes { bytes in
    guard let base = bytes.baseAddress else { return }
    while start < bytes.count,
      let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
    {
      let newline = base.distance(to: UnsafeRawPointer(found))
      lines.append(buffer[start..<newline])
      start = newline + 1
    }
  }
  return (lines, start)
}

/// One batch of lines being decoded on other threads; `wait()` gives its hosts.
private final class DecodingBatch: @unchecked Sendable {
  private var decoded: [DecodedLine] = []
  private let done = DispatchSemaphore(value: 0)

  init(_ lines: [ArraySlice<UInt8>]) {
    DispatchQueue.global().async {
      // Written before the signal, read after the wait: the semaphore orders the two.
      self.decoded = decodeHostLines(lines)
      self.done.signal()
    }
  }

  func wait() -> [DecodedLine] {
    done.wait()
    return decoded
  }
}

/// Decodes the lines on every core (each line is a host of its own), in their order.
private func decodeHostLines(_ lines: [ArraySlice<UInt8>]) -> [DecodedLine] {
  lines.concurrentMap { line in
    if line.isEmpty { return .empty }
    return decodeHostLine(Array(line)).map(DecodedLine.host) ?? .unreadable
  }
}

/// One line of an older scan's `hosts.jsonl`, as `ScanCoding.decoder` reads it.
func decodeHostLine(_ line: [UInt8]) -> HostReport? {
  try? ScanCoding.decoder.decode(HostReport.self, from: Data(line))
}

/// Hosts built from one image have the same hardening settings (down to file and line), the
/// same security checks and the same directives for a service: loaded hosts share one copy of
/// each, so that a report's memory grows with the distinct configurations, not with the hosts
/// (the checks, ~80 per service, are most of a host).
struct SharedValues {
  private var settings: Set<HardeningSettings> = []
  private var checks: Set<SecurityChecks> = []
  private var directives: Set<[Directive]> = []

  mutating func share(_ host: inout HostReport) {
    for service in host.services.indices {
      host.services[service].hardening = settings.insert(host.services[service].hardening).memberAfterInsert
      host.services[service].checks = checks.insert(host.services[service].checks).memberAfterInsert
      host.services[service].directives =
        directives.insert(host.services[service].directives)
        .memberAfterInsert
    }
  }
}
