import Foundation
import UnitModel

/// A host's evidence: what the probe printed on stdout and stderr, byte for byte, each
/// compressed with zstd, and what is needed to read them again (`EvidenceMeta`), kept in the
/// scan database's `evidence` table in the transaction that records the host. `encode` is
/// what `ScanStore` stores; `read` is the one reader (`unitaudit normalize`, `merge`, the
/// benchmarks, the tests).
public enum Evidence {
  /// A host's evidence as stored: the meta JSON and the two zstd frames.
  public struct Stored: Sendable, Equatable {
    var meta: String
    var stdout: [UInt8]
    var stderr: [UInt8]
  }

  /// `evidence` compressed with `compressor` (one frame per stream, with its size and a
  /// checksum), ready to store.
  static func encode(_ evidence: HostEvidence, compressor: ZstdCompressor) throws -> Stored {
    let output = evidence.output
    let meta = EvidenceMeta(
      host: evidence.host, nonce: evidence.nonce, probeVersion: evidence.probeVersion,
      exitStatus: output.exitStatus, truncated: output.truncated, connectionLost: output.connectionLost,
      stdoutBytes: output.stdout.count, stderrBytes: output.stderr.count, transfer: output.transfer)
    return Stored(
      meta: try ScanTables.json(meta), stdout: try compressor.compress(output.stdout),
      stderr: try compressor.compress(output.stderr))
  }

  /// The evidence of `host` in the scan directory `directory`.
  public static func read(scan directory: URL, host: String) throws -> HostEvidence {
    try readingScanDatabase(directory) { database, scan in
      let what = "host \(host) of \(directory.path)"
      guard let stored = try database.evidence(host: host, scan: scan) else {
        throw StorageError.badEvidence(
          what,
          try database.hostNames(scan: scan).contains(host)
            ? "the scan recorded none (the host was not probed: its status says why)"
            : "the scan has no host of that name")
      }
      return try decode(stored, what: what)
    }
  }

  /// The evidence `stored` holds, checked: each stream decompresses to the size the meta
  /// records, or it is an error that names `what`.
  static func decode(_ stored: Stored, what: String) throws(StorageError) -> HostEvidence {
    let recorded: EvidenceMeta
    do { recorded = try ScanCoding.decoder.decode(EvidenceMeta.self, from: Data(stored.meta.utf8)) } catch {
      throw StorageError.badEvidence(what, "its meta is not valid: \(error)")
    }
    let out = try stream(stored.stdout, "stdout", size: recorded.stdoutBytes, what: what)
    let err = try stream(stored.stderr, "stderr", size: recorded.stderrBytes, what: what)
    return HostEvidence(
      host: recorded.host, nonce: recorded.nonce, probeVersion: recorded.probeVersion,
      output: ProbeOutput(
        stdout: out, stderr: err, exitStatus: recorded.exitStatus, truncated: recorded.truncated,
        connectionLost: recorded.connectionLost, transfer: recorded.transfer))
  }

  /// One stream, decompressed and checked against its recorded size.
  private static func stream(_ frame: [UInt8], _ name: String, size: Int, what: String) throws(StorageError)
    -> [UInt8]
  {
    let bytes: [UInt8]
    do { bytes = try Zstd.decompress(frame, limit: size) } catch {
      throw StorageError.badEvidence(what, "its \(name) does not decompress: \(error)")
    }
    guard bytes.count == size else {
      throw StorageError.badEvidence(
        what, "its \(name) holds \(bytes.count) bytes where the meta records \(size)")
    }
    return bytes
  }
}

/// What is needed to read a host's raw output again (`evidence.meta`).
public struct EvidenceMeta: Codable, Sendable, Hashable {
  public var host: String
  public var nonce: String
  public var probeVersion: Int
  public var exitStatus: Int32?
  public var truncated: Bool
  /// Why the connection was lost, when it was.
  public var connectionLost: String?
  /// The sizes of the streams before compression.
  public var stdoutBytes: Int
  public var stderrBytes: Int
  /// How stdout crossed the wire when the host compressed it (the stored stdout is what
  /// the probe printed, decompressed).
  public var transfer: ProbeTransfer?

  public init(
    host: String, nonce: String, probeVersion: Int, exitStatus: Int32?, truncated: Bool,
    connectionLost: String? = nil, stdoutBytes: Int, stderrBytes: Int, transfer: ProbeTransfer? = nil
  ) {
    self.host = host
    self.nonce = nonce
    self.probeVersion = probeVersion
    self.exitStatus = exitStatus
    self.truncated = truncated
    self.connectionLost = connectionLost
    self.stdoutBytes = stdoutBytes
    self.stderrBytes = stderrBytes
    self.transfer = transfer
  }
}
