import Foundation
import Inventory
import Normalize
import Storage
import UnitModel

/// Fans the probe out over hosts with bounded concurrency and records each host in the scan
/// directory the moment it finishes.
public struct Collector: Sendable {
  public var transport: any Transport
  public var probe: Probe
  public var store: ScanStore
  public var concurrency: Int
  /// The sections the scan's recent hosts printed, read once for the hosts that print them
  /// again byte for byte.
  let memo = NormalizeMemo()

  public init(transport: any Transport, probe: Probe, store: ScanStore, concurrency: Int) {
    self.transport = transport
    self.probe = probe
    self.store = store
    self.concurrency = max(1, concurrency)
  }

  /// Probes every host; returns the reports of those that finished (none with
  /// `keepReports: false`: a large fleet's reports are on disk and need not stay in memory).
  /// Cancelling the task
  /// stops new hosts from starting; hosts already running finish and are recorded.
  public func collect(
    _ hosts: [FleetHost], keepReports: Bool = true,
    onStart: @escaping @Sendable (FleetHost) -> Void = { _ in },
    onFinish: @escaping @Sendable (HostReport) -> Void = { _ in }
  ) async throws -> [HostReport] {
    var reports: [HostReport] = []
    try await withThrowingTaskGroup(of: HostReport.self) { group in
      var next = hosts.makeIterator()
      var running = 0
      func startNext() -> Bool {
        guard !Task.isCancelled, let host = next.next() else { return false }
        onStart(host)
        group.addTask { try await self.scan(host) }
        running += 1
        return true
      }
      while running < concurrency, startNext() {}
      while running > 0, let report = try await group.next() {
        running -= 1
        if keepReports { reports.append(report) }
        onFinish(report)
        _ = startNext()
      }
    }
    return reports
  }

  /// Probes one host, normalizes what came back, and records both.
  func scan(_ host: FleetHost) async throws -> HostReport {
    let started = Date()
    let run = await transport.run(probe, on: host)
    let label = HostLabel(
      name: host.name, address: host.address, port: host.port, groups: host.groups)
    var report: HostReport
    var evidence: HostEvidence?
    switch run.result {
    case .output(let output, let notes):
      let captured = HostEvidence(
        host: host.name, nonce: probe.nonce, probeVersion: Probe.version, output: output)
      report = normalize(captured, label: label, memo: memo)
      report.diagnostics = notes + report.diagnostics
      evidence = captured
    case .failed(let status):
      report = HostReport(
        name: label.name, address: label.address, port: label.port, groups: label.groups, status: status)
    }
    report.startedAt = started
    // The host's time: connection to last byte, not the wait for a core to normalize it.
    report.durationMs = Int(run.finishedAt.timeIntervalSince(started) * 1000)
    return try await store.append(report, evidence: evidence)
  }
}
