import Foundation
import UnitModel

/// Parses the text form (`systemd-analyze security U1 U2 …` on systemd 240–249, or any
/// version with `--json=off`): per unit a table of checks, then
/// `→ Overall exposure level for U: 9.6 UNSAFE :-{` (`->` with LANG=C). Rows are keyed by
/// `json_field` through `knownSecurityChecks`.
public func parseSecurityText(stdout: String, stderr: String) -> SecurityAnalysis {
  var diagnostics: [Diagnostic] = []
  var tables: [(unit: String, overall: OverallExposure?, rows: [Int])] = []
  // Each distinct row is read once: systemd prints the same rows for unit after unit (about 80
  // a unit, a few hundred distinct on a host). A row's number is its place in `fields` and
  // `checks`; what it noted is noted again at each of its lines.
  var fields: [String] = []
  var checks: [SecurityCheck] = []
  var seen: [RowBytes: (number: Int, notes: [Diagnostic])] = [:]
  var rows: [Int] = []
  var columns: TextColumns?
  // The columns the rows in `seen` were read with.
  var seenColumns: TextColumns?
  // Lines are Substrings of the output, cut at line ends as systemd's own reader cuts them;
  // columns are found by Character offsets (the mark in the first column is one Character of
  // several bytes), walked in bytes where that is the same.
  for rawLine in textLines(stdout) {
    if containsBytes(rawLine, "Overall exposure level for "), let overall = parseOverallLine(rawLine) {
      tables.append((overall.unit, overall.exposure, rows))
      rows.removeAll(keepingCapacity: true)
      columns = nil
      continue
    }
    if containsBytes(rawLine, "DESCRIPTION"), let header = headerColumns(rawLine) {
      if header != seenColumns {
        seen = [:]
        seenColumns = header
      }
      columns = header
      continue
    }
    guard let columns else { continue }
    if let known = seen[RowBytes(line: rawLine)] {
      rows.append(known.number)
      diagnostics += known.notes
      continue
    }
    guard let row = parseRow(rawLine, columns) else { continue }
    seen[RowBytes(line: rawLine)] = (fields.count, row.notes)
    rows.append(fields.count)
    fields.append(row.field)
    checks.append(row.check)
    diagnostics += row.notes
  }
  if !rows.isEmpty {
    diagnostics.append(
      Diagnostic(
        .warning, code: "security.truncated-text", "a check table without its overall line; ignored",
        section: "security-text"))
  }
  var order = CheckFieldOrder(fields: fields, checks: checks)
  var units: [String: SecurityAnalysis.UnitResult] = [:]
  for table in tables {
    units[table.unit] = SecurityAnalysis.UnitResult(
      unit: table.unit, overall: table.overall, checks: order.checks(table.rows))
  }
  return SecurityAnalysis(units: units, refused: parseSecurityRefusals(stderr), diagnostics: diagnostics)
}

/// A line, hashed and compared by its bytes: a String's hash and equality work on its
/// Characters (normalizing every non-ASCII one; each row has its mark ✓ or ✗), and equal
/// Strings can differ in bytes, which the row's fields would keep.
private struct RowBytes: Hashable {
  let line: Substring

  static func == (left: RowBytes, right: RowBytes) -> Bool { left.line.utf8.elementsEqual(right.line.utf8) }

  func hash(into hasher: inout Hasher) {
    if line.utf8.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) })
      == nil
    {
      for byte in line.utf8 { hasher.combine(byte) }
    }
  }
}

