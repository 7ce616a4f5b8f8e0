import ArgumentParser
import Coverage
import Foundation
import Normalize
import Report
import Storage
import UnitModel

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
