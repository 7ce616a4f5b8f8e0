import Foundation
import TestSupport
import Testing

/// What a person reads from the command line: help that survives an 80-column terminal, and
/// errors in one style with the statuses the README gives.
@Suite("help and errors on the command line")
struct CommandLineStyleTests {
  /// Every command and subcommand, found from the top-level help down.
  static func commands(_ binary: String) throws -> [[String]: String] {
    var help: [[String]: String] = [:]
    var queue: [[String]] = [[]]
    while let command = queue.first {
      queue.removeFirst()
      let result = try TestSupport.run([binary] + command + ["--help"], environment: ["COLUMNS": "80"])
      guard result.status == 0 else {
        Issue.record("\(command) --help: \(result.status) \(result.output)")
        continue
      }
      help[command] = result.output
      var inList = false
      for line in result.output.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("SUBCOMMANDS:") {
          inList = true
          continue
        }
        if inList && line.trimmingCharacters(in: .whitespaces).isEmpty { inList = false }
        // A row is "  name   abstract"; a wrapped abstract goes on under its column.
        guard inList, line.hasPrefix("  "), line.dropFirst(2).first != " ",
          let name = line.split(separator: " ").first,
          name.allSatisfy({ $0.isLowercase || $0 == "-" })
        else { continue }
        queue.append(command + [String(name)])
      }
    }
    return help
  }

  @Test("every command's --help fits 80 columns, and no example is broken across lines")
  func helpAt80Columns() throws {
    let help = try Self.commands(try TestSupport.unitauditBinary())
    #expect(help.count >= 20, "\(help.keys.sorted { $0.joined() < $1.joined() })")
    for (command, text) in help {
      var previous = ""
      var inOverview = true
      for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)")
        if line.hasPrefix("USAGE:") { inOverview = false }
        // ArgumentParser wraps an indented line that does not fit to column 0: an example
        // (or a table row) broken in the middle.
        if inOverview, previous.hasPrefix("  "), !previous.trimmingCharacters(in: .whitespaces).isEmpty,
          let first = line.first, first != " "
        {
          Issue.record("\(command): an indented line is broken: \"\(previous)\" / \"\(line)\"")
        }
        previous = line
      }
    }
  }

  @Test("an error of each kind: 'error: …' and a pointer to --help, exit 2; no usage block")
  func errorsOfEachKind() throws {
    let binary = try TestSupport.unitauditBinary()
    let missing = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)")
      .path
    let cases: [(arguments: [String], says: String)] = [
      (["frobnicate"], "error: unexpected argument 'frobnicate'"),
      (["scan", "--local", "--frob"], "error: unknown option '--frob'"),
      (["check"], "error: missing expected argument '<scan>'"),
      (["scan", "--local", "-o", missing, "--concurrency", "many"], "error: the value 'many' is invalid"),
      (["check", missing, "--max-exposure", "20"], "error: --max-exposure must be 0.0–10.0"),
      (["scan"], "error: say what to scan"),
      (["baseline", "show", "no-such-baseline"], "error: no-such-baseline: no such baseline file"),
      (["coverage", missing], "error: \(missing)"),
    ]
    for (arguments, says) in cases {
      let result = try TestSupport.run([binary] + arguments)
      #expect(result.status == 2, "\(arguments): \(result.status) \(result.output)")
      #expect(result.output.hasPrefix(says), "\(arguments): \(result.output)")
      #expect(
        !result.output.contains("Error:") && !result.output.contains("USAGE:")
          && !result.output.contains("Usage:"),
        "\(arguments): \(result.output)")
    }
    // A usage error says where the options are explained.
    let usage = try TestSupport.run([binary, "check"])
    #expect(usage.output.contains("see 'unitaudit check --help' for every option"), "\(usage.output)")
  }
}
