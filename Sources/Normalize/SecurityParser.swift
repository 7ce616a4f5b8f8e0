import Foundation
import UnitModel

/// What `systemd-analyze security` said about the units it was given.
public struct SecurityAnalysis: Sendable, Hashable {
  public struct UnitResult: Sendable, Hashable {
    public var unit: String
    public var overall: OverallExposure?
    public var checks: [String: SecurityCheck]
  }

  /// One entry per analysed unit, in argument order; duplicates (a unit passed twice) merged.
  public var units: [String: UnitResult]
  /// Units systemd refused, with its reason (`not found`, `masked`, `not a service unit`).
  public var refused: [String: String]
  public var diagnostics: [Diagnostic]
}

/// Parses `systemd-analyze security --json=short U1 U2 …`: several JSON documents in a row,
/// one check array per analysed unit, then a summary array `[{unit, exposure, predicate}]` in
/// argument order; the i-th check array belongs to the i-th summary entry. Units that were
/// missing, masked or not services are named on stderr and left out; exit status 1 then
/// still comes with good data on stdout.
public func parseSecurityJSON(stdout: String, stderr: String) -> SecurityAnalysis {
  var diagnostics: [Diagnostic] = []
  let refused = parseSecurityRefusals(stderr)
  var arrays: [[JSONValue]] = []
  let bytes = Array(stdout.utf8)
  // The documents in a row; only when one is broken are they split apart first, so that the
  // good ones are still read.
  let documents: [JSONValue?]
  if let all = JSONValue.parseSequence(bytes) {
    documents = all
  } else {
    let split = splitJSONDocuments(bytes)
    documents = split.ranges.map { JSONValue.parse(bytes, in: $0) }
    if let trailing = split.trailing {
      diagnostics.append(
        Diagnostic(
          .error, code: "security.truncated-json",
          "the JSON output ends inside a document (\(trailing) bytes unread): output cut short",
          section: "security"))
    }
  }
  for (index, document) in documents.enumerated() {
    guard let object = document else {
      diagnostics.append(
        Diagnostic(
          .error, code: "security.invalid-json", "document \(index + 1) is not valid JSON; skipped",
          section: "security"))
      continue
    }
    guard let entries = object.array, entries.allSatisfy(\.isObject) else {
      diagnostics.append(
        Diagnostic(
          .error, code: "security.unexpected-json",
          "document \(index + 1) is not an array of objects; skipped",
          section: "security"))
      continue
    }
    arrays.append(entries)
  }

  // The summary is the last array whose entries name units; every other array holds checks.
  var summary: [JSONValue] = []
  if let last = arrays.last, last.isEmpty || last.allSatisfy({ $0["unit"]?.string != nil }) {
    summary = last
    arrays.removeLast()
  }
  if summary.count != arrays.count {
    diagnostics.append(
      Diagnostic(
        .error, code: "security.count-mismatch",
        "\(arrays.count) check arrays but \(summary.count) summary entries; exposures kept only where they pair up",
        section: "security"))
  }

  var units: [String: SecurityAnalysis.UnitResult] = [:]
  for (index, entry) in summary.enumerated() {
    guard let unit = entry["unit"]?.string else { continue }
    var overall: OverallExposure?
    if let text = entry["exposure"]?.string, let exposure = Exposure(parsing: text) {
      overall = OverallExposure(
        exposure: exposure, predicate: entry["predicate"]?.string ?? exposure.predicate)
    } else {
      diagnostics.append(
        Diagnostic(
          .warning, code: "security.bad-exposure", "summary has no readable exposure", section: "security",
          unit: unit))
    }
    var checks: [String: SecurityCheck] = [:]
    if index < arrays.count, summary.count == arrays.count {
      checks = decodeChecks(arrays[index], unit: unit, diagnostics: &diagnostics)
    }
    units[unit] = SecurityAnalysis.UnitResult(unit: unit, overall: overall, checks: checks)
  }
  return SecurityAnalysis(units: units, refused: refused, diagnostics: diagnostics)
}

private func decodeChecks(
  _ entries: [JSONValue], unit: String, diagnostics: inout [Diagnostic]
) -> [String: SecurityCheck] {
  var checks: [String: SecurityCheck] = [:]
  for entry in entries {
    guard let field = entry["json_field"]?.string, !field.isEmpty else {
      diagnostics.append(
        Diagnostic(
          .warning, code: "security.check-without-field", "a check has no json_field; skipped",
          section: "security", unit: unit))
      continue
    }
    if knownSecurityChecks[field] == nil {
      diagnostics.append(
        Diagnostic(
          .note, code: "security.unknown-field",
          "unknown check '\(field)' (newer systemd?); kept as reported",
          section: "security", unit: unit))
    }
    var exposure: Exposure?
    if let text = entry["exposure"]?.string {
      exposure = Exposure(parsing: text)
      if exposure == nil {
        diagnostics.append(
          Diagnostic(
            .warning, code: "security.bad-exposure", "check \(field) has exposure '\(text.prefix(20))'",
            section: "security", unit: unit))
      }
    }
    checks[field] = SecurityCheck(
      name: entry["name"]?.string ?? field, description: entry["description"]?.string ?? "",
      set: entry["set"]?.bool, exposure: exposure)
  }
  return checks
}

