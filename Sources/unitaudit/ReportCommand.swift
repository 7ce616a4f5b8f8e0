import ArgumentParser
import Collector
import Coverage
import Foundation
import Report
import ReportTemplates
import UnitModel

extension ReportFormat: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Render a scan and its coverage as HTML, Markdown, CSV and JSON.",
    discussion: """
      report.html: one self-contained page (summary, charts, the coverage matrix with sorting \
      and filters, per-service detail, hosts, and what changed with --compare). report.md: \
      the summary, the coverage table, hosts not audited, and "Hardened services" ready for \
      release notes. services.csv, checks.csv, hosts.csv: spreadsheet-safe tables. \
      report.json: the scan and its coverage for other tools.

      Templates come from Templates/ in the unitaudit sources; --templates DIR overrides any \
      of them by file name (report.html.mustache, report.md.mustache).

      Examples:
        unitaudit report scan-2026-11
        unitaudit report scan-2026-11 --compare scan-2026-10 --format html,md -o release-notes
      """)

  @Argument(help: ArgumentHelp("A scan directory.", valueName: "scan"))
  var scan: String

  @OptionGroup var selection: BaselineSelection

  @Option(
    help: ArgumentHelp(
      "An older scan to compare with (what was hardened, what regressed).", valueName: "scan"))
  var compare: String?

  @Option(
    parsing: .singleValue,
    help: ArgumentHelp("Formats, comma-separated: html, md, csv, json (default: all).", valueName: "list"))
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

  @Flag(name: [.short, .long], help: "Print nothing but errors.")
  var quiet = false

  func run() throws {
    let console = Console(quiet: quiet)
    let formats = try parsedFormats()
    let directory = URL(
      fileURLWithPath: output ?? URL(fileURLWithPath: scan).appendingPathComponent("report").path)
    let written = try usageErrors {
      try Self.render(
        scan: scan, selection: selection, compare: compare, formats: formats, to: directory,
        templates: templates, allChecks: checksCSV, console: console)
    }
    for path in written { console.info("wrote \(path)") }
  }

  func parsedFormats() throws -> [ReportFormat] {
    let names = format.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    if names.isEmpty { return ReportFormat.allCases }
    return try names.map { name in
      guard let format = ReportFormat(rawValue: name) else {
        throw ValidationError("unknown format '\(name)' (html, md, csv, json)")
      }
      return format
    }
  }

  /// Renders the reports of a scan into `directory`; returns the files written.
  static func render(
    scan: String, selection: BaselineSelection, compare: String?, formats: [ReportFormat], to directory: URL,
    templates: String?, allChecks: Bool = false, console: Console
  ) throws -> [String] {
    let (baseline, required) = try selection.load()
    let loaded = try loadScan(URL(fileURLWithPath: scan))
    let today = selection.day
    let coverage = CoverageCalculator.compute(
      hosts: loaded.scan.hosts, baseline: baseline, required: required, today: today)
    var comparison: (since: String, diff: ScanDiff)?
    if let compare {
      let older = try loadScan(URL(fileURLWithPath: compare))
      let diff = ScanDiff.compare(
        old: older.scan.hosts, new: loaded.scan.hosts, baseline: baseline, required: required, today: today)
      comparison = (ReportView.day(older.scan.metadata.startedAt), diff)
    }
    let input = ReportInput(
      metadata: loaded.scan.metadata, hosts: loaded.scan.hosts, baseline: baseline, required: required,
      coverage: coverage, compare: comparison, generatedAt: ReportView.day(Date()))
    let (texts, files) = try templateTexts(templates, console: console)
    let renderer = try ReportRenderer(templates: texts, files: files)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    if formats.contains(.csv), !allChecks, case let rows = CSV.checksRowCount(input),
      rows > CSV.spreadsheetRowLimit
    {
      console.info(
        "checks.csv not written: its \(rows) rows are more than a spreadsheet opens; "
          + "use `unitaudit report --checks-csv` to write it anyway")
    }
    return try renderer.write(formats, input, to: directory, allChecks: allChecks).map(\.path)
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
