import Foundation
import Inventory
import Normalize
import UnitModel

/// What a transport brings back from one host.
public enum TransportResult: Sendable {
  /// The probe ran (whatever its exit status); its bytes are evidence. `notes` are what the
  /// transport wants on the host's record (a host key accepted, a config line ignored).
  case output(ProbeOutput, notes: [Diagnostic])
  /// The probe never ran: the host was unreachable, refused us, or timed out.
  case failed(HostStatus)
}

/// A transport's answer, and when the host's part ended: taken on the transport's thread,
/// so a host's recorded duration does not include waiting for a core to normalize it.
public struct TransportRun: Sendable {
  public var result: TransportResult
  public var finishedAt: Date

  public init(_ result: TransportResult, finishedAt: Date = Date()) {
    self.result = result
    self.finishedAt = finishedAt
  }
}

/// Runs the probe on one host. Implementations block on their own threads, never on the
/// cooperative pool.
public protocol Transport: Sendable {
  /// A short name for scan metadata (`local`, `ssh`).
  var name: String { get }
  func run(_ probe: Probe, on host: FleetHost) async -> TransportRun
  /// Joins any threads the transport owns; called once when the scan ends.
  func shutdown()
}

/// Limits that apply to every host of a scan.
public struct ProbeLimits: Sendable, Hashable {
  /// Bytes of stdout + stderr kept per host; the host is marked truncated past it.
  public var maxOutputBytes: Int
  /// The longest a probe may run on one host, connection included, in seconds.
  public var deadlineSeconds: Double

  public init(
    maxOutputBytes: Int = ScanOptions.defaultMaxOutputBytes,
    deadlineSeconds: Double = ScanOptions.defaultDeadlineSeconds
  ) {
    self.maxOutputBytes = maxOutputBytes
    self.deadlineSeconds = deadlineSeconds
  }
}

extension ScanOptions {
  /// The limits that apply to every host of the scan.
  public var limits: ProbeLimits {
    ProbeLimits(maxOutputBytes: maxOutputBytes, deadlineSeconds: deadlineSeconds)
  }
}
