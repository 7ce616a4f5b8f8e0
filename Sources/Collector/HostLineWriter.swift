import Foundation
import UnitModel

/// Writes one `hosts.jsonl` line for a host: the same bytes as `ScanCoding.lineEncoder` gives
/// (sorted keys, ISO 8601 dates, each distinct check once per host in `checkTable`; C1
/// controls and bidirectional overrides as `\u` escapes, see `JSONString`), but with the
/// services — nearly all of a line — written directly into a byte buffer: Foundation's
/// `JSONEncoder` builds a tree of boxed values per service first, which is most of the
/// collector's CPU on a large host. The host's own fields still go through the encoder, once
/// per host; a test holds whole lines, with every field of a service set, equal to the
/// encoder's.
public enum HostLineWriter {
  public static func line(_ report: HostReport) throws -> Data {
    let encoder = ScanCoding.lineEncoder
    func encodedWhole() throws -> Data {
      Data(JSONString.escapingInvisible(String(decoding: try encoder.encode(report), as: UTF8.self)).utf8)
    }
    // The services first: their checks number the host's distinct checks.
    var table = CheckTable()
    var order = CheckOrder()
    var services: [UInt8] = [UInt8(ascii: "[")]
    for (index, service) in report.services.enumerated() {
      if index > 0 { services.append(UInt8(ascii: ",")) }
      let checks = Self.checks(service.checks, order: &order, table: &table)
      Self.service(service, checks: checks, into: &services)
    }
    services.append(UInt8(ascii: "]"))
    // The rest of the host through the encoder, with no services, to fill in.
    var shell = report
    shell.services = []
    let encoded = Array(
      JSONString.escapingInvisible(String(decoding: try encoder.encode(shell), as: UTF8.self)).utf8)
    // Keys are sorted and every quote inside a string is escaped, so `"diagnostics":` and
    // `"services":[]` can only be the host's own members, in that order.
    guard let diagnostics = find(Array("\"diagnostics\":".utf8), in: encoded, from: 0),
      let slot = find(Array("\"services\":[]".utf8), in: encoded, from: diagnostics.upperBound)
    else { return try encodedWhole() }
    var out: [UInt8] = []
    out.reserveCapacity(encoded.count + services.count + table.checks.count * 150)
    out += encoded[..<diagnostics.lowerBound]
    if !table.checks.isEmpty {
      out.append(contentsOf: "\"checkTable\":[".utf8)
      for (offset, check) in table.checks.enumerated() {
        if offset > 0 { out.append(UInt8(ascii: ",")) }
        Self.check(check, into: &out)
      }
      out.append(contentsOf: "],".utf8)
    }
    out += encoded[diagnostics.lowerBound..<slot.lowerBound]
    out.append(contentsOf: "\"services\":".utf8)
    out += services
    out += encoded[slot.upperBound...]
    return Data(out)
  }

  /// One service as the encoder writes a `ServiceRecord` (members sorted, nil ones left out),
  /// with `checks` (see `checks(_:order:table:)`) as its checks.
  public static func service(_ service: ServiceRecord, checks: [UInt8], into out: inout [UInt8]) {
    out.append(UInt8(ascii: "{"))
    if let activeState = service.activeState { member("activeState", activeState, into: &out, first: true) }
    out.append(contentsOf: (service.activeState == nil ? "\"aliases\":" : ",\"aliases\":").utf8)
    service.aliases.appendJSON(to: &out)
    out.append(contentsOf: ",\"checks\":".utf8)
    out += checks
    if let description = service.description { member("description", description, into: &out) }
    out.append(contentsOf: ",\"directives\":".utf8)
    directives(service.directives, into: &out)
    member("dropInPaths", service.dropInPaths, into: &out)
    out.append(contentsOf: ",\"files\":[".utf8)
    for (offset, file) in service.files.enumerated() {
      out.append(contentsOf: (offset == 0 ? "{\"isDropIn\":" : ",{\"isDropIn\":").utf8)
      file.isDropIn.appendJSON(to: &out)
      member("origin", file.origin, into: &out)
      member("path", file.path, into: &out)
      out.append(UInt8(ascii: "}"))
    }
    out.append(UInt8(ascii: "]"))
    if let fragmentPath = service.fragmentPath { member("fragmentPath", fragmentPath, into: &out) }
    out.append(contentsOf: ",\"hardening\":".utf8)
    hardening(service.hardening.fields, into: &out)
    member("id", service.id, into: &out)
    member("loadState", service.loadState, into: &out)
    if let overall = service.overall {
      out.append(contentsOf: ",\"overall\":{\"exposure\":".utf8)
      out.append(contentsOf: number(overall.exposure).utf8)
      member("predicate", overall.predicate, into: &out)
      out.append(UInt8(ascii: "}"))
    }
    if let sourcePath = service.sourcePath { member("sourcePath", sourcePath, into: &out) }
    if let subState = service.subState { member("subState", subState, into: &out) }
    if let type = service.type { member("type", type, into: &out) }
    if let unitFileState = service.unitFileState { member("unitFileState", unitFileState, into: &out) }
    out.append(UInt8(ascii: "}"))
  }

  /// The hardening settings, keyed by directive name in sorted order, each
  /// `{"impliedBy":…,"source":{…},"value":…,"variant":…}`. The fields come typed, one call
  /// per directive of the table (`HardeningSettings.Fields.visit`, generated from
  /// Directives.table), in the order the encoder sorts the keys.
  static func hardening(_ fields: HardeningSettings.Fields, into out: inout [UInt8]) {
    var writer = SettingWriter(out: out)
    out = []
    writer.out.append(UInt8(ascii: "{"))
    fields.visit(&writer)
    writer.out.append(UInt8(ascii: "}"))
    out = writer.out
  }

