import Coverage
import Foundation
import Synchronization
import UnitModel

/// Every output format, in one table: its name (`report --format`), what it holds and who
/// reads it, whether `unitaudit report` writes it by default, and its files. `ReportWriter`
/// (production) and `ReportRenderer.render` (tests) write through the same entries; help and
/// error texts list `ReportFormat.names`, and docs/reports.md's table is checked against
/// `about`. A new format is a case here, its `about`, and its `files`.
public enum ReportFormat: String, Sendable, CaseIterable, Codable {
  case html, md, csv, json, metrics, junit, sarif

  /// What the format holds and who it is for, in one line of help (≤ 69 characters) and docs.
  public var about: String {
    switch self {
    case .html: "report.html: one page for people, offline (coverage, hosts, owners)"
    case .md: "report.md: the same in Markdown, for a wiki, an issue, release notes"
    case .csv: "services, hosts, owners, packages, checks .csv: for scripts"
    case .json: "report.json: the scan, coverage and hosts' services, for other tools"
    case .metrics: "unitaudit.prom: Prometheus metrics, for node_exporter's textfiles"
    case .junit: "junit.xml: a suite per host, a case per service, for CI (Jenkins)"
    case .sarif: "unitaudit.sarif: violations at unit file and line, for GitHub"
    }
  }

  /// What `unitaudit report` writes when no format is asked for: the files people read and
  /// tools load. Metrics go to a collector's directory, JUnit and SARIF to CI: on request.
  public static let defaults: [ReportFormat] = [.html, .md, .csv, .json]

  /// The formats' names, for help and errors: `html, md, csv, json, metrics, junit, sarif`.
  public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

  /// The JUnit file's name in a report directory.
  public static let junitFile = "junit.xml"
  /// The SARIF file's name in a report directory.
  public static let sarifFile = "unitaudit.sarif"

  /// This format's files for `input`. `pages` makes the view the HTML and Markdown pages
  /// share, once; `checks.csv` is left out when it has more rows than a spreadsheet opens,
  /// unless `allChecks`.
  func files(_ input: ReportInput, renderer: ReportRenderer, pages: PageViews, allChecks: Bool)
    -> [ReportFile]
  {
    switch self {
    case .html, .md:
      let name = self == .html ? "report.html" : "report.md"
      return [
        ReportFile(name: name, job: "pages") { sink in
          sink.write(try renderer.render(template: name, pages.view))
          return nil
        }
      ]
    case .csv:
      return CSV.files(for: input, allChecks: allChecks).map { name in
        ReportFile(name: name) { sink in
          CSV.write(name, input, into: &sink)
          return nil
        }
      }
    case .json:
      return [
        ReportFile(name: "report.json") { sink in
          ReportRenderer.json(input, into: &sink)
          return nil
        }
      ]
    case .metrics:
      // Renamed into place: a textfile collector reading the directory never sees half a file.
      return [
        ReportFile(name: Metrics.fileName, atomic: true) { sink in
          Metrics.write(input, into: &sink)
          return nil
        }
      ]
    case .junit, .sarif:
      return [
        checkFile(
          input.checkResults ?? CheckResults(gateOf: input),
          requirements: input.baseline.requirements(in: input.required),
          toolVersion: input.toolVersion, hostSources: input.hostSources, madeAt: input.madeAt)
      ]
    }
  }

  /// The JUnit or SARIF file of a policy gate's results (`unitaudit check --junit/--sarif`,
  /// and `report --format junit,sarif` with the gate's defaults), named `name` or the
  /// format's file name. Only `junit` and `sarif` have one; other formats give SARIF's.
  public func checkFile(
    _ results: CheckResults, requirements: [Requirement], toolVersion: String,
    hostSources: [String: Provenance] = [:], madeAt: Date = Date(), name: String? = nil
  ) -> ReportFile {
    switch self {
    case .junit:
      let timestamp = ISO8601DateFormatter().string(from: madeAt)
      return ReportFile(name: name ?? Self.junitFile) { sink in
        sink.write(JUnitReport.xml(results, timestamp: timestamp))
        return nil
      }
    default:
      let file = name ?? Self.sarifFile
      return ReportFile(name: file) { sink in
        let document = SARIFReport.render(
          results, requirements: requirements, toolVersion: toolVersion, hostSources: hostSources)
        sink.write(document.text)
        guard document.omitted > 0 else { return nil }
        return "\(file): \(document.omitted) results left out, the least important: GitHub code scanning "
          + "rejects more than \(SARIFReport.Limits().resultsPerRun) in one run (check --json has them all)"
      }
    }
  }
}

/// One file of a report: its name, and how its content is written.
public struct ReportFile: Sendable {
  public let name: String
  /// Written aside and renamed into place, so that a reader of the directory never sees half
  /// of it.
  public let atomic: Bool
  /// Files of one job are written one after the other, by one thread: the pages, which share
  /// a view that takes seconds to make (two threads would have one wait for the other).
  public let job: String?
  /// Writes the content; returns a warning for the user (what was left out), if any.
  public let write: @Sendable (inout any ReportSink) throws -> String?

  init(
    name: String, atomic: Bool = false, job: String? = nil,
    _ write: @escaping @Sendable (inout any ReportSink) throws -> String?
  ) {
    self.name = name
    self.atomic = atomic
    self.job = job
    self.write = write
  }

  /// Writes the file at `url`; returns its warning, if any.
  public func write(to url: URL) throws -> String? {
    guard atomic else { return try stream(to: url) }
    let temporary = url.deletingLastPathComponent().appendingPathComponent(
      ".\(url.lastPathComponent).\(getpid()).tmp")
    let note = try stream(to: temporary)
    guard rename(temporary.path, url.path) == 0 else {
      let reason = String(cString: strerror(errno))
      try? FileManager.default.removeItem(at: temporary)
      throw CocoaError(
        .fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: reason])
    }
    return note
  }

  private func stream(to url: URL) throws -> String? {
    let file = try FileSink(url)
    var sink: any ReportSink = file
    let note = try write(&sink)
    try file.close()
    return note
  }
}

/// The view the HTML and Markdown pages share, made once by whichever asks first (the other
/// waits for it): on a 10,000-host scan it takes seconds.
final class PageViews: Sendable {
  private let input: ReportInput
  private let made = Mutex<ReportView?>(nil)

  init(_ input: ReportInput) { self.input = input }

  var view: ReportView {
    made.withLock { made in
      if let made { return made }
      let view = ReportView(input)
      made = view
      return view
    }
  }
}

extension CheckResults {
  /// The policy gate's results with `check`'s defaults: every violation of the required sets,
  /// no exposure limit, expired waivers and requirements a host's systemd cannot meet not
  /// counted.
  init(gateOf input: ReportInput) {
    let findings = PolicyCheck.findings(
      hosts: input.hosts, baseline: input.baseline, required: input.required, maxExposure: nil,
      failOnExpiredWaivers: false, today: input.coverage.today)
    self.init(
      hosts: input.hosts, baseline: input.baseline, required: input.required,
      violations: findings.filter { $0.kind != .unsupported }, today: input.coverage.today)
  }
}