/// One check row of a table: its field, its check and what it noted; nil for a line that is
/// not a row (blank, or shorter than the description column).
private func parseRow(_ rawLine: Substring, _ columns: TextColumns) -> (
  field: String, check: SecurityCheck, notes: [Diagnostic]
)? {
  guard let mark = rawLine.first, !rawLine.trimmingWhitespace().isEmpty,
    let descriptionStart = characterIndex(rawLine, offset: columns.description),
    descriptionStart != rawLine.endIndex
  else {
    return nil
  }
  var notes: [Diagnostic] = []
  let nameStart = min(characterIndex(rawLine, offset: 2) ?? descriptionStart, descriptionStart)
  let name = rawLine[nameStart..<descriptionStart].trimmingWhitespace()
  let rest = rawLine[descriptionStart...]
  // Words split at space bytes when the row is ASCII (a description always is); otherwise
  // at the Character " " (a space with a combining mark after it is another Character).
  var words: [String] =
    asciiWords(rest) ?? rest.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
  var exposure: Exposure?
  // The exposure always has a decimal point; the debug columns before it never do. It ends
  // the row: no space after it.
  if let last = words.last, last.utf8.contains(UInt8(ascii: ".")), let value = Exposure(parsing: last),
    rest.utf8.last != UInt8(ascii: " ")
  {
    exposure = value
    words.removeLast()
  }
  // With SYSTEMD_ANALYZE_DEBUG=1: WEIGHT BADNESS RANGE after the description.
  var grade: SecurityCheck.Grade?
  if columns.graded, words.count >= 3 {
    let numbers = words.suffix(3)
    grade = securityGrade(
      weight: numbers[numbers.startIndex], range: numbers[numbers.startIndex + 2],
      badness: numbers[numbers.startIndex + 1])
    if grade != nil {
      words.removeLast(3)
    } else {
      notes.append(
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
  let known = securityCheckFieldsByName[String(name)]
  if known == nil {
    notes.append(
      Diagnostic(
        .note, code: "security.unknown-field", "unknown check '\(name)' in the text table; kept by name",
        section: "security-text"))
  }
  return (
    known ?? String(name),
    SecurityCheck(
      name: String(name), description: words.joined(separator: " "), set: set, exposure: exposure,
      grade: grade),
    notes
  )
}

/// Where a text table's columns start: the description, and whether the debug columns
/// (WEIGHT, BADNESS, RANGE) follow it.
private struct TextColumns: Equatable {
  var description: Int
  var graded: Bool
}

private func headerColumns(_ line: Substring) -> TextColumns? {
  guard line.trimmingWhitespace().hasPrefix("NAME"), let desc = byteRange(of: "DESCRIPTION", in: line),
    byteRange(of: "EXPOSURE", in: line) != nil
  else { return nil }
  return TextColumns(
    description: line.distance(from: line.startIndex, to: desc.lowerBound),
    graded: byteRange(of: " WEIGHT ", in: line) != nil && byteRange(of: " BADNESS ", in: line) != nil
      && byteRange(of: " RANGE ", in: line) != nil)
}

/// The words of `text` split at spaces, when it is ASCII; nil otherwise.
private func asciiWords(_ text: Substring) -> [String]? {
  text.utf8.withContiguousStorageIfAvailable { bytes -> [String]? in
    var words: [String] = []
    var start = -1
    for at in 0..<bytes.count {
      let byte = bytes[at]
      if byte >= 0x80 { return nil }
      if byte == 0x20 {
        if start >= 0 {
          words.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self))
        }
        start = -1
      } else if start < 0 {
        start = at
      }
    }
    if start >= 0 {
      words.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self))
    }
    return words
  } ?? nil
}

/// The index `offset` Characters into `line`, nil past its end. Walked byte by byte while
/// each Character is one scalar that joins nothing (ASCII but a carriage return, or the
/// marks ✓ ✗ … systemd prints); the same index as the Character walk, without its grapheme
/// breaking; any other line is walked by Characters.
private func characterIndex(_ line: Substring, offset: Int) -> Substring.Index? {
  let beyond = -1
  let unsure = -2
  let position =
    line.utf8.withContiguousStorageIfAvailable { bytes -> Int in
      var position = 0
      for _ in 0..<offset {
        if position == bytes.count { return beyond }
        let length = plainScalarLength(bytes, at: position)
        if length == 0 { return unsure }
        position += length
      }
      // The last Character must not join the scalar after it.
      return position == bytes.count || plainScalarLength(bytes, at: position) > 0 ? position : unsure
    } ?? unsure
  switch position {
  case beyond: return nil
  case unsure: return line.index(line.startIndex, offsetBy: offset, limitedBy: line.endIndex)
  default: return line.utf8.index(line.utf8.startIndex, offsetBy: position)
  }
}

/// The length of the scalar at `position` when it is a Character by itself whatever follows
/// it (see `characterIndex`), else 0.
private func plainScalarLength(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Int {
  let lead = bytes[position]
  if lead < 0x80 { return lead == 0x0D ? 0 : 1 }
  guard lead == 0xE2, position + 2 < bytes.count else { return 0 }
  switch (bytes[position + 1], bytes[position + 2]) {
  case (0x9C, 0x93), (0x9C, 0x97), (0x80, 0xA6): return 3  // ✓ ✗ …
  default: return 0
  }
}

/// The first (or last) place `needle`'s bytes are in `line`. `needle` begins and ends with
/// ASCII, so the range's bounds fall between scalars.
private func byteRange(of needle: StaticString, in line: Substring, backwards: Bool = false)
  -> Range<Substring.Index>?
{
  let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
  let bytes = Array(line.utf8)
  guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
  let starts = 0...(bytes.count - pattern.count)
  let matches = { (start: Int) in bytes[start..<start + pattern.count].elementsEqual(pattern) }
  guard let start = backwards ? starts.reversed().first(where: matches) : starts.first(where: matches) else {
    return nil
  }
  let lower = line.utf8.index(line.utf8.startIndex, offsetBy: start)
  return lower..<line.utf8.index(lower, offsetBy: pattern.count)
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
  guard let range = byteRange(of: "Overall exposure level for ", in: line) else { return nil }
  let rest = line[range.upperBound...]
  guard let colon = byteRange(of: ": ", in: rest, backwards: true) else { return nil }
  let unit = String(rest[..<colon.lowerBound])
  let words = rest[colon.upperBound...].split(separator: " ")
  guard words.count >= 2, let exposure = Exposure(parsing: String(words[0])) else { return (unit, nil) }
  return (unit, OverallExposure(exposure: exposure, predicate: String(words[1])))
}
