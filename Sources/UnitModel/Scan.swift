import Foundation

/// A scan: its metadata and its hosts.
public struct Scan: Codable, Sendable, Hashable {
  public var metadata: ScanMetadata
  public var hosts: [HostReport]

  public init(metadata: ScanMetadata, hosts: [HostReport]) {
    self.metadata = metadata
    self.hosts = hosts
  }
}

/// A scan's metadata (the `scan` table): what was scanned, how, when, and how it went.
public struct ScanMetadata: Codable, Sendable, Hashable {
  /// The version of the scan's stored form (`scan.db`, `StoreSchema`), bumped on every change
  /// of it once a release has shipped it; a scan of another version is refused in words.
  public static let currentSchemaVersion = 1

  public enum State: String, Codable, Sendable {
    /// Still running, or killed before it could say otherwise.
    case running
    case complete
    /// Stopped by the user (Ctrl-C); `--resume` finishes it.
    case interrupted
  }

  public enum Mode: String, Codable, Sendable {
    case local, ssh
    /// OS trees and packages read offline (`scan --root`, `--package`).
    case offline
  }

  public struct Counts: Codable, Sendable, Hashable {
    public var hosts: Int
    /// Hosts per status code.
    public var byStatus: [String: Int]
    public var services: Int

    public init(hosts: Int = 0, byStatus: [String: Int] = [:], services: Int = 0) {
      self.hosts = hosts
      self.byStatus = byStatus
      self.services = services
    }
  }

  public var schemaVersion: Int
  public var id: String
  public var tool: String
  public var toolVersion: String
  public var probeVersion: Int
  public var mode: Mode
  public var state: State
  public var startedAt: Date
  public var finishedAt: Date?
  /// Where the hosts came from: inventory files, `-H` lists, `local`.
  public var targets: [String]
  /// The host names the scan set out to probe, in order (what `--resume` completes).
  public var plannedHosts: [String]
  /// The options that shaped the scan (what `--resume` reuses).
  public var options: ScanOptions
  public var counts: Counts
  /// Problems found before any host was probed (an SSH config line that cannot be read,
  /// an inventory warning). Absent when there were none.
  public var warnings: [String]?
  /// The share of the inventory this scan covered (`scan --shard 1/4`); absent for a whole one.
  public var shard: String?
  /// For a scan `unitaudit merge` made: the scans it joined. Absent otherwise.
  public var mergedFrom: [MergedScan]?

  /// A scan that a merge joined: where it came from and how it was made.
  public struct MergedScan: Codable, Sendable, Hashable {
    public var id: String
    /// The scan directory as `merge` was given it.
    public var directory: String
    public var shard: String?
    public var startedAt: Date
    public var finishedAt: Date?
    public var state: State
    public var hosts: Int
    public var toolVersion: String
    public var options: ScanOptions

    public init(_ metadata: ScanMetadata, directory: String, hosts: Int) {
      id = metadata.id
      self.directory = directory
      shard = metadata.shard
      startedAt = metadata.startedAt
      finishedAt = metadata.finishedAt
      state = metadata.state
      self.hosts = hosts
      toolVersion = metadata.toolVersion
      options = metadata.options
    }
  }

  public init(
    schemaVersion: Int = ScanMetadata.currentSchemaVersion, id: String, tool: String = "unitaudit",
    toolVersion: String, probeVersion: Int, mode: Mode, state: State = .running, startedAt: Date,
    finishedAt: Date? = nil, targets: [String], plannedHosts: [String],
    options: ScanOptions = .local, counts: Counts = Counts()
  ) {
    self.schemaVersion = schemaVersion
    self.id = id
    self.tool = tool
    self.toolVersion = toolVersion
    self.probeVersion = probeVersion
    self.mode = mode
    self.state = state
    self.startedAt = startedAt
    self.finishedAt = finishedAt
    self.targets = targets
    self.plannedHosts = plannedHosts
    self.options = options
    self.counts = counts
  }
}

extension ScanMetadata.Counts {
  /// Counts the hosts and services of finished hosts.
  public init(hosts: [HostReport]) {
    var byStatus: [String: Int] = [:]
    for host in hosts { byStatus[host.status.code.rawValue, default: 0] += 1 }
    self.init(
      hosts: hosts.count, byStatus: byStatus, services: hosts.reduce(0) { $0 + $1.services.count })
  }
}

extension Scan {
  /// The scan with its hosts by name, as reports and commands show them: a scan records hosts
  /// in the order they finished (the network's), and one fleet scanned whole or in shards
  /// (`merge`) gives the same reports.
  public func inNameOrder() -> Scan {
    var sorted = self
    sorted.hosts.sort { $0.name < $1.name }
    return sorted
  }
}
