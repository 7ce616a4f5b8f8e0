import ArgumentParser
import Coverage
import Foundation
import Normalize
import Report
import ReportTemplates
import Storage
import UnitModel

struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract:
      "What changed between two scans: services hardened, regressed or improved, with the directives why.",
    usage: "unitaudit diff <old> <new> [<options>]")

  @Argument(help: ArgumentHelp("The older scan directory.", valueName: "old"))
  var old: String

  @Argument(help: ArgumentHelp("The newer scan directory.", valueName: "new"))
  var new: String

  @OptionGroup var selection: BaselineSelection

  @Flag(help: "Print JSON.")
  var json = false

  @Flag(
    help: ArgumentHelp(
      "Release notes: each scan's services pooled (two trees, two package sets, two releases), per package "
        + "and service: hardened, improved, regressed, new, gone. Markdown, or JSON with --json."))
  var releaseNotes = false

  func run() throws {
    let console = Console(quiet: false)
    let (baseline, required) = try selection.load()
    let before = try loadHosts(old, console: console)
    let after = try loadHosts(new, console: console)
    if releaseNotes {
      let notes = ReleaseNotes.compare(
        before: before, after: after, baseline: baseline, required: required, today: selection.day)
      if json { return try printJSON(notes) }
      let renderer = try ReportRenderer(templates: BundledTemplates.all())
      return print(try renderer.releaseNotes(notes), terminator: "")
    }
    let diff = ScanDiff.compare(
      old: before, new: after, baseline: baseline, required: required, today: selection.day)
    if json { return try printJSON(diff) }
    for (title, list) in [
      ("hosts added", diff.hostsAdded), ("hosts removed", diff.hostsRemoved),
      ("services added", diff.servicesAdded),
      ("services removed", diff.servicesRemoved),
    ] where !list.isEmpty {
      print("\(title): \(list.joined(separator: ", "))")
    }
    for kind in [ServiceChange.Kind.hardened, .regressed, .improved] {
      let changes = diff.changes.filter { $0.kind == kind }
      guard !changes.isEmpty else { continue }
      print("\n\(kind.rawValue) (\(changes.count)):")
      for change in changes {
        var line = "  \(change.host) \(change.service)"
        if let a = change.exposureBefore, let b = change.exposureAfter, a != b {
          line += "  exposure \(a) → \(b)"
        }
        let gained = change.gained.map { "+\($0.directive.rawValue)=\($0.after) (\($0.source.rawValue))" }
        let lost = change.lost.map { "-\($0.directive.rawValue) (now \($0.after))" }
        if !(gained + lost).isEmpty { line += "  " + (gained + lost).joined(separator: " ") }
        print(terminalSafe(line))
      }
    }
    if diff.changes.isEmpty && diff.hostsAdded.isEmpty && diff.hostsRemoved.isEmpty {
      print("no changes against \(baseline.name) (\(required.joined(separator: ", ")))")
    }
  }
}
