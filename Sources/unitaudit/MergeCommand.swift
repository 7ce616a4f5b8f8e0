import ArgumentParser
import Foundation
import Storage

struct MergeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Join the scans of disjoint hosts (the shards of one inventory) into one scan.",
    discussion: """
      Collectors that each scan a share of a fleet (`unitaudit scan --shard I/N`, from a \
      Kubernetes Indexed Job or AWX job slices) write one scan directory each; merge joins them \
      into OUT: every host with its evidence, and in the new scan's metadata each scan's \
      directory, id, shard, times and options (`mergedFrom`). Every command reads OUT like \
      any scan, and its reports are those one scan of the whole inventory gives.

      Refused: scans that share a host (two collectors given the same share), a scan that is \
      not complete (finish it with `scan --resume` first), scans made by different probes.

        unitaudit merge fleet scan-0 scan-1 scan-2 scan-3
      """)

  @Argument(
    help: ArgumentHelp("The scan directory to create (must not exist or be empty).", valueName: "out"))
  var output: String

  @Argument(help: ArgumentHelp("The scan directories to join.", valueName: "scan"))
  var scans: [String] = []

  func validate() throws {
    guard !scans.isEmpty else { throw ValidationError("name the scan directories to merge after OUT") }
    guard !scans.contains(output) else {
      throw ValidationError("OUT must be a new directory, not one of the scans")
    }
  }

  func run() async throws {
    let console = Console(quiet: false)
    let metadata = try await ScanMerge.merge(
      scans.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: output),
      toolVersion: UnitAudit.version)
    console.info(
      "merged \(metadata.mergedFrom?.count ?? 0) scans, \(metadata.counts.hosts) hosts, into \(output)")
  }
}
