import Coverage
import Foundation
import Normalize
import Storage
import TestSupport
import Testing
import UnitModel

/// `unitaudit suggest` proved on the fleet: every drop-in applied (under /run, which a reboot
/// forgets), the units reloaded and verified, the settings effective, a new scan judging the
/// services hardened and reporting the predicted exposure, and the running services restarted.
@Suite("End to end: suggested drop-ins applied on the fleet", .tags(.e2e), .exclusive, .serialized)
struct SuggestEndToEndTests {
  /// The drop-ins unitaudit writes under /run/systemd/system, for `units`.
  static func dropInPaths(_ units: [String]) -> String {
    units.map { "/run/systemd/system/\($0).d/50-hardening.conf" }.joined(separator: " ")
  }

  /// Removes the drop-ins for `units` and the folders the test made for them, if empty.
  static func removeDropIns(_ units: [String]) -> String {
    "rm -f \(dropInPaths(units)); rmdir "
      + units.map { "/run/systemd/system/\($0).d" }.joined(separator: " ") + " 2>/dev/null; true"
  }

  @Test(
    "fedora-40 core: each drop-in loads, its settings take effect, ≥ 95% of services reach hardened and the predicted exposure; restarts reported",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func dropInsOnTheFleet() async throws {
    let fleet = try #require(Fleet.configured)
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "e2e-suggest-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let before = try fleet.scan(into: work.appendingPathComponent("before"))
    #expect(before.count >= 6)
    let baseline = try BaselineStore.load("fedora-40")
    let requirements = baseline.requirements(in: ["core"])
    let listed = try run([
      try unitauditBinary(), "suggest", work.appendingPathComponent("before").path, "--json",
    ])
    let suggestions = try JSONDecoder().decode([Suggestion].self, from: Data(listed.output.utf8))
    // Every installed, not-hardened service gets one.
    let open = CoverageCalculator.compute(hosts: before, baseline: baseline, today: "2026-12-02").services
      .filter { $0.status == .partial || $0.status == .notStarted }.map(\.name)
    #expect(Set(suggestions.map(\.service)) == Set(open))
    let byHost = Dictionary(grouping: suggestions.flatMap { s in s.hosts.map { ($0, s) } }, by: \.0)
      .mapValues { $0.map(\.1) }
    // The package that owns the unit file, from each host's dpkg: every vendor unit has one.
    #expect(suggestions.first { $0.unit == "ssh.service" }?.packages == ["openssh-server"])
    let vendor = suggestions.filter {
      $0.fragments.allSatisfy { $0.hasPrefix("/lib/") || $0.hasPrefix("/usr/lib/") }
    }
    let packaged = vendor.filter { !$0.packages.isEmpty }
    #expect(packaged.count == vendor.count, "\(vendor.filter { $0.packages.isEmpty }.map(\.unit))")
    for suggestion in suggestions {
      #expect(
        suggestion.unit.allSatisfy { $0.isLetter || $0.isNumber || "@._-".contains($0) }, "\(suggestion.unit)"
      )
    }
    let texts = Dictionary(
      suggestions.map { ($0.unit, Suggest.dropIn($0, baseline: "fedora-40", required: ["core"])) },
      uniquingKeysWith: { first, _ in first })

    // Whatever happens below, the drop-ins go and the units reload.
    defer {
      for host in before {
        let units = (byHost[host.name] ?? []).map(\.unit)
        _ = try? fleet.ssh(host, "\(Self.removeDropIns(units)); systemctl daemon-reload")
      }
    }

    // 1. Apply each host's drop-ins, reload, verify, and read the settings back.
    var loadProblems: [String] = []
    var notEffective: [String] = []
    for host in before {
      let mine = byHost[host.name] ?? []
      var script = "set -u\n"
      for suggestion in mine {
        script += "mkdir -p /run/systemd/system/\(suggestion.unit).d\n"
        script += "cat > /run/systemd/system/\(suggestion.unit).d/50-hardening.conf <<'UNITAUDIT_END'\n"
        script += (texts[suggestion.unit] ?? "") + "UNITAUDIT_END\n"
      }
      script += "systemctl daemon-reload\n"
      for suggestion in mine {
        let properties = (["LoadState"] + suggestion.lines.map { String($0.assignment.prefix { $0 != "=" }) })
        script +=
          "echo '@@verify \(suggestion.unit)'; systemd-analyze verify \(suggestion.unit) 2>&1 | grep -F 50-hardening.conf\n"
        script +=
          "echo '@@show \(suggestion.unit)'; systemctl show -p \(properties.joined(separator: ",")) \(suggestion.unit)\n"
      }
      let applied = try fleet.ssh(host, script)
      #expect(applied.status == 0 || applied.status == 1, "\(host.name): \(applied.output)")
      // Sections: @@verify UNIT (only lines about our drop-in), @@show UNIT (NAME=VALUE).
      var section = ""
      var shown: [String: [String: String]] = [:]
      for line in applied.output.split(separator: "\n").map(String.init) {
        if line.hasPrefix("@@") {
          section = line
          continue
        }
        if section.hasPrefix("@@verify ") {
          loadProblems.append("\(host.name) \(section.dropFirst(9)): \(line)")
        } else if section.hasPrefix("@@show "), let equals = line.firstIndex(of: "=") {
          shown[String(section.dropFirst(7)), default: [:]][String(line[..<equals])] = String(
            line[line.index(after: equals)...])
        }
      }
      for suggestion in mine {
        let values = shown[suggestion.unit] ?? [:]
        if values["LoadState"] != "loaded" {
          loadProblems.append("\(host.name) \(suggestion.unit): LoadState=\(values["LoadState"] ?? "?")")
        }
        for line in suggestion.lines {
          let name = String(line.assignment.prefix { $0 != "=" })
          let wanted = String(line.assignment.dropFirst(name.count + 1))
          // systemd may show a stricter value than the line's (DynamicUser=yes implies
          // ProtectSystem=strict): stricter by the table's order of hardened words is effective.
          let order = DirectiveTable.byName[name]?.hardened ?? []
          let stricter = values[name].map { shown in
            (order.firstIndex(of: shown) ?? -1) > (order.firstIndex(of: wanted) ?? order.count)
          }
          if values[name] != wanted && stricter != true {
            notEffective.append(
              "\(host.name) \(suggestion.unit): \(line.assignment), systemd shows \(values[name] ?? "nothing")"
            )
          }
        }
      }
    }

    // 2. A new scan: which of the services reach hardened.
    let after = try fleet.scan(into: work.appendingPathComponent("after"))
    var pairs = 0
    var hardened = 0
    var misses: [String] = []
    for host in after {
      for suggestion in byHost[host.name] ?? [] {
        guard let entry = baseline.service(named: suggestion.service),
          let service = host.service(named: entry.name)
        else { continue }
        pairs += 1
        let judged = CoverageCalculator.judge(
          service, host: host.name, entry: entry, requirements: requirements, baseline: baseline,
          today: "2026-12-02",
          systemd: host.identity?.systemdVersion)
        if judged.status == .hardened {
          hardened += 1
        } else {
          let unmet = judged.outcomes.filter { !$0.state.isMet }.map {
            "\($0.directive.rawValue)=\($0.evaluation?.value ?? "?")"
          }
          let left = suggestion.leftOut.map { "\($0.directive.rawValue) left out: \($0.reason)" }
          misses.append(
            "\(host.name) \(suggestion.unit): \(judged.status.rawValue); unmet \(unmet.joined(separator: ", "))"
              + (left.isEmpty ? "" : "; " + left.joined(separator: "; ")))
        }
      }
    }

    // 2b. The exposure systemd reports now against the one predicted from the first scan.
    let prediction = Self.comparePredictions(before: before, after: after, byHost: byHost)

    // 3. Restart what was running (each host in one detached script, which then removes the
    // drop-ins and restarts the same units again), except the sshd the test reaches it by.
    var restarted = 0
    var stopped: [String] = []
    var unflagged: [String] = []
    let out = "/run/unitaudit-e2e-restart"
    var running: [String: [Suggestion]] = [:]
    for host in before {
      let mine = byHost[host.name] ?? []
      let active = mine.filter { suggestion in
        suggestion.unit != "ssh.service" && suggestion.unit != "sshd.service"
          && host.services.contains {
            $0.id == suggestion.unit && $0.activeState == "active" && $0.subState == "running"
          }
      }
      running[host.name] = active
      let units = active.map(\.unit).joined(separator: " ")
      // Restarts are queued (--no-block: a unit that cannot start would hold a blocking
      // restart for its whole start timeout), judged 15 s later, then undone; the script runs
      // detached, so a restart that cuts the host off (logind) does not stop it.
      let script = """
        rm -f \(out) \(out).tmp
        setsid -f sh -c 'for u in \(units); do systemctl restart --no-block "$u"; done; sleep 15
          for u in \(units); do echo "$u $(systemctl is-active "$u")"; done > \(out).tmp
          \(Self.removeDropIns(mine.map(\.unit))); systemctl daemon-reload
          for u in \(units); do systemctl restart --no-block "$u"; done
          mv \(out).tmp \(out)' </dev/null >/dev/null 2>&1
        """
      _ = try fleet.ssh(host, script)
    }
    try await Task.sleep(for: .seconds(20))
    for host in before {
      var report: String?
      for _ in 0..<60 {
        let read = try? fleet.ssh(host, "cat \(out) 2>/dev/null && rm -f \(out)")
        if let read, read.status == 0, !read.output.isEmpty || running[host.name, default: []].isEmpty {
          report = read.output
          break
        }
        try await Task.sleep(for: .seconds(2))
      }
      let lines = try #require(report, "\(host.name): the restart script did not finish").split(
        separator: "\n")
      for line in lines {
        let parts = line.split(separator: " ").map(String.init)
        guard parts.count == 2 else { continue }
        restarted += 1
        if parts[1] != "active" {
          stopped.append("\(host.name) \(parts[0]): \(parts[1])")
          let flagged = running[host.name]?.first { $0.unit == parts[0] }?.lines.contains { $0.review != nil }
          if flagged != true { unflagged.append("\(host.name) \(parts[0])") }
        }
      }
    }

