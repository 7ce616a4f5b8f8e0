import Foundation
import TestSupport
import Testing

/// The command lines README.md and docs/ show: each names a command that exists and only
/// options that command takes, so that a restructuring cannot leave an example behind.
@Suite("the documented command lines")
struct DocumentedCommandsTests {
  static var repository: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
  }

  /// Every `unitaudit …` command line inside a code block of README.md and docs/*.md, with
  /// its file and line; continuation lines (`\`) joined, comments dropped.
  static func commandLines() throws -> [(place: String, words: [String])] {
    let docs = try FileManager.default.contentsOfDirectory(
      atPath: repository.appendingPathComponent("docs").path
    )
    .filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
    var found: [(String, [String])] = []
    for file in ["README.md"] + docs {
      let text = try String(contentsOf: repository.appendingPathComponent(file), encoding: .utf8)
      var inCode = false
      var pending = ""
      var start = 0
      for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
          inCode.toggle()
          continue
        }
        guard inCode else { continue }
        if pending.isEmpty { start = index + 1 }
        var part = String(line)
        if part.trimmingCharacters(in: .whitespaces).hasPrefix("#") { part = "" }
        if let hash = part.range(of: " #") { part = String(part[..<hash.lowerBound]) }
        if part.hasSuffix("\\") {
          pending += part.dropLast() + " "
          continue
        }
        let joined = pending + part
        pending = ""
        guard let range = joined.range(of: #"(^|[\s'"(])unitaudit [a-z]"#, options: .regularExpression) else {
          continue
        }
        let command = joined[joined.index(range.upperBound, offsetBy: -("unitaudit ".count + 1))...]
        found.append(("\(file):\(start)", words(String(command))))
      }
    }
    return found
  }

  /// Shell words up to the end of the command (a pipe, `;`, `&&`, `||`, a closing quote or
  /// parenthesis of the surrounding text), quotes removed.
  static func words(_ text: String) -> [String] {
    var words: [String] = []
    var word = ""
    var quote: Character?
    for character in text {
      if let open = quote {
        if character == open { quote = nil } else { word.append(character) }
        continue
      }
      switch character {
      case "'", "\"":
        // A quote opens a word; one inside a word closes the text the command is quoted in.
        guard word.isEmpty else {
          words.append(word)
          return words
        }
        quote = character
      case " ", "\t":
        if !word.isEmpty { words.append(word) }
        word = ""
      case "|", ";", "&", ")", ">", "`":
        if !word.isEmpty { words.append(word) }
        return words
      default: word.append(character)
      }
    }
    if !word.isEmpty { words.append(word) }
    return words
  }

  @Test("every unitaudit command line in README.md and docs/ names a command and only its options")
  func examples() throws {
    let binary = try TestSupport.unitauditBinary()
    let help = try CommandLineStyleTests.commands(binary)
    let lines = try Self.commandLines()
    #expect(lines.count > 30, "\(lines.count) command lines found")
    for (place, words) in lines {
      // The longest command path the words begin with (`history add`, then `history`).
      var path: [String] = []
      for word in words.dropFirst() {
        guard help[path + [word]] != nil else { break }
        path.append(word)
      }
      guard !path.isEmpty, let text = help[path] else {
        Issue.record("\(place): `\(words.joined(separator: " "))` names no unitaudit command")
        continue
      }
      for word in words.dropFirst(path.count + 1) where word.hasPrefix("-") && word != "-" {
        let option = String(word.split(separator: "=", maxSplits: 1)[0])
        let known =
          text.contains(" \(option) ") || text.contains(" \(option),") || text.contains(" \(option)\n")
          || text.contains("\(option) <") || text.contains(", \(option)")
        #expect(known, "\(place): `unitaudit \(path.joined(separator: " "))` takes no \(option)")
      }
    }
  }
}
