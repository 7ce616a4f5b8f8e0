import ArgumentParser
import Foundation

@main
struct UnitAudit: AsyncParsableCommand {
  /// The version and the commit this binary was built from (`unitaudit --version`; recorded in
  /// each scan's metadata).
  static let version = "\(BuildInfo.version) (commit \(BuildInfo.commit))"

  static let configuration = CommandConfiguration(
    commandName: "unitaudit",
    abstract: "Audit systemd service hardening across a fleet.",
    discussion: """
      unitaudit runs one read-only probe per host (systemctl list-units, show, cat and \
      systemd-analyze security), normalizes what comes back into one comparable model, and \
      writes a scan directory that coverage, checks and reports read.

      Start with:
        unitaudit inventory -i hosts.ini            see which hosts an inventory names
        unitaudit scan -i hosts.ini -o scan         scan them over SSH
        unitaudit coverage scan                     progress against the Fedora 40 baseline
        unitaudit check scan --require core         the policy gate (exit 1 on violations)
        unitaudit scan --local -o scan-here         scan this machine
        unitaudit probe                             show the exact script that runs on a host

      Exit status: 0 success, 1 findings (failed hosts, violations), 2 usage errors and bad \
      input files, 130 interrupted.
      """,
    version: version,
    subcommands: [
      ScanCommand.self, InventoryCommand.self, BaselineCommand.self, CoverageCommand.self, CheckCommand.self,
      DiffCommand.self, SuggestCommand.self, ReportCommand.self, HistoryCommand.self, TrendCommand.self,
      ExportCommand.self, MergeCommand.self,
      ConvertCommand.self, ProbeCommand.self,
      NormalizeCommand.self,
    ]
  )

  /// Like ArgumentParser's, but a usage error exits 2 (not 64), as the help promises, and an
  /// error of ours that a command lets through is printed as every command prints its own
  /// ("error: …", exit 1).
  static func main() async {
    var command: any ParsableCommand
    do { command = try parseAsRoot() } catch { exitForArgumentParser(error) }
    do {
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      // ArgumentParser gives errors it does not know the status 1 (`help` and `--version`
      // end in errors of its own, with status 0).
      guard !(error is ExitCode), exitCode(for: error) == .failure else { exitForArgumentParser(error) }
      FileHandle.standardError.write(Data("error: \(error)\n".utf8))
      Foundation.exit(1)
    }
  }

  private static func exitForArgumentParser(_ error: any Error) -> Never {
    if exitCode(for: error) == .validationFailure {
      FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
      Foundation.exit(2)
    }
    exit(withError: error)
  }
}
