import ArgumentParser
import Coverage
import Foundation
import Normalize
import Report
import Storage
import UnitModel

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
