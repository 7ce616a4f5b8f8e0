import Foundation
import UnitModel

/// What `systemd-analyze security` said about the units it was given.
public struct SecurityAnalysis: Sendable, Hashable {
  public struct UnitResult: Sendable, Hashable {
    public var unit: String
    public var overall: OverallExposure?
    public var checks: SecurityChecks
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
  parseSecurityJSON(stdout: Array(stdout.utf8), stderr: stderr)
}

/// `parseSecurityJSON` over the output's bytes, as the probe received them: strings are
/// decoded one by one (invalid UTF-8 becomes U+FFFD there, as in the whole text), without
/// decoding and copying the megabyte first.
public func parseSecurityJSON(stdout bytes: [UInt8], stderr: String) -> SecurityAnalysis {
  var diagnostics: [Diagnostic] = []
  let refused = parseSecurityRefusals(stderr)
  var arrays: [[SecurityEntry]] = []
  // The usual output goes through SecurityDocumentReader; anything it does not expect, through
  // the general parser: the documents in a row, and only when one is broken are they split
  // apart first, so that the good ones are still read.
  let documents: [[SecurityEntry]?]
  var distinct: [DistinctCheck] = []
  if let read = SecurityDocumentReader.read(bytes) {
    documents = read.documents
    distinct = read.checks
  } else {
    let values: [JSONValue?]
    if let all = JSONValue.parseSequence(bytes) {
      values = all
    } else {
      let split = splitJSONDocuments(bytes)
      values = split.ranges.map { JSONValue.parse(bytes, in: $0) }
      if let trailing = split.trailing {
        diagnostics.append(
          Diagnostic(
            .error, code: "security.truncated-json",
            "the JSON output ends inside a document (\(trailing) bytes unread): output cut short",
            section: "security"))
      }
    }
    documents = values.map { value in
      // A document that is not an array becomes one non-object entry, refused below.
      value.map { $0.array?.map(SecurityEntry.value) ?? [.value(.null)] }
    }
  }
  for (index, document) in documents.enumerated() {
    guard let entries = document else {
      diagnostics.append(
        Diagnostic(
          .error, code: "security.invalid-json", "document \(index + 1) is not valid JSON; skipped",
          section: "security"))
      continue
    }
    guard entries.allSatisfy({ if case .value(let value) = $0 { value.isObject } else { true } }) else {
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
  var summary: [SecurityEntry] = []
  func value(_ entry: SecurityEntry) -> JSONValue {
    switch entry {
    case .check(let number): distinct[number].value
    case .value(let value): value
    }
  }
  if let last = arrays.last, last.isEmpty || last.allSatisfy({ value($0)["unit"]?.string != nil }) {
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
  var order = CheckFieldOrder(fields: distinct.map(\.field), checks: distinct.map(\.check))
  for (index, entry) in summary.enumerated() {
    let entry = value(entry)
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
    var checks: SecurityChecks = [:]
    if index < arrays.count, summary.count == arrays.count {
      let numbers = arrays[index].compactMap { entry in
        if case .check(let number) = entry { number } else { nil }
      }
      if numbers.count == arrays[index].count {
        checks = order.checks(numbers)
      } else {
        // Some check did not decode as usual: each one decoded here, with its notes.
        checks = SecurityChecks(
          arrays[index].compactMap { entry in
            switch entry {
            case .check(let number): (distinct[number].field, distinct[number].check)
            case .value(let value):
              decodeCheck(value, unit: unit, diagnostics: &diagnostics).map { ($0.field, $0.check) }
            }
          })
      }
    }
    units[unit] = SecurityAnalysis.UnitResult(unit: unit, overall: overall, checks: checks)
  }
  return SecurityAnalysis(units: units, refused: refused, diagnostics: diagnostics)
}

/// Puts each unit's checks in field order. systemd lists a unit's checks by exposure, so the
/// order differs from unit to unit; the fields of the host's distinct checks are ranked once
/// (a few hundred strings sorted), and each unit's checks are then sorted by those integers.
/// Units with the same fields (nearly all) share one array of them.
struct CheckFieldOrder {
  /// The rank of each distinct check's field among the host's fields.
  private let rank: [Int]
  /// The field of each rank.
  private let fields: [String]
  private var lastRanks: [Int] = []
  private var lastKeys: [String] = []
  /// The distinct checks, and the field of each.
  private let checks: [SecurityCheck]

  init(fields distinctFields: [String], checks: [SecurityCheck]) {
    self.checks = checks
    let sorted = distinctFields.indices.sorted { distinctFields[$0] < distinctFields[$1] }
    var rank = Array(repeating: 0, count: distinctFields.count)
    var fields: [String] = []
    for index in sorted {
      if fields.last != distinctFields[index] { fields.append(distinctFields[index]) }
      rank[index] = fields.count - 1
    }
    self.rank = rank
    self.fields = fields
  }

  /// The checks of one unit, given as numbers of distinct checks; of checks with the same
  /// field the last wins, as in `SecurityChecks(_:)`.
  mutating func checks(_ numbers: [Int]) -> SecurityChecks {
    let order = numbers.indices.sorted { a, b in
      let (left, right) = (rank[numbers[a]], rank[numbers[b]])
      return left != right ? left < right : a < b
    }
    var ranks: [Int] = []
    var values: [SecurityCheck] = []
    ranks.reserveCapacity(order.count)
    values.reserveCapacity(order.count)
    for (position, index) in order.enumerated() {
      if position + 1 < order.count, rank[numbers[order[position + 1]]] == rank[numbers[index]] { continue }
      ranks.append(rank[numbers[index]])
      values.append(checks[numbers[index]])
    }
    if ranks != lastRanks {
      lastRanks = ranks
      lastKeys = ranks.map { fields[$0] }
    }
    return SecurityChecks(sortedKeys: lastKeys, values: values)
  }
}

/// One element of a check array or of the summary: a check that decoded without a diagnostic
/// (its number among the reader's distinct checks), or any other value.
enum SecurityEntry {
  case check(Int)
  case value(JSONValue)
}

/// A check object as systemd printed it, and what it decoded to.
struct DistinctCheck {
  var value: JSONValue
  var field: String
  var check: SecurityCheck
}

/// Reads the documents of `systemd-analyze security --json=short`, each an array, and decodes
/// every distinct check object once: systemd prints the same check objects for unit after unit
/// (about 80 per unit, a few hundred distinct texts on a host), so an object whose bytes were
/// seen before takes the earlier result — its extent (`jsonContainerEnd`) and a hash of its
/// bytes are found, and its bytes compared, instead of building a JSON tree and decoding it
/// again.
/// Returns nil when anything is not as expected; the caller then reads document by document.
struct SecurityDocumentReader {
  private var parser: JSONValue.Parser
  private var seen: [UInt64: [(range: Range<Int>, entry: SecurityEntry)]] = [:]

  private var checks: [DistinctCheck] = []

  static func read(_ bytes: [UInt8]) -> (documents: [[SecurityEntry]], checks: [DistinctCheck])? {
    var reader = SecurityDocumentReader(parser: JSONValue.Parser(bytes: bytes, index: 0, end: bytes.count))
    var documents: [[SecurityEntry]] = []
    reader.parser.skipSpace()
    while reader.parser.index < reader.parser.end {
      guard let document = reader.array() else { return nil }
      documents.append(document)
      reader.parser.skipSpace()
    }
    return (documents, reader.checks)
  }

  private init(parser: JSONValue.Parser) {
    self.parser = parser
  }

  private mutating func array() -> [SecurityEntry]? {
    guard parser.bytes[parser.index] == UInt8(ascii: "[") else { return nil }
    parser.index += 1
    var entries: [SecurityEntry] = []
    parser.skipSpace()
    if parser.index < parser.end, parser.bytes[parser.index] == UInt8(ascii: "]") {
      parser.index += 1
      return entries
    }
    while true {
      parser.skipSpace()
      guard let entry = element() else { return nil }
      entries.append(entry)
      parser.skipSpace()
      guard parser.index < parser.end else { return nil }
      switch parser.bytes[parser.index] {
      case UInt8(ascii: ","): parser.index += 1
      case UInt8(ascii: "]"):
        parser.index += 1
        return entries
      default: return nil
      }
    }
  }

  private mutating func element() -> SecurityEntry? {
    let start = parser.index
    guard start < parser.end, parser.bytes[start] == UInt8(ascii: "{"),
      let end = jsonContainerEnd(parser.bytes, from: start, to: parser.end)
    else {
      return parser.value(depth: 1).map(SecurityEntry.value)
    }
    let hash = Self.hash(parser.bytes, start..<end)
    if let earlier = seen[hash]?.first(where: { Self.equal(parser.bytes, $0.range, start..<end) }) {
      parser.index = end
      return earlier.entry
    }
    guard let value = parser.value(depth: 1), parser.index == end else { return nil }
    var notes: [Diagnostic] = []
    // A check with something to say is decoded again for each unit, so each gets its note.
    var entry = SecurityEntry.value(value)
    if let decoded = decodeCheck(value, unit: "", diagnostics: &notes), notes.isEmpty {
      entry = .check(checks.count)
      checks.append(DistinctCheck(value: value, field: decoded.field, check: decoded.check))
    }
    seen[hash, default: []].append((start..<end, entry))
    return entry
  }

  /// A hash of `bytes[range]`, eight bytes at a time (for the table of objects seen, not for
  /// security).
  private static func hash(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
    bytes.withUnsafeBytes { buffer in
      var hash = UInt64(truncatingIfNeeded: range.count) &* 0x9E37_79B9_7F4A_7C15
      var offset = range.lowerBound
      while offset + 8 <= range.upperBound {
        hash = (hash ^ buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x100_0000_01B3
        hash ^= hash >> 29
        offset += 8
      }
      while offset < range.upperBound {
        hash = (hash ^ UInt64(buffer[offset])) &* 0x100_0000_01B3
        offset += 1
      }
      return hash
    }
  }

  private static func equal(_ bytes: [UInt8], _ a: Range<Int>, _ b: Range<Int>) -> Bool {
    guard a.count == b.count else { return false }
    return bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return a.isEmpty }
      return memcmp(base + a.lowerBound, base + b.lowerBound, a.count) == 0
    }
  }
}

/// One check object: its `json_field` and what it says; nil (with a warning) when it names no
/// field.
private func decodeCheck(
  _ entry: JSONValue, unit: String, diagnostics: inout [Diagnostic]
) -> (field: String, check: SecurityCheck)? {
  guard let field = entry["json_field"]?.string, !field.isEmpty else {
    diagnostics.append(
      Diagnostic(
        .warning, code: "security.check-without-field", "a check has no json_field; skipped",
        section: "security", unit: unit))
    return nil
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
  let grade = securityGrade(
    weight: entry["weight"]?.numberText, range: entry["range"]?.numberText,
    badness: entry["badness"]?.numberText)
  if grade == nil, entry["weight"] != nil || entry["badness"] != nil || entry["range"] != nil {
    diagnostics.append(
      Diagnostic(
        .warning, code: "security.bad-grade", "check \(field) has an unreadable weight, badness or range",
        section: "security", unit: unit))
  }
  let check = SecurityCheck(
    name: entry["name"]?.string ?? field, description: entry["description"]?.string ?? "",
    set: entry["set"]?.bool, exposure: exposure, grade: grade)
  return (field, check)
}

/// A check's grade from the numbers `SYSTEMD_ANALYZE_DEBUG=1` prints: weight and range are
/// positive, badness lies within the range, and systemd's "does not apply" (UINT64_MAX) is
/// nil. Nil when any is missing or out of those bounds.
func securityGrade(weight: String?, range: String?, badness: String?) -> SecurityCheck.Grade? {
  guard let weight = weight.flatMap({ Int($0) }), let range = range.flatMap({ Int($0) }), let badness,
    (0...1_000_000).contains(weight), (1...1_000).contains(range)
  else { return nil }
  if badness == "18446744073709551615" {
    return SecurityCheck.Grade(weight: weight, range: range, badness: nil)
  }
  guard let value = Int(badness), (0...range).contains(value) else { return nil }
  return SecurityCheck.Grade(weight: weight, range: range, badness: value)
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

/// Parses one `systemd-analyze security --offline=yes --json=short UNIT` run: one check array
/// and no summary (offline mode prints none). The overall exposure is systemd's own sum over
/// the checks' grades (`Exposure(grades:)`, which `SYSTEMD_ANALYZE_DEBUG=1` makes possible);
/// nil when the run graded nothing, with a diagnostic saying what systemd printed instead.
public func parseOfflineSecurityJSON(stdout bytes: [UInt8], stderr: String, unit: String, section: String)
  -> (
    result: SecurityAnalysis.UnitResult?, diagnostics: [Diagnostic]
  )
{
  var diagnostics: [Diagnostic] = []
  func refuse(_ why: String) -> (SecurityAnalysis.UnitResult?, [Diagnostic]) {
    let said = stderr.split(whereSeparator: \.isNewline).first.map { " (\($0.prefix(200)))" } ?? ""
    diagnostics.append(
      Diagnostic(.warning, code: "security.offline-unanalysed", why + said, section: section, unit: unit))
    return (nil, diagnostics)
  }
  guard let values = JSONValue.parseSequence(bytes) else { return refuse("the analysis is not valid JSON") }
  guard values.count == 1, let entries = values.first?.array, !entries.isEmpty else {
    return refuse("the analysis printed \(values.count) documents, not one array of checks")
  }
  var pairs: [(String, SecurityCheck)] = []
  for entry in entries {
    guard entry.isObject else { return refuse("the analysis holds something other than checks") }
    if let decoded = decodeCheck(entry, unit: unit, diagnostics: &diagnostics) {
      pairs.append((decoded.field, decoded.check))
    }
  }
  let checks = SecurityChecks(pairs)
  let grades = checks.compactMap(\.value.grade)
  let overall = Exposure(grades: grades).flatMap { exposure in
    grades.count == checks.count ? OverallExposure(exposure: exposure, predicate: exposure.predicate) : nil
  }
  if overall == nil {
    diagnostics.append(
      Diagnostic(
        .warning, code: "security.no-grades",
        "the checks carry no weights (SYSTEMD_ANALYZE_DEBUG unset?): no overall exposure", section: section,
        unit: unit))
  }
  return (SecurityAnalysis.UnitResult(unit: unit, overall: overall, checks: checks), diagnostics)
}
