import Collector
import Coverage
import Foundation
import Storage
import TestSupport
import Testing
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// `unitaudit suggest --canary` on the fleet: drop-ins tried on one host, what they keep
/// applied on another (by `--confirm` and by hand), a run killed midway and put back, and
/// ssh.service.
@Suite("End to end: canary runs of suggested drop-ins", .tags(.e2e), .exclusive, .serialized)
struct CanaryEndToEndTests {
  static let canary = "h2"
  static let second = "trixie-web"
  static let settle = "2"
  /// A drop-in that keeps a service from starting may hold its restart for the unit's whole
  /// start timeout (90 s by default): the tests bound each restart.
  static let bounds = ["--settle", settle, "--restart-timeout", "15"]

  /// Every canary drop-in left on `host`, and the units of `units` not active there.
  static func leftovers(_ fleet: Fleet, _ host: HostReport, _ units: [String]) throws -> (
    dropIns: [String], inactive: [String]
  ) {
    let found = try fleet.ssh(
      host,
      "ls /run/systemd/system/*.d/\(CanaryRun.dropInName) 2>/dev/null; echo @@; for u in \(units.joined(separator: " ")); do echo \"$u $(systemctl is-active $u)\"; done"
    ).output
    let parts = found.components(separatedBy: "@@\n")
    let dropIns = (parts.first ?? "").split(separator: "\n").map(String.init)
    let inactive = (parts.count > 1 ? parts[1] : "").split(separator: "\n").filter {
      !$0.hasSuffix(" active")
    }
    .map(String.init)
    return (dropIns, inactive)
  }

  /// The baseline services with a suggestion that run on both `a` and `b`, at most `limit`,
  /// ssh.service left out.
  static func shared(_ suggestions: [Suggestion], _ a: HostReport, _ b: HostReport, limit: Int)
    -> [Suggestion]
  {
    func running(_ host: HostReport, _ unit: String) -> Bool {
      host.services.contains { $0.id == unit && $0.activeState == "active" && $0.subState == "running" }
    }
    return Array(
      suggestions.filter {
        !$0.lines.isEmpty && $0.unit != "ssh.service" && running(a, $0.unit) && running(b, $0.unit)
      }.prefix(limit))
  }

  /// A fresh scan of the fleet in a folder of its own, and the suggestions for it.
  struct Prepared {
    let fleet: Fleet
    let work: URL
    var scan: URL { work.appendingPathComponent("scan") }
    let hosts: [HostReport]
    let suggestions: [Suggestion]

    init(_ name: String, suggest arguments: [String] = []) throws {
      fleet = try #require(Fleet.configured)
      work = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(name)-\(UUID().uuidString)")
      hosts = try fleet.scan(into: work.appendingPathComponent("scan"))
      let listed = try run(
        [try unitauditBinary(), "suggest", work.appendingPathComponent("scan").path, "--json"] + arguments)
      suggestions = try JSONDecoder().decode([Suggestion].self, from: Data(listed.output.utf8))
    }

    func host(_ name: String) throws -> HostReport { try #require(hosts.first { $0.name == name }) }
  }

