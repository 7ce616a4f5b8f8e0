import ArgumentParser
import Coverage
import Foundation
import Normalize
import Report
import Storage
import UnitModel

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
