import ArgumentParser
import Coverage
import Foundation
import Storage
import UnitModel

/// The history database every history command names.
struct HistoryOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The history: an SQLite file, or a PostgreSQL database as a postgres:// URL (libpq's; the password in PGPASSWORD or ~/.pgpass), holding many scans (created by `history add` or `scan --history`).",
      valueName: "file|url"))
  var history: String
}

struct HistoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history",
    abstract: "Keep many scans in one database, to follow progress over time (`unitaudit trend`).",
    discussion: """
      A history is one SQLite file, or a PostgreSQL database a team shares, with the tables \
      of a scan database (docs/scan-database.md): each added scan is stored whole, its hosts' \
      configurations shared with the scans before it, so a scan of a fleet that changed \
      little adds little. Several collectors (shards) can write one PostgreSQL history at \
      once (docs/history.md).

        unitaudit history add scan-11-01 scan-11-15 --history fleet.db
        unitaudit history list --history fleet.db
        unitaudit trend --history fleet.db
        unitaudit history add scan-12-01 --history postgres://audit@db.example.org/ua
      """,
    subcommands: [Add.self, List.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add scans to a history (each in one transaction; a scan already held is refused).",
      usage: "unitaudit history add <scan> ... --history <file|url> [<options>]")

    @Argument(help: ArgumentHelp("Scan directories.", valueName: "scan"))
    var scans: [String]

    @OptionGroup var option: HistoryOption
    @OptionGroup var selection: BaselineSelection

    func run() throws {
      let (baseline, required) = try selection.load()
      let key = try baseline.judgementKey(required: required)
      let database = try ScanTables.history(option.history, create: true)
      defer { try? database.close() }
      let console = Console(quiet: false)
      for path in scans {
        let loaded = try readScan(URL(fileURLWithPath: path))
        if loaded.metadata.state != .complete {
          console.error(
            "warning: \(path) is \(loaded.metadata.state.rawValue); only its finished hosts are added")
        }
        // A scan added twice exits 2, as a history that cannot be opened does; a history
        // that fails while it is written exits 1 (`ExitStatus.of`).
        let number = try database.addScan(loaded)
        // Judged now against the chosen baseline, so that `trend` reads it without the hosts.
        let judgement = Judgement(
          CoverageCalculator.compute(
            hosts: loaded.hosts, baseline: baseline, required: required,
            today: Judgement.day(of: loaded.metadata)))
        try database.storeJudgement(judgement, scan: number, key: key, baseline: baseline.name)
        console.info("added \(path) as scan \(number): \(loaded.hosts.count) hosts")
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the scans of a history, oldest first.")

    @OptionGroup var option: HistoryOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
      let database = try ScanTables.readOnlyHistory(option.history)
      defer { try? database.close() }
      let scans = try database.scans()
      if json { return try printJSON(scans.map { HistoryEntry(number: $0.id, scan: $0.metadata) }) }
      print("NUMBER  STARTED               STATE        HOSTS  SERVICES  ID")
      for (number, metadata) in scans {
        print(
          [
            String(number).padding(toLength: 6, withPad: " ", startingAt: 0),
            UTCDate.minute(metadata.startedAt),
            metadata.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0),
            String(metadata.counts.hosts).leftPadded(5), String(metadata.counts.services).leftPadded(8),
            metadata.id,
          ].joined(separator: "  "))
      }
    }
  }
}

struct HistoryEntry: Encodable {
  var number: Int64
  var scan: ScanMetadata
}

