import Inventory
import Normalize
import SSH
import UnitModel

/// Settings that apply to every SSH connection of a scan.
public struct SSHSettings: Sendable, Hashable {
  /// Used when the inventory names no user for a host.
  public var user: String?
  /// Keys offered when the inventory names none for a host.
  public var identityFiles: [String]
  public var agentSocket: String?
  public var configFile: String?
  public var knownHostsFile: String
  public var acceptNewHostKeys: Bool
  public var connectTimeout: Int

  public init(
    user: String? = nil, identityFiles: [String] = [], agentSocket: String? = nil,
    configFile: String? = SSHSession.defaultConfigFile,
    knownHostsFile: String = SSHSession.defaultKnownHostsFile,
    acceptNewHostKeys: Bool = false, connectTimeout: Int = 10
  ) {
    self.user = user
    self.identityFiles = identityFiles
    self.agentSocket = agentSocket
    self.configFile = configFile
    self.knownHostsFile = knownHostsFile
    self.acceptNewHostKeys = acceptNewHostKeys
    self.connectTimeout = connectTimeout
  }
}

/// Runs the probe over SSH with libssh: one connection and one exec per host, each on a
/// thread of a pool sized to the scan's concurrency.
public final class SSHTransport: Transport {
  public let name = "ssh"
  let settings: SSHSettings
  let limits: ProbeLimits
  private let pool: BlockingPool

  public init(settings: SSHSettings, limits: ProbeLimits, concurrency: Int) {
    self.settings = settings
    self.limits = limits
    self.pool = BlockingPool(threads: concurrency)
  }

  /// The libssh options for one host: the inventory's values win over the scan's defaults.
  public func options(for host: FleetHost) -> SSHOptions {
    SSHOptions(
      host: host.address, port: host.port, user: host.user ?? settings.user,
      identityFiles: host.identityFile.map { [$0] } ?? settings.identityFiles,
      agentSocket: settings.agentSocket,
      configFile: settings.configFile, knownHostsFile: settings.knownHostsFile,
      acceptNewHostKeys: settings.acceptNewHostKeys, connectTimeout: settings.connectTimeout,
      deadline: limits.deadlineSeconds, maxOutputBytes: limits.maxOutputBytes)
  }

  public func run(_ probe: Probe, on host: FleetHost) async -> TransportRun {
    let options = options(for: host)
    let command = probe.remoteCommand
    let run = await pool.run { TransportRun(Self.probe(command, options: options)) }
    return run
      ?? TransportRun(
        .failed(HostStatus(.probeFailed, reason: "the scan stopped before this host was probed")))
  }

  /// One host's session, on a pool thread.
  private static func probe(_ command: String, options: SSHOptions) -> TransportResult {
    do throws(SSHError) {
      let output = try SSHSession.run(command, options: options)
      var notes = output.warnings.map { Diagnostic(.warning, code: "ssh.config", $0) }
      if output.redials > 0 {
        notes.append(
          Diagnostic(
            .note, code: "ssh.redialed",
            "the server closed the connection before its SSH greeting \(output.redials) time(s) "
              + "(sshd's MaxStartups limit?); connected on attempt \(output.redials + 1)"))
      }
      if let key = output.acceptedHostKey {
        notes.append(
          Diagnostic(
            .note, code: "ssh.host-key-accepted",
            "accepted a new host key (trust on first use): \(key), added to \(options.knownHostsFile)"))
      }
      return .output(
        ProbeOutput(
          stdout: output.stdout, stderr: output.stderr, exitStatus: output.exitStatus,
          truncated: output.truncated, connectionLost: output.connectionLost),
        notes: notes)
    } catch {
      return .failed(HostStatus(error.statusCode, reason: error.description))
    }
  }

  public func shutdown() { pool.shutdown() }
}

extension SSHError {
  var statusCode: HostStatusCode {
    switch self {
    case .unreachable, .dropped: .unreachable
    case .timeout: .timeout
    case .hostKeyUnknown: .hostKeyUnknown
    case .hostKeyChanged: .hostKeyChanged
    case .authFailed: .authFailed
    case .probeFailed, .failed: .probeFailed
    }
  }
}
