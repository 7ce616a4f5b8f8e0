import ArgumentParser
import Coverage
import Foundation
import Storage
import UnitModel

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
    let trend = try ScanTables.trend(
      ofHistory:
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
