/// A problem found while reading what a host sent: recorded on the host, never thrown.
///
/// A unit-file line we cannot parse, a truncated section, an unknown `json_field`: each is
/// a value with a location, so a report can show it and a scan never stops for it.
public struct Diagnostic: Codable, Sendable, Hashable, CustomStringConvertible {
  public enum Severity: String, Codable, Sendable, Comparable {
    case note, warning, error

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
      let order: [Severity] = [.note, .warning, .error]
      return (order.firstIndex(of: lhs) ?? 0) < (order.firstIndex(of: rhs) ?? 0)
    }
  }

  public var severity: Severity
  /// A short stable identifier (`cat.unparsable-line`, `security.invalid-json`, …).
  public var code: String
  public var message: String
  /// The probe section it came from (`cat`, `security`, …), if any.
  public var section: String?
  public var unit: String?
  public var file: String?
  public var line: Int?

  public init(
    _ severity: Severity, code: String, _ message: String, section: String? = nil,
    unit: String? = nil, file: String? = nil, line: Int? = nil
  ) {
    self.severity = severity
    self.code = code
    self.message = message
    self.section = section
    self.unit = unit
    self.file = file
    self.line = line
  }

  public var description: String {
    var location: [String] = []
    if let section { location.append("[\(section)]") }
    if let unit { location.append(unit) }
    if let file { location.append(line.map { "\(file):\($0)" } ?? file) }
    let prefix = location.isEmpty ? "" : location.joined(separator: " ") + ": "
    return "\(severity.rawValue): \(prefix)\(message) (\(code))"
  }
}
