import Foundation
import UnitModel

/// A host's evidence folder, `evidence/HOST/` in a scan: what the probe printed on stdout and
/// stderr, byte for byte, and `meta.json`, what is needed to read them again. `ScanStore`
/// writes it; `read` is the one reader (`unitaudit normalize`, the benchmarks, the tests).
public enum EvidenceFolder {
  public static let stdout = "stdout"
  public static let stderr = "stderr"
  public static let meta = "meta.json"

  /// The evidence in `folder`, with all that meta.json records: the nonce, the probe version,
  /// the exit status, whether the output cap cut it, why the connection was lost. A missing
  /// stdout or stderr reads as empty (the normalizer then reports the sections it lacks).
  public static func read(_ folder: URL) throws(EvidenceError) -> HostEvidence {
    let metaURL = folder.appendingPathComponent(meta)
    let metaData: Data
    do { metaData = try Data(contentsOf: metaURL) } catch {
      throw EvidenceError(folder: folder.path, reason: "cannot read \(meta) (\(error.localizedDescription))")
    }
    let recorded: EvidenceMeta
    do { recorded = try JSONDecoder().decode(EvidenceMeta.self, from: metaData) } catch {
      throw EvidenceError(folder: folder.path, reason: "\(meta) is not valid: \(error)")
    }
    let out = (try? Data(contentsOf: folder.appendingPathComponent(stdout))) ?? Data()
    let err = (try? Data(contentsOf: folder.appendingPathComponent(stderr))) ?? Data()
    return HostEvidence(
      host: recorded.host, nonce: recorded.nonce, probeVersion: recorded.probeVersion,
      output: ProbeOutput(
        stdout: Array(out), stderr: Array(err), exitStatus: recorded.exitStatus,
        truncated: recorded.truncated,
        connectionLost: recorded.connectionLost))
  }
}

/// An evidence folder that cannot be read.
public struct EvidenceError: Error, CustomStringConvertible, Sendable {
  public var folder: String
  public var reason: String
  public var description: String { "\(folder) is not an evidence folder: \(reason)" }
}

/// `evidence/<host>/meta.json`: what is needed to read the raw output again.
public struct EvidenceMeta: Codable, Sendable, Hashable {
  public var host: String
  public var nonce: String
  public var probeVersion: Int
  public var exitStatus: Int32?
  public var truncated: Bool
  /// Why the connection was lost, when it was; absent from older evidence, which read as nil.
  public var connectionLost: String?

  public init(
    host: String, nonce: String, probeVersion: Int, exitStatus: Int32?, truncated: Bool,
    connectionLost: String? = nil
  ) {
    self.host = host
    self.nonce = nonce
    self.probeVersion = probeVersion
    self.exitStatus = exitStatus
    self.truncated = truncated
    self.connectionLost = connectionLost
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    host = try c.decode(String.self, forKey: .host)
    nonce = try c.decode(String.self, forKey: .nonce)
    probeVersion = try c.decode(Int.self, forKey: .probeVersion)
    exitStatus = try c.decodeIfPresent(Int32.self, forKey: .exitStatus)
    truncated = try c.decodeIfPresent(Bool.self, forKey: .truncated) ?? false
    connectionLost = try c.decodeIfPresent(String.self, forKey: .connectionLost)
  }
}
