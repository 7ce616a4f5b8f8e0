import ArgumentParser
import Coverage
import Foundation
import Normalize
import Report
import Storage
import UnitModel

/// `--baseline` and `--require`, shared by coverage, check and diff.
struct BaselineSelection: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "A bundled baseline (see `unitaudit baseline list`) or a baseline YAML file.", valueName: "name|file"))
  var baseline: String = "fedora-40"

  @Option(
    help: ArgumentHelp(
      "Requirement sets that must be met, comma-separated (default: the baseline's first set).",
      valueName: "sets"))
  var require: String?

  @Option(help: ArgumentHelp("The day waivers are judged on (default: today, UTC).", valueName: "YYYY-MM-DD"))
  var today: String?

  func load() throws -> (Baseline, [String]) {
    let baseline = try BaselineStore.load(self.baseline)
    return (baseline, try Self.required(require, of: baseline))
  }

  /// The sets `require` names (comma-separated), each checked; the baseline's first set
  /// without it.
  static func required(_ require: String?, of baseline: Baseline) throws -> [String] {
    let names = baseline.sets.map(\.name)
    guard let require else { return names.prefix(1).map { $0 } }
    let required = require.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    for name in required where !names.contains(name) {
      throw ValidationError(
        "baseline \(baseline.name) has no set '\(name)' (its sets: \(names.joined(separator: ", ")))")
    }
    return required
  }

  var day: String { today ?? UTCDate.day(Date()) }

  func validate() throws {
    if let today, !(today.count == 10 && today.split(separator: "-").count == 3) {
      throw ValidationError("--today must be YYYY-MM-DD")
    }
  }
}

func loadHosts(_ path: String, console: Console) throws -> [HostReport] {
  let loaded = try readScan(URL(fileURLWithPath: path))
  if loaded.metadata.state != .complete {
    console.error(
      "warning: \(path) is \(loaded.metadata.state.rawValue); hosts not yet scanned are missing")
  }
  return loaded.inNameOrder().hosts
}

func printJSON<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The inventory file and line of each host of a scan, from its plan (hosts given with `-H`
/// or `--local` have none).
func hostSources(of scan: String) -> [String: Provenance] {
  let plan = (try? ScanStore.readPlan(URL(fileURLWithPath: scan))) ?? []
  return Dictionary(
    plan.compactMap { host in host.source.map { (host.name, $0) } }, uniquingKeysWith: { a, _ in a })
}

/// Writes a machine-readable output file of a command; a failure is an error that names the
/// file.
func writeOutput(_ text: String, to path: String) throws {
  do {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  } catch {
    throw CommandError.cannotWrite(path, error.localizedDescription)
  }
}

/// A plain-text table with columns padded to their widest cell.
func table(header: [String], rows: [[String]]) -> String {
  let all = [header] + rows
  let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
  return all.map { row in
    row.enumerated().map { column, cell in
      column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
    }.joined(separator: "  ")
  }.joined(separator: "\n")
}

extension String {
  /// Right-aligned in `width` columns, for tables.
  func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
