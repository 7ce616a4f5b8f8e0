import Coverage
import Foundation
import UnitModel

extension ScanTables {
  /// Adds a whole scan (`addScan`) and its judgement against `baseline`'s `required` sets,
  /// made now from its hosts, so that `trend` reads the scan without them. Returns the scan's
  /// number.
  public func addScan(_ scan: Scan, judgedAgainst baseline: Baseline, required: [String]) throws -> Int64 {
    let key = try baseline.judgementKey(required: required)
    let number = try addScan(scan)
    let judgement = Judgement(
      CoverageCalculator.compute(
        hosts: scan.hosts, baseline: baseline, required: required, today: Judgement.day(of: scan.metadata)))
    try storeJudgement(judgement, scan: number, key: key, baseline: baseline.name)
    return number
  }

  /// The trend of the history at `path` against `baseline`'s `required` sets: each scan's
  /// stored judgement, or one made from its hosts (and kept, when the history is writable);
  /// with `service`, that service host by host too; with `start`, the scans since then.
  public static func trend(
    ofHistory path: String, baseline: Baseline, required: [String], service: String?, since start: Date?
  ) throws -> Trend {
    let key = try baseline.judgementKey(required: required)
    // Writable when it can be, to keep the judgements it makes for the next time (a
    // PostgreSQL history is open for what the role may do).
    let database: ScanTables
    if !PostgresLocation.isURL(path), let writable = try? history(path, create: false) {
      database = writable
    } else {
      database = try readOnlyHistory(path)
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
}
