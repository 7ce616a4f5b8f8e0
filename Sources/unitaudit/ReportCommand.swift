import ArgumentParser
import Collector
import Coverage
import Foundation
import Report
import ReportTemplates
import Storage
import UnitModel

extension ReportFormat: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Render a scan and its coverage: pages, tables, JSON, metrics, JUnit, SARIF.",
    usage: "unitaudit report <scan> [<options>]",
    discussion: """
      Formats (--format; without it: \(ReportFormat.defaults.map(\.rawValue).joined(separator: ", "))):
      \(formatTable)

      Templates come from Templates/ in the unitaudit sources; --templates DIR overrides any \
      of them by file name (report.html.mustache, report.md.mustache).

      Examples:
        unitaudit report scan-11
        unitaudit report scan-11 --compare scan-10 --format html,md -o release-notes
        unitaudit report scan --format metrics -o /var/lib/prometheus/node-exporter
        unitaudit report scan-11 --format junit,sarif -o ci
      """)

  /// One line per format, from the format table.
  static var formatTable: String {
    ReportFormat.allCases.map {
      "  " + $0.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0) + $0.about
    }
    .joined(separator: "\n")
  }

  @Argument(help: ArgumentHelp("A scan directory.", valueName: "scan"))
  var scan: String

  @OptionGroup var selection: BaselineSelection

  @Option(
    help: ArgumentHelp(
      "An older scan to compare with (what was hardened, what regressed).", valueName: "scan"))
  var compare: String?

  @Option(
    parsing: .singleValue,
    help: ArgumentHelp(
      "Formats, comma-separated: \(ReportFormat.names) (default: \(ReportFormat.defaults.map(\.rawValue).joined(separator: ", "))).",
      valueName: "list"))
  var format: [String] = []

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp("Where to write (default: SCAN/report).", valueName: "dir"))
  var output: String?

  @Option(
    help: ArgumentHelp("A folder of templates that override the bundled ones by name.", valueName: "dir"))
  var templates: String?

  @Flag(
    help: ArgumentHelp(
      "Write checks.csv even when it has more rows than a spreadsheet opens (1,048,576; about 130 hosts of 100 services)."
    ))
  var checksCSV = false

  @Option(
    help: ArgumentHelp(
      "A history (`unitaudit history`), an SQLite file or a postgres:// URL: add a section of progress over its scans.",
      valueName: "file|url"))
  var history: String?

  @Flag(name: [.short, .long], help: "Print nothing but errors.")
  var quiet = false

  func run() throws {
    let console = Console(quiet: quiet)
    let formats = try parsedFormats()
    let directory = URL(
      fileURLWithPath: output ?? URL(fileURLWithPath: scan).appendingPathComponent("report").path)
    let (baseline, required) = try selection.load()
    let loaded = try readScan(URL(fileURLWithPath: scan))
    let older = try compare.map { try readScan(URL(fileURLWithPath: $0)) }
    let (texts, files) = try Self.templateTexts(templates, console: console)
    let writer = ReportWriter(renderer: try ReportRenderer(templates: texts, files: files))
    let trend = try history.map {
      try ScanTables.trend(ofHistory: $0, baseline: baseline, required: required, service: nil, since: nil)
    }
    let outcome = try writer.report(
      scan: loaded, older: older, baseline: baseline, required: required, today: selection.day,
      formats: formats, to: directory, allChecks: checksCSV, trend: trend, toolVersion: BuildInfo.version,
      hostSources: formats.contains(.sarif) ? hostSources(of: scan) : [:],
      canary: try CanaryRun.results(scan: URL(fileURLWithPath: scan)))
    noteChecksLeftOut(outcome, console: console)
    for note in outcome.notes { console.error("warning: \(note)") }
    for file in outcome.files { console.info("wrote \(file.path)") }
  }

  func parsedFormats() throws -> [ReportFormat] {
    let names = format.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    if names.isEmpty { return ReportFormat.defaults }
    return try names.map { name in
      guard let format = ReportFormat(rawValue: name) else {
        throw ValidationError("unknown format '\(name)' (\(ReportFormat.names))")
      }
      return format
    }
  }

  /// The bundled templates, with any of the same name in `directory` taking their place, and
  /// the file each override came from.
  static func templateTexts(_ directory: String?, console: Console) throws -> (
    texts: [String: String], files: [String: String]
  ) {
    var texts = BundledTemplates.all()
    guard let directory else { return (texts, [:]) }
    var files: [String: String] = [:]
    for (name, override) in try BundledTemplates.overrides(in: directory).sorted(by: { $0.key < $1.key }) {
      if texts[name] == nil {
        console.error(
          "warning: \(override.file) overrides no template (known: "
            + texts.keys.sorted().map(BundledTemplates.fileName).joined(separator: ", ") + ")")
      }
      texts[name] = override.text
      files[name] = override.file
    }
    return (texts, files)
  }
}

/// Says so when a report left `checks.csv` out for its size.
func noteChecksLeftOut(_ outcome: ReportWriter.Outcome, console: Console) {
  if let rows = outcome.checksRowsLeftOut {
    console.info(
      "checks.csv not written: its \(rows) rows are more than a spreadsheet opens; "
        + "use `unitaudit report --checks-csv` to write it anyway")
  }
}
