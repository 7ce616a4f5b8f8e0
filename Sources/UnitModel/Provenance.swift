/// Where a unit file lives, which tells who wrote it.
///
/// Change owners care about *vendor* hardening (shipped by the package); an admin's
/// drop-in in `/etc` is a local override and must be visible as such.
public enum FileOrigin: String, Codable, Sendable, CaseIterable, Comparable {
  /// Shipped by a package: `/usr/lib/systemd/system`, `/lib/systemd/system`.
  case vendor
  /// Written by the local administrator: `/etc/systemd/system`, `/usr/local/lib/systemd/system`.
  case admin
  /// Volatile, under `/run/systemd/system` or `/run/systemd/transient`.
  case runtime
  /// Written by a generator at boot: `/run/systemd/generator*`.
  case generated
  /// Anything else (a path systemd was pointed at explicitly).
  case unknown

  /// Classifies an absolute unit-file path by its directory.
  public init(path: String) {
    let rules: [(prefix: String, origin: FileOrigin)] = [
      ("/run/systemd/generator", .generated),
      ("/run/systemd/", .runtime),
      ("/etc/systemd/", .admin),
      ("/usr/local/lib/systemd/", .admin),
      ("/usr/lib/systemd/", .vendor),
      ("/lib/systemd/", .vendor),
      ("/usr/share/systemd/", .vendor),
    ]
    self = rules.first { path.hasPrefix($0.prefix) }?.origin ?? .unknown
  }

  public static func < (lhs: FileOrigin, rhs: FileOrigin) -> Bool {
    let order = FileOrigin.allCases
    return (order.firstIndex(of: lhs) ?? 0) < (order.firstIndex(of: rhs) ?? 0)
  }

  /// True for files that are not the vendor's: an override a change owner did not ship.
  public var isOverride: Bool { self != .vendor }
}

/// The file and line that set a value.
public struct Provenance: Codable, Sendable, Hashable {
  public var file: String
  /// 1-based line of the assignment (its first physical line when continued).
  public var line: Int
  public var origin: FileOrigin

  public init(file: String, line: Int, origin: FileOrigin? = nil) {
    self.file = file
    self.line = line
    self.origin = origin ?? FileOrigin(path: file)
  }
}

/// One file that makes up a unit, in the order systemd applies them.
public struct UnitFileRef: Codable, Sendable, Hashable {
  public var path: String
  public var origin: FileOrigin
  /// The fragment (main unit file) or a drop-in.
  public var isDropIn: Bool

  public init(path: String, isDropIn: Bool) {
    self.path = path
    self.origin = FileOrigin(path: path)
    self.isDropIn = isDropIn
  }
}

/// One `Key=Value` assignment read from a unit file, exactly as written (prefixes and
/// specifiers kept verbatim; continuation lines joined the way systemd joins them).
public struct Directive: Codable, Sendable, Hashable {
  public var section: String
  public var key: String
  public var value: String
  public var source: Provenance

  public init(section: String, key: String, value: String, source: Provenance) {
    self.section = section
    self.key = key
    self.value = value
    self.source = source
  }
}
