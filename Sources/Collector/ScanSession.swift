import Foundation
import Inventory
import Normalize
import Storage
import Synchronization
import UnitModel

/// A new scan, as a command line or a caller describes it.
public struct NewScan: Sendable {
  /// The scan directory to create (it must not exist, or be empty).
  public var directory: URL
  public var hosts: [FleetHost]
  public var mode: ScanMetadata.Mode
  public var options: ScanOptions
  /// Where the hosts came from (inventory files, `-H` lists, `local`).
  public var targets: [String]
  /// Problems found before any host was probed; recorded in the metadata.
  public var warnings: [String]
  /// `INDEX/COUNT` when the scan covers a share of the inventory.
  public var shard: String?
  public var toolVersion: String

  public init(
    directory: URL, hosts: [FleetHost], mode: ScanMetadata.Mode, options: ScanOptions, targets: [String],
    warnings: [String] = [], shard: String? = nil, toolVersion: String
  ) {
    self.directory = directory
    self.hosts = hosts
    self.mode = mode
    self.options = options
    self.targets = targets
    self.warnings = warnings
    self.shard = shard
    self.toolVersion = toolVersion
  }
}

/// Makes the transport a scan probes its hosts with, from its mode and options: SSH or this
/// machine; tests give one that replays recorded output.
public struct TransportFactory: Sendable {
  public var make: @Sendable (ScanMetadata.Mode, ScanOptions) -> any Transport

  public init(_ make: @escaping @Sendable (ScanMetadata.Mode, ScanOptions) -> any Transport) {
    self.make = make
  }

  public static let standard = TransportFactory { mode, options in
    switch mode {
    case .local: LocalTransport(limits: options.limits)
    case .ssh: SSHTransport(options: options)
    case .offline: OfflineTransport(limits: options.limits, concurrency: options.concurrency)
    }
  }
}

/// One scan's life: `start` (a new scan) or `resume` (the rest of an interrupted one), then
/// `collect` its hosts, then `finish` (or `markInterrupted` when the process must exit at
/// once).
/// Each finished host is in the scan directory (and the history, when the scan has one) the
/// moment it finishes, so a scan killed at any point keeps every host it finished, and
/// `resume` probes only the others.
public final class ScanSession: Sendable {
  public let directory: URL
  /// The metadata as the scan runs: state `running`, the options in force.
  public let metadata: ScanMetadata
  /// The hosts this session probes: all of a new scan's, the missing ones of a resumed scan.
  public let hosts: [FleetHost]
  /// How many hosts a resumed scan had recorded before this session.
  public var alreadyDone: Int { recorded.count }
  public let store: ScanStore
  public let transport: any Transport
  /// Hosts recorded before this session, without their services, and their service counts.
  private let recorded: [(host: HostReport, services: Int)]
  /// Hosts this session finished, the same way.
  private let finished = Mutex<[(host: HostReport, services: Int)]>([])

  private init(
    directory: URL, metadata: ScanMetadata, hosts: [FleetHost], store: ScanStore, transport: any Transport,
    recorded: [HostReport]
  ) {
    self.directory = directory
    self.metadata = metadata
    self.hosts = hosts
    self.store = store
    self.transport = transport
    self.recorded = recorded.map(Self.light)
  }

  /// Starts a new scan: the history first (one that cannot be used stops the scan before it
  /// has written a directory), then the scan directory with its metadata and plan.
  public static func start(_ scan: NewScan, transports: TransportFactory = .standard) async throws
    -> ScanSession
  {
    var options = scan.options
    if scan.mode == .local { options.concurrency = 1 }
    var metadata = ScanMetadata(
      id: UUID().uuidString.lowercased(), toolVersion: scan.toolVersion, probeVersion: Probe.version,
      mode: scan.mode, startedAt: Date(), targets: scan.targets, plannedHosts: scan.hosts.map(\.name),
      options: options)
    metadata.warnings = scan.warnings.isEmpty ? nil : scan.warnings
    metadata.shard = scan.shard
    let history = try options.history.map { try ScanTables.history($0, create: true) }
    let store: ScanStore
    do {
      store = try ScanStore.create(at: scan.directory, metadata: metadata)
    } catch {
      try? history?.close()
      throw error
    }
    do {
      try await store.writePlan(scan.hosts)
      if let history { try await store.attachHistory(history, metadata: metadata, recorded: []) }
    } catch {
      try? await store.close()
      throw error
    }
    return ScanSession(
      directory: scan.directory, metadata: metadata, hosts: scan.hosts, store: store,
      transport: transports.make(scan.mode, options), recorded: [])
  }

