/// An exposure score from `systemd-analyze security`: 0.0 (best) to 10.0 (worst), one decimal.
///
/// Stored as tenths so that comparisons and medians are exact.
public struct Exposure: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
  public var tenths: Int

  public init(tenths: Int) { self.tenths = max(0, min(100, tenths)) }

  /// Parses systemd's decimal string (`"9.6"`, `"10.0"`).
  public init?(parsing text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let whole = Int(parts[0]), whole >= 0, whole <= 10 else {
      return nil
    }
    var frac = 0
    if parts.count == 2 {
      guard parts[1].count == 1, let f = Int(parts[1]) else { return nil }
      frac = f
    }
    self.init(tenths: whole * 10 + frac)
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

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let number = try container.decode(Double.self)
    self.init(tenths: Int((number * 10).rounded()))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(value)
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

  public init(name: String, description: String, set: Bool?, exposure: Exposure?) {
    self.name = name
    self.description = description
    self.set = set
    self.exposure = exposure
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
