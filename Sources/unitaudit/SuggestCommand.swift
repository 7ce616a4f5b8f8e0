import ArgumentParser
import Coverage
import Foundation
import UnitModel

struct SuggestCommand: ParsableCommand {
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

  func run() throws {
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
    if json { return try printJSON(suggestions) }
    let texts = suggestions.map { Suggest.dropIn($0, baseline: baseline.name, required: required) }
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
    let review = suggestions.filter { $0.lines.contains { $0.review != nil } }.count
    let empty = suggestions.filter(\.lines.isEmpty).count
    summary(
      "\(suggestions.count) drop-in\(suggestions.count == 1 ? "" : "s") for \(baseline.name) "
        + "(\(required.joined(separator: ", "))) on \(hosts.filter { $0.status.code.hasData }.count) hosts"
        + (output.map { " in \($0)" } ?? "") + "; \(review) with lines to review"
        + (empty == 0 ? "" : "; \(empty) with nothing a drop-in can set (see their comments)"))
  }
}
