/// An exposure score from `systemd-analyze security`: 0.0 (best) to 10.0 (worst), one decimal.
///
/// Stored as tenths so that comparisons and medians are exact.
public struct Exposure: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
  public var tenths: Int

  public init(tenths: Int) { self.tenths = max(0, min(100, tenths)) }

  /// Parses systemd's decimal string (`"9.6"`, `"10.0"`, `"0"`): 0 to 10, at most one decimal.
  public init?(parsing text: String) {
    var whole = 0
    var digits = 0
    var tenth: Int?
    var afterPoint = false
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        let digit = Int(byte - UInt8(ascii: "0"))
        if afterPoint {
          guard tenth == nil else { return nil }
          tenth = digit
        } else {
          digits += 1
          guard digits <= 2 else { return nil }
          whole = whole * 10 + digit
        }
      case UInt8(ascii: ".") where !afterPoint && digits > 0:
        afterPoint = true
      default:
        return nil
      }
    }
    guard digits > 0, whole <= 10, !afterPoint || tenth != nil else { return nil }
    self.init(tenths: whole * 10 + (tenth ?? 0))
  }

  public var value: Double { Double(tenths) / 10 }
  public var description: String { "\(tenths / 10).\(tenths % 10)" }

  /// systemd's verdict for this score (`badness_table` in analyze-security.c).
  public var predicate: String {
    switch tenths {
    case 0: "PERFECT"
    case 1...9: "SAFE"
    case 10...49: "OK"
    case 50...74: "MEDIUM"
    case 75...89: "EXPOSED"
    case 90...99: "UNSAFE"
    default: "DANGEROUS"
    }
  }

  public static func < (lhs: Exposure, rhs: Exposure) -> Bool { lhs.tenths < rhs.tenths }

  /// A score given as a number, rounded to tenths and kept within 0–10 as `init(tenths:)`
  /// keeps it (clamped before it becomes an integer: `1e300` tenths do not fit in an `Int`);
  /// nil for NaN.
  public init?(value: Double) {
    guard !value.isNaN else { return nil }
    self.init(tenths: Int((min(max(value, 0), 10) * 10).rounded()))
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    guard let exposure = Exposure(value: try container.decode(Double.self)) else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "an exposure is not a number")
    }
    self = exposure
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(value)
  }
}

extension Exposure {
  /// systemd's overall exposure from the checks' grades (analyze-security.c, `assess()`):
  /// ⌈100 · Σ⌈badness · weight / range⌉ / Σ weight⌉ tenths over the checks that apply; nil
  /// when none applies.
  public init?(grades: some Sequence<SecurityCheck.Grade>) {
    var points = 0
    var weights = 0
    for grade in grades {
      guard let added = grade.points else { continue }
      points += added
      weights += grade.weight
    }
    guard weights > 0 else { return nil }
    self.init(tenths: (points * 100 + weights - 1) / weights)
  }
}

/// The overall verdict on a service, as `systemd-analyze security` printed it.
public struct OverallExposure: Codable, Sendable, Hashable {
  public var exposure: Exposure
  /// `PERFECT`, `SAFE`, `OK`, `MEDIUM`, `EXPOSED`, `UNSAFE` or `DANGEROUS`.
  public var predicate: String

  public init(exposure: Exposure, predicate: String) {
    self.exposure = exposure
    self.predicate = predicate
  }
}

/// One row of `systemd-analyze security` for one service, keyed elsewhere by `json_field`.
public struct SecurityCheck: Codable, Sendable, Hashable {
  /// The directive as systemd names it (`User=/DynamicUser=`, `CapabilityBoundingSet=~CAP_SYS_TIME`).
  public var name: String
  public var description: String
  /// true: the hardening is in place; false: it is not; nil: not applicable to this service.
  public var set: Bool?
  /// The weight this check adds, or nil when it adds nothing.
  public var exposure: Exposure?
  /// systemd's grading of the check, as `SYSTEMD_ANALYZE_DEBUG=1` prints it (probe 2 on; nil
  /// in older scans): the check's weight, its range, and its badness from 0 (good) to the
  /// range, nil where the check does not apply. The overall exposure is
  /// ⌈100 · Σ⌈badness · weight / range⌉ / Σ weight⌉ tenths over the checks that apply.
  public var grade: Grade?

  public struct Grade: Codable, Sendable, Hashable {
    public var weight: Int
    public var range: Int
    public var badness: Int?

    public init(weight: Int, range: Int, badness: Int?) {
      self.weight = weight
      self.range = range
      self.badness = badness
    }

    /// What the check adds to the sum the overall exposure is made of:
    /// ⌈badness · weight / range⌉; nil where it does not apply.
    public var points: Int? {
      guard let badness, range > 0 else { return nil }
      return (badness * weight + range - 1) / range
    }
  }

  public init(name: String, description: String, set: Bool?, exposure: Exposure?, grade: Grade? = nil) {
    self.name = name
    self.description = description
    self.set = set
    self.exposure = exposure
    self.grade = grade
  }

  enum CodingKeys: String, CodingKey {
    case name, description, set, exposure, weight, range, badness
  }

  /// Hashes the name, set and exposure: what tells checks apart, without the longer
  /// description (a scan database numbers checks through a table keyed by them); equality
  /// still compares every field.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(name)
    hasher.combine(set)
    hasher.combine(exposure)
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    var grade: Grade?
    if let weight = try container.decodeIfPresent(Int.self, forKey: .weight),
      let range = try container.decodeIfPresent(Int.self, forKey: .range)
    {
      grade = Grade(
        weight: weight, range: range, badness: try container.decodeIfPresent(Int.self, forKey: .badness))
    }
    self.init(
      name: try container.decode(String.self, forKey: .name),
      description: try container.decode(String.self, forKey: .description),
      set: try container.decodeIfPresent(Bool.self, forKey: .set),
      exposure: try container.decodeIfPresent(Exposure.self, forKey: .exposure), grade: grade)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(description, forKey: .description)
    try container.encodeIfPresent(set, forKey: .set)
    try container.encodeIfPresent(exposure, forKey: .exposure)
    if let grade {
      try container.encode(grade.weight, forKey: .weight)
      try container.encode(grade.range, forKey: .range)
      try container.encodeIfPresent(grade.badness, forKey: .badness)
    }
  }
}

/// How much of `systemd-analyze security` a host's systemd can give.
public enum SecurityAnalysisSupport: String, Codable, Sendable {
  /// systemd ≥ 250: `--json=short`.
  case json
  /// systemd 240–249: the text table only.
  case text
  /// systemd < 240: no `security` verb; directive coverage from unit files still works.
  case none
}