  @Test(
    "drop-ins verified on a canary keep the services working on a second host; the canary is put back",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func verifiedOnASecondHost() async throws {
    let setting = try Prepared("canary")
    defer { try? FileManager.default.removeItem(at: setting.work) }
    let (fleet, work, scan) = (setting.fleet, setting.work, setting.scan)
    let canary = try setting.host(Self.canary)
    let second = try setting.host(Self.second)
    // Every service with a suggestion running on both (ssh.service has a test of its own).
    let chosen = Self.shared(setting.suggestions, canary, second, limit: .max)
    try #require(chosen.count >= 2, "services running on both \(Self.canary) and \(Self.second)")

    // Without consent, nothing runs.
    let refused = try run([try unitauditBinary(), "suggest", scan.path, "--canary", Self.canary])
    #expect(refused.status != 0 && refused.output.contains("--allow-restarts"))
    let pattern = try run([try unitauditBinary(), "suggest", scan.path, "--canary", "h*", "--allow-restarts"])
    #expect(pattern.status != 0 && pattern.output.contains("not patterns"))
    let both = try run(
      [
        try unitauditBinary(), "suggest", scan.path, "--canary", Self.canary, "--confirm", Self.canary,
        "--allow-restarts",
      ])
    #expect(both.status != 0 && both.output.contains("both --canary and --confirm"), "\(both.output)")

    let out = work.appendingPathComponent("verified")
    let canaryRun = try run(
      [
        try unitauditBinary(), "suggest", scan.path, "--canary", Self.canary, "--confirm", Self.second,
        "--allow-restarts", "-o", out.path,
      ] + Self.bounds + chosen.flatMap { ["--service", $0.service] })
    #expect(canaryRun.status == 0, "\(canaryRun.output)")
    let all = try CanaryRun.results(scan: scan)
    let results = all.filter { $0.role == .canary }
    #expect(Set(results.map(\.unit)) == Set(chosen.map(\.unit)), "\(canaryRun.output)")
    #expect(results.allSatisfy { $0.skipped == nil && $0.restoreProblem == nil }, "\(results)")
    // --confirm: the kept lines, applied as they are on the second host, held for every
    // service (each kept at least one line here).
    let confirmed = all.filter { $0.role == .confirm }
    #expect(Set(confirmed.map(\.unit)) == Set(results.filter { !$0.kept.isEmpty }.map(\.unit)), "\(all)")
    for result in confirmed {
      let kept = try #require(results.first { $0.unit == result.unit }).kept
      #expect(
        result.host == Self.second && result.skipped == nil && result.restoreProblem == nil, "\(result)")
      #expect(result.check?.passed == true && Set(result.kept) == Set(kept), "\(result)")
    }
    #expect(
      canaryRun.output.contains(
        "confirm: \(confirmed.count) of \(confirmed.count) host × service kept working"))

    // Both hosts are as they were: no drop-in of the run, every tried service active.
    for host in [canary, second] {
      let after = try Self.leftovers(fleet, host, chosen.map(\.unit))
      #expect(after.dropIns.isEmpty, "\(host.name): \(after.dropIns)")
      #expect(after.inactive.isEmpty, "\(host.name): \(after.inactive)")
    }

    // The report's change owners' view says where the lines were verified.
    let report = try run(
      [
        try unitauditBinary(), "report", scan.path, "--format", "csv", "-o",
        work.appendingPathComponent("report").path,
      ])
    #expect(report.status == 0, "\(report.output)")
    let owners = try String(contentsOf: work.appendingPathComponent("report/owners.csv"), encoding: .utf8)
    for result in confirmed {
      let service = try #require(chosen.first { $0.unit == result.unit }).service
      let row = owners.components(separatedBy: "\r\n").first { $0.hasPrefix(service + ",") } ?? ""
      #expect(row.hasSuffix(",\(Self.canary),\(Self.second),"), "\(result.unit): \(row)")
    }

