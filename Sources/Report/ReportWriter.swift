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
    /// What the formats' writers warn of (SARIF results left out for GitHub's limits).
    public var notes: [String]
  }

  /// A scan's reports into `directory` (made if missing): coverage against `baseline`'s
  /// `required` sets, with the changes since `older` when given, in each of `formats`.
  /// `today` (`YYYY-MM-DD`) decides which waivers have expired; `canary`, the scan's canary run
  /// (`suggest --canary`), shows in the change owners' view.
  public func report(
    scan: Scan, older: Scan?, baseline: Baseline, required: [String], today: String,
    formats: [ReportFormat], to directory: URL, allChecks: Bool = false, trend: Trend? = nil,
    toolVersion: String = "unknown", hostSources: [String: Provenance] = [:], canary: [CanaryResult] = []
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
    var input = ReportInput(
      metadata: scan.metadata, hosts: scan.hosts, baseline: baseline, required: required,
      coverage: coverage, compare: comparison, trend: trend, generatedAt: ReportView.day(Date()),
      comparedCoverage: comparedCoverage)
    input.toolVersion = toolVersion
    input.hostSources = hostSources
    input.canary = CanaryVerdict.verdicts(canary)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var leftOut: Int?
    if formats.contains(.csv), !allChecks, case let rows = CSV.checksRowCount(input),
      rows > CSV.spreadsheetRowLimit
    {
      leftOut = rows
    }
    let (files, notes) = try write(formats, input, to: directory, allChecks: allChecks)
    return Outcome(files: files, checksRowsLeftOut: leftOut, notes: notes)
  }

  /// Writes the formats' files (`ReportFormat.files`) into `directory`; returns the files
  /// written and the warnings their writers gave. `checks.csv` is left out when it has more
  /// rows than a spreadsheet opens, unless `allChecks` (see `CSV.files`).
  ///
  /// The files are independent, so they are written at the same time, one per core (HTML and
  /// Markdown share their view, made once). On a 10,000-host scan each takes seconds.
  public func write(
    _ formats: [ReportFormat], _ input: ReportInput, to directory: URL, allChecks: Bool = false
  ) throws -> (files: [URL], notes: [String]) {
    // Each format once: two jobs must never write the same file.
    var seen: Set<ReportFormat> = []
    let pages = PageViews(input)
    let files = formats.filter { seen.insert($0).inserted }.flatMap {
      $0.files(input, renderer: renderer, pages: pages, allChecks: allChecks)
    }
    // A job per file, but one for the files of a job (the pages).
    var jobs: [[ReportFile]] = []
    var jobOf: [String: Int] = [:]
    for file in files {
      if let job = file.job, let at = jobOf[job] {
        jobs[at].append(file)
      } else {
        if let job = file.job { jobOf[job] = jobs.count }
        jobs.append([file])
      }
    }
    let results = jobs.concurrentMap { job in
      Result { () throws -> [(URL, String?)] in
        try job.map { file in
          let url = directory.appendingPathComponent(file.name)
          return (url, try file.write(to: url))
        }
      }
    }
    // The files in the order of `formats` (the pages together); the first that failed stops
    // the report.
    let written = try results.flatMap { try $0.get() }
    return (written.map(\.0), written.compactMap(\.1))
  }
}