  /// Writes each setting it visits as one member of the `hardening` object.
  struct SettingWriter: SettingVisitor {
    var out: [UInt8]
    var first = true

    mutating func visit(_ name: StaticString, _ setting: Setting<Bool>?) { write(name, setting) }
    mutating func visit(_ name: StaticString, _ setting: Setting<String>?) { write(name, setting) }
    mutating func visit(_ name: StaticString, _ setting: Setting<[String]>?) { write(name, setting) }
    mutating func visit(_ name: StaticString, _ setting: Setting<FilterList>?) { write(name, setting) }
    mutating func visit<Choice: RawRepresentable & Codable & Sendable & Hashable>(
      _ name: StaticString, _ setting: Setting<Choice>?
    ) where Choice.RawValue == String {
      write(name, setting?.word)
    }

    mutating func write<Value: LineJSON>(_ name: StaticString, _ setting: Setting<Value>?) {
      guard let setting else { return }
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      out.append(UInt8(ascii: "\""))
      name.withUTF8Buffer { out.append(contentsOf: $0) }
      out.append(contentsOf: "\":{".utf8)
      if let impliedBy = setting.impliedBy {
        member("impliedBy", impliedBy, into: &out, first: true)
        out.append(UInt8(ascii: ","))
      }
      if let source = setting.source {
        out.append(contentsOf: "\"source\":{\"file\":".utf8)
        JSONString.append(source.file, to: &out)
        out.append(contentsOf: ",\"line\":".utf8)
        out.append(contentsOf: String(source.line).utf8)
        member("origin", source.origin, into: &out)
        out.append(contentsOf: "},".utf8)
      }
      out.append(contentsOf: "\"value\":".utf8)
      setting.value.appendJSON(to: &out)
      if let variant = setting.variant { member("variant", variant, into: &out) }
      out.append(UInt8(ascii: "}"))
    }
  }

  /// `,"KEY":VALUE` (no comma when `first`).
  fileprivate static func member(
    _ key: StaticString, _ value: some LineJSON, into out: inout [UInt8], first: Bool = false
  ) {
    out.append(contentsOf: (first ? "\"" : ",\"").utf8)
    key.withUTF8Buffer { out.append(contentsOf: $0) }
    out.append(contentsOf: "\":".utf8)
    value.appendJSON(to: &out)
  }

  /// The check fields of the service before, each with its JSON key (`"FIELD":`), and
  /// the check it had there with that check's number.
  public struct CheckOrder {
    var fields: [String] = []
    var keys: [[UInt8]] = []
    var previous: [(check: SecurityCheck, number: Int)?] = []
    public init() {}
  }

  /// `{"FIELD":N,…}`, keys sorted; N is the check's number in `table`. `order` carries the
  /// fields from one service to the next: services mostly have the same checks (often the
  /// same array of fields, which the parser shares), so the keys are written out only when
  /// the fields change, and a check equal to the previous service's at the same field (a
  /// comparison, mostly of shared strings) takes its number without a look-up in `table`.
  public static func checks(
    _ checks: SecurityChecks, order: inout CheckOrder, table: inout CheckTable
  ) -> [UInt8] {
    if order.fields != checks.keys {
      order.fields = checks.keys
      order.keys = order.fields.map { field in
        var key: [UInt8] = []
        JSONString.append(field, to: &key)
        key.append(UInt8(ascii: ":"))
        return key
      }
      order.previous = Array(repeating: nil, count: order.fields.count)
    }
    var out: [UInt8] = [UInt8(ascii: "{")]
    out.reserveCapacity(checks.count * 40)
    for (offset, check) in checks.values.enumerated() {
      if offset > 0 { out.append(UInt8(ascii: ",")) }
      out += order.keys[offset]
      let number: Int
      if let previous = order.previous[offset], previous.check == check {
        number = previous.number
      } else {
        number = table.number(of: check)
        order.previous[offset] = (check, number)
      }
      appendDecimal(number, to: &out)
    }
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// A non-negative integer's decimal digits.
  static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    guard value >= 10 else {
      out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: max(0, value)))
      return
    }
    appendDecimal(value / 10, to: &out)
    out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
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

/// A value as `ScanCoding.lineEncoder` writes it.
protocol LineJSON {
  func appendJSON(to out: inout [UInt8])
}

extension String: LineJSON {
  func appendJSON(to out: inout [UInt8]) { JSONString.append(self, to: &out) }
}

extension Bool: LineJSON {
  func appendJSON(to out: inout [UInt8]) { out.append(contentsOf: (self ? "true" : "false").utf8) }
}

extension Array: LineJSON where Element == String {
  func appendJSON(to out: inout [UInt8]) {
    out.append(UInt8(ascii: "["))
    for (offset, item) in enumerated() {
      if offset > 0 { out.append(UInt8(ascii: ",")) }
      JSONString.append(item, to: &out)
    }
    out.append(UInt8(ascii: "]"))
  }
}

extension LineJSON where Self: RawRepresentable, RawValue == String {
  func appendJSON(to out: inout [UInt8]) { JSONString.append(rawValue, to: &out) }
}

extension FileOrigin: LineJSON {}
extension FilterList.Mode: LineJSON {}

extension FilterList: LineJSON {
  func appendJSON(to out: inout [UInt8]) {
    out.append(contentsOf: "{\"entries\":".utf8)
    entries.appendJSON(to: &out)
    out.append(contentsOf: ",\"mode\":".utf8)
    mode.appendJSON(to: &out)
    out.append(UInt8(ascii: "}"))
  }
}