/// Reads systemd-analyze's per-unit refusals from stderr.
func parseSecurityRefusals(_ stderr: String) -> [String: String] {
  var refused: [String: String] = [:]
  let patterns: [(suffix: String, reason: String)] = [
    (" not found, cannot analyze.", "not found"),
    (" is masked, cannot analyze.", "masked"),
    (" is not a service unit, refusing.", "not a service unit"),
  ]
  for line in stderr.split(whereSeparator: \.isNewline) where line.hasPrefix("Unit ") {
    for pattern in patterns where line.hasSuffix(pattern.suffix) {
      refused[String(line.dropFirst(5).dropLast(pattern.suffix.count))] = pattern.reason
    }
  }
  return refused
}

/// Splits concatenated JSON documents (`[…]\n\n[…]`): tracks nesting, strings and escapes,
/// and returns each top-level value's text. `trailing` counts the bytes of an unfinished one.
public func splitJSONDocuments(_ text: String) -> (documents: [String], trailing: Int?) {
  let bytes = Array(text.utf8)
  let split = splitJSONDocuments(bytes)
  return (split.ranges.map { String(decoding: bytes[$0], as: UTF8.self) }, split.trailing)
}

/// `splitJSONDocuments` over bytes: each top-level value as a range of `bytes`.
public func splitJSONDocuments(_ bytes: [UInt8]) -> (ranges: [Range<Int>], trailing: Int?) {
  var ranges: [Range<Int>] = []
  var depth = 0
  var inString = false
  var escaped = false
  var start: Int?
  for index in bytes.indices {
    let byte = bytes[index]
    if inString {
      if escaped {
        escaped = false
      } else if byte == UInt8(ascii: "\\") {
        escaped = true
      } else if byte == UInt8(ascii: "\"") {
        inString = false
      }
      continue
    }
    switch byte {
    case UInt8(ascii: "["), UInt8(ascii: "{"):
      if depth == 0 { start = index }
      depth += 1
    case UInt8(ascii: "]"), UInt8(ascii: "}"):
      if depth > 0 {
        depth -= 1
        if depth == 0, let begin = start {
          ranges.append(begin..<index + 1)
          start = nil
        }
      }
    case UInt8(ascii: "\""):
      if depth > 0 { inString = true }
    default:
      break
    }
  }
  return (ranges, start.map { bytes.count - $0 })
}

/// Parses the text form (`systemd-analyze security U1 U2 …` on systemd 240–249, or any
/// version with `--json=off`): per unit a table of checks, then
/// `→ Overall exposure level for U: 9.6 UNSAFE :-{` (`->` with LANG=C). Rows are keyed by
/// `json_field` through `knownSecurityChecks`.
public func parseSecurityText(stdout: String, stderr: String) -> SecurityAnalysis {
  var diagnostics: [Diagnostic] = []
  var units: [String: SecurityAnalysis.UnitResult] = [:]
  var checks: [String: SecurityCheck] = [:]
  var columns: (description: Int, exposure: Int)?
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
    if let last = words.last, let value = Exposure(parsing: String(last)), rest.hasSuffix(last) {
      exposure = value
      words.removeLast()
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
      name: String(name), description: words.joined(separator: " "), set: set, exposure: exposure)
  }
  if !checks.isEmpty {
    diagnostics.append(
      Diagnostic(
        .warning, code: "security.truncated-text", "a check table without its overall line; ignored",
        section: "security-text"))
  }
  return SecurityAnalysis(units: units, refused: parseSecurityRefusals(stderr), diagnostics: diagnostics)
}

private func headerColumns(_ line: [Character]) -> (description: Int, exposure: Int)? {
  let text = String(line)
  guard text.trimmingWhitespace().hasPrefix("NAME"), let desc = text.range(of: "DESCRIPTION"),
    let exp = text.range(of: "EXPOSURE")
  else { return nil }
  return (
    text.distance(from: text.startIndex, to: desc.lowerBound),
    text.distance(from: text.startIndex, to: exp.lowerBound)
  )
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
