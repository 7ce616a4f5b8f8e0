import Foundation
import Storage
import UnitModel

/// A fresh directory under the system's temporary directory, named for the test.
public func temporaryDirectory(_ name: String) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "unitaudit-tests-\(name)-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// A new scan of `planned` hosts in a fresh directory, and its store.
public func newStore(_ name: String, planned: [String]) throws -> (directory: URL, store: ScanStore) {
  let directory = try temporaryDirectory(name).appendingPathComponent("s")
  let metadata = ScanMetadata(
    id: "t", toolVersion: "test", probeVersion: 1, mode: .ssh, startedAt: Date(), targets: [],
    plannedHosts: planned)
  return (directory, try ScanStore.create(at: directory, metadata: metadata))
}

/// The permission bits of the file at `path`.
public func mode(_ path: String) throws -> Int {
  let attributes = try FileManager.default.attributesOfItem(atPath: path)
  return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}
