import Coverage
import Foundation
import UnitModel

/// Writes reports to files: what `unitaudit report` and `unitaudit scan --report` call. The
/// views and `ReportRenderer` are pure; this is where the files are made.
public struct ReportWriter: Sendable {
  public let renderer: ReportRenderer

  public init(renderer: ReportRenderer) { self.renderer = renderer }

  /// What a report run wrote.
  public struct Outcome: Sendable {
    /// The files written, in the order of the formats asked for.
    public var files: [URL]
    /// The rows `checks.csv` would have had when it was left out for having more than a
    /// spreadsheet opens (`CSV.spreadsheetRowLimit`); nil when it was written or not asked for.
    public var checksRowsLeftOut: Int?
  }

  /// A scan's reports into `directory` (made if missing): coverage against `baseline`'s
  /// `required` sets, with the changes since `older` when given, in each of `formats`.
  /// `today` (`YYYY-MM-DD`) decides which waivers have expired.
  public func report(
    scan: Scan, older: Scan?, baseline: Baseline, required: [String], today: String,
    formats: [ReportFormat], to directory: URL, allChecks: Bool = false, trend: Trend? = nil
  ) throws -> Outcome {
    let scan = scan.inNameOrder()
    let older = older?.inNameOrder()
    let coverage = CoverageCalculator.compute(
      hosts: scan.hosts, baseline: baseline, required: required, today: today)
    var comparison: (since: String, diff: ScanDiff)?
    var comparedCoverage: CoverageReport?
    if let older {
      let diff = ScanDiff.compare(
        old: older.hosts, new: scan.hosts, baseline: baseline, required: required, today: today)
      comparison = (ReportView.day(older.metadata.startedAt), diff)
      comparedCoverage = CoverageCalculator.compute(
        hosts: older.hosts, baseline: baseline, required: required, today: today)
    }
    let input = ReportInput(
      metadata: scan.metadata, hosts: scan.hosts, baseline: baseline, required: required,
      coverage: coverage, compare: comparison, trend: trend, generatedAt: ReportView.day(Date()),
      comparedCoverage: comparedCoverage)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var leftOut: Int?
    if formats.contains(.csv), !allChecks, case let rows = CSV.checksRowCount(input),
      rows > CSV.spreadsheetRowLimit
    {
      leftOut = rows
    }
    return Outcome(
      files: try write(formats, input, to: directory, allChecks: allChecks), checksRowsLeftOut: leftOut)
  }

  /// Writes the formats into `directory`, streaming CSV and JSON to disk and building the
  /// page's view once for HTML and Markdown. Returns the files written. `checks.csv` is left
  /// out when it has more rows than a spreadsheet opens, unless `allChecks` (see `CSV.files`).
  ///
  /// The files are independent, so they are written at the same time, one per core: the
  /// pages (HTML and Markdown share their view), each CSV file, the JSON. On a 10,000-host scan
  /// each takes seconds.
  public func write(
    _ formats: [ReportFormat], _ input: ReportInput, to directory: URL, allChecks: Bool = false
  ) throws -> [URL] {
    let renderer = self.renderer
    // Each format once: two jobs must never write the same file.
    var seen: Set<ReportFormat> = []
    let formats = formats.filter { seen.insert($0).inserted }
    let pages = formats.filter { $0 == .html || $0 == .md }
    var jobs: [FileJob] = []
    for format in formats {
      switch format {
      case .html, .md:
        guard format == pages.first else { continue }
        jobs.append(
          FileJob { directory in
            let view = ReportView(input)
            return try pages.map { format in
              let name = format == .html ? "report.html" : "report.md"
              let text = try renderer.render(template: name, view)
              return try Self.stream(directory.appendingPathComponent(name)) { $0.write(text) }
            }
          })
      case .csv:
        for name in CSV.files(for: input, allChecks: allChecks) {
          jobs.append(
            FileJob {
              [try Self.stream($0.appendingPathComponent(name)) { CSV.write(name, input, into: &$0) }]
            })
        }
      case .metrics:
        // Written aside and renamed into place: a textfile collector reading the directory
        // never sees half a file.
        jobs.append(
          FileJob { directory in
            let target = directory.appendingPathComponent(Metrics.fileName)
            let temporary = directory.appendingPathComponent(".\(Metrics.fileName).\(getpid()).tmp")
            _ = try Self.stream(temporary) { Metrics.write(input, into: &$0) }
            guard rename(temporary.path, target.path) == 0 else {
              let reason = String(cString: strerror(errno))
              try? FileManager.default.removeItem(at: temporary)
              throw CocoaError(
                .fileWriteUnknown,
                userInfo: [NSFilePathErrorKey: target.path, NSLocalizedDescriptionKey: reason])
            }
            return [target]
          })
      case .json:
        jobs.append(
          FileJob {
            [
              try Self.stream($0.appendingPathComponent("report.json")) {
                ReportRenderer.json(input, into: &$0)
              }
            ]
          })
      }
    }
    let results = jobs.concurrentMap { job in Result { try job.write(directory) } }
    // The files in the order of `formats` (HTML and Markdown together where the first of them
    // is); the first job that failed stops the report.
    return try results.flatMap { try $0.get() }
  }

  /// One or more report files written together.
  private struct FileJob: Sendable {
    var write: @Sendable (URL) throws -> [URL]
  }

  private static func stream(_ url: URL, _ body: (inout FileSink) -> Void) throws -> URL {
    var sink = try FileSink(url)
    body(&sink)
    try sink.close()
    return url
  }

}
