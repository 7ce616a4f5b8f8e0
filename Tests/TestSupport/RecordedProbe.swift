import Foundation
import Storage
import UnitModel

/// A recorded probe run kept as a test fixture (`Tests/NormalizeTests/Fixtures/probe/HOST/`):
/// `stdout` and `stderr` as the host printed them (uncompressed, so that they can be read and
/// diffed, or as `NAME.zst` where a whole host's output would weigh megabytes), and
/// `meta.json` with the host, nonce, probe version and exit status. The fault hosts
/// and the scale fleet replay the same files. A scan's evidence is another form, compressed
/// in its scan database, which `Evidence` reads.
public enum RecordedProbe {
  private struct Meta: Decodable {
    var host: String
    var nonce: String
    var probeVersion: Int
    var exitStatus: Int32?
    var truncated: Bool
  }

  public static func read(_ folder: URL) throws -> HostEvidence {
    let meta = try JSONDecoder().decode(
      Meta.self, from: Data(contentsOf: folder.appendingPathComponent("meta.json")))
    func stream(_ name: String) throws -> [UInt8] {
      let packed = folder.appendingPathComponent(name + ".zst")
      if FileManager.default.fileExists(atPath: packed.path) {
        return try Zstd.decompress(Array(try Data(contentsOf: packed)), limit: 1 << 30)
      }
      return Array(try Data(contentsOf: folder.appendingPathComponent(name)))
    }
    return HostEvidence(
      host: meta.host, nonce: meta.nonce, probeVersion: meta.probeVersion,
      output: ProbeOutput(
        stdout: try stream("stdout"), stderr: try stream("stderr"), exitStatus: meta.exitStatus,
        truncated: meta.truncated))
  }
}
