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
  /// How stdout crossed the wire when the host compressed it; `stdout` is then what the
  /// probe printed, decompressed. Nil: it came as the probe printed it.
  public var transfer: ProbeTransfer?

  public init(
    stdout: [UInt8], stderr: [UInt8], exitStatus: Int32?, truncated: Bool = false,
    connectionLost: String? = nil, transfer: ProbeTransfer? = nil
  ) {
    self.stdout = stdout
    self.stderr = stderr
    self.exitStatus = exitStatus
    self.truncated = truncated
    self.connectionLost = connectionLost
    self.transfer = transfer
  }
}

/// A compressor the remote command pipes the probe's stdout through when the host has it:
/// the first of these found on the host's PATH, in this order. The probe's output (mostly
/// `systemd-analyze security`'s JSON) shrinks 10–40×: less to send, decrypt and read.
public enum TransferEncoding: String, Sendable, Hashable, Codable, CaseIterable {
  case zstd, gzip

  /// The host's program.
  public var program: String { rawValue }

  /// The command that compresses its stdin to its stdout, at the fastest level.
  public var hostCommand: String {
    switch self {
    case .zstd: "zstd -q -1 -c"
    case .gzip: "gzip -1 -c"
    }
  }
}

/// How a host's stdout crossed the wire, and what became of it.
public struct ProbeTransfer: Sendable, Hashable, Codable {
  public var encoding: TransferEncoding
  /// The compressed bytes received.
  public var bytes: Int
  /// What was wrong with the compressed stream (damaged, or ended before its end without a
  /// lost connection to explain it); the output is what decompressed before.
  public var damage: String?

  public init(encoding: TransferEncoding, bytes: Int, damage: String? = nil) {
    self.encoding = encoding
    self.bytes = bytes
    self.damage = damage
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
