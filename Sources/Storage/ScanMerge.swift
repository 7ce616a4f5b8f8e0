import Foundation
import Inventory
import UnitModel

/// Joins scans of disjoint hosts (the shards of one inventory, `scan --shard I/N`) into one
/// scan directory: every host with its evidence, the plans joined, and each scan's origin,
/// shard and options kept in the new scan's metadata (`mergedFrom`). Refuses scans that share
/// a host, that are not complete, or that different probes made.
public enum ScanMerge {
  public static func merge(
    _ directories: [URL], into output: URL, toolVersion: String
  ) async throws -> ScanMetadata {
    guard !directories.isEmpty else { throw StorageError.nothingToMerge }
    var loaded: [(directory: URL, scan: Scan)] = []
    for directory in directories {
      let scan = try readScan(directory)
      guard scan.metadata.state == .complete else {
        throw StorageError.unfinished(directory.path, scan.metadata.state)
      }
      loaded.append((directory, scan))
    }
    let probes = Set(loaded.map(\.scan.metadata.probeVersion))
    guard probes.count == 1, let probe = probes.first else {
      throw StorageError.probeVersions(probes.sorted())
    }
    var owners: [String: [String]] = [:]
    for (directory, scan) in loaded {
      for host in scan.hosts { owners[host.name, default: []].append(directory.path) }
    }
    let overlapping = owners.filter { $0.value.count > 1 }
    guard overlapping.isEmpty else { throw StorageError.overlap(overlapping) }

    let first = loaded[0].scan.metadata
    var targets: [String] = []
    for (_, scan) in loaded {
      for target in scan.metadata.targets where !targets.contains(target) { targets.append(target) }
    }
    var plan: [FleetHost] = []
    for (directory, _) in loaded { plan += (try? ScanStore.readPlan(directory)) ?? [] }
    var metadata = ScanMetadata(
      id: UUID().uuidString.lowercased(), toolVersion: toolVersion, probeVersion: probe,
      mode: first.mode, state: .running,
      startedAt: loaded.map(\.scan.metadata.startedAt).min() ?? Date(),
      targets: targets, plannedHosts: loaded.flatMap(\.scan.metadata.plannedHosts).sorted(),
      options: first.options)
    metadata.mergedFrom = loaded.map {
      ScanMetadata.MergedScan($0.scan.metadata, directory: $0.directory.path, hosts: $0.scan.hosts.count)
    }
    let warnings = loaded.flatMap { directory, scan in
      (scan.metadata.warnings ?? []).map { "\(directory.lastPathComponent): \($0)" }
    }
    metadata.warnings = warnings.isEmpty ? nil : warnings

    let store = try ScanStore.create(at: output, metadata: metadata)
    try await store.writePlan(plan.sorted { $0.name < $1.name })
    let hosts = loaded.flatMap { directory, scan in scan.hosts.map { (directory, $0) } }
      .sorted { $0.1.name < $1.1.name }
    // Each shard's database open once, its evidence copied as stored (compressed).
    var sources: [URL: (database: ScanTables, scan: Int64)] = [:]
    defer { for source in sources.values { try? source.database.close() } }
    for (directory, _) in loaded {
      let database = try ScanTables.openSQLite(
        directory.appendingPathComponent(ScanStore.databaseFile).path, readOnly: true)
      guard let scan = try database.scans().first?.id else {
        try? database.close()
        throw StorageError.notAScan(directory.path, "its \(ScanStore.databaseFile) holds no scan")
      }
      sources[directory] = (database, scan)
    }
    for (directory, host) in hosts {
      let evidence = try sources[directory].flatMap {
        try $0.database.evidence(host: host.name, scan: $0.scan)
      }
      try await store.append(host, stored: evidence)
    }
    metadata.state = .complete
    metadata.finishedAt = loaded.compactMap(\.scan.metadata.finishedAt).max()
    metadata.counts = ScanMetadata.Counts(hosts: hosts.map(\.1))
    try await store.writeMetadata(metadata)
    try await store.close()
    return metadata
  }
}
