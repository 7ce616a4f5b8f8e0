import ArgumentParser
import Coverage
import Foundation
import Normalize
import Report
import Storage
import UnitModel

/// `--baseline` and `--require`, shared by coverage, check and diff.
struct BaselineSelection: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "A bundled baseline (see `unitaudit baseline list`) or a baseline YAML file.", valueName: "name|file"))
  var baseline: String = "fedora-40"

  @Option(
    help: ArgumentHelp(
      "Requirement sets that must be met, comma-separated (default: the baseline's first set).",
      valueName: "sets"))
  var require: String?

  @Option(help: ArgumentHelp("The day waivers are judged on (default: today, UTC).", valueName: "YYYY-MM-DD"))
  var today: String?

  func load() throws -> (Baseline, [String]) {
    let baseline = try BaselineStore.load(self.baseline)
    return (baseline, try Self.required(require, of: baseline))
  }

  /// The sets `require` names (comma-separated), each checked; the baseline's first set
  /// without it.
  static func required(_ require: String?, of baseline: Baseline) throws -> [String] {
    let names = baseline.sets.map(\.name)
    guard let require else { return names.prefix(1).map { $0 } }
    let required = require.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    for name in required where !names.contains(name) {
      throw ValidationError(
        "baseline \(baseline.name) has no set '\(name)' (its sets: \(names.joined(separator: ", ")))")
    }
    return required
  }

  var day: String { today ?? UTCDate.day(Date()) }

  func validate() throws {
    if let today, !(today.count == 10 && today.split(separator: "-").count == 3) {
      throw ValidationError("--today must be YYYY-MM-DD")
    }
  }
}

func loadHosts(_ path: String, console: Console) throws -> [HostReport] {
  let loaded = try readScan(URL(fileURLWithPath: path))
  if loaded.metadata.state != .complete {
    console.error(
      "warning: \(path) is \(loaded.metadata.state.rawValue); hosts not yet scanned are missing")
  }
  return loaded.inNameOrder().hosts
}

func printJSON<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct BaselineCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "baseline", abstract: "List and show hardening baselines.",
    subcommands: [List.self, Show.self, ExportPolicy.self])

  struct ExportPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export-policy",
      abstract: "Write a baseline as a policy file for `systemd-analyze security --security-policy`.",
      usage: "unitaudit baseline export-policy <name|file> [<options>]",
      discussion: """
        The checks of `systemd-analyze security` that assess the required directives keep \
        systemd's weights; every other check gets weight 0. A maintainer can then reproduce \
        the baseline's verdict on one machine, without unitaudit (systemd 250 or newer):

          unitaudit baseline export-policy fedora-40 -o fedora-40-policy.json
          systemd-analyze security --offline=yes \\
              --security-policy=fedora-40-policy.json --threshold=10 \\
              /usr/lib/systemd/system/chronyd.service

        (--threshold takes the exposure times ten: 10 is 1.0.) \
        systemd grades some accepted values (ProtectSystem=full, ProtectHome=read-only) above \
        zero, so a service unitaudit calls hardened can score a little above 0.0; a required \
        directive that systemd does not assess (PrivateIPC, PrivatePIDs) cannot count, and is \
        named on standard error.
        """)

    @Argument(help: ArgumentHelp("A bundled baseline name or a baseline file.", valueName: "name|file"))
    var baseline: String

    @Option(
      help: ArgumentHelp(
        "Requirement sets to weigh, comma-separated (default: the baseline's first set).", valueName: "sets"))
    var require: String?

    @Option(
      name: [.short, .customLong("output")],
      help: ArgumentHelp("Where to write the policy (default: standard output).", valueName: "file"))
    var output: String?

    func run() throws {
      let console = Console(quiet: false)
      let baseline = try BaselineStore.load(self.baseline)
      let required = try BaselineSelection.required(require, of: baseline)
      let policy = SecurityPolicy(baseline: baseline, required: required, checks: knownSecurityChecks.keys)
      if let output {
        try writeOutput(policy.json, to: output)
        console.info(
          "wrote \(output): \(policy.weighed.count) checks weighed, \(policy.ignored.count) at weight 0")
      } else {
        print(policy.json, terminator: "")
      }
      if !policy.unassessed.isEmpty {
        console.error(
          "note: systemd-analyze security assesses none of \(policy.unassessed.map(\.rawValue).joined(separator: ", ")); "
            + "its exposure cannot reflect them")
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the bundled baselines.")

    func run() throws {
      var rows: [[String]] = []
      for name in BaselineStore.bundled {
        let baseline = try BaselineStore.load(name)
        rows.append([
          name, "\(baseline.services.count)",
          baseline.sets.map { "\($0.name) (\($0.requirements.count))" }.joined(separator: ", "),
          baseline.title,
        ])
      }
      print(table(header: ["NAME", "SERVICES", "SETS", "TITLE"], rows: rows))
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a baseline: its sets, requirements, services, exemptions and waivers.")

    @Argument(help: ArgumentHelp("A bundled baseline name or a baseline file.", valueName: "name|file"))
    var baseline: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
      let baseline = try BaselineStore.load(self.baseline)
      if json { return try printJSON(baseline) }
      print("\(baseline.name): \(baseline.title)")
      if let reference = baseline.reference { print("reference: \(reference)") }
      if let provenance = baseline.provenance { print("provenance: \(provenance)") }
      if let version = baseline.version { print("version: \(version)") }
      for set in baseline.sets {
        print("\nset \(set.name):")
        for requirement in set.requirements { print("  \(requirement.summary)") }
      }
      print("\nservices (\(baseline.services.count)):")
      for service in baseline.services {
        var line = "  \(service.name)"
        if let reason = service.exempt { line += "  [exempt: \(reason)]" }
        for (directive, reason) in service.notApplicable.sorted(by: { $0.key < $1.key }) {
          line += "  [\(directive.rawValue) not applicable: \(reason)]"
        }
        if let tracking = service.tracking {
          let day = baseline.targetDay(of: service).flatMap { $0 == tracking.target ? nil : $0 }
          let fields = [
            tracking.owner.map { "owner \($0)" },
            tracking.target.map { "target \($0)" + (day.map { " (\($0))" } ?? "") },
            tracking.tracker, tracking.note,
          ].compactMap { $0 }
          line += "  [" + fields.joined(separator: "; ") + "]"
        }
        print(line)
      }
      if let releases = baseline.releases, !releases.isEmpty {
        print("\nreleases:")
        for (name, day) in releases.sorted(by: { $0.value < $1.value }) { print("  \(name): \(day)") }
      }
      if !baseline.waivers.isEmpty {
        print("\nwaivers:")
        for waiver in baseline.waivers {
          print(
            "  \(waiver.service) \(waiver.directive.rawValue)\(waiver.hosts.map { " on \($0)" } ?? ""): "
              + "\(waiver.reason) (owner \(waiver.owner)\(waiver.expires.map { ", expires \($0)" } ?? ""))")
        }
      }
    }
  }
}

