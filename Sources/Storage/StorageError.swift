import Foundation
import UnitModel

/// Every error of the storage layer (the scan directory, evidence, histories, merge), each in
/// words that say what to do about it. The command line gives all of them exit status 2: the
/// input named is not usable, or the output cannot be written.
public enum StorageError: Error, CustomStringConvertible, Sendable {
  case notEmpty(String)
  case cannotCreate(String, String)
  case cannotWrite(String, String)
  case notAScan(String, String)
  case unsupportedSchema(String, Int)
  /// A history that already holds the scan: its path, the scan's id, its number there.
  case alreadyHeld(String, String, Int64)
  /// A scan directory another process is writing.
  case busy(String)
  /// A history that cannot be used: its location (a PostgreSQL URL), and why.
  case historyUnusable(String, String)
  /// A host's evidence that cannot be read: which host of which scan, and why.
  case badEvidence(String, String)
  /// Scans to merge that share hosts: each shared host and the scans that hold it.
  case overlap([String: [String]])
  /// A scan to merge that is not complete: its directory and state.
  case unfinished(String, ScanMetadata.State)
  /// Scans to merge made by different probes.
  case probeVersions([Int])
  case nothingToMerge

  public var description: String {
    switch self {
    case .notEmpty(let path):
      "\(path) already exists and is not empty; choose another -o directory, or use --resume to finish that scan"
    case .cannotCreate(let path, let why): "cannot create \(path): \(why)"
    case .cannotWrite(let path, let why): "cannot write \(path): \(why)"
    case .notAScan(let path, let why): "\(path) is not a readable unitaudit scan: \(why)"
    case .busy(let path):
      "\(path) is being written by another unitaudit process (a scan or a --resume of it that is still "
        + "running); wait for it to finish, or stop it, then resume"
    case .historyUnusable(let location, let why): "cannot use the history \(location): \(why)"
    case .alreadyHeld(let path, let id, let number):
      "\(path) already holds scan \(id) (number \(number) in `unitaudit history list`)"
    case .unsupportedSchema(let path, let version):
      "\(path) has scan schema version \(version); this unitaudit reads version \(ScanMetadata.currentSchemaVersion) only: use the unitaudit that wrote it"
    case .badEvidence(let what, let why): "cannot read the evidence of \(what): \(why)"
    case .overlap(let hosts):
      "the scans overlap: \(hosts.count) host\(hosts.count == 1 ? " is" : "s are") in more than one: "
        + hosts.keys.sorted().prefix(10).map {
          "\($0) (in \(hosts[$0, default: []].joined(separator: ", ")))"
        }
        .joined(separator: "; ") + (hosts.count > 10 ? "; …" : "")
        + ". Shards of one inventory never overlap; were two made with the same --shard?"
    case .unfinished(let directory, let state):
      "\(directory) is \(state.rawValue), not complete: finish it with `unitaudit scan --resume \(directory)` first"
    case .probeVersions(let versions):
      "the scans were made by different probes (versions \(versions.map(String.init).joined(separator: ", "))): "
        + "scan every shard with the same unitaudit"
    case .nothingToMerge: "name at least one scan directory to merge"
    }
  }
}
