/// The raw result of running the probe on one host, byte for byte, before any parsing.
///
/// Kept in the scan database (its `evidence` table) so that a scan can be normalized again by
/// a newer unitaudit and audited later.
public struct ProbeOutput: Sendable, Hashable {
  public var stdout: [UInt8]
  public var stderr: [UInt8]
  /// The exit status of the probe script, nil when it ended by a signal or never reported one.
  public var exitStatus: Int32?
  /// True when the output cap cut the output short.
  public var truncated: Bool
  /// Why the connection ended before the probe did (a reset, a server that died), when it
  /// did; the output is what arrived before.
  public var connectionLost: String?

  public init(
    stdout: [UInt8], stderr: [UInt8], exitStatus: Int32?, truncated: Bool = false,
    connectionLost: String? = nil
  ) {
    self.stdout = stdout
    self.stderr = stderr
    self.exitStatus = exitStatus
    self.truncated = truncated
    self.connectionLost = connectionLost
  }
}

/// A host's probe output together with what is needed to read it again.
public struct HostEvidence: Sendable, Hashable {
  public var host: String
  /// The per-scan nonce carried by the probe's section markers.
  public var nonce: String
  public var probeVersion: Int
  public var output: ProbeOutput

  public init(host: String, nonce: String, probeVersion: Int, output: ProbeOutput) {
    self.host = host
    self.nonce = nonce
    self.probeVersion = probeVersion
    self.output = output
  }
}