struct CoverageCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "coverage",
    abstract: "How far a scan is along a baseline: per service, per directive and per host.",
    usage: "unitaudit coverage <scan> [<options>]")

  @Argument(help: ArgumentHelp("A scan directory.", valueName: "scan"))
  var scan: String

  @OptionGroup var selection: BaselineSelection

  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    let console = Console(quiet: false)
    let (baseline, required) = try selection.load()
    let hosts = try loadHosts(scan, console: console)
    let report = CoverageCalculator.compute(
      hosts: hosts, baseline: baseline, required: required, today: selection.day)
    if json { return try printJSON(report) }
    let installed = report.services.filter { $0.status != .notInstalled }
    print("\(baseline.name) (sets \(required.joined(separator: ", "))) on \(report.hosts.count) hosts:")
    print(
      CoverageStatus.allCases.map { "\(report.count($0)) \($0.rawValue)" }.joined(separator: ", ")
        + " of \(report.services.count) services")
    let rows = installed.map { service in
      [
        service.name, service.status.rawValue, "\(service.hosts.count)",
        service.exposure.map { "\($0.min)/\($0.median)/\($0.max)" } ?? "-",
        service.directives.filter { $0.missing > 0 }.map(\.directive.rawValue).joined(separator: " "),
      ]
    }
    print()
    print(table(header: ["SERVICE", "STATUS", "HOSTS", "EXPOSURE min/med/max", "MISSING"], rows: rows))
    print()
    let hostRows = report.hosts.map { host in
      [
        host.name, "\(host.present)", "\(host.hardened)", "\(host.partial)", "\(host.notStarted)",
        host.worstExposure.map { "\($0) \(host.worstService ?? "")" } ?? "-", "\(host.outside)",
      ]
    }
    print(
      table(
        header: ["HOST", "IN BASELINE", "HARDENED", "PARTIAL", "NOT STARTED", "WORST EXPOSURE", "OUTSIDE"],
        rows: hostRows))
    let expired = report.waivers.filter(\.expired)
    if !expired.isEmpty {
      print("\nexpired waivers (not counted):")
      for use in expired {
        print("  \(use.waiver.service) \(use.waiver.directive.rawValue): expired \(use.waiver.expires ?? "")")
      }
    }
  }
}

struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "The policy gate: list every violation of a baseline; exit 1 when there is any.",
    usage: "unitaudit check <scan> [<options>]",
    discussion: """
      A violation is a required directive that a service lacks on a host (and no active \
      waiver covers), an exposure above --max-exposure, an expired waiver (with \
      --fail-on-expired-waivers), or a host that could not be audited.

      A requirement that a host's systemd is too old to meet (PrivateIPC on systemd 247, \
      PrivateTmp: [disconnected] below 257) is unsupported, not missing: it is listed, and \
      counts as a violation only with --fail-on-unsupported. The default leaves it out because \
      no change to a unit file can meet it; the fix is a newer systemd, which is a platform \
      decision rather than a service's gap.

      --junit FILE writes the results as JUnit XML for CI systems (a test suite per host, a \
      test case per baseline service: a failure per violation, skipped when exempt, not \
      installed or met through waivers); --sarif FILE writes the violations as SARIF 2.1.0 \
      for code-scanning dashboards and DefectDojo, located at the unit file and line. Both \
      are written whatever the exit status.

      --overdue asks another question, for change owners: which services are past the \
      target their baseline entry gives (a day, or a release under `releases`) and still not \
      hardened, with owner and tracker. Only those are listed then, and they decide the exit \
      status.

      Exit status: 0 no violations, 1 violations, 2 usage errors (a bad baseline, a missing scan).
      """)

  @Argument(help: ArgumentHelp("A scan directory.", valueName: "scan"))
  var scan: String

  @OptionGroup var selection: BaselineSelection

  @Flag(help: "List only services past their target and not hardened (exit 1 when there is any).")
  var overdue = false

  @Option(name: .customLong("max-exposure"), help: "The highest overall exposure allowed (0.0–10.0).")
  var maxExposure: Double?

  @Flag(name: .customLong("fail-on-expired-waivers"), help: "Count expired waivers as violations.")
  var failOnExpiredWaivers = false

  @Flag(
    name: .customLong("fail-on-unsupported"),
    help: "Count requirements that a host's systemd is too old to meet as violations.")
  var failOnUnsupported = false

  @Flag(help: "Print JSON.")
  var json = false

  @Option(
    help: ArgumentHelp(
      "Also write the results as JUnit XML: a test suite per host, a test case per baseline service.",
      valueName: "file"))
  var junit: String?

  @Option(
    help: ArgumentHelp(
      "Also write the violations as SARIF 2.1.0, located at the unit file and line.", valueName: "file"))
  var sarif: String?

  func validate() throws {
    if overdue && (junit != nil || sarif != nil) {
      throw ValidationError("--overdue writes no --junit or --sarif; run check without --overdue for them")
    }
    if let maxExposure, !(0...10).contains(maxExposure) {
      throw ValidationError("--max-exposure must be 0.0–10.0")
    }
    if overdue && (maxExposure != nil || failOnExpiredWaivers || failOnUnsupported) {
      throw ValidationError(
        "--overdue lists only services past their target; it takes no --max-exposure, "
          + "--fail-on-expired-waivers or --fail-on-unsupported")
    }
  }

  func run() throws {
    let console = Console(quiet: false)
    let (baseline, required) = try selection.load()
    let hosts = try loadHosts(scan, console: console)
    if overdue { return try checkOverdue(hosts: hosts, baseline: baseline, required: required) }
    let limit = maxExposure.flatMap(Exposure.init(value:))
    let findings = PolicyCheck.findings(
      hosts: hosts, baseline: baseline, required: required, maxExposure: limit,
      failOnExpiredWaivers: failOnExpiredWaivers, today: selection.day)
    let violations = failOnUnsupported ? findings : findings.filter { $0.kind != .unsupported }
    let unsupported = findings.filter { $0.kind == .unsupported }
    if junit != nil || sarif != nil {
      let results = CheckResults(
        hosts: hosts, baseline: baseline, required: required, violations: violations, today: selection.day)
      let requirements = baseline.requirements(in: required)
      for (format, path) in [(ReportFormat.junit, junit), (.sarif, sarif)] {
        guard let path else { continue }
        let file = format.checkFile(
          results, requirements: requirements, toolVersion: BuildInfo.version,
          hostSources: format == .sarif ? hostSources(of: scan) : [:], name: path)
        do {
          if let note = try file.write(to: URL(fileURLWithPath: path)) { console.error("warning: \(note)") }
        } catch {
          throw CommandError.cannotWrite(path, error.localizedDescription)
        }
      }
    }
    if json {
      try printJSON(violations)
    } else {
      for violation in violations { print(terminalSafe(violation.description)) }
      if !failOnUnsupported {
        for note in unsupported { print(terminalSafe("note: " + note.description)) }
      }
      print(
        violations.isEmpty
          ? "ok: no violations of \(baseline.name) (\(required.joined(separator: ", "))) on \(hosts.count) hosts"
          : "\(violations.count) violation\(violations.count == 1 ? "" : "s") of \(baseline.name) (\(required.joined(separator: ", ")))"
      )
      if !unsupported.isEmpty && !failOnUnsupported {
        print(
          "\(unsupported.count) requirement\(unsupported.count == 1 ? "" : "s") unsupported by the hosts' systemd, "
            + "not counted (--fail-on-unsupported counts them)")
      }
    }
    if !violations.isEmpty { throw ExitCode(ExitStatus.findings) }
  }

  func checkOverdue(hosts: [HostReport], baseline: Baseline, required: [String]) throws {
    let coverage = CoverageCalculator.compute(
      hosts: hosts, baseline: baseline, required: required, today: selection.day)
    let late = OwnerView.overdue(coverage: coverage, baseline: baseline, today: selection.day)
    if json {
      try printJSON(late)
    } else {
      for violation in late { print(terminalSafe(violation.description)) }
      let targeted = baseline.services.filter { $0.tracking?.target != nil }.count
      print(
        late.isEmpty
          ? "ok: no service of \(baseline.name) is past its target on \(selection.day) "
            + "(\(targeted) with a target)"
          : "\(late.count) service\(late.count == 1 ? "" : "s") of \(baseline.name) past \(late.count == 1 ? "its" : "their") "
            + "target and not hardened on \(selection.day)")
    }
    if !late.isEmpty { throw ExitCode(ExitStatus.findings) }
  }
}

struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract:
      "What changed between two scans: services hardened, regressed or improved, with the directives why.",
    usage: "unitaudit diff <old> <new> [<options>]")

  @Argument(help: ArgumentHelp("The older scan directory.", valueName: "old"))
  var old: String

  @Argument(help: ArgumentHelp("The newer scan directory.", valueName: "new"))
  var new: String

  @OptionGroup var selection: BaselineSelection

  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    let console = Console(quiet: false)
    let (baseline, required) = try selection.load()
    let before = try loadHosts(old, console: console)
    let after = try loadHosts(new, console: console)
    let diff = ScanDiff.compare(
      old: before, new: after, baseline: baseline, required: required, today: selection.day)
    if json { return try printJSON(diff) }
    for (title, list) in [
      ("hosts added", diff.hostsAdded), ("hosts removed", diff.hostsRemoved),
      ("services added", diff.servicesAdded),
      ("services removed", diff.servicesRemoved),
    ] where !list.isEmpty {
      print("\(title): \(list.joined(separator: ", "))")
    }
    for kind in [ServiceChange.Kind.hardened, .regressed, .improved] {
      let changes = diff.changes.filter { $0.kind == kind }
      guard !changes.isEmpty else { continue }
      print("\n\(kind.rawValue) (\(changes.count)):")
      for change in changes {
        var line = "  \(change.host) \(change.service)"
        if let a = change.exposureBefore, let b = change.exposureAfter, a != b {
          line += "  exposure \(a) → \(b)"
        }
        let gained = change.gained.map { "+\($0.directive.rawValue)=\($0.after) (\($0.source.rawValue))" }
        let lost = change.lost.map { "-\($0.directive.rawValue) (now \($0.after))" }
        if !(gained + lost).isEmpty { line += "  " + (gained + lost).joined(separator: " ") }
        print(terminalSafe(line))
      }
    }
    if diff.changes.isEmpty && diff.hostsAdded.isEmpty && diff.hostsRemoved.isEmpty {
      print("no changes against \(baseline.name) (\(required.joined(separator: ", ")))")
    }
  }
}

/// Runs `body`; a failure is a usage error (exit 2) with its message.

/// Writes a machine-readable output file of a command; a failure is a usage-level error that
/// names the file.
/// The inventory file and line of each host of a scan, from its plan (hosts given with `-H`
/// or `--local` have none).
func hostSources(of scan: String) -> [String: Provenance] {
  let plan = (try? ScanStore.readPlan(URL(fileURLWithPath: scan))) ?? []
  return Dictionary(
    plan.compactMap { host in host.source.map { (host.name, $0) } }, uniquingKeysWith: { a, _ in a })
}

func writeOutput(_ text: String, to path: String) throws {
  do {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  } catch {
    throw CommandError.cannotWrite(path, error.localizedDescription)
  }
}
