import Coverage
import Foundation
import UnitModel

/// Everything a report shows, computed once from a scan and its coverage. Pure.
public struct ReportInput: Sendable {
  public var metadata: ScanMetadata
  public let hosts: [HostReport]
  public var baseline: Baseline
  public var required: [String]
  public let coverage: CoverageReport
  /// With `--compare`: the older scan's date and the diff to it.
  public var compare: (since: String, diff: ScanDiff)?
  /// With `--history`: the progress over the history's scans against the same baseline.
  public var trend: Trend?
  /// When the report was made (`2026-11-22 21:40 UTC`).
  public var generatedAt: String
  /// With `--compare`: the older scan's coverage against the same baseline.
  public var comparedCoverage: CoverageReport?
  /// When the report was made (JUnit's timestamp).
  public var madeAt = Date()
  /// The unitaudit that made the report (SARIF's tool version).
  public var toolVersion = "unknown"
  /// The inventory file and line of each host, by name, where the scan's plan records it
  /// (SARIF locates hosts that could not be audited there).
  public var hostSources: [String: Provenance] = [:]
  /// The policy gate's results when `check` made them (with its options); nil: the gate's
  /// defaults (`CheckResults(gateOf:)`).
  public var checkResults: CheckResults?
  /// The per-package view (`PackageView`): package → its services. Made once here: the pages,
  /// packages.csv and report.json each read it.
  public let packages: [PackageEntry]
  /// What the scan's canary run showed, by unit (`CanaryVerdict.verdicts`); empty without one.
  public var canary: [String: CanaryVerdict] = [:]

  public init(
    metadata: ScanMetadata, hosts: [HostReport], baseline: Baseline, required: [String],
    coverage: CoverageReport,
    compare: (since: String, diff: ScanDiff)? = nil, trend: Trend? = nil, generatedAt: String,
    comparedCoverage: CoverageReport? = nil
  ) {
    self.metadata = metadata
    self.hosts = hosts
    self.baseline = baseline
    self.required = required
    self.coverage = coverage
    self.compare = compare
    self.trend = trend
    self.generatedAt = generatedAt
    self.comparedCoverage = comparedCoverage
    self.packages = PackageView.entries(hosts: hosts, coverage: coverage)
  }

  /// The change owners' view (`OwnerView`), judged on the coverage's day.
  public var owners: [OwnerEntry] {
    OwnerView.entries(
      coverage: coverage, compared: comparedCoverage, baseline: baseline, today: coverage.today,
      canary: canary)
  }
}

/// The values the templates render. Every text that came from a host is made inert here
/// (`Inert.text`): control characters become visible symbols and very long values are cut.
/// HTML and Markdown escaping is the template engine's job (see `ReportRenderer`).
public struct ReportView: Sendable {
  public struct Tile: Sendable {
    public var label: String
    public var value: String
    public var detail: String
    public var tone: String
  }

  public struct Column: Sendable {
    public var name: String
    public var short: String
  }

  public struct Cell: Sendable {
    /// `vendor`, `override`, `implied`, `default`, `missing`, `unsupported`, `waived`, `na`, `none`
    public var state: String
    public var mark: String
    public var title: String
    /// The directive's name when it is missing (for the Markdown list), else nil.
    public var missingMark: String?
    /// The directive and the systemd it needs when some host's is older (`PrivateIPC (systemd
    /// 248)`, for the Markdown list), else nil.
    public var unsupportedMark: String? = nil
  }

  public struct Row: Sendable {
    public var name: String
    public var units: String
    public var status: String
    public var hostCount: Int
    public var exposure: String
    public var exposureSort: Int
    public var groups: String
    public var cells: [Cell]
    public var installed: Bool
  }

  public struct HostRow: Sendable {
    public var name: String
    public var address: String
    public var groups: String
    public var os: String
    public var systemd: String
    public var status: String
    public var statusTone: String
    public var reason: String
    public var services: Int
    public var hardened: Int
    public var worst: String
    public var worstSort: Int
  }

