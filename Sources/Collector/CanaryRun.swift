import BlockingWork
import Coverage
import Foundation
import Inventory
import SSH
import Storage
import Synchronization
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

/// What `CanaryRun` does to a canary host, recorded on the collector before it is done: one
/// JSON line per drop-in applied, and one when it was removed. Lines without their removal
/// are what a killed run left on a host; `CanaryRun.restore` removes them.
public struct CanaryJournalEntry: Sendable, Codable, Hashable {
  public enum Event: String, Sendable, Codable { case applied, removed }
  public var event: Event
  public var host: String
  public var unit: String
  /// The drop-in's path on the host (always under /run/systemd/system).
  public var path: String
  /// The unit's ActiveState before the canary touched it.
  public var wasActive: Bool
  /// When, in seconds since 1970.
  public var at: Double = Date().timeIntervalSince1970
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

/// Appends journal lines, each synced: a kill after `applied` must find it on disk.
final class JournalWriter: Sendable {
  let url: URL
  private let lock = Mutex(())

  init(_ url: URL) { self.url = url }

  func append(_ entry: CanaryJournalEntry) {
    guard var line = try? JSONEncoder().encode(entry) else { return }
    line.append(0x0A)
    lock.withLock { _ in
      let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { return }
      defer { close(fd) }
      _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      fsync(fd)
    }
  }

  /// When a canary first applied a drop-in to `unit` on `host`, per the journal.
  func firstApplied(host: String, unit: String) -> Double? {
    guard let data = try? Data(contentsOf: url) else { return nil }
    return data.split(separator: 0x0A).compactMap { line in
      (try? JSONDecoder().decode(CanaryJournalEntry.self, from: Data(line))).flatMap {
        $0.event == .applied && $0.host == host && $0.unit == unit ? $0.at : nil
      }
    }.min()
  }

  /// The drop-ins applied and not removed, per the journal at `url`.
  static func openEntries(_ url: URL) -> [CanaryJournalEntry] {
    guard let data = try? Data(contentsOf: url) else { return [] }
    var open: [String: CanaryJournalEntry] = [:]
    for line in data.split(separator: 0x0A) {
      guard let entry = try? JSONDecoder().decode(CanaryJournalEntry.self, from: Data(line)) else { continue }
      let key = "\(entry.host)\u{0}\(entry.path)"
      switch entry.event {
      case .applied: open[key] = open[key] ?? entry
      case .removed: open[key] = nil
      }
    }
    return open.values.sorted { ($0.host, $0.path) < ($1.host, $1.path) }
  }
}

/// One canary host over one SSH session: every step a shell command. Blocking.
final class CanaryHost {
  private(set) var session: SSHSession
  let options: SSHOptions
  let relays: JumpRelayPool

  init(options: SSHOptions, relays: JumpRelayPool) throws(SSHError) {
    var long = options
    // The session lives for the whole run; each step bounds itself (`timeout`).
    long.deadline = 24 * 3600
    self.options = long
    self.relays = relays
    session = try SSHSession.open(options: long, relays: relays)
  }

  /// A new session, after a restart cut the one in use: tried for up to `seconds` (the undo
  /// timer of an SSH unit puts sshd back within them).
  func reconnect(within seconds: Double) -> Bool {
    let until = Date().addingTimeInterval(seconds)
    while true {
      if let fresh = try? SSHSession.open(options: options, relays: relays) {
        session = fresh
        return true
      }
      if Date() > until { return false }
      sleep(3)
    }
  }

  /// `command` run through `sh`, its stdout and exit status (nil: no status).
  func shell(_ command: String) throws(SSHError) -> (output: String, status: Int32?) {
    let result = try session.command(command)
    return (String(decoding: result.stdout, as: UTF8.self), result.exitStatus)
  }