  /// What `resume` found.
  public enum Resumption: Sendable {
    /// The rest of the scan, to collect.
    case resumed(ScanSession)
    /// The scan was complete; its history (named) now holds it whole, which is all there was
    /// left to do.
    case historyCaughtUp(String)
  }

  /// Opens an interrupted (or killed) scan to probe the hosts it has not recorded, with the
  /// options it recorded and `overrides` on top (the ones given again win). A history the
  /// scan records into gets what it missed: the scan if it lacks it, the hosts that reached
  /// the scan but not the history (a kill between the two writes), the metadata. A complete
  /// scan with a history only brings the history up to date; without one it is refused.
  public static func resume(
    _ directory: URL, with overrides: ScanOptions.Overrides = .init(),
    transports: TransportFactory = .standard
  ) async throws -> Resumption {
    let store = try ScanStore.open(directory)
    do {
      let scan = try readScan(directory)
      var metadata = scan.metadata
      if metadata.state == .complete {
        guard let history = metadata.options.history else {
          throw StorageError.notAScan(directory.path, "the scan is already complete; nothing to resume")
        }
        let database = try ScanTables.history(history, create: true)
        defer { try? database.close() }
        try database.catchUp(metadata, recorded: scan.hosts)
        try await store.close()
        return .historyCaughtUp(history)
      }
      let plan = try ScanStore.readPlan(directory)
      let done = Set(scan.hosts.map(\.name))
      var options = metadata.options.applying(overrides)
      options.resumed += 1
      if metadata.mode == .local { options.concurrency = 1 }
      metadata.options = options
      metadata.state = .running
      metadata.finishedAt = nil
      try await store.writeMetadata(metadata)
      if let history = options.history {
        try await store.attachHistory(
          try ScanTables.history(history, create: true), metadata: metadata, recorded: scan.hosts)
      }
      return .resumed(
        ScanSession(
          directory: directory, metadata: metadata, hosts: plan.filter { !done.contains($0.name) },
          store: store, transport: transports.make(metadata.mode, options), recorded: scan.hosts))
    } catch {
      try? await store.close()
      throw error
    }
  }

  /// Probes the session's hosts, `metadata.options.concurrency` at once, recording each as it
  /// finishes. Cancelling the task starts no more hosts; those running finish and are
  /// recorded.
  public func collect(
    probe: Probe = .random(), onStart: @escaping @Sendable (FleetHost) -> Void = { _ in },
    onFinish: @escaping @Sendable (HostReport) -> Void = { _ in }
  ) async throws {
    let collector = Collector(
      transport: transport, probe: probe, store: store, concurrency: metadata.options.concurrency)
    _ = try await collector.collect(
      hosts, keepReports: false, onStart: onStart,
      onFinish: { [self] report in
        let light = Self.light(report)
        finished.withLock { $0.append(light) }
        onFinish(report)
      })
  }

  /// How a scan ended: its final metadata, and every host of the scan (this session's and
  /// those recorded before) without their services.
  public struct Ending: Sendable {
    public var metadata: ScanMetadata
    public var hosts: [HostReport]
  }

  /// Ends the scan: stops the transport, writes the final metadata (complete, or interrupted
  /// for `--resume` to finish) and closes the directory. The directory is closed whatever
  /// happened to the history beside it; the first failure is thrown after.
  public func finish(interrupted: Bool) async throws -> Ending {
    transport.shutdown()
    let ending = ending(interrupted ? .interrupted : .complete)
    var failure: (any Error)?
    do { try await store.writeMetadata(ending.metadata) } catch { failure = error }
    do { try await store.close() } catch { failure = failure ?? error }
    if let failure { throw failure }
    return ending
  }

  /// Marks the scan interrupted, for a process that exits next: hosts still running are left
  /// out (`--resume` probes them), the transport is not waited for, the directory is left to
  /// the kernel to unlock. Written after the host being recorded, if any.
  public func markInterrupted() async throws -> Ending {
    let ending = ending(.interrupted)
    try await store.writeMetadata(ending.metadata)
    return ending
  }

  private func ending(_ state: ScanMetadata.State) -> Ending {
    let all = recorded + finished.withLock { $0 }
    var metadata = metadata
    metadata.state = state
    metadata.finishedAt = Date()
    metadata.counts = ScanMetadata.Counts(hosts: all.map(\.host))
    metadata.counts.services = all.reduce(0) { $0 + $1.services }
    return Ending(metadata: metadata, hosts: all.map(\.host))
  }

  private static func light(_ host: HostReport) -> (host: HostReport, services: Int) {
    var light = host
    light.services = []
    return (light, host.services.count)
  }
}