struct TrendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trend",
    abstract: "Progress over the scans of a history: a burn-down per baseline, and each service's changes.",
    usage: "unitaudit trend --history <file|url> [<options>]",
    discussion: """
      For each scan of the history (oldest first): how many of the baseline's services are \
      hardened, partial, not started, exempt or not installed, each scan judged on the day it \
      started (waivers as they stood then). Then every service that \
      became hardened or regressed from one scan to the next, with the directives that were \
      fixed or broken, and how long each took from first seen to hardened. --service shows \
      one service's state in every scan, and host by host when each host became hardened or \
      regressed and which directives changed.
      """)

  @OptionGroup var option: HistoryOption
  @OptionGroup var selection: BaselineSelection

  @Option(help: ArgumentHelp("Only this baseline service, scan by scan and host by host.", valueName: "unit"))
  var service: String?

  @Option(help: ArgumentHelp("Only scans started on or after this day (UTC).", valueName: "YYYY-MM-DD"))
  var since: String?

  @Flag(help: "Print JSON.")
  var json = false

  func validate() throws {
    if let since, UTCDate.day(parsing: since) == nil { throw ValidationError("--since must be YYYY-MM-DD") }
  }

  func run() throws {
    let (baseline, required) = try selection.load()
    if let service, !baseline.services.contains(where: { $0.name == service }) {
      throw ValidationError("baseline \(baseline.name) names no service '\(service)'")
    }
    let trend = try historyTrend(
      option.history, baseline: baseline, required: required, service: service,
      since: since.flatMap { UTCDate.day(parsing: $0) })
    if json { return try printJSON(trend) }
    print("\(trend.baseline) (\(trend.required.joined(separator: ", "))): \(trend.points.count) scans")
    let states: [CoverageStatus] = [.hardened, .partial, .notStarted, .exempt, .notInstalled]
    print(
      (["STARTED             ", "HOSTS"] + states.map { $0.rawValue.uppercased() } + ["SCAN"]).joined(
        separator: "  "))
    for point in trend.points {
      let counts = states.map { state in
        String(point.counts[state] ?? 0).leftPadded(state.rawValue.count)
      }
      print(
        ([UTCDate.minute(point.startedAt), String(point.hosts).leftPadded(5)] + counts + [point.scan])
          .joined(separator: "  "))
    }
    let changes = trend.services.flatMap { timeline in timeline.changes.map { (timeline, $0) } }
    if service != nil {
      for timeline in trend.services {
        print("\n\(timeline.service):")
        for step in timeline.steps {
          let missing = step.missing.sorted { $0.key < $1.key }.map { "\($0.key) on \($0.value)" }
          print(
            "  \(UTCDate.minute(step.startedAt))  \(step.status.rawValue) on \(step.hosts) hosts"
              + (missing.isEmpty ? "" : "; missing: " + missing.joined(separator: ", ")))
        }
        let hosts = timeline.hosts ?? []
        let changed = hosts.flatMap { host in host.changes.map { (host.host, $0) } }
          .sorted { ($0.1.startedAt, $0.0) < ($1.1.startedAt, $1.0) }
        print(
          "\n\(timeline.service) host by host: \(hosts.count) hosts, "
            + "\(Set(changed.map(\.0)).count) changed state"
            + (changed.isEmpty ? "" : " (when each became hardened or regressed):"))
        for (host, change) in changed { print("  " + describe(change, of: host)) }
      }
    }
    if !changes.isEmpty {
      print("\nchanges:")
      for (timeline, change) in changes.sorted(by: { $0.1.startedAt < $1.1.startedAt }) {
        print("  " + describe(change, of: timeline.service))
      }
    }
    let timed = trend.services.filter { $0.daysToHardened != nil }
    if !timed.isEmpty {
      print("\nfirst seen to hardened:")
      for timeline in timed {
        print("  \(timeline.service): \(timeline.daysToHardened ?? 0) days")
      }
    }
  }
}

/// One change as a line: when, what (a service or a host), from → to, the directives.
private func describe(_ change: Trend.Change, of subject: String) -> String {
  var line =
    "\(UTCDate.minute(change.startedAt))  \(subject): \(change.from.rawValue) → \(change.to.rawValue)"
  if !change.fixed.isEmpty { line += "; fixed \(change.fixed.joined(separator: ", "))" }
  if !change.broken.isEmpty { line += "; broken \(change.broken.joined(separator: ", "))" }
  return line
}

/// The trend of the history at `path` against `baseline`: each scan's stored judgement, or one
/// made from its hosts (and kept, when the file is writable).
func historyTrend(
  _ path: String, baseline: Baseline, required: [String], service: String?, since start: Date?
) throws -> Trend {
  let key = try baseline.judgementKey(required: required)
  // Writable when it can be, to keep the judgements it makes for the next time (a
  // PostgreSQL history is open for what the role may do).
  let database: ScanTables
  if !PostgresLocation.isURL(path), let writable = try? ScanTables.history(path, create: false) {
    database = writable
  } else {
    database = try ScanTables.readOnlyHistory(path)
  }
  defer { try? database.close() }
  let scans = try database.scans().filter { scan in start.map { scan.metadata.startedAt >= $0 } ?? true }
  let judged = try scans.map { number, metadata in
    if let stored = try database.judgement(scan: number, key: key) {
      return (metadata: metadata, judgement: stored)
    }
    let scan = try database.storedScan(number)
    let judgement = Judgement(
      CoverageCalculator.compute(
        hosts: scan.hosts, baseline: baseline, required: required, today: Judgement.day(of: metadata)))
    try? database.storeJudgement(judgement, scan: number, key: key, baseline: baseline.name)
    return (metadata: metadata, judgement: judgement)
  }
  var trend = Trend.build(judged, baseline: baseline.name, required: required, service: service)
  // One service: host by host too, reading only that service's configurations.
  if let service, let entry = baseline.services.first(where: { $0.name == service }) {
    let units = try database.unit(
      service, configs: try database.configs(answeringTo: service), scans: scans.map(\.id))
    let timelines = Trend.hostTimelines(
      of: entry, in: Array(zip(scans.map(\.metadata), units)), baseline: baseline, required: required)
    for index in trend.services.indices where trend.services[index].service == service {
      trend.services[index].hosts = timelines
    }
  }
  return trend
}

extension String {
  fileprivate func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
