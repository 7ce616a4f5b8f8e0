import Coverage
import Foundation
import SSH

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
