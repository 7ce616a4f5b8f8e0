import Foundation
import UnitModel

/// Writes one `hosts.jsonl` line for a host: the same bytes as `ScanCoding.lineEncoder` gives
/// (sorted keys, ISO 8601 dates, each distinct check once per host in `checkTable`; C1
/// controls and bidirectional overrides as `\u` escapes, see `JSONString`), but with the
/// bulk of it — each service's security checks and directives — written directly into a byte
/// buffer instead of through Foundation's `JSONEncoder`, which took ~90 ms for a 100-service
/// host. Everything else still goes through the encoder, once per host, so the two cannot
/// drift apart on the small parts; a test holds the whole line equal to the encoder's.
public enum HostLineWriter {
  public static func line(_ report: HostReport) throws -> Data {
    let encoder = ScanCoding.lineEncoder
    func encodedWhole() throws -> Data {
      Data(JSONString.escapingInvisible(String(decoding: try encoder.encode(report), as: UTF8.self)).utf8)
    }
    // The checks first: they number the host's distinct checks, which come before the services.
    var table = CheckTable()
    var order: [String] = []
    let checks = report.services.map { Self.checks($0.checks, order: &order, table: &table) }
    // The rest of the host through the encoder, with empty checks and directives to fill in.
    var shell = report
    for index in shell.services.indices {
      shell.services[index].checks = [:]
      shell.services[index].directives = []
    }
    let encoded = Array(
      JSONString.escapingInvisible(String(decoding: try encoder.encode(shell), as: UTF8.self)).utf8)
    // Keys are sorted and every quote inside a string is escaped, so `"checks":{}` can only be
    // a service's own (empty) member, met in service order, each before its `"directives":[]`.
    let checksMarker = Array("\"checks\":{}".utf8)
    let directivesMarker = Array("\"directives\":[]".utf8)
    let diagnosticsKey = Array("\"diagnostics\":".utf8)
    guard let diagnostics = find(diagnosticsKey, in: encoded, from: 0) else {
      return try encodedWhole()
    }
    var out: [UInt8] = []
    out.reserveCapacity(encoded.count + checks.reduce(0) { $0 + $1.count } + report.services.count * 2_000)
    out += encoded[..<diagnostics.lowerBound]
    if !table.checks.isEmpty {
      out.append(contentsOf: "\"checkTable\":[".utf8)
      for (offset, check) in table.checks.enumerated() {
        if offset > 0 { out.append(UInt8(ascii: ",")) }
        Self.check(check, into: &out)
      }
      out.append(contentsOf: "],".utf8)
    }
    var position = diagnostics.lowerBound
    for (index, service) in report.services.enumerated() {
      guard let checksSlot = find(checksMarker, in: encoded, from: position),
        let directivesSlot = find(directivesMarker, in: encoded, from: checksSlot.upperBound)
      else { return try encodedWhole() }
      out += encoded[position..<checksSlot.lowerBound]
      out.append(contentsOf: "\"checks\":".utf8)
      out += checks[index]
      out += encoded[checksSlot.upperBound..<directivesSlot.lowerBound]
      out.append(contentsOf: "\"directives\":".utf8)
      Self.directives(service.directives, into: &out)
      position = directivesSlot.upperBound
    }
    out += encoded[position...]
    return Data(out)
  }

  /// `{"FIELD":N,…}`, keys sorted; N is the check's number in `table`. `order` carries the
  /// sorted fields from one service to the next: services mostly have the same checks.
  public static func checks(
    _ checks: [String: SecurityCheck], order: inout [String], table: inout CheckTable
  ) -> [UInt8] {
    if order.count != checks.count || !order.allSatisfy({ checks[$0] != nil }) {
      order = checks.keys.sorted()
    }
    var out: [UInt8] = [UInt8(ascii: "{")]
    out.reserveCapacity(checks.count * 40)
    for field in order {
      guard let check = checks[field] else { continue }
      if out.count > 1 { out.append(UInt8(ascii: ",")) }
      JSONString.append(field, to: &out)
      out.append(UInt8(ascii: ":"))
      out.append(contentsOf: String(table.number(of: check)).utf8)
    }
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// `{"description":…,"exposure":…,"name":…,"set":…}`
  static func check(_ check: SecurityCheck, into out: inout [UInt8]) {
    out.append(contentsOf: "{\"description\":".utf8)
    JSONString.append(check.description, to: &out)
    if let exposure = check.exposure {
      out.append(contentsOf: ",\"exposure\":".utf8)
      out.append(contentsOf: number(exposure).utf8)
    }
    out.append(contentsOf: ",\"name\":".utf8)
    JSONString.append(check.name, to: &out)
    if let set = check.set { out.append(contentsOf: (set ? ",\"set\":true" : ",\"set\":false").utf8) }
    out.append(UInt8(ascii: "}"))
  }

  /// `[{"key":…,"section":…,"source":{"file":…,"line":…,"origin":…},"value":…},…]`
  public static func directives(_ directives: [Directive], into out: inout [UInt8]) {
    out.append(UInt8(ascii: "["))
    for (offset, directive) in directives.enumerated() {
      out.append(contentsOf: (offset == 0 ? "{\"key\":" : ",{\"key\":").utf8)
      JSONString.append(directive.key, to: &out)
      out.append(contentsOf: ",\"section\":".utf8)
      JSONString.append(directive.section, to: &out)
      out.append(contentsOf: ",\"source\":{\"file\":".utf8)
      JSONString.append(directive.source.file, to: &out)
      out.append(contentsOf: ",\"line\":".utf8)
      out.append(contentsOf: String(directive.source.line).utf8)
      out.append(contentsOf: ",\"origin\":\"".utf8)
      out.append(contentsOf: directive.source.origin.rawValue.utf8)
      out.append(contentsOf: "\"},\"value\":".utf8)
      JSONString.append(directive.value, to: &out)
      out.append(UInt8(ascii: "}"))
    }
    out.append(UInt8(ascii: "]"))
  }

  /// The first occurrence of `pattern` in `bytes` at or after `start`.
  static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Range<Int>? {
    guard let first = pattern.first, bytes.count >= pattern.count else { return nil }
    var index = start
    while index <= bytes.count - pattern.count {
      if bytes[index] == first, bytes[index..<index + pattern.count].elementsEqual(pattern) {
        return index..<index + pattern.count
      }
      index += 1
    }
    return nil
  }

  /// An exposure as JSONEncoder writes the Double (`9.6`, `10`, `0.1`).
  static func number(_ exposure: Exposure) -> String {
    exposure.tenths % 10 == 0 ? String(exposure.tenths / 10) : exposure.description
  }
}