    // The verified drop-ins, applied on the second host and restarted: each service stays
    // active, with no error line a plain restart does not print.
    defer {
      _ = try? fleet.ssh(
        second,
        chosen.map { "rm -rf /run/systemd/system/\($0.unit).d/50-hardening.conf" }.joined(separator: "; ")
          + "; systemctl daemon-reload; "
          + chosen.map { "systemctl restart \($0.unit)" }.joined(separator: "; "))
    }
    var failures: [String] = []
    for suggestion in chosen {
      let text = try String(
        contentsOf: out.appendingPathComponent("\(suggestion.unit).d/50-hardening.conf"), encoding: .utf8)
      let kept = text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }
      let result = try #require(results.first { $0.unit == suggestion.unit })
      #expect(Set(kept.map(String.init)) == Set(result.kept), "\(suggestion.unit)")
      let unit = suggestion.unit
      let script = """
        c=$(journalctl -n 1 -o export | sed -n 's/^__CURSOR=//p'); systemctl restart \(unit); sleep \(Self.settle)
        journalctl -u \(unit) -p err -o cat --after-cursor="$c" | sort -u > /tmp/plain
        mkdir -p /run/systemd/system/\(unit).d
        cat > /run/systemd/system/\(unit).d/50-hardening.conf <<'UNITAUDIT_END'
        \(text)UNITAUDIT_END
        systemctl daemon-reload
        c=$(journalctl -n 1 -o export | sed -n 's/^__CURSOR=//p'); systemctl restart \(unit); sleep \(Self.settle)
        echo "state $(systemctl is-active \(unit))"
        journalctl -u \(unit) -p err -o cat --after-cursor="$c" | sort -u | comm -23 - /tmp/plain | sed 's/^/new /'
        """
      let applied = try fleet.ssh(second, script)
      if !applied.output.contains("state active") || applied.output.contains("\nnew ") {
        failures.append("\(unit): \(applied.output)")
      }
    }
    #expect(failures.isEmpty, "\(failures)")
    print(
      "canary \(Self.canary), confirmed by hand on \(Self.second): "
        + results.map { "\($0.unit) kept \($0.kept.count), left out \($0.dropped.map(\.line))" }.joined(
          separator: "; "))
  }

  @Test(
    "killed with -9 in the middle of a run, --canary-restore leaves no drop-in and every service as it was",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func killedAndRestored() async throws {
    let setting = try Prepared("canary-kill")
    defer { try? FileManager.default.removeItem(at: setting.work) }
    let (fleet, work, scan) = (setting.fleet, setting.work, setting.scan)
    let canary = try setting.host(Self.canary)
    let chosen = Self.shared(setting.suggestions, canary, canary, limit: 3)
    try #require(!chosen.isEmpty)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: try unitauditBinary())
    process.arguments =
      [
        "suggest", scan.path, "--canary", Self.canary, "--allow-restarts", "--settle", "3", "-o",
        work.appendingPathComponent("out").path,
      ]
      + chosen.flatMap { ["--service", $0.service] }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    // Killed once a drop-in is applied (the journal says so) and a trial is under way.
    let journal = scan.appendingPathComponent("canary-journal.jsonl")
    var applied = false
    for _ in 0..<300 where !applied {
      try await Task.sleep(for: .milliseconds(100))
      applied = ((try? String(contentsOf: journal, encoding: .utf8)) ?? "").contains("\"applied\"")
    }
    try #require(applied, "the run never applied a drop-in")
    try await Task.sleep(for: .seconds(5))
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()

    let restored = try run([try unitauditBinary(), "suggest", scan.path, "--canary-restore"])
    #expect(restored.status == 0, "\(restored.output)")
    #expect(restored.output.contains("drop-in removed"), "\(restored.output)")
    let after = try Self.leftovers(fleet, canary, chosen.map(\.unit))
    #expect(after.dropIns.isEmpty, "\(after.dropIns)")
    #expect(after.inactive.isEmpty, "\(after.inactive)")
    // Nothing more to put back.
    let again = try run([try unitauditBinary(), "suggest", scan.path, "--canary-restore"])
    #expect(again.output.contains("nothing to put back"), "\(again.output)")
  }

  @Test(
    "ssh.service on a canary and a confirming host: judged by a fresh login, the run keeps its own access, both stay reachable",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func sshService() async throws {
    let setting = try Prepared("canary-ssh", suggest: ["--service", "sshd.service"])
    defer { try? FileManager.default.removeItem(at: setting.work) }
    let (fleet, scan) = (setting.fleet, setting.scan)
    let canary = try setting.host(Self.canary)
    let second = try setting.host(Self.second)
    let ssh = try #require(setting.suggestions.first { $0.unit == "ssh.service" })
    let result = try run(
      [
        try unitauditBinary(), "suggest", scan.path, "--canary", Self.canary, "--confirm", Self.second,
        "--allow-restarts", "--service", ssh.service,
      ] + Self.bounds)
    #expect(result.status == 0, "\(result.output)")
    let results = try CanaryRun.results(scan: scan)
    let tried = try #require(results.first { $0.unit == "ssh.service" && $0.role == .canary })
    #expect(tried.skipped == nil && tried.restoreProblem == nil, "\(tried)")
    // Any line that stopped new logins was left out, and said so.
    for dropped in tried.dropped where dropped.trial.reason?.contains("new SSH login") == true {
      #expect(result.output.contains(dropped.line), "\(result.output)")
    }
    // On the confirming host (another systemd), the kept lines judged the same way: by a
    // fresh login too, and put back whatever the verdict.
    if !tried.kept.isEmpty {
      let confirmed = try #require(results.first { $0.unit == "ssh.service" && $0.role == .confirm })
      #expect(confirmed.skipped == nil && confirmed.restoreProblem == nil, "\(confirmed)")
      #expect(confirmed.check != nil, "\(confirmed)")
    }
    for host in [canary, second] {
      let after = try Self.leftovers(fleet, host, ["ssh.service"])
      #expect(after.dropIns.isEmpty && after.inactive.isEmpty, "\(host.name): \(after)")
      #expect(try fleet.ssh(host, "true").status == 0)
    }
    print(
      "ssh.service: "
        + results.map { "\($0.role) \($0.host): kept \($0.kept), \($0.check?.reason ?? "")" }.joined(
          separator: "; "))
  }

  @Test(
    "a trial that cuts the run's own SSH session fails, is judged from a new session, and the host is put back",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func cutSession() async throws {
    let setting = try Prepared("canary-cut", suggest: ["--service", "sshd.service"])
    defer { try? FileManager.default.removeItem(at: setting.work) }
    let (fleet, scan) = (setting.fleet, setting.scan)
    // h5: a host no other canary test touches.
    let host = try setting.host("h5")
    let ssh = try #require(setting.suggestions.first { $0.unit == "ssh.service" })
    let marker = try #require(ssh.lines.first { $0.assignment == "PrivateTmp=yes" }?.assignment)
    // The health command ends every root SSH session when the drop-in holds the marker line:
    // the run's own connection breaks in the middle of those trials, as a restart that takes
    // the sessions with it would break it.
    let cut =
      "if grep -qx \(marker) \(CanaryRun.dropInPath("ssh.service")) 2>/dev/null; then pkill -f 'sshd: root'; fi; true"
    let result = try run(
      [
        try unitauditBinary(), "suggest", scan.path, "--canary", host.name, "--allow-restarts", "--service",
        ssh.service, "--health", "ssh.service=\(cut)",
      ] + Self.bounds)
    #expect(result.status == 0, "\(result.output)")
    let tried = try #require(try CanaryRun.results(scan: scan).first { $0.unit == "ssh.service" })
    #expect(tried.skipped == nil && tried.restoreProblem == nil, "\(tried)")
    let dropped = try #require(tried.dropped.first { $0.line == marker }, "\(tried)")
    #expect(dropped.trial.reason?.contains("cut the SSH session") == true, "\(dropped)")
    #expect(!tried.kept.isEmpty && !tried.kept.contains(marker), "\(tried.kept)")
    // Put back: no drop-in, sshd active, the undo timer stopped, the host reachable.
    let after = try Self.leftovers(fleet, host, ["ssh.service"])
    #expect(after.dropIns.isEmpty && after.inactive.isEmpty, "\(after)")
    let timer = try fleet.ssh(host, "systemctl is-active \(CanaryRun.undoUnit("ssh.service")).timer").output
    #expect(timer.trimmingCharacters(in: .whitespacesAndNewlines) != "active", "\(timer)")
  }
}
