import Coverage
import Foundation
import UnitModel

extension ReportView {
  /// The view of `input`, section by section: the summary, the coverage matrix, the hosts,
  /// what changed since the compared scan, the history's trend, the change owners.
  public init(_ input: ReportInput) {
    let requirements = input.baseline.requirements(in: input.required)
    let scanned = input.hosts.filter { $0.status.code.hasData }
    let failed = input.hosts.filter { !$0.status.code.hasData }

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
    let coverage = input.coverage
    counts = [
      "hardened": coverage.count(.hardened), "partial": coverage.count(.partial),
      "notStarted": coverage.count(.notStarted), "exempt": coverage.count(.exempt),
      "notInstalled": coverage.count(.notInstalled),
    ]
    let exposures = scanned.flatMap { $0.services.compactMap { $0.overall?.exposure.tenths } }.sorted()
    tiles = Self.tiles(input, scanned: scanned, failed: failed, exposures: exposures)
    exposureChart = Charts.histogram(exposures)
    progressChart = Charts.progress(coverage)
    adoptionChart = Charts.adoption(coverage, requirements: requirements)
    columns = requirements.map { Column(name: $0.directive.rawValue, short: Self.abbreviation($0.directive)) }

    let matrix = Self.matrix(input)
    groupOptions = matrix.groups
    rows = matrix.rows
    let perHost = Dictionary(coverage.hosts.map { ($0.name, $0) }) { first, _ in first }
    hosts = scanned.map { Self.hostRow($0, coverage: perHost[$0.name]) }
    failedHosts = failed.map { Self.hostRow($0, coverage: perHost[$0.name]) }
    hostsJSON = Self.hostData(hosts)
    hardened = Self.hardenedEntries(input, requirements: requirements)

    let changes = input.compare.map { Self.changes($0.diff) }
    hasCompare = input.compare != nil
    compareSince = input.compare?.since ?? ""
    newlyHardened = changes?.hardened ?? []
    regressed = changes?.regressed ?? []
    improved = changes?.improved ?? []

    hasTrend = input.trend != nil
    trendChart = input.trend.map(Charts.trend) ?? ""
    trendRows = input.trend.map(Self.trendRows) ?? []
    trendChanges = input.trend.map(Self.trendChanges) ?? []
    hasTrendChanges = !trendChanges.isEmpty

    let packageEntries = input.packages
    hasPackages = packageEntries.contains { $0.package != PackageView.noPackage }
    packages = hasPackages ? Self.packageRows(packageEntries) : []
    hasCanary = !input.canary.isEmpty
    hasOwners = OwnerView.isTracked(input.baseline) || hasCanary
    owners = hasOwners ? input.owners.map(Self.ownerRow) : []
    ownerOptions = Set(owners.map(\.owner).filter { !$0.isEmpty }).sorted()
    overdueCount = owners.filter(\.overdue).count
    detailsJSON = Self.details(input, requirements: requirements, scanned: scanned)
    hasFailed = !failedHosts.isEmpty
    hasHardened = !hardened.isEmpty
    hasRegressed = !regressed.isEmpty
    hasNewlyHardened = !newlyHardened.isEmpty
    hasImproved = !improved.isEmpty
  }

  /// The summary tiles: hosts, services, hardened, partial, median exposure.
  static func tiles(_ input: ReportInput, scanned: [HostReport], failed: [HostReport], exposures: [Int])
    -> [Tile]
  {
    let coverage = input.coverage
    let median = exposures.isEmpty ? nil : exposures[(exposures.count - 1) / 2]
    return [
      Tile(
        label: "Hosts", value: "\(input.hosts.count)",
        detail: "\(scanned.count) scanned, \(failed.count) failed", tone: failed.isEmpty ? "good" : "warn"),
      Tile(
        label: "Services", value: "\(scanned.reduce(0) { $0 + $1.services.count })",
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
  }

  /// The coverage matrix (a row per baseline service, a cell per required directive) and the
  /// host groups it can be filtered by.
  static func matrix(_ input: ReportInput) -> (groups: [String], rows: [Row]) {
    var groups: Set<String> = []
    var hostGroups: [String: [String]] = [:]
    for host in input.hosts {
      hostGroups[host.name] = host.groups
      groups.formUnion(host.groups)
    }
    let rows = input.coverage.services.map { service in
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
    return (groups.sorted().map(Inert.text), rows)
  }

  /// One host of the hosts table, with its coverage (nil for a host that was not audited).
  static func hostRow(_ host: HostReport, coverage c: HostCoverage?) -> HostRow {
    let identity = host.identity
    return HostRow(
      // A tree or a package says so in the host column.
      name: Inert.text(host.name) + (host.offline.map { " (\($0.kind.rawValue))" } ?? ""),
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

  /// What changed since the compared scan: newly hardened, regressed, improved, each with why.
  static func changes(_ diff: ScanDiff) -> (hardened: [Change], regressed: [Change], improved: [Change]) {
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
    return (
      diff.changes.filter { $0.kind == .hardened }.map(change),
      diff.changes.filter { $0.kind == .regressed }.map(change),
      diff.changes.filter { $0.kind == .improved }.map(change)
    )
  }

  /// The history's scans, each with its baseline services by status.
  static func trendRows(_ trend: Trend) -> [TrendRow] {
    trend.points.map { point in
      TrendRow(
        started: Self.day(point.startedAt), scan: Inert.text(point.scan), hosts: point.hosts,
        hardened: point.counts[.hardened] ?? 0, partial: point.counts[.partial] ?? 0,
        notStarted: point.counts[.notStarted] ?? 0, exempt: point.counts[.exempt] ?? 0,
        notInstalled: point.counts[.notInstalled] ?? 0)
    }
  }

  /// Every change of a service's state over the history, with the directives that changed.
  static func trendChanges(_ trend: Trend) -> [TrendChange] {
    trend.services.flatMap { timeline in
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
  }

  /// The per-package table: a row per service, the package named on its first.
  static func packageRows(_ entries: [PackageEntry]) -> [PackageRow] {
    entries.flatMap { entry in
      entry.services.enumerated().map { index, service in
        PackageRow(
          package: index == 0 ? Inert.text(entry.package) : "",
          versions: index == 0 ? Inert.text(entry.versions.joined(separator: ", ")) : "",
          service: Inert.text(service.service), status: service.status, hosts: service.hosts,
          exposure: service.exposure.map(spread) ?? "–",
          exposureSort: service.exposure?.median.tenths ?? -1,
          missing: service.missing.joined(separator: " "))
      }
    }
  }

  /// One service of the change owners' table.
  static func ownerRow(_ entry: OwnerEntry) -> OwnerRow {
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
      target: Inert.text(entry.targetDay.map { $0 == target ? target : "\(target) (\($0))" } ?? ""),
      targetSort: entry.targetDay ?? "9999", overdue: entry.overdue,
      note: Inert.text(entry.tracking.note ?? ""),
      canary: Inert.text(entry.canary?.summary ?? ""), canarySort: entry.canary?.verifiedOn ?? -1)
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