  static func quote(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  struct UnitState {
    var active: String
    var sub: String
    var restarts: Int?
  }

  func state(_ unit: String) throws(SSHError) -> UnitState {
    // KEY=VALUE lines: systemctl prints properties in its own order, not the order asked.
    var values: [String: String] = [:]
    let shown = try shell("systemctl show -p ActiveState -p SubState -p NRestarts \(Self.quote(unit))").output
    for line in shown.split(separator: "\n") {
      guard let equals = line.firstIndex(of: "=") else { continue }
      values[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return UnitState(
      active: values["ActiveState"] ?? "", sub: values["SubState"] ?? "",
      restarts: values["NRestarts"].flatMap { Int($0) })
  }

  /// The journal's last cursor: entries after it are this restart's.
  func cursor() throws(SSHError) -> String {
    try shell("journalctl -n 1 -o export --no-pager 2>/dev/null | sed -n 's/^__CURSOR=//p'").output
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func apply(_ unit: String, _ lines: [String]) throws(SSHError) {
    let path = CanaryRun.dropInPath(unit)
    let body =
      "# Written by a unitaudit canary run; removed when it ends.\n[Service]\n"
      + lines.joined(separator: "\n") + "\n"
    _ = try shell(
      "mkdir -p \(Self.quote((path as NSString).deletingLastPathComponent)) && printf '%s' \(Self.quote(body)) > \(Self.quote(path)) && systemctl daemon-reload"
    )
  }

  func remove(_ unit: String) throws(SSHError) {
    let path = CanaryRun.dropInPath(unit)
    _ = try shell(
      "rm -f \(Self.quote(path)); rmdir \(Self.quote((path as NSString).deletingLastPathComponent)) 2>/dev/null; systemctl daemon-reload"
    )
  }

  /// Restarts `unit` with `lines` applied (none: without a drop-in) and judges it against
  /// `reference`, the error lines of the restart without one.
  func trial(
    _ unit: String, _ lines: [String], options: CanaryOptions, reference: Set<String>
  ) throws(SSHError) -> CanaryTrial {
    let ssh = CanaryRun.sshUnits.contains(unit)
    // For the SSH server, a dead man's switch first: a transient timer on the host that
    // removes the drop-in and restarts the unit unless the run stops it after judging.
    let undoAfter = options.restartTimeout + options.settleSeconds + 90
    if ssh && !lines.isEmpty {
      let path = CanaryRun.dropInPath(unit)
      _ = try shell(
        "systemctl stop \(CanaryRun.undoUnit(unit)).timer 2>/dev/null; systemctl reset-failed \(CanaryRun.undoUnit(unit)) 2>/dev/null; "
          + "systemd-run --quiet --unit=\(CanaryRun.undoUnit(unit)) --on-active=\(undoAfter) /bin/sh -c "
          + Self.quote(
            "rm -f \(Self.quote(path)); systemctl daemon-reload; systemctl restart \(Self.quote(unit))"))
    }
    do {
      let judged = try judge(unit, lines, options: options, reference: reference)
      if ssh && !lines.isEmpty {
        _ = try shell("systemctl stop \(CanaryRun.undoUnit(unit)).timer 2>/dev/null; true")
      }
      return judged
    } catch {
      // The restart cut the session the run works over: a failed trial, judged from a new
      // session (within the undo timer's time, which puts sshd back if new logins fail).
      guard reconnect(within: Double(undoAfter + 60)) else { throw error }
      if ssh { _ = try shell("systemctl stop \(CanaryRun.undoUnit(unit)).timer 2>/dev/null; true") }
      return CanaryTrial(
        lines: lines, passed: false,
        reason:
          "the restart cut the SSH session the run works over (\(error)); judged and put back over a new one")
    }
  }

  private func judge(
    _ unit: String, _ lines: [String], options: CanaryOptions, reference: Set<String>
  ) throws(SSHError) -> CanaryTrial {
    if lines.isEmpty { try remove(unit) } else { try apply(unit, lines) }
    let mark = try cursor()
    let restart = try shell("timeout \(options.restartTimeout) systemctl restart \(Self.quote(unit)) 2>&1")
    // A manual restart resets NRestarts: read it once the restart is done, then after the
    // settle time; a rise is systemd restarting the service on its own.
    let before = try state(unit)
    _ = try shell("sleep \(options.settleSeconds)")
    let after = try state(unit)
    let errors = try shell(
      "journalctl -u \(Self.quote(unit)) -p err --no-pager -o cat"
        + (mark.isEmpty ? "" : " --after-cursor=\(Self.quote(mark))")
    )
    .output.split(separator: "\n").map(String.init)
    let new = CanaryTrial.newLines(errors, reference: reference)
    var reason: String?
    // Set when the new journal lines are the only reason so far: the other checks still run,
    // so that a trial judged again on its journal (`CanaryTrial.rejudged`) has passed them.
    var onJournal = false
    if restart.status == 124 {
      reason = "the restart did not finish within \(options.restartTimeout) s"
    } else if restart.status != 0 {
      reason =
        "systemctl restart failed (exit \(restart.status.map(String.init) ?? "none")): "
        + restart.output.trimmingCharacters(in: .whitespacesAndNewlines)
    } else if after.active != "active" {
      reason = "\(after.active) (\(after.sub)) \(options.settleSeconds) s after the restart"
    } else if let a = before.restarts, let b = after.restarts, b > a {
      reason = "systemd restarted it \(b - a) time(s) on its own after the restart"
    } else if !new.isEmpty && !lines.isEmpty {
      reason = CanaryTrial.journalReason(new.count)
      onJournal = true
    }
    if reason == nil || onJournal, let command = options.health[unit] {
      let health = try shell("timeout 30 sh -c \(Self.quote(command)) >/dev/null 2>&1")
      if health.status != 0 {
        reason = "the health command failed (exit \(health.status.map(String.init) ?? "none"))"
        onJournal = false
      }
    }
    if CanaryRun.sshUnits.contains(unit) && (reason == nil || onJournal) {
      // The first session survives sshd's restart; a fresh login shows whether a new one can.
      do {
        let second = try SSHSession.open(options: options.sshProbe(self.options), relays: relays)
        _ = try second.command("true")
      } catch {
        reason = "a new SSH login fails after the restart (\(error)); put back over the session already open"
        onJournal = false
      }
    }
    return CanaryTrial(
      lines: lines, passed: reason == nil, reason: reason, journal: lines.isEmpty ? errors : new,
      failedOnJournal: onJournal)
  }

  /// Removes the drop-in of `entry` and puts its unit back in the state it had.
  func putBack(_ entry: CanaryJournalEntry) -> String {
    do {
      try remove(entry.unit)
      if entry.wasActive {
        _ = try shell("timeout 90 systemctl restart \(Self.quote(entry.unit))")
      }
      let state = try state(entry.unit)
      if entry.wasActive && state.active != "active" {
        return "NOT RUNNING AGAIN: \(state.active) (\(state.sub))"
      }
      return "\(state.active) (\(state.sub))"
    } catch {
      return "NOT PUT BACK: \(error)"
    }
  }

  /// Every unit of `suggestions` on this host, one after the other: as a canary, the lines
  /// that leave it working searched; as a confirming host, all of its lines judged at once.
  static func runAll(
    _ suggestions: [Suggestion], role: CanaryResult.Role, host: String, systemd: Int?, ssh: SSHOptions,
    options: CanaryOptions,
    journal: JournalWriter, progress: @Sendable (String) -> Void
  ) -> [CanaryResult] {
    let relays = JumpRelayPool()
    defer { relays.shutdown() }
    let remote: CanaryHost
    do { remote = try CanaryHost(options: ssh, relays: relays) } catch {
      return suggestions.map {
        CanaryResult(
          role: role, host: host, systemd: systemd, unit: $0.unit, skipped: "cannot connect: \(error)")
      }
    }
    var results: [CanaryResult] = []
    for suggestion in suggestions {
      let unit = suggestion.unit
      var result = CanaryResult(role: role, host: host, systemd: systemd, unit: unit)
      do {
        let now = try remote.state(unit)
        if now.active != "active" {
          result.skipped = "not running now (\(now.active), \(now.sub))"
          results.append(result)
          continue
        }
      } catch {
        result.skipped = "the connection broke (\(error))"
        results.append(result)
        return results
      }
      let entry = CanaryJournalEntry(
        event: .applied, host: host, unit: unit, path: CanaryRun.dropInPath(unit), wasActive: true)
      journal.append(entry)
      do {
        progress("\(host): \(unit): restart without a drop-in, for reference")
        let plain = try remote.trial(unit, [], options: options, reference: [])
        if !plain.passed {
          result.skipped = "a restart without any drop-in already fails: \(plain.reason ?? "")"
        } else {
          // Not new: what the unit printed at error level in this boot before any canary
          // touched it (per this scan's journal), and on the plain restart. A service that
          // logs an error from time to time (a log file it cannot open) is not broken by the
          // drop-in that happens to be on then.
          let until = journal.firstApplied(host: host, unit: unit) ?? entry.at
          let earlier = try remote.shell(
            "journalctl -u \(CanaryHost.quote(unit)) -p err -b --no-pager -o cat --until=@\(Int(until))")
          var reference = Set(plain.journal).union(earlier.output.split(separator: "\n").map(String.init))
          var restarts = 1
          var controlled = false
          // A trial that fails for its journal lines alone: once per service, a second restart
          // without the drop-in shows what the unit prints on any restart after the first (a
          // state the first one left: logind's sessions of users it no longer knows), which is
          // not the drop-in's doing; the trial is judged again against it.
          func judged(_ lines: [String]) throws(SSHError) -> CanaryTrial {
            let trial = try remote.trial(unit, lines, options: options, reference: reference)
            restarts += 1
            guard trial.failedOnJournal, !controlled else { return trial }
            controlled = true
            progress(
              "\(host): \(unit): restart without a drop-in again, to tell its own error lines from the drop-in's"
            )
            let again = try remote.trial(unit, [], options: options, reference: [])
            restarts += 1
            guard again.passed else { return trial }
            reference.formUnion(again.journal)
            return trial.rejudged(reference: reference)
          }
          if role == .confirm {
            let lines = suggestion.lines.map(\.assignment)
            progress("\(host): \(unit): confirming \(lines.count) verified line(s)")
            let check = try judged(lines)
            result.check = check
            result.kept = check.passed ? lines : []
            result.trials = restarts
            progress("\(host): \(unit): " + (check.passed ? "confirmed" : "FAILED: \(check.reason ?? "")"))
          } else {
            let review = suggestion.lines.filter { $0.review != nil }.map(\.assignment)
            let rest = suggestion.lines.filter { $0.review == nil }.map(\.assignment)
            let found = try LineSearch.search(review: review, rest: rest) { lines in
              progress("\(host): \(unit): trying \(lines.count) line(s)")
              return try judged(lines)
            }
            result.kept = found.kept
            result.dropped = found.dropped
            result.trials = restarts
            for dropped in found.dropped {
              progress("\(host): \(unit): \(dropped.line) broke it: \(dropped.trial.reason ?? "")")
            }
          }
        }
      } catch {
        result.skipped =
          "the connection broke during the run (\(error)); `suggest --canary-restore` puts it back"
        results.append(result)
        return results
      }
      let state = remote.putBack(entry)
      journal.append(
        CanaryJournalEntry(event: .removed, host: host, unit: unit, path: entry.path, wasActive: true))
      if state.hasPrefix("NOT") { result.restoreProblem = state }
      progress(
        "\(host): \(unit): kept \(result.kept.count) of \(suggestion.lines.count) line(s); put back: \(state)"
      )
      results.append(result)
    }
    return results
  }
}

extension CanaryOptions {
  /// The options of a second, short login to the same host.
  func sshProbe(_ options: SSHOptions) -> SSHOptions {
    var probe = options
    probe.deadline = 30
    return probe
  }
}