    let loadedCleanly = pairs - Set(loadProblems.map { $0.split(separator: ":")[0] }).count
    print(
      "suggest on the fleet (fedora-40 core): \(suggestions.count) drop-ins, \(pairs) host × service applied "
        + "on \(before.count) hosts (systemd \(Set(before.compactMap { $0.identity?.systemdVersion }).sorted()))"
    )
    print("  owning package named: \(packaged.count) of \(vendor.count) drop-ins for vendor unit files")
    print("  loaded cleanly: \(loadedCleanly) of \(pairs); settings not effective: \(notEffective.count)")
    print(
      "  hardened in the new scan: \(hardened) of \(pairs) (\(pairs == 0 ? 0 : hardened * 1000 / pairs / 10)%)"
    )
    prediction.print()
    for miss in misses { print("  MISS \(miss)") }
    for problem in loadProblems { print("  LOAD \(problem)") }
    for problem in notEffective { print("  NOT EFFECTIVE \(problem)") }
    print("  restarted \(restarted) running services (sshd left alone): \(stopped.count) stopped afterwards")
    for entry in stopped { print("  STOPPED \(entry)") }
    #expect(pairs > 50)
    #expect(loadProblems.isEmpty, "every drop-in loads without a complaint about it")
    #expect(notEffective.isEmpty, "every suggested setting is what systemd shows")
    #expect(hardened * 100 >= pairs * 95, "at least 95% reach hardened")
    #expect(prediction.pairs == pairs)
    #expect(
      prediction.within * 100 >= prediction.pairs * 95,
      "the predicted exposure is within 0.1 for at least 95%")
    #expect(prediction.everyRelease(atLeast: 95), "on every release of the fleet")
    #expect(prediction.releases.count == Set(before.compactMap { $0.identity?.systemdVersion }).count)
    #expect(unflagged.isEmpty, "a service that stopped had no line flagged for review: \(unflagged)")
  }
}

