import BlockingWork
import Coverage
import Foundation
import Inventory
import SSH
import Storage
import UnitModel

/// How a canary run judges a drop-in: the time a restarted service is given to settle, the
/// limit on one restart, and health commands per unit.
public struct CanaryOptions: Sendable {
  public var settleSeconds: Int
  public var restartTimeout: Int
  /// `UNIT` → a shell command run on the host that must exit 0 (`curl -sf http://localhost/`).
  public var health: [String: String]

  public init(settleSeconds: Int = 5, restartTimeout: Int = 90, health: [String: String] = [:]) {
    self.settleSeconds = settleSeconds
    self.restartTimeout = restartTimeout
    self.health = health
  }
}

/// The canary mode of `suggest`: on explicitly named hosts, each suggested drop-in applied at
/// runtime only (`/run/systemd/system/UNIT.d/`), the service restarted and judged (active
/// after the settle time, not restarting in a loop, no error-level journal lines a plain
/// restart does not print, the health command), the lines that break it found
/// (`LineSearch`), and the host put back as it was. One service at a time per host; hosts in
/// parallel, each on a thread of its own (libssh blocks).
public enum CanaryRun {
  /// The name of the runtime drop-in a canary writes.
  public static let dropInName = "50-unitaudit-canary.conf"
  /// The file of a scan directory that journals what canaries applied.
  public static let journalFile = "canary-journal.jsonl"
  /// The file of a scan directory with the last canary run's results.
  public static let resultsFile = "canary.json"

  public static func dropInPath(_ unit: String) -> String { "/run/systemd/system/\(unit).d/\(dropInName)" }

  /// The name of the transient timer that undoes an SSH unit's trial if the run cannot.
  public static func undoUnit(_ unit: String) -> String {
    "unitaudit-canary-undo-" + String(unit.map { $0.isLetter || $0.isNumber ? $0 : "-" })
  }

  /// Units whose restart could cut the connection the run uses: judged also by a second,
  /// fresh login, and put back over the first one.
  static let sshUnits: Set<String> = ["ssh.service", "sshd.service"]

  /// The canary run of `suggestions` on the hosts of the scan in `directory` named in
  /// `canaries` (names, never patterns): what an earlier run left is put back first, then
  /// every suggested service that runs on a canary is tried there; then, on each host named
  /// in `confirm`, the lines the canaries kept are applied as they are and judged once. The
  /// results are written to the scan directory (`canary.json`) and returned.
  public static func run(
    scan directory: URL, canaries: [String], confirm: [String] = [], suggestions: [Suggestion],
    options: CanaryOptions, progress: @escaping @Sendable (String) -> Void
  ) async throws -> [CanaryResult] {
    let scan = try readScan(directory)
    let plan = Dictionary(
      try ScanStore.readPlan(directory).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    if let both = confirm.first(where: canaries.contains) {
      throw CanaryError.bothRoles(both)
    }
    func hosts(_ names: [String]) throws -> [(host: FleetHost, report: HostReport)] {
      try names.map { name in
        guard let report = scan.hosts.first(where: { $0.name == name }), let host = plan[name] else {
          throw CanaryError.unknownHost(name, directory.path)
        }
        guard report.offline == nil, report.status.code.hasData else {
          throw CanaryError.notACanary(
            name, report.offline != nil ? "it was read offline" : "it has no data in the scan")
        }
        return (host, report)
      }
    }
    let chosen = try hosts(canaries)
    let confirming = try hosts(confirm)
    let journal = directory.appendingPathComponent(journalFile)
    for line in await restore(journal: journal, hosts: plan, scanOptions: scan.metadata.options) {
      progress("put back from an earlier run: \(line)")
    }
    var results = await run(
      suggestions, on: chosen, role: .canary, scanOptions: scan.metadata.options, options: options,
      journal: journal, progress: progress)
    if !confirming.isEmpty {
      // Each suggestion cut down to the lines every canary kept; those with none left, or
      // that no canary tried, have nothing to confirm.
      let verified = suggestions.compactMap { suggestion -> Suggestion? in
        guard let lines = Suggest.verifiedLines(suggestion, results: results), !lines.isEmpty else {
          return nil
        }
        var cut = suggestion
        cut.lines = suggestion.lines.filter { lines.contains($0.assignment) }
        return cut
      }
      results += await run(
        verified, on: confirming, role: .confirm, scanOptions: scan.metadata.options, options: options,
        journal: journal, progress: progress)
    }
    results.sort { ($0.unit, $0.role.rawValue, $0.host) < ($1.unit, $1.role.rawValue, $1.host) }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
      try encoder.encode(results).write(to: directory.appendingPathComponent(resultsFile), options: .atomic)
    } catch {
      throw CanaryError.cannotWrite(directory.appendingPathComponent(resultsFile).path, "\(error)")
    }
    return results
  }

