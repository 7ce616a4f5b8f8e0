import Foundation
import UnitModel

/// Writes one `hosts.jsonl` line for a host: the same JSON as `ScanCoding.lineEncoder` gives
/// (sorted keys, ISO 8601 dates), but with the bulk of it — each service's security checks
/// and directives, about 95% of the bytes — written directly instead of through Foundation's
/// `JSONEncoder`, which costs ~90 ms for a 100-service host. Everything else still goes
/// through the encoder, so the two cannot drift apart on the small parts; a test holds the
/// whole line equal to the encoder's.
public enum HostLineWriter {
  public static func line(_ report: HostReport) throws -> Data {
    let encoder = ScanCoding.lineEncoder
    // The host without its services, then each service without checks and directives.
    var shell = report
    shell.services = []
    var text = String(decoding: try encoder.encode(shell), as: UTF8.self)
    let marker = "\"services\":[]"
    guard let slot = text.range(of: marker) else { return try encoder.encode(report) }
    var services = "\"services\":["
    for (index, service) in report.services.enumerated() {
      var bare = service
      bare.checks = [:]
      bare.directives = []
      var json = String(decoding: try encoder.encode(bare), as: UTF8.self)
      guard let checks = json.range(of: "\"checks\":{}") else { return try encoder.encode(report) }
      json.replaceSubrange(checks, with: "\"checks\":" + Self.checks(service.checks))
      guard let directives = json.range(of: "\"directives\":[]") else { return try encoder.encode(report) }
      json.replaceSubrange(directives, with: "\"directives\":" + Self.directives(service.directives))
      services += (index == 0 ? "" : ",") + json
    }
    text.replaceSubrange(slot, with: services + "]")
    return Data(text.utf8)
  }

  /// `{"FIELD":{"description":…,"exposure":…,"name":…,"set":…},…}`, keys sorted.
  public static func checks(_ checks: [String: SecurityCheck]) -> String {
    var out = "{"
    out.reserveCapacity(checks.count * 160)
    var first = true
    for field in checks.keys.sorted() {
      guard let check = checks[field] else { continue }
      if !first { out += "," }
      first = false
      append(field, to: &out)
      out += ":{\"description\":"
      append(check.description, to: &out)
      if let exposure = check.exposure {
        out += ",\"exposure\":"
        out += number(exposure)
      }
      out += ",\"name\":"
      append(check.name, to: &out)
      if let set = check.set { out += set ? ",\"set\":true" : ",\"set\":false" }
      out += "}"
    }
    return out + "}"
  }

  /// `[{"key":…,"section":…,"source":{"file":…,"line":…,"origin":…},"value":…},…]`
  public static func directives(_ directives: [Directive]) -> String {
    var out = "["
    out.reserveCapacity(directives.count * 140)
    for (offset, directive) in directives.enumerated() {
      out += offset == 0 ? "{\"key\":" : ",{\"key\":"
      append(directive.key, to: &out)
      out += ",\"section\":"
      append(directive.section, to: &out)
      out += ",\"source\":{\"file\":"
      append(directive.source.file, to: &out)
      out += ",\"line\":"
      out += String(directive.source.line)
      out += ",\"origin\":\""
      out += directive.source.origin.rawValue
      out += "\"},\"value\":"
      append(directive.value, to: &out)
      out += "}"
    }
    return out + "]"
  }

  /// An exposure as JSONEncoder writes the Double (`9.6`, `10`, `0.1`).
  static func number(_ exposure: Exposure) -> String {
    exposure.tenths % 10 == 0 ? String(exposure.tenths / 10) : exposure.description
  }

  static func append(_ value: String, to out: inout String) { JSONString.append(value, to: &out) }
}
