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
  // As bytes: splitting Foundation's Data itself is several times slower.
  let bytes = [UInt8]((try? Data(contentsOf: hostsURL)) ?? Data())
  var hosts: [HostReport] = []
  var index: [String: Int] = [:]
  var skipped: [Int] = []
  let decoder = ScanCoding.decoder
  // Hosts built from one image have the same settings, down to file and line: they share
  // one copy (a 10,000-host scan would otherwise hold ~2 KB per service per host).
  var settings: Set<HardeningSettings> = []
  for (number, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    .enumerated()
  where !line.isEmpty {
    guard var host = try? decoder.decode(HostReport.self, from: Data(line)) else {
      skipped.append(number + 1)
      continue
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
  return LoadedScan(scan: Scan(metadata: metadata, hosts: hosts), skippedLines: skipped)
}

private struct SchemaProbe: Decodable {
  var schemaVersion: Int
}
