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
        unitaudit inventory -i hosts.ini      the hosts an inventory names
        unitaudit scan -i hosts.ini -o scan   scan them over SSH
        unitaudit coverage scan               progress against fedora-40
        unitaudit check scan --require core   the policy gate (exit 1 on violations)
        unitaudit scan --local -o scan-here   scan this machine
        unitaudit probe                       the exact script run on a host

      Exit status: 0 success, 1 findings (failed hosts, violations) and writes that failed \
      midway, 2 usage errors and input that cannot be used, 130 interrupted.
      """,
    version: version,
    subcommands: [
      ScanCommand.self, InventoryCommand.self, BaselineCommand.self, CoverageCommand.self, CheckCommand.self,
      DiffCommand.self, SuggestCommand.self, ReportCommand.self, HistoryCommand.self, TrendCommand.self,
      ExportCommand.self, MergeCommand.self,
      ProbeCommand.self,
      NormalizeCommand.self,
    ]
  )

  /// Like ArgumentParser's, but a usage error exits 2 (not 64), as the help promises, and an
  /// error that a command lets through is printed as "error: …" and exits with the status
  /// `ExitStatus.of` gives it.
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
      Foundation.exit(ExitStatus.of(error))
    }
  }

  private static func exitForArgumentParser(_ error: any Error) -> Never {
    if exitCode(for: error) == .validationFailure {
      FileHandle.standardError.write(
        Data(usageMessage(message(for: error), full: fullMessage(for: error)).utf8))
      Foundation.exit(ExitStatus.unusableInput)
    }
    exit(withError: error)
  }

  /// A usage error in the tool's own style, as every other error: `error: what is wrong`,
  /// then where the command's options are explained (ArgumentParser's own text would say
  /// `Error: …` and print the whole usage block).
  static func usageMessage(_ message: String, full: String) -> String {
    var text = message.trimmingCharacters(in: .whitespacesAndNewlines)
    if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
    // ArgumentParser's sentences start with a capital; ours do not ("Missing expected
    // argument" → "missing expected argument"), unless the word is a name in capitals.
    if let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase == true {
      text = first.lowercased() + text.dropFirst()
    }
    let hint = full.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.last {
      $0.hasPrefix("See '") && $0.contains("--help")
    }
    let see = hint.map { line in
      line.replacingOccurrences(of: "See '", with: "see '").replacingOccurrences(
        of: " for more information.", with: "")
    }
    return "error: \(text)\n" + (see.map { "\($0) for every option\n" } ?? "")
  }
}
