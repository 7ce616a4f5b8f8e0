import Foundation
import UnitModel

/// A host's evidence folder, `evidence/HOST/` in a scan: what the probe printed on stdout and
/// stderr, byte for byte, each compressed with zstd (`stdout.zst`, `stderr.zst`), and
/// `meta.json`, what is needed to read them again. `write` is what `ScanStore` writes; `read`
/// is the one reader (`unitaudit normalize`, the benchmarks, the tests).
public enum EvidenceFolder {
  public static let stdout = "stdout"
  public static let stderr = "stderr"
  public static let meta = "meta.json"
  /// The suffix of a compressed stream.
  public static let compressed = ".zst"

  /// Writes `evidence` into `folder` (which exists), each file atomically and 0600.
  static func write(_ evidence: HostEvidence, to folder: URL) throws {
    let output = evidence.output
    let record = EvidenceMeta(
      host: evidence.host, nonce: evidence.nonce, probeVersion: evidence.probeVersion,
      exitStatus: output.exitStatus, truncated: output.truncated, connectionLost: output.connectionLost,
      stdoutBytes: output.stdout.count, stderrBytes: output.stderr.count)
    for (name, bytes) in [(stdout, output.stdout), (stderr, output.stderr)] {
      try ScanStore.writeAtomically(to: folder.appendingPathComponent(name + compressed)) { file in
        try Zstd.compress(bytes) { try file.write(contentsOf: $0) }
      }
    }
    try ScanStore.writeAtomically(
      try ScanCoding.prettyEncoder.encode(record), to: folder.appendingPathComponent(meta))
  }

  /// The evidence in `folder`, with all that meta.json records: the nonce, the probe version,
  /// the exit status, whether the output cap cut it, why the connection was lost. A stream
  /// that is missing, or does not decompress to the size meta.json records, is an error.
  public static func read(_ folder: URL) throws(StorageError) -> HostEvidence {
    let metaURL = folder.appendingPathComponent(meta)
    let metaData: Data
    do { metaData = try Data(contentsOf: metaURL) } catch {
      throw StorageError.badEvidence(folder.path, "cannot read \(meta) (\(error.localizedDescription))")
    }
    let recorded: EvidenceMeta
    do { recorded = try JSONDecoder().decode(EvidenceMeta.self, from: metaData) } catch {
      throw StorageError.badEvidence(folder.path, "\(meta) is not valid: \(error)")
    }
    let out = try stream(stdout, in: folder, size: recorded.stdoutBytes)
    let err = try stream(stderr, in: folder, size: recorded.stderrBytes)
    return HostEvidence(
      host: recorded.host, nonce: recorded.nonce, probeVersion: recorded.probeVersion,
      output: ProbeOutput(
        stdout: out, stderr: err, exitStatus: recorded.exitStatus, truncated: recorded.truncated,
        connectionLost: recorded.connectionLost))
  }

  /// One stream, `NAME.zst`, decompressed and checked against its recorded size.
  static func stream(_ name: String, in folder: URL, size: Int) throws(StorageError) -> [UInt8] {
    let packed = folder.appendingPathComponent(name + compressed)
    let frame: Data
    do { frame = try Data(contentsOf: packed) } catch {
      throw StorageError.badEvidence(
        folder.path, "cannot read \(name + compressed) (\(error.localizedDescription))")
    }
    let bytes: [UInt8]
    do { bytes = try Zstd.decompress(Array(frame), limit: size) } catch {
      throw StorageError.badEvidence(folder.path, "\(name + compressed) does not decompress: \(error)")
    }
    guard bytes.count == size else {
      throw StorageError.badEvidence(
        folder.path, "\(name + compressed) holds \(bytes.count) bytes where \(meta) records \(size)")
    }
    return bytes
  }
}

/// `evidence/<host>/meta.json`: what is needed to read the raw output again.
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

  public init(
    host: String, nonce: String, probeVersion: Int, exitStatus: Int32?, truncated: Bool,
    connectionLost: String? = nil, stdoutBytes: Int, stderrBytes: Int
  ) {
    self.host = host
    self.nonce = nonce
    self.probeVersion = probeVersion
    self.exitStatus = exitStatus
    self.truncated = truncated
    self.connectionLost = connectionLost
    self.stdoutBytes = stdoutBytes
    self.stderrBytes = stderrBytes
  }
}