  public struct HardenedEntry: Sendable {
    public var service: String
    public var settings: String
    public var files: String
  }

  public struct Change: Sendable {
    public var host: String
    public var service: String
    public var exposure: String
    public var why: String
  }

  /// One scan of the history: the baseline's services by state.
  public struct TrendRow: Sendable {
    public var started: String
    public var scan: String
    public var hosts: Int
    public var hardened: Int
    public var partial: Int
    public var notStarted: Int
    public var exempt: Int
    public var notInstalled: Int
  }

  /// A service that changed state from one scan of the history to the next.
  /// A row of the change owners' view.
  /// One service of one package in the per-package table; the package's name and versions
  /// are on its first service's row only.
  public struct PackageRow: Sendable {
    public var package: String
    public var versions: String
    public var service: String
    public var status: String
    public var hosts: Int
    public var exposure: String
    public var exposureSort: Int
    public var missing: String
  }

  public struct OwnerRow: Sendable {
    public var service: String
    public var status: String
    public var hosts: Int
    public var exposure: String
    public var exposureSort: Int
    public var compared: String
    public var comparedSort: Int
    public var owner: String
    public var tracker: String
    public var hasTracker: Bool
    /// The tracker as a Markdown autolink's inside (`<…>`): a pipe would end the table cell.
    public var trackerMarkdown: String
    public var target: String
    public var targetSort: String
    public var overdue: Bool
    public var note: String
    /// The canary verdict in words (`CanaryVerdict.summary`); empty without one.
    public var canary: String
    /// Hosts the verified lines worked on, for sorting (-1: not tried).
    public var canarySort: Int
  }

  public struct TrendChange: Sendable {
    public var started: String
    public var service: String
    public var change: String
    public var why: String
  }

  public var title: String
  public var scanID: String
  public var scanStarted: String
  public var generatedAt: String
  public var toolVersion: String
  public var baselineName: String
  public var baselineTitle: String
  public var baselineReference: String?
  /// Where the baseline stands against its source (`Baseline.provenance`); nil when it says
  /// nothing.
  public var baselineProvenance: String?
  public var required: String
  public var tiles: [Tile]
  public var exposureChart: String
  public var progressChart: String
  public var adoptionChart: String
  public var columns: [Column]
  public var rows: [Row]
  public var groupOptions: [String]
  /// The scanned hosts, in name order.
  public var hosts: [HostRow]
  public var failedHosts: [HostRow]
  /// The scanned hosts as the HTML page's data (`HostData`, in `hosts`' order): the page
  /// renders the hosts table from it a page of rows at a time, and the services' details name
  /// hosts by their index in it, so a 10,000-host page holds each name once and a few
  /// hundred table rows, not 10,000.
  public var hostsJSON: String
  public var hardened: [HardenedEntry]
  public var hasCompare: Bool
  public var compareSince: String
  public var newlyHardened: [Change]
  public var regressed: [Change]
  public var improved: [Change]
  public var hasTrend: Bool
  public var trendChart: String
  public var trendRows: [TrendRow]
  public var trendChanges: [TrendChange]
  public var hasTrendChanges: Bool
  /// The change owners' view, shown when the baseline tracks any service.
  /// True when some service's package is known (the per-package view has rows).
  public var hasPackages: Bool
  public var packages: [PackageRow]
  public var hasOwners: Bool
  /// True when the scan has canary verdicts (the owners' table shows a column for them).
  public var hasCanary: Bool
  public var owners: [OwnerRow]
  public var ownerOptions: [String]
  public var overdueCount: Int
  /// Per-service detail as JSON, safe inside `<script type="application/json">`.
  public var detailsJSON: String
  public var counts: [String: Int]
  // Flags for the templates (Mustache has no "is empty" test).
  public var hasFailed: Bool
  public var hasHardened: Bool
  public var hasRegressed: Bool
  public var hasNewlyHardened: Bool
  public var hasImproved: Bool
}
