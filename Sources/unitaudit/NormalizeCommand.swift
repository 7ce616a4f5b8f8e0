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
      A scan keeps what each probed host printed, byte for byte, in its scan.db. This reads \
      one host's evidence back: to see what a newer normalizer makes of it, or, with --raw, \
      to audit what the host really sent.

        unitaudit normalize scan web01
        unitaudit normalize scan web01 --raw | less
      """)

  @Argument(help: "A scan directory.")
  var scan: String

  @Argument(help: "The host's name in the scan (as `unitaudit report` lists it).")
  var host: String

  @Flag(help: "Print what the probe printed on stdout, byte for byte, instead of the normalized host.")
  var raw = false

  func run() throws {
    let evidence: HostEvidence
    do { evidence = try Evidence.read(scan: URL(fileURLWithPath: scan), host: host) } catch {
      throw ValidationError("\(error)")
    }
    if raw {
      FileHandle.standardOutput.write(Data(evidence.output.stdout))
      return
    }
    let report = Normalize.normalize(evidence, label: HostLabel(name: evidence.host))
    let data = try ScanCoding.prettyEncoder.encode(report)
    print(String(decoding: data, as: UTF8.self))
  }
}
