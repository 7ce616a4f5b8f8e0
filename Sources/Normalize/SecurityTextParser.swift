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
  for rawLine in stdout.split(separator: "\n", omittingEmptySubsequences: false) {
    let line = Array(rawLine)
    if let overall = parseOverallLine(rawLine) {
      units[overall.unit] = SecurityAnalysis.UnitResult(
        unit: overall.unit, overall: overall.exposure, checks: checks)
      checks = [:]
      columns = nil
      continue
    }
    if let header = headerColumns(line) {
      columns = header
      continue
    }
    guard let columns, line.count > columns.description, !rawLine.trimmingWhitespace().isEmpty else {
      continue
    }
    let mark = line[0]
    let name = String(line[2..<min(columns.description, line.count)]).trimmingWhitespace()
    let rest = String(line[columns.description...])
    var words = rest.split(separator: " ", omittingEmptySubsequences: true)
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

private func headerColumns(_ line: [Character]) -> TextColumns? {
  let text = String(line)
  guard text.trimmingWhitespace().hasPrefix("NAME"), let desc = text.range(of: "DESCRIPTION"),
    text.range(of: "EXPOSURE") != nil
  else { return nil }
  return TextColumns(
    description: text.distance(from: text.startIndex, to: desc.lowerBound),
    graded: text.range(of: " WEIGHT ") != nil && text.range(of: " BADNESS ") != nil
      && text.range(of: " RANGE ") != nil)
}

private func parseOverallLine(_ line: Substring) -> (unit: String, exposure: OverallExposure?)? {
  let marker = "Overall exposure level for "
  guard let range = line.range(of: marker) else { return nil }
  let rest = line[range.upperBound...]
  guard let colon = rest.range(of: ": ", options: .backwards) else { return nil }
  let unit = String(rest[..<colon.lowerBound])
  let words = rest[colon.upperBound...].split(separator: " ")
  guard words.count >= 2, let exposure = Exposure(parsing: String(words[0])) else { return (unit, nil) }
  return (unit, OverallExposure(exposure: exposure, predicate: String(words[1])))
}
