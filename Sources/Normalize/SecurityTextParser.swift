import Foundation
import UnitModel

/// Parses the text form (`systemd-analyze security U1 U2 …` on systemd 240–249, or any
/// version with `--json=off`): per unit a table of checks, then
/// `→ Overall exposure level for U: 9.6 UNSAFE :-{` (`->` with LANG=C). Rows are keyed by
/// `json_field` through `knownSecurityChecks`.
public func parseSecurityText(stdout: String, stderr: String) -> SecurityAnalysis {
  var diagnostics: [Diagnostic] = []
  var units: [String: SecurityAnalysis.UnitResult] = [:]
  var checks: SecurityChecks = [:]
  var columns: TextColumns?
  // Lines are sliced as Substrings of the output, by Character offsets (the mark in the
  // first column is one Character of several bytes), never copied into arrays of Characters.
  // Split at newline bytes, unless there is a carriage return: "\r\n" is one Character,
  // which a split at the Character "\n" does not cut.
  let lines: [Substring] =
    stdout.utf8.contains(UInt8(ascii: "\r"))
    ? stdout.split(separator: "\n", omittingEmptySubsequences: false)
    : stdout.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Substring($0) }
  for rawLine in lines {
    if let overall = parseOverallLine(rawLine) {
      units[overall.unit] = SecurityAnalysis.UnitResult(
        unit: overall.unit, overall: overall.exposure, checks: checks)
      checks = [:]
      columns = nil
      continue
    }
    if let header = headerColumns(rawLine) {
      columns = header
      continue
    }
    guard let columns, let mark = rawLine.first, !rawLine.trimmingWhitespace().isEmpty,
      let descriptionStart = rawLine.index(
        rawLine.startIndex, offsetBy: columns.description, limitedBy: rawLine.endIndex),
      descriptionStart != rawLine.endIndex
    else {
      continue
    }
    let nameStart =
      rawLine.index(rawLine.startIndex, offsetBy: 2, limitedBy: descriptionStart) ?? descriptionStart
    let name = rawLine[nameStart..<descriptionStart].trimmingWhitespace()
    let rest = rawLine[descriptionStart...]
    // Words split at space bytes when the row is ASCII (a description always is); otherwise
    // at the Character " " (a space with a combining mark after it is another Character).
    var words: [Substring] =
      rest.utf8.allSatisfy({ $0 < 0x80 })
      ? rest.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true).map { Substring($0) }
      : rest.split(separator: " ", omittingEmptySubsequences: true)
    var exposure: Exposure?
    // The exposure always has a decimal point; the debug columns before it never do.
    if let last = words.last, last.contains("."), let value = Exposure(parsing: String(last)),
      rest.hasSuffix(last)
    {
      exposure = value
      words.removeLast()
    }
    // With SYSTEMD_ANALYZE_DEBUG=1: WEIGHT BADNESS RANGE after the description.
    var grade: SecurityCheck.Grade?
    if columns.graded, words.count >= 3 {
      let numbers = words.suffix(3).map(String.init)
      grade = securityGrade(weight: numbers[0], range: numbers[2], badness: numbers[1])
      if grade != nil {
        words.removeLast(3)
      } else {
        diagnostics.append(
          Diagnostic(
            .warning, code: "security.bad-grade",
            "check '\(name)' has an unreadable weight, badness or range",
            section: "security-text"))
      }
    }
    let set: Bool? =
      switch mark {
      case "✓", "+": true
      case "✗", "-": false
      default: nil
      }
    let key = securityCheckFieldsByName[String(name)] ?? String(name)
    if securityCheckFieldsByName[String(name)] == nil {
      diagnostics.append(
        Diagnostic(
          .note, code: "security.unknown-field", "unknown check '\(name)' in the text table; kept by name",
          section: "security-text"))
    }
    checks[key] = SecurityCheck(
      name: String(name), description: words.joined(separator: " "), set: set, exposure: exposure,
      grade: grade)
  }
  if !checks.isEmpty {
    diagnostics.append(
      Diagnostic(
        .warning, code: "security.truncated-text", "a check table without its overall line; ignored",
        section: "security-text"))
  }
  return SecurityAnalysis(units: units, refused: parseSecurityRefusals(stderr), diagnostics: diagnostics)
}

/// Where a text table's columns start: the description, and whether the debug columns
/// (WEIGHT, BADNESS, RANGE) follow it.
private struct TextColumns {
  var description: Int
  var graded: Bool
}

private func headerColumns(_ line: Substring) -> TextColumns? {
  guard line.trimmingWhitespace().hasPrefix("NAME"), let desc = line.range(of: "DESCRIPTION"),
    line.range(of: "EXPOSURE") != nil
  else { return nil }
  return TextColumns(
    description: line.distance(from: line.startIndex, to: desc.lowerBound),
    graded: line.range(of: " WEIGHT ") != nil && line.range(of: " BADNESS ") != nil
      && line.range(of: " RANGE ") != nil)
}

/// Whether `line` holds `needle`, byte for byte: a quick test before the line is searched
/// the slower way.
private func containsBytes(_ line: Substring, _ needle: StaticString) -> Bool {
  var line = line
  let count = needle.utf8CodeUnitCount
  return line.withUTF8 { haystack in
    guard count > 0, haystack.count >= count, let base = haystack.baseAddress else { return count == 0 }
    var from = 0
    while from <= haystack.count - count {
      guard let found = memchr(base + from, Int32(needle.utf8Start[0]), haystack.count - count - from + 1)
      else {
        return false
      }
      let at = UnsafeRawPointer(found) - UnsafeRawPointer(base)
      if memcmp(base + at, needle.utf8Start, count) == 0 { return true }
      from = at + 1
    }
    return false
  }
}

private func parseOverallLine(_ line: Substring) -> (unit: String, exposure: OverallExposure?)? {
  let marker = "Overall exposure level for "
  guard containsBytes(line, "Overall exposure level for "), let range = line.range(of: marker) else {
    return nil
  }
  let rest = line[range.upperBound...]
  guard let colon = rest.range(of: ": ", options: .backwards) else { return nil }
  let unit = String(rest[..<colon.lowerBound])
  let words = rest[colon.upperBound...].split(separator: " ")
  guard words.count >= 2, let exposure = Exposure(parsing: String(words[0])) else { return (unit, nil) }
  return (unit, OverallExposure(exposure: exposure, predicate: String(words[1])))
}
