import Coverage
import Foundation
import UnitModel

/// Everything a report shows, computed once from a scan and its coverage. Pure.
public struct ReportInput: Sendable {
  public var metadata: ScanMetadata
  public var hosts: [HostReport]
  public var baseline: Baseline
  public var required: [String]
  public var coverage: CoverageReport
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
  }

  /// The change owners' view (`OwnerView`), judged on the coverage's day.
  public var owners: [OwnerEntry] {
    OwnerView.entries(
      coverage: coverage, compared: comparedCoverage, baseline: baseline, today: coverage.today)
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
  public var hasOwners: Bool
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

extension ReportView {
  public init(_ input: ReportInput) {
    let coverage = input.coverage
    let requirements = input.baseline.requirements(in: input.required)
    let scanned = input.hosts.filter { $0.status.code.hasData }
    let failed = input.hosts.filter { !$0.status.code.hasData }
    let serviceInstances = scanned.reduce(0) { $0 + $1.services.count }
    let exposures = scanned.flatMap { $0.services.compactMap { $0.overall?.exposure.tenths } }.sorted()
    let median = exposures.isEmpty ? nil : exposures[(exposures.count - 1) / 2]

    title = "unitaudit report"
    scanID = input.metadata.id
    scanStarted = Self.day(input.metadata.startedAt)
    generatedAt = input.generatedAt
    toolVersion = input.metadata.toolVersion
    baselineName = input.baseline.name
    baselineTitle = Inert.text(input.baseline.title)
    baselineReference = input.baseline.reference
    baselineProvenance = input.baseline.provenance.map(Inert.text)
    required = input.required.joined(separator: ", ")
    counts = [
      "hardened": coverage.count(.hardened), "partial": coverage.count(.partial),
      "notStarted": coverage.count(.notStarted), "exempt": coverage.count(.exempt),
      "notInstalled": coverage.count(.notInstalled),
    ]
    tiles = [
      Tile(
        label: "Hosts", value: "\(input.hosts.count)",
        detail: "\(scanned.count) scanned, \(failed.count) failed", tone: failed.isEmpty ? "good" : "warn"),
      Tile(
        label: "Services", value: "\(serviceInstances)",
        detail: "\(Set(scanned.flatMap { $0.services.map(\.id) }).count) distinct", tone: "plain"),
      Tile(
        label: "Hardened", value: "\(coverage.count(.hardened))",
        detail:
          "of \(coverage.services.count - coverage.count(.notInstalled) - coverage.count(.exempt)) installed in the baseline",
        tone: "good"),
      Tile(
        label: "Partial / not started", value: "\(coverage.count(.partial)) / \(coverage.count(.notStarted))",
        detail: "\(coverage.count(.exempt)) exempt, \(coverage.count(.notInstalled)) not installed",
        tone: "warn"),
      Tile(
        label: "Median exposure", value: median.map { Exposure(tenths: $0).description } ?? "–",
        detail: "over \(exposures.count) scored services", tone: (median ?? 0) > 70 ? "bad" : "plain"),
    ]
    exposureChart = Charts.histogram(exposures)
    progressChart = Charts.progress(coverage)
    adoptionChart = Charts.adoption(coverage, requirements: requirements)
    columns = requirements.map { Column(name: $0.directive.rawValue, short: Self.abbreviation($0.directive)) }

    var groups: Set<String> = []
    var hostGroups: [String: [String]] = [:]
    for host in input.hosts {
      hostGroups[host.name] = host.groups
      groups.formUnion(host.groups)
    }
    groupOptions = groups.sorted().map(Inert.text)
    rows = coverage.services.map { service in
      let installed = service.status != .notInstalled
      let cells: [Cell] = service.directives.map { directive in
        Self.cell(directive, service: service, baseline: input.baseline)
      }
      let rowGroups = Set(service.hosts.flatMap { hostGroups[$0] ?? [] })
      return Row(
        name: Inert.text(service.name),
        units: service.unitIDs.filter { $0 != service.name }.map(Inert.text).joined(separator: ", "),
        status: service.status.rawValue, hostCount: service.hosts.count,
        exposure: service.exposure.map { "\($0.min) / \($0.median) / \($0.max)" } ?? "–",
        exposureSort: service.exposure?.max.tenths ?? -1,
        groups: rowGroups.sorted().map(Inert.text).joined(separator: " "),
        cells: installed && service.status != .exempt
          ? cells : cells.map { _ in Cell(state: "none", mark: "", title: "", missingMark: nil) },
        installed: installed)
    }

    let perHost = Dictionary(coverage.hosts.map { ($0.name, $0) }) { a, _ in a }
    func hostRow(_ host: HostReport) -> HostRow {
      let c = perHost[host.name]
      let identity = host.identity
      return HostRow(
        name: Inert.text(host.name),
        address: Inert.text(
          [host.address, host.port.map(String.init)].compactMap { $0 }.joined(separator: ":")),
        groups: host.groups.map(Inert.text).joined(separator: ", "),
        os: Inert.text(identity?.osPrettyName ?? identity?.osID ?? "–"),
        systemd: identity?.systemdVersion.map(String.init) ?? "–", status: host.status.code.rawValue,
        statusTone: host.status.code == .ok ? "good" : host.status.code.hasData ? "warn" : "bad",
        reason: Inert.text(host.status.reason ?? ""), services: host.services.count,
        hardened: c?.hardened ?? 0,
        worst: c?.worstExposure.map { "\($0) \(Inert.text(c?.worstService ?? ""))" } ?? "–",
        worstSort: c?.worstExposure?.tenths ?? -1)
    }
    hosts = scanned.map(hostRow)
    failedHosts = failed.map(hostRow)
    hostsJSON = Self.hostData(hosts)
    hardened = Self.hardenedEntries(input, requirements: requirements)

    if let compare = input.compare {
      hasCompare = true
      compareSince = compare.since
      func change(_ c: ServiceChange) -> Change {
        let exposure: String
        switch (c.exposureBefore, c.exposureAfter) {
        case (let a?, let b?) where a != b: exposure = "\(a) → \(b)"
        case (_, let b?): exposure = b.description
        default: exposure = "–"
        }
        let why =
          (c.gained.map { "+\($0.directive.rawValue)=\(Inert.text($0.after))" }
          + c.lost.map { "−\($0.directive.rawValue) (now \(Inert.text($0.after)))" }).joined(separator: ", ")
        return Change(host: Inert.text(c.host), service: Inert.text(c.service), exposure: exposure, why: why)
      }
      newlyHardened = compare.diff.changes.filter { $0.kind == .hardened }.map(change)
      regressed = compare.diff.changes.filter { $0.kind == .regressed }.map(change)
      improved = compare.diff.changes.filter { $0.kind == .improved }.map(change)
    } else {
      hasCompare = false
      compareSince = ""
      newlyHardened = []
      regressed = []
      improved = []
    }
    if let trend = input.trend {
      hasTrend = true
      trendChart = Charts.trend(trend)
      trendRows = trend.points.map { point in
        TrendRow(
          started: Self.day(point.startedAt), scan: Inert.text(point.scan), hosts: point.hosts,
          hardened: point.counts[.hardened] ?? 0, partial: point.counts[.partial] ?? 0,
          notStarted: point.counts[.notStarted] ?? 0, exempt: point.counts[.exempt] ?? 0,
          notInstalled: point.counts[.notInstalled] ?? 0)
      }
      trendChanges = trend.services.flatMap { timeline in
        timeline.changes.map { change in
          let why = [
            change.fixed.isEmpty ? nil : "fixed " + change.fixed.joined(separator: ", "),
            change.broken.isEmpty ? nil : "broken " + change.broken.joined(separator: ", "),
          ].compactMap { $0 }.joined(separator: "; ")
          return TrendChange(
            started: Self.day(change.startedAt), service: Inert.text(timeline.service),
            change: "\(change.from.rawValue) → \(change.to.rawValue)", why: why)
        }
      }.sorted { $0.started < $1.started }
    } else {
      hasTrend = false
      trendChart = ""
      trendRows = []
      trendChanges = []
    }
    hasTrendChanges = !trendChanges.isEmpty
    hasOwners = OwnerView.isTracked(input.baseline)
    owners =
      hasOwners
      ? input.owners.map { entry in
        let target = entry.tracking.target ?? ""
        return OwnerRow(
          service: Inert.text(entry.service), status: entry.status.rawValue,
          hosts: entry.hosts,
          exposure: entry.exposure.map(Self.spread) ?? "–", exposureSort: entry.exposure?.median.tenths ?? -1,
          compared: entry.comparedStatus.map { status in
            (entry.comparedExposure.map(Self.spread).map { $0 + ", " } ?? "") + status.rawValue
          } ?? "",
          comparedSort: entry.comparedExposure?.median.tenths ?? -1,
          owner: Inert.text(entry.tracking.owner ?? ""), tracker: Inert.text(entry.tracking.tracker ?? ""),
          hasTracker: entry.tracking.tracker != nil,
          trackerMarkdown: (entry.tracking.tracker ?? "").replacingOccurrences(of: "|", with: "%7C"),
          target: Inert.text(
            entry.targetDay.map { $0 == target ? target : "\(target) (\($0))" } ?? ""),
          targetSort: entry.targetDay ?? "9999", overdue: entry.overdue,
          note: Inert.text(entry.tracking.note ?? ""))
      } : []
    ownerOptions = Set(owners.map(\.owner).filter { !$0.isEmpty }).sorted()
    overdueCount = owners.filter(\.overdue).count
    detailsJSON = Self.details(input, requirements: requirements, scanned: scanned)
    hasFailed = !failedHosts.isEmpty
    hasHardened = !hardened.isEmpty
    hasRegressed = !regressed.isEmpty
    hasNewlyHardened = !newlyHardened.isEmpty
    hasImproved = !improved.isEmpty
  }

  public static func day(_ date: Date) -> String { UTCDate.minute(date) }

  /// An exposure across hosts: the median, and the range when the hosts differ.
  static func spread(_ spread: Spread) -> String {
    spread.min == spread.max ? spread.median.description : "\(spread.median) (\(spread.min)–\(spread.max))"
  }

  /// Column headers: short enough for a matrix, the full name in the title (`DirectiveTable`'s
  /// labels).
  static func abbreviation(_ directive: HardeningDirective) -> String {
    DirectiveTable.byName[directive.rawValue]?.label ?? String(directive.rawValue.prefix(4))
  }

  static func cell(_ d: DirectiveCoverage, service: ServiceCoverage, baseline: Baseline) -> Cell {
    let total = d.satisfiedTotal + d.waived + d.missing + d.unsupported
    if let reason = d.notApplicable {
      return Cell(
        state: "na", mark: "–", title: "\(d.directive.rawValue): not applicable: \(Inert.text(reason))",
        missingMark: nil)
    }
    func listed(_ hosts: [String]) -> String {
      hosts.prefix(10).map(Inert.text).joined(separator: ", ") + (hosts.count > 10 ? ", …" : "")
    }
    let needs = d.needsSystemd.map { "systemd \($0)" } ?? "a newer systemd"
    let unsupportedMark = d.unsupported > 0 ? "\(d.directive.rawValue) (\(needs))" : nil
    let unsupportedTitle =
      d.unsupported > 0
      ? "; unsupported on \(d.unsupported) of \(total) hosts, which run a systemd older than \(needs) "
        + "(\(listed(d.unsupportedOn)))" : ""
    if d.missing > 0 {
      return Cell(
        state: "missing", mark: d.missing == total ? "✗" : "✗ \(d.missing)/\(total)",
        title:
          "\(d.requirement): missing on \(d.missing) of \(total) hosts (\(listed(d.missingOn)))\(unsupportedTitle)",
        missingMark: d.directive.rawValue, unsupportedMark: unsupportedMark)
    }
    if d.unsupported > 0 {
      return Cell(
        state: "unsupported", mark: d.unsupported == total ? "⊘" : "⊘ \(d.unsupported)/\(total)",
        title: "\(d.requirement): needs \(needs)" + unsupportedTitle, missingMark: nil,
        unsupportedMark: unsupportedMark)
    }
    if d.waived > 0 {
      let reasons = baseline.waivers.filter {
        $0.directive == d.directive && ($0.service == service.name || service.unitIDs.contains($0.service))
      }.map {
        "\(Inert.text($0.reason)) (owner \(Inert.text($0.owner))\($0.expires.map { ", until \($0)" } ?? ""))"
      }
      return Cell(
        state: "waived", mark: "W",
        title:
          "\(d.directive.rawValue): waived on \(d.waived) of \(total) hosts: \(reasons.joined(separator: "; "))",
        missingMark: nil)
    }
    let by = ValueSource.allCases.compactMap { source in
      d.satisfied[source].map { "\(source.rawValue) \($0)" }
    }
    let state: ValueSource =
      d.satisfied[.override] != nil
      ? .override
      : d.satisfied[.vendor] != nil
        ? .vendor
        : d.satisfied[.implied] != nil ? .implied : .default
    let mark = ["override": "A", "vendor": "V", "implied": "I", "default": "D"][state.rawValue] ?? "?"
    return Cell(
      state: state.rawValue, mark: mark,
      title: "\(d.directive.rawValue): satisfied on \(total) hosts (\(by.joined(separator: ", ")))",
      missingMark: nil)
  }

  /// Services now hardened, what they set and in which files: release-note material.
  static func hardenedEntries(_ input: ReportInput, requirements: [Requirement]) -> [HardenedEntry] {
    input.coverage.services.filter { $0.status == .hardened }.compactMap { service in
      guard
        let record = input.hosts.lazy.filter({ $0.status.code.hasData }).compactMap({
          $0.service(named: service.name)
        })
        .first
      else { return nil }
      var settings: [String] = []
      var files: [String] = []
      for requirement in requirements {
        let evaluation = requirement.evaluate(record)
        guard evaluation.satisfied else { continue }
        settings.append("\(requirement.directive.rawValue)=\(Inert.text(evaluation.value))")
        if let file = evaluation.provenance?.file, !files.contains(file) { files.append(file) }
      }
      return HardenedEntry(
        service: Inert.text(service.name), settings: settings.joined(separator: ", "),
        files: files.isEmpty ? "(systemd defaults)" : files.map(Inert.text).joined(separator: ", "))
    }
  }
}

/// Making values from hosts harmless before any format sees them.
public enum Inert {
  /// The longest value shown in HTML and Markdown; the rest is summarized.
  public static let maxShown = 1_000

  /// Control characters become visible symbols (ESC → ␛), and very long values are cut.
  public static func text(_ value: String) -> String {
    var scalars = String.UnicodeScalarView()
    var count = 0
    for scalar in value.unicodeScalars {
      if count == maxShown {
        let rest = value.unicodeScalars.count - maxShown
        return String(scalars) + "… (\(rest) more characters)"
      }
      count += 1
      scalars.append(visible(scalar))
    }
    return String(scalars)
  }

  /// A scalar that cannot drive a terminal or reorder text: C0 controls become their
  /// symbols (ESC → ␛), DEL ␡; C1 controls, line and paragraph separators and bidirectional
  /// overrides and isolates (U+202A–202E, U+2066–2069) become U+FFFD.
  public static func visible(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    switch scalar.value {
    case 0..<0x20: Unicode.Scalar(0x2400 + scalar.value) ?? "?"
    case 0x7F: "\u{2421}"
    case 0x80..<0xA0, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: "\u{FFFD}"
    default: scalar
    }
  }

  /// Text for XML (SVG, JUnit): the five specials escaped, and every scalar made `visible`, so
  /// that C0 controls, which XML 1.0 cannot carry, become symbols.
  public static func xml(_ value: String) -> String {
    visible(value) { scalar in
      switch scalar {
      case "&": "&amp;"
      case "<": "&lt;"
      case ">": "&gt;"
      case "\"": "&quot;"
      case "'": "&#39;"
      default: nil
      }
    }
  }

  /// `value` with each scalar `escape` names replaced by what it gives, and every other made
  /// `visible`: the escapers of the text formats (XML, Prometheus labels) are this and a table.
  public static func visible(_ value: String, escape: (Unicode.Scalar) -> String?) -> String {
    var out = ""
    for scalar in value.unicodeScalars {
      if let escaped = escape(scalar) { out += escaped } else { out.unicodeScalars.append(visible(scalar)) }
    }
    return out
  }

  /// JSON that can sit inside `<script type="application/json">`: no `<`, `>`, `&`.
  public static func scriptJSON(_ json: String) -> String {
    json.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
      .replacingOccurrences(of: "&", with: "\\u0026")
  }
}
