import BlockingWork
import Inventory
import Normalize
import SSH
import Synchronization
import UnitModel

/// Runs the probe over SSH with libssh: one connection and one exec per host, each on a
/// thread of a pool sized to the scan's concurrency.
public final class SSHTransport: Transport {
  public let name = "ssh"
  /// The scan's options; each connection's `SSHOptions` are made from them and the host.
  let scanOptions: ScanOptions
  private let pool: BlockingPool
  /// The jump hosts' connections, shared by the hosts behind each.
  private let relays = JumpRelayPool()
  /// The command line of the scan's probe, made once: every host of a scan runs the same
  /// probe, and making it (the script's placeholders, the quoting) costs half a millisecond.
  private let command = Mutex<(nonce: String, text: String)?>(nil)

  /// One thread per host probed at once (`options.concurrency`).
  public init(options: ScanOptions) {
    self.scanOptions = options
    self.pool = BlockingPool(threads: options.concurrency, name: "unitaudit-ssh")
  }

  /// What is wrong with a `ProxyJump` value, if anything.
  public static func jumpProblem(_ spec: String) -> String? {
    if case .failure(let error) = JumpHost.chain(spec) { return error.description }
    return nil
  }

  /// The libssh options for one host: the inventory's values win over the scan's. A jump
  /// value that does not parse was refused when the inventory or the command line was read.
  public func options(for host: FleetHost) -> SSHOptions {
    var options = SSHOptions(
      host: host.address, port: host.port, user: host.user ?? scanOptions.user,
      identityFiles: host.identityFile.map { [$0] } ?? scanOptions.identityFiles,
      certificateFile: scanOptions.certificateFile,
      agentSocket: scanOptions.agentSocket,
      configFile: scanOptions.sshConfig, knownHostsFile: scanOptions.knownHostsFile,
      globalKnownHosts: scanOptions.globalKnownHosts,
      acceptNewHostKeys: scanOptions.acceptNewHostKeys, connectTimeout: scanOptions.connectTimeout,
      deadline: scanOptions.deadlineSeconds, maxOutputBytes: scanOptions.maxOutputBytes)
    if let spec = host.jump ?? scanOptions.jump, case .success(let chain) = JumpHost.chain(spec) {
      options.jumpHosts = chain
    }
    options.jumpChannels = scanOptions.jumpChannels
    return options
  }

  public func run(_ probe: Probe, on host: FleetHost) async -> TransportRun {
    if let spec = host.jump ?? scanOptions.jump, let problem = Self.jumpProblem(spec) {
      return TransportRun(.failed(HostStatus(.unreachable, reason: "not connected: \(problem)")))
    }
    let options = options(for: host)
    let command = command.withLock { made in
      if let made, made.nonce == probe.nonce { return made.text }
      let text = probe.remoteCommand(compressed: scanOptions.remoteCompression)
      made = (probe.nonce, text)
      return text
    }
    let relays = relays
    let run = await pool.run {
      TransportRun(Self.probe(command, probe: probe, options: options, relays: relays))
    }
    return run
      ?? TransportRun(
        .failed(HostStatus(.probeFailed, reason: "the scan stopped before this host was probed")))
  }

  /// One host's session, on a pool thread; its stdout decompressed when the host compressed it.
  private static func probe(_ command: String, probe: Probe, options: SSHOptions, relays: JumpRelayPool)
    -> TransportResult
  {
    do throws(SSHError) {
      let output = try SSHSession.run(command, options: options, relays: relays)
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
      let received = ProbeOutput(
        stdout: output.stdout, stderr: output.stderr, exitStatus: output.exitStatus,
        truncated: output.truncated, connectionLost: output.connectionLost)
      return .output(
        CompressedOutput.decode(received, probe: probe, limit: options.maxOutputBytes), notes: notes)
    } catch {
      return .failed(HostStatus(error.statusCode, reason: error.description))
    }
  }

  public func shutdown() {
    pool.shutdown()
    relays.shutdown()
  }
}

extension SSHError {
  var statusCode: HostStatusCode {
    switch self {
    case .unreachable, .dropped: .unreachable
    case .timeout: .timeout
    case .hostKeyUnknown: .hostKeyUnknown
    case .hostKeyChanged: .hostKeyChanged
    case .hostKeyRevoked: .hostKeyRevoked
    case .hostCertificateInvalid: .hostCertInvalid
    case .authFailed: .authFailed
    case .probeFailed, .failed: .probeFailed
    }
  }
}
