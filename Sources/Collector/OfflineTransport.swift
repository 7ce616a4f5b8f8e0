import BlockingWork
import Foundation
import Inventory
import Normalize
import Offline
import UnitModel

/// Reads OS trees and packages instead of probing hosts: each "host" of an offline scan is a
/// tree's directory or a package's file (`FleetHost.offline`), read on a thread of its own
/// into the probe's sections (`OfflineProbe`), and recorded as evidence like a host's output.
public final class OfflineTransport: Transport {
  public let name = "offline"
  let limits: ProbeLimits
  let analyzer: OfflineAnalyzer
  private let pool: BlockingPool

  public init(limits: ProbeLimits, concurrency: Int, analyzer: OfflineAnalyzer = .thisMachine()) {
    self.limits = limits
    self.analyzer = analyzer
    pool = BlockingPool(threads: max(1, concurrency), name: "unitaudit-offline")
  }

  public func run(_ probe: Probe, on host: FleetHost) async -> TransportRun {
    let limits = self.limits
    let analyzer = self.analyzer
    let run = await pool.run {
      TransportRun(Self.read(host, nonce: probe.nonce, analyzer: analyzer, limits: limits))
    }
    return run ?? TransportRun(.failed(HostStatus(.probeFailed, reason: "the scan is shutting down")))
  }

  public func shutdown() { pool.shutdown() }

  static func read(_ host: FleetHost, nonce: String, analyzer: OfflineAnalyzer, limits: ProbeLimits)
    -> TransportResult
  {
    guard let kind = host.offlineKind else {
      return .failed(HostStatus(.probeFailed, reason: "\(host.name) is not a tree or a package"))
    }
    let started = Date()
    let deadline = started.addingTimeInterval(limits.deadlineSeconds)
    var output: ProbeOutput
    switch kind {
    case .tree:
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: host.address, isDirectory: &isDirectory),
        isDirectory.boolValue
      else {
        return .failed(HostStatus(.unreachable, reason: "\(host.address) is not a directory"))
      }
      output = OfflineProbe.evidence(
        tree: TreeReader(root: host.address, limits: TreeLimits(maxTotalBytes: limits.maxOutputBytes / 2)),
        name: host.name,
        source: OfflineSource(kind: .tree, path: host.address),
        nonce: nonce, analyzer: analyzer, deadline: deadline)
    case .package:
      guard let format = PackageUnpacker.Format(file: host.address) else {
        return .failed(HostStatus(.probeFailed, reason: "\(host.address) is not a .deb or .rpm file"))
      }
      let packageLimits = PackageLimits(deadlineSeconds: limits.deadlineSeconds)
      let info: PackageInfo
      switch PackageUnpacker.info(of: host.address, format: format, deadline: limits.deadlineSeconds) {
      case .failure(let error): return .failed(HostStatus(.probeFailed, reason: error.description))
      case .success(let found): info = found
      }
      let root = FileManager.default.temporaryDirectory.appendingPathComponent(
        "unitaudit-package-\(UUID().uuidString)")
      do {
        try FileManager.default.createDirectory(
          at: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
      } catch {
        return .failed(
          HostStatus(.probeFailed, reason: "cannot make a private directory to unpack into: \(error)"))
      }
      defer { try? FileManager.default.removeItem(at: root) }
      let unpacked: PackageUnpacker.Unpacked
      switch PackageUnpacker.unpack(host.address, format: format, into: root.path, limits: packageLimits) {
      case .failure(let error): return .failed(HostStatus(.probeFailed, reason: error.description))
      case .success(let found): unpacked = found
      }
      output = OfflineProbe.evidence(
        tree: TreeReader(root: root.path, limits: TreeLimits(maxTotalBytes: limits.maxOutputBytes / 2)),
        name: host.name,
        source: OfflineSource(kind: .package, path: host.address, package: info.name, version: info.version),
        nonce: nonce, analyzer: analyzer, owner: info.name, splitUsr: unpacked.splitUsr,
        extraDiagnostics: unpacked.diagnostics, deadline: deadline)
    }
    if output.stdout.count + output.stderr.count > limits.maxOutputBytes {
      output.stdout = Array(output.stdout.prefix(max(0, limits.maxOutputBytes - output.stderr.count)))
      output.truncated = true
    }
    return .output(output, notes: [])
  }
}

extension OfflineAnalyzer {
  /// This machine's `systemd-analyze`, run once per unit with `SYSTEMD_ANALYZE_DEBUG=1` (each
  /// check's weight, badness and range, from which the overall exposure is summed), for the
  /// time it is given and 8 MB of output at most each.
  public static func thisMachine() -> OfflineAnalyzer {
    guard let tool = ChildProcess.find("systemd-analyze") else {
      return OfflineAnalyzer(version: nil) { _, _, _ in Run(stdout: [], stderr: [], exitStatus: nil) }
    }
    let environment = [
      "SYSTEMD_ANALYZE_DEBUG": "1", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SYSTEMD_COLORS": "0",
      "SYSTEMD_PAGER": "cat", "SYSTEMD_LOG_COLOR": "0",
    ]
    var versionOutput: [UInt8] = []
    _ = ChildProcess.run([tool, "--version"], environment: environment, deadlineSeconds: 10) { chunk in
      versionOutput += chunk
      return versionOutput.count < 65536
    }
    let version = String(decoding: versionOutput, as: UTF8.self).split(separator: "\n").first.map(String.init)
    return OfflineAnalyzer(version: version) { unit, root, seconds in
      var stdout: [UInt8] = []
      let limit = 8 << 20
      let exit = ChildProcess.run(
        [tool, "security", "--offline=yes", "--root=\(root)", "--json=short", "--no-pager", "--", unit],
        environment: environment, deadlineSeconds: seconds, stderrLimit: 65536
      ) { chunk in
        stdout += chunk
        return stdout.count <= limit
      }
      var stderr = exit.stderr
      if exit.timedOut {
        stderr =
          Array("not analysed: systemd-analyze did not finish within \(Int(seconds)) s\n".utf8) + stderr
      }
      if exit.stopped {
        stderr = Array("not analysed: systemd-analyze printed more than \(limit) bytes\n".utf8) + stderr
      }
      return Run(stdout: stdout, stderr: stderr, exitStatus: exit.status)
    }
  }
}

extension FleetHost {
  /// An OS tree or a package as a "host" of an offline scan: its directory or file is the
  /// address, its kind a variable (`unitaudit_offline`) and its group.
  public static func offline(name: String, path: String, kind: OfflineSource.Kind) -> FleetHost {
    FleetHost(name: name, address: path, groups: [kind.rawValue], vars: [offlineKindVariable: kind.rawValue])
  }

  static let offlineKindVariable = "unitaudit_offline"

  /// The kind of an offline scan's "host"; nil for a host reached over SSH or this machine.
  public var offlineKind: OfflineSource.Kind? {
    vars[Self.offlineKindVariable].flatMap(OfflineSource.Kind.init)
  }
}
