import ArgumentParser
import Foundation
import Normalize
import Storage
import UnitModel

struct NormalizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "normalize",
    abstract: "Normalize a host's raw probe evidence again and print the host as JSON.",
    discussion: """
      EVIDENCE is a host's folder under a scan's evidence/ (stdout.zst, stderr.zst, \
      meta.json). Use it to audit what a host really sent, or to see what a newer normalizer \
      makes of a scan's evidence.
      """)

  @Argument(help: "An evidence folder: SCAN/evidence/HOST.")
  var evidence: String

  func run() throws {
    let host: HostEvidence
    do { host = try EvidenceFolder.read(URL(fileURLWithPath: evidence)) } catch {
      throw ValidationError("\(error)")
    }
    let report = Normalize.normalize(host, label: HostLabel(name: host.host))
    let data = try ScanCoding.prettyEncoder.encode(report)
    print(String(decoding: data, as: UTF8.self))
  }
}
