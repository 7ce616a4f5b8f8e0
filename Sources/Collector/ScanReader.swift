import Foundation
import UnitModel

/// A scan read back from its directory.
public struct LoadedScan: Sendable {
  public var scan: Scan
  /// Lines of `hosts.jsonl` that could not be read (a torn last line after a crash).
  public var skippedLines: [Int]
}

/// Reads a scan directory. A torn or unreadable line is skipped and reported, never mis-read;
/// when a host appears twice (a resumed scan), the later line wins.
public func loadScan(_ directory: URL) throws -> LoadedScan {
  let metaURL = directory.appendingPathComponent(ScanStore.metadataFile)
  let metadata: ScanMetadata
  do {
    let data = try Data(contentsOf: metaURL)
    if let probe = try? JSONDecoder().decode(SchemaProbe.self, from: data),
      !ScanMetadata.readableSchemaVersions.contains(probe.schemaVersion)
    {
      throw ScanStoreError.unsupportedSchema(directory.path, probe.schemaVersion)
    }
    metadata = try ScanCoding.decoder.decode(ScanMetadata.self, from: data)
  } catch let error as ScanStoreError {
    throw error
  } catch {
    throw ScanStoreError.notAScan(directory.path, "cannot read \(ScanStore.metadataFile): \(error)")
  }
  let hostsURL = directory.appendingPathComponent(ScanStore.hostsFile)
  var hosts: [HostReport] = []
  var index: [String: Int] = [:]
  var skipped: [Int] = []
  let decoder = ScanCoding.decoder
  // Hosts built from one image have the same settings, down to file and line: they share
  // one copy (a 10,000-host scan would otherwise hold ~2 KB per service per host).
  var settings: Set<HardeningSettings> = []
  var number = 0
  func read(_ line: ArraySlice<UInt8>) {
    number += 1
    guard !line.isEmpty else { return }
    guard var host = try? decoder.decode(HostReport.self, from: Data(line)) else {
      skipped.append(number)
      return
    }
    for service in host.services.indices {
      host.services[service].hardening = settings.insert(host.services[service].hardening).memberAfterInsert
    }
    if let existing = index[host.name] {
      hosts[existing] = host
    } else {
      index[host.name] = hosts.count
      hosts.append(host)
    }
  }
  // Line by line from 4 MB reads: a 10,000-host file holds gigabytes, which need not be in
  // memory at once. (As bytes: splitting Foundation's Data itself is several times slower.)
  if let file = try? FileHandle(forReadingFrom: hostsURL) {
    defer { try? file.close() }
    var pending: [UInt8] = []
    while let chunk = try? file.read(upToCount: 4 << 20), !chunk.isEmpty {
      pending.append(contentsOf: chunk)
      var start = 0
      while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
        read(pending[start..<newline])
        start = newline + 1
      }
      pending.removeFirst(start)
    }
    read(pending[...])
  }
  return LoadedScan(scan: Scan(metadata: metadata, hosts: hosts), skippedLines: skipped)
}

private struct SchemaProbe: Decodable {
  var schemaVersion: Int
}