extension SuggestEndToEndTests {
  /// Predicted against reported exposure, host × service.
  struct PredictionCheck {
    var pairs = 0
    var within = 0
    var exact = 0
    var misses: [String] = []
    /// Per systemd version: pairs, and those within 0.1.
    var releases: [Int: (pairs: Int, within: Int)] = [:]

    func print() {
      Swift.print(
        "  predicted exposure within 0.1 of systemd's: \(within) of \(pairs) "
          + "(\(pairs == 0 ? 0 : within * 1000 / pairs / 10)%), exactly: \(exact); by systemd: "
          + releases.keys.sorted().map { "\($0) \(releases[$0]?.within ?? 0)/\(releases[$0]?.pairs ?? 0)" }
          .joined(separator: ", "))
      for miss in misses { Swift.print("  PREDICTION \(miss)") }
    }

    /// Whether every release of the fleet reached `percent`.
    func everyRelease(atLeast percent: Int) -> Bool {
      !releases.isEmpty && releases.values.allSatisfy { $0.within * 100 >= $0.pairs * percent }
    }
  }

  /// Compares each suggestion's predicted exposure (made from `before`) with what the hosts
  /// report in `after`; a miss names the checks systemd graded otherwise than predicted.
  static func comparePredictions(
    before: [HostReport], after: [HostReport], byHost: [String: [Suggestion]]
  ) -> PredictionCheck {
    var result = PredictionCheck()
    let first = Dictionary(before.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for host in after {
      for suggestion in byHost[host.name] ?? [] {
        guard let service = host.service(named: suggestion.service),
          let prediction = suggestion.exposures.first(where: { $0.host == host.name })
        else { continue }
        result.pairs += 1
        let release = host.identity?.systemdVersion ?? 0
        result.releases[release, default: (0, 0)].pairs += 1
        guard let predicted = prediction.after, let actual = service.overall?.exposure else {
          result.misses.append(
            "\(host.name) \(suggestion.unit): not predicted (\(prediction.unpredicted ?? "no exposure"))")
          continue
        }
        if predicted == actual { result.exact += 1 }
        if abs(predicted.tenths - actual.tenths) <= 1 {
          result.within += 1
          result.releases[release, default: (0, 0)].within += 1
          continue
        }
        var differing: [String] = []
        if let old = first[host.name]?.service(named: suggestion.service),
          case .success(let grades) = ExposurePrediction.predictGrades(
            old, adding: suggestion.lines.map(\.assignment))
        {
          for (field, check) in service.checks.sorted(by: { $0.key < $1.key }) {
            let want = grades[field]?.badness.map(String.init) ?? "n/a"
            let got = check.grade?.badness.map(String.init) ?? "n/a"
            if want != got { differing.append("\(field) predicted \(want), systemd \(got)") }
          }
        }
        result.misses.append(
          "\(host.name) \(suggestion.unit): predicted \(predicted), systemd \(actual); "
            + differing.joined(separator: "; "))
      }
    }
    return result
  }

  @Test(
    "fedora-40 core and extended: the predicted exposure after the drop-ins, on every release",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func extendedPrediction() throws {
    let fleet = try #require(Fleet.configured)
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "e2e-suggest-ext-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let before = try fleet.scan(into: work.appendingPathComponent("before"))
    let listed = try run([
      try unitauditBinary(), "suggest", work.appendingPathComponent("before").path, "--require",
      "core,extended", "--json",
    ])
    let suggestions = try JSONDecoder().decode([Suggestion].self, from: Data(listed.output.utf8))
    let byHost = Dictionary(grouping: suggestions.flatMap { s in s.hosts.map { ($0, s) } }, by: \.0)
      .mapValues { $0.map(\.1) }
    defer {
      for host in before {
        let units = (byHost[host.name] ?? []).map(\.unit)
        _ = try? fleet.ssh(host, "\(Self.removeDropIns(units)); systemctl daemon-reload")
      }
    }
    for host in before {
      var script = "set -u\n"
      for suggestion in byHost[host.name] ?? [] {
        script += "mkdir -p /run/systemd/system/\(suggestion.unit).d\n"
        script += "cat > /run/systemd/system/\(suggestion.unit).d/50-hardening.conf <<'UNITAUDIT_END'\n"
        script += Suggest.dropIn(suggestion, baseline: "fedora-40", required: ["core", "extended"])
        script += "UNITAUDIT_END\n"
      }
      script += "systemctl daemon-reload\n"
      let applied = try fleet.ssh(host, script)
      #expect(applied.status == 0, "\(host.name): \(applied.output)")
    }
    let after = try fleet.scan(into: work.appendingPathComponent("after"))
    let prediction = Self.comparePredictions(before: before, after: after, byHost: byHost)
    let lines = suggestions.map(\.lines.count).reduce(0, +)
    print(
      "suggest on the fleet (fedora-40 core + extended): \(suggestions.count) drop-ins, \(lines) lines, "
        + "systemd \(Set(before.compactMap { $0.identity?.systemdVersion }).sorted())")
    prediction.print()
    #expect(prediction.pairs > 50)
    #expect(prediction.within * 100 >= prediction.pairs * 95, "within 0.1 for at least 95%")
    #expect(prediction.everyRelease(atLeast: 95), "on every release of the fleet")
  }
}

extension Fleet {
  /// Runs `script` on `host` as root through OpenSSH (the fleet's key and known hosts),
  /// given at most 60 s.
  /// Runs `script` on `host` as root, the script on stdin (a host's drop-ins can make it
  /// longer than one argument may be).
  func ssh(_ host: HostReport, _ script: String) throws -> (status: Int32, output: String) {
    try run(
      [
        "/usr/bin/timeout", "60", "/usr/bin/ssh", "-i", key, "-o", "BatchMode=yes", "-o",
        "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(knownHosts)", "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "-F", "/dev/null", "-p", String(host.port ?? 22),
        "root@\(host.address ?? host.name)", "sh", "-s",
      ], input: script)
  }

  /// Scans the fleet into `directory`; returns the hosts scanned without a problem.
  func scan(into directory: URL) throws -> [HostReport] {
    _ = try run([
      try unitauditBinary(), "scan", "-i", inventory, "--known-hosts", knownHosts, "--no-ssh-config",
      "--connect-timeout", "5", "-o", directory.path, "-q",
    ])
    return try readScan(directory).hosts.filter { $0.status.code == .ok }
  }
}
