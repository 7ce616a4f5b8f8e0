import ArgumentParser
import Collector
import Foundation
import Normalize
import UnitModel

struct NormalizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "normalize",
    abstract: "Normalize a host's raw probe evidence again and print the host as JSON.",
    discussion: """
      EVIDENCE is a host's folder under a scan's evidence/ (stdout, stderr, meta.json). \
      Use it to audit what a host really sent, or to read an old scan with a newer unitaudit.
      """)

  @Argument(help: "An evidence folder: SCAN/evidence/HOST.")
  var evidence: String

  func run() throws {
    let folder = URL(fileURLWithPath: evidence)
    let meta: EvidenceMeta
    do {
      meta = try JSONDecoder().decode(
        EvidenceMeta.self, from: Data(contentsOf: folder.appendingPathComponent("meta.json")))
    } catch {
      throw ValidationError("\(evidence) is not an evidence folder: cannot read meta.json (\(error))")
    }
    let stdout = (try? Data(contentsOf: folder.appendingPathComponent("stdout"))) ?? Data()
    let stderr = (try? Data(contentsOf: folder.appendingPathComponent("stderr"))) ?? Data()
    let output = ProbeOutput(
      stdout: Array(stdout), stderr: Array(stderr), exitStatus: meta.exitStatus, truncated: meta.truncated,
      connectionLost: meta.connectionLost)
    let report = Normalize.normalize(
      HostEvidence(host: meta.host, nonce: meta.nonce, probeVersion: meta.probeVersion, output: output),
      label: HostLabel(name: meta.host))
    let data = try ScanCoding.prettyEncoder.encode(report)
    print(String(decoding: data, as: UTF8.self))
  }
}
