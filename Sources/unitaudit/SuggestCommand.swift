import ArgumentParser
import Collector
import Coverage
import Foundation
import UnitModel

struct SuggestCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "suggest",
    abstract: "A candidate drop-in per baseline service that is not hardened: the lines that close its gap.",
    usage: "unitaudit suggest <scan> [<options>]",
    discussion: """
      For each service of the baseline that some scanned host runs and that is not hardened, \
      a drop-in (`/etc/systemd/system/UNIT.d/50-hardening.conf`, a [Service] section) with one \
      line per required directive a host lacks, each under the requirement it meets. Only \
      values that the oldest host's systemd accepts (the drop-in says which version), the \
      weakest value the baseline accepts but never weaker than one a host's file already sets. \
      Left out, with the reason in a comment: directives the baseline calls not applicable, \
      waived on a host (a drop-in reaches every host: narrow with --host), too new for the \
      oldest host, or with no line that fits every service (CapabilityBoundingSet). Lines \
      that commonly stop services (PrivateNetwork, ProtectHome, MemoryDenyWriteExecute, \
      DynamicUser for User, …) are marked REVIEW with why and where that is said. Each \
      drop-in's header gives the exposure systemd-analyze security would report with it \
      (median over the hosts, predicted from each host's own grading of its checks); the \
      summary on stderr lists it per service and the mean over the fleet.

        unitaudit suggest fleet-scan --service cups.service
        unitaudit suggest fleet-scan --host 'web*' -o drop-ins

      With --canary HOST (and --allow-restarts, which says you accept it), each drop-in is \
      tried on that host: applied at runtime only (/run/systemd/system/UNIT.d/), the \
      service restarted and judged (active after --settle seconds, not restarting in a loop, \
      no error lines in its journal that a plain restart does not print, --health commands), \
      the lines that break it found and left out with why; then the host is put back as it \
      was. Only services running on the canary are tried, one at a time. A killed run leaves \
      a journal in the scan directory: --canary-restore (or the next canary run) puts the \
      hosts back. With --confirm HOST, the lines the canaries kept are then applied as they \
      are on that host (one that did not choose them) and judged the same way. The results \
      (SCAN/canary.json) show in the reports' change owners' view. docs/suggest.md says what \
      it does to a host.

        unitaudit suggest fleet-scan --canary web01 --allow-restarts
        unitaudit suggest fleet-scan --canary web01 --confirm web02 --allow-restarts
        unitaudit suggest scan --canary web01 --allow-restarts --health X=CMD
        unitaudit suggest fleet-scan --canary-restore
      """)

  @Argument(help: ArgumentHelp("A scan directory.", valueName: "scan"))
  var scan: String

  @OptionGroup var selection: BaselineSelection

  @Option(
    name: .customLong("service"),
    help: ArgumentHelp("Only this baseline service (repeatable).", valueName: "unit"))
  var services: [String] = []

  @Option(
    name: .customLong("host"),
    help: ArgumentHelp(
      "Only hosts whose name matches this glob (web*); the drop-ins are made for them.", valueName: "pattern")
  )
  var host: String?

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp(
      "Write each drop-in to DIR/UNIT.d/50-hardening.conf instead of printing it.", valueName: "dir"))
  var output: String?

  @Flag(help: "Print the suggestions as JSON.")
  var json = false

  @Option(
    name: .customLong("canary"),
    help: ArgumentHelp(
      "Try the drop-ins on this host of the scan (a name, repeatable; never a pattern).", valueName: "host"))
  var canaries: [String] = []

  @Option(
    name: .customLong("confirm"),
    help: ArgumentHelp(
      "After the canaries, apply the lines they kept on this host as they are and judge them (a name, repeatable).",
      valueName: "host"))
  var confirm: [String] = []

  @Flag(
    help:
      "Consent: the canary and confirming hosts' services are restarted, with drop-ins that may stop them.")
  var allowRestarts = false

  @Option(
    name: .customLong("health"),
    help: ArgumentHelp(
      "A command the canary runs after restarting UNIT, which must exit 0 (repeatable).",
      valueName: "unit=command"))
  var health: [String] = []

  @Option(
    help: ArgumentHelp("Seconds a restarted service is given before it is judged.", valueName: "seconds"))
  var settle = 5

  @Option(help: ArgumentHelp("Seconds one restart may take.", valueName: "seconds"))
  var restartTimeout = 90

  @Flag(help: "Only put back what an interrupted canary run left on its hosts, then stop.")
  var canaryRestore = false

  func validate() throws {
    if !confirm.isEmpty && canaries.isEmpty {
      throw ValidationError("--confirm applies what canaries kept: name them with --canary")
    }
    if !canaries.isEmpty && !allowRestarts {
      throw ValidationError(
        "--canary restarts services on \((canaries + confirm).joined(separator: ", ")) with drop-ins that may "
          + "stop them: add --allow-restarts to say that is what you want")
    }
    for name in canaries + confirm where name.contains(where: { "*?[],".contains($0) }) {
      throw ValidationError("--canary and --confirm take host names, not patterns: '\(name)'")
    }
    for entry in health where !entry.contains("=") {
      throw ValidationError("--health takes UNIT=COMMAND: '\(entry)'")
    }
    if settle < 0 || restartTimeout < 1 {
      throw ValidationError("--settle and --restart-timeout are seconds (≥ 0, ≥ 1)")
    }
  }

  func run() async throws {
    if canaryRestore {
      let lines: [String]
      do { lines = try await CanaryRun.restore(scan: URL(fileURLWithPath: scan)) } catch {
        throw ValidationError("\(error)")
      }
      for line in lines { print(terminalSafe(line)) }
      if lines.isEmpty {
        print("nothing to put back: the canary journal of \(scan) has no drop-in left applied")
      }
      return
    }
    let console = Console(quiet: false)
    let (baseline, required) = try selection.load()
    for name in services where baseline.service(named: name) == nil {
      throw ValidationError("baseline \(baseline.name) names no service '\(name)'")
    }
    var hosts = try loadHosts(scan, console: console)
    if let host {
      hosts = hosts.filter { HostGlob.matches(host, $0.name) }
      if hosts.isEmpty { throw ValidationError("no host of \(scan) matches --host \(host)") }
    }
    let suggestions = Suggest.suggestions(
      hosts: hosts, baseline: baseline, required: required, services: services.isEmpty ? nil : Set(services),
      today: selection.day)
    var results: [CanaryResult] = []
    if !canaries.isEmpty {
      let health = Dictionary(
        self.health.map { entry in
          let parts = entry.split(separator: "=", maxSplits: 1)
          return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }, uniquingKeysWith: { _, last in last })
      do {
        results = try await CanaryRun.run(
          scan: URL(fileURLWithPath: scan), canaries: canaries, confirm: confirm, suggestions: suggestions,
          options: CanaryOptions(settleSeconds: settle, restartTimeout: restartTimeout, health: health),
          progress: { console.info($0) })
      } catch {
        throw ValidationError("\(error)")
      }
    }
    if json { return try printJSON(suggestions) }
    let texts = suggestions.map {
      canaries.isEmpty
        ? Suggest.dropIn($0, baseline: baseline.name, required: required)
        : Suggest.verifiedDropIn(
          $0, baseline: baseline.name, required: required, results: results, hosts: hosts)
    }
    if let output {
      let root = URL(fileURLWithPath: output)
      for (suggestion, text) in zip(suggestions, texts) {
        let folder = root.appendingPathComponent("\(suggestion.unit).d")
        do {
          try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
          try text.write(
            to: folder.appendingPathComponent("50-hardening.conf"), atomically: true, encoding: .utf8)
        } catch {
          throw CommandError.cannotWrite(folder.path, error.localizedDescription)
        }
      }
    } else {
      for text in texts {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
          print(terminalSafe(String(line)))
        }
        print()
      }
    }
    // With the drop-ins on stdout, the summary goes to stderr: `suggest > file` keeps a
    // drop-in and nothing else.
    let summary: (String) -> Void = output == nil ? { console.error($0) } : { console.info($0) }
    for suggestion in suggestions {
      let medians = suggestion.predictedMedians.map { "\($0.before) -> \($0.after)" } ?? "not predicted"
      let missing = suggestion.exposures.compactMap(\.unpredicted).first.map { " (\($0))" } ?? ""
      summary("  \(suggestion.unit): exposure \(medians)\(missing)")
    }
    let effect = PredictedEffect(suggestions)
    if let before = effect.meanBefore, let after = effect.meanAfter {
      summary(
        "predicted on \(effect.predicted) of \(effect.pairs) host × service: mean exposure "
          + String(format: "%.1f -> %.1f", before, after)
          + "; MEDIUM or better \(effect.mediumOrBetterBefore) -> \(effect.mediumOrBetterAfter)")
    }
    for result in results {
      let what: String
      if let skipped = result.skipped {
        what = "not tried: \(skipped)"
      } else if let check = result.check {
        what = check.passed ? "confirmed, \(check.lines.count) lines" : "FAILED: \(check.reason ?? "")"
      } else {
        what =
          "kept \(result.kept.count), left out \(result.dropped.count) in \(result.trials) restarts"
          + (result.exposure(in: hosts).map { "; exposure \($0.before) -> \($0.after) predicted" } ?? "")
      }
      summary("  \(result.role.rawValue) \(result.host): \(result.unit): \(what)")
      if let problem = result.restoreProblem {
        console.error("  CANARY \(result.host): \(result.unit) \(problem)")
      }
    }
    if !results.isEmpty {
      let figures = CanaryFigures(hosts: hosts, suggestions: suggestions, results: results)
      func mean(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "?" }
      summary(
        "canary: \(figures.pairs) host × service tried; mean exposure \(mean(figures.meanBefore)) -> "
          + "\(mean(figures.meanVerified)) with the verified lines (full suggestion \(mean(figures.meanFull)), "
          + "unflagged lines only \(mean(figures.meanUnflagged)), over \(figures.predicted) predicted); "
          + "whole drop-in kept on \(figures.wholeVerified) (no line to review on \(figures.wholeUnflagged))")
      let confirmations = results.filter { $0.role == .confirm && $0.skipped == nil }
      if !confirmations.isEmpty {
        let failed = confirmations.filter { $0.check?.passed != true }
        summary(
          "confirm: \(confirmations.count - failed.count) of \(confirmations.count) host × service kept working "
            + "with the verified lines as they are"
            + (failed.isEmpty
              ? "" : "; FAILED: " + failed.map { "\($0.host) \($0.unit)" }.joined(separator: ", ")))
      }
    }
    let review = suggestions.filter { $0.lines.contains { $0.review != nil } }.count
    let empty = suggestions.filter(\.lines.isEmpty).count
    summary(
      "\(suggestions.count) drop-in\(suggestions.count == 1 ? "" : "s") for \(baseline.name) "
        + "(\(required.joined(separator: ", "))) on \(hosts.filter { $0.status.code.hasData }.count) hosts"
        + (output.map { " in \($0)" } ?? "") + "; \(review) with lines to review"
        + (empty == 0 ? "" : "; \(empty) with nothing a drop-in can set (see their comments)"))
  }
}
