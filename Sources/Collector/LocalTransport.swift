import BlockingWork
import Foundation
import Inventory
import Normalize
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the probe on this machine with `/bin/sh`.
public final class LocalTransport: Transport {
  public let name = "local"
  let limits: ProbeLimits
  let shell: String
  private let pool = BlockingPool(threads: 1, name: "unitaudit-local")

  public init(limits: ProbeLimits = ProbeLimits(), shell: String = "/bin/sh") {
    self.limits = limits
    self.shell = shell
  }

  public func run(_ probe: Probe, on host: FleetHost) async -> TransportRun {
    let shell = self.shell
    let limits = self.limits
    let script = probe.script
    let run = await pool.run {
      TransportRun(runProcess([shell, "-c", script], limits: limits))
    }
    return run ?? TransportRun(.failed(HostStatus(.probeFailed, reason: "the scan is shutting down")))
  }

  public func shutdown() { pool.shutdown() }
}

/// Runs a process with no stdin, keeps its stdout and stderr apart up to the output cap
/// (marking the output truncated past it), kills it at the deadline, and reaps it. Blocking:
/// call it on a pool thread.
func runProcess(_ arguments: [String], limits: ProbeLimits) -> TransportResult {
  var stdout: [UInt8] = []
  var truncated = false
  let exit = ChildProcess.run(
    arguments, deadlineSeconds: limits.deadlineSeconds, stderrLimit: limits.maxOutputBytes
  ) { chunk in
    if stdout.count + chunk.count > limits.maxOutputBytes {
      truncated = true
    } else {
      stdout += chunk
    }
    return true
  }
  if let why = exit.failedToStart { return .failed(HostStatus(.probeFailed, reason: why)) }
  if exit.timedOut {
    return .failed(
      HostStatus(.timeout, reason: "the probe did not finish within \(Int(limits.deadlineSeconds)) s"))
  }
  var stderr = exit.stderr
  if stdout.count + stderr.count > limits.maxOutputBytes {
    truncated = true
    stderr = Array(stderr.prefix(max(0, limits.maxOutputBytes - stdout.count)))
  }
  return .output(
    ProbeOutput(stdout: stdout, stderr: stderr, exitStatus: exit.status, truncated: truncated), notes: [])
}