  /// The results of the last canary run on the scan in `directory` (`canary.json`); none when
  /// no run wrote any.
  public static func results(scan directory: URL) throws -> [CanaryResult] {
    let url = directory.appendingPathComponent(resultsFile)
    guard FileManager.default.fileExists(atPath: url.path) else { return [] }
    do {
      return try JSONDecoder().decode([CanaryResult].self, from: Data(contentsOf: url))
    } catch {
      throw CanaryError.unreadable(url.path, "\(error)")
    }
  }

  /// Puts back what the journal of the scan in `directory` says a canary run left.
  public static func restore(scan directory: URL) async throws -> [String] {
    let scan = try readScan(directory)
    let plan = Dictionary(
      try ScanStore.readPlan(directory).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    return await restore(
      journal: directory.appendingPathComponent(journalFile), hosts: plan, scanOptions: scan.metadata.options)
  }

  /// Runs `suggestions` on `hosts`; each service is tried on the hosts that run it, in
  /// `role` (a canary searches the lines, a confirming host judges them as they are).
  /// `progress` gets one line per step worth telling.
  public static func run(
    _ suggestions: [Suggestion], on hosts: [(host: FleetHost, report: HostReport)], role: CanaryResult.Role,
    scanOptions: ScanOptions, options: CanaryOptions, journal: URL,
    progress: @escaping @Sendable (String) -> Void
  ) async -> [CanaryResult] {
    let transport = SSHTransport(options: scanOptions)
    let pool = BlockingPool(threads: max(1, hosts.count), name: "unitaudit-canary")
    defer {
      pool.shutdown()
      transport.shutdown()
    }
    let writer = JournalWriter(journal)
    return await withTaskGroup(of: [CanaryResult].self) { group in
      for (host, report) in hosts {
        let sshOptions = transport.options(for: host)
        let units = suggestions.filter { suggestion in
          report.services.contains { $0.id == suggestion.unit && $0.activeState == "active" }
        }
        let skipped = suggestions.filter { !units.contains($0) && $0.hosts.contains(report.name) }
        group.addTask {
          var results = skipped.map {
            CanaryResult(
              role: role, host: report.name, systemd: report.identity?.systemdVersion, unit: $0.unit,
              skipped: "not running on this host when it was scanned")
          }
          let tried =
            await pool.run {
              CanaryHost.runAll(
                units, role: role, host: report.name, systemd: report.identity?.systemdVersion,
                ssh: sshOptions,
                options: options, journal: writer, progress: progress)
            } ?? []
          results += tried
          return results
        }
      }
      var all: [CanaryResult] = []
      for await results in group { all += results }
      return all
    }
  }

  /// Removes what the journal says a canary left on its hosts (a run killed or cut off),
  /// reloads systemd and restarts the units that were active; returns one line per host and
  /// unit put back, or why it could not be.
  public static func restore(
    journal: URL, hosts: [String: FleetHost], scanOptions: ScanOptions
  ) async -> [String] {
    let open = JournalWriter.openEntries(journal)
    guard !open.isEmpty else { return [] }
    let transport = SSHTransport(options: scanOptions)
    let pool = BlockingPool(threads: 1, name: "unitaudit-canary")
    defer {
      pool.shutdown()
      transport.shutdown()
    }
    let writer = JournalWriter(journal)
    var lines: [String] = []
    for (name, entries) in Dictionary(grouping: open, by: \.host).sorted(by: { $0.key < $1.key }) {
      guard let host = hosts[name] else {
        lines.append(
          "\(name): not in the scan's plan; remove \(entries.map(\.path).joined(separator: ", ")) by hand")
        continue
      }
      let options = transport.options(for: host)
      let done: [String] =
        await pool.run {
          do {
            let relays = JumpRelayPool()
            defer { relays.shutdown() }
            let remote = try CanaryHost(options: options, relays: relays)
            return entries.map { entry in
              let state = remote.putBack(entry)
              writer.append(
                CanaryJournalEntry(
                  event: .removed, host: entry.host, unit: entry.unit, path: entry.path,
                  wasActive: entry.wasActive))
              return "\(name): \(entry.unit): drop-in removed; \(state)"
            }
          } catch {
            return ["\(name): cannot connect to restore (\(error)); the journal keeps its entries"]
          }
        } ?? []
      lines += done
    }
    return lines
  }
}

public enum CanaryError: Error, CustomStringConvertible {
  case unknownHost(String, String)
  case notACanary(String, String)
  case cannotWrite(String, String)
  case unreadable(String, String)
  case bothRoles(String)

  public var description: String {
    switch self {
    case .unknownHost(let name, let scan):
      "\(scan) has no host named '\(name)' (--canary takes host names of the scan)"
    case .notACanary(let name, let why): "\(name) cannot be a canary: \(why)"
    case .cannotWrite(let path, let why): "cannot write \(path): \(why)"
    case .unreadable(let path, let why):
      "\(path) is not a canary run's results (\(why)); run `suggest --canary` again to remake it"
    case .bothRoles(let name):
      "\(name) is named by both --canary and --confirm: a confirming host must be one the lines were not chosen on"
    }
  }
}
