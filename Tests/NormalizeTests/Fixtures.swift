import Foundation
import Normalize
import TestSupport
import UnitModel

/// Real outputs captured from booted systemd 252 hosts (copied from the project's shared
/// samples) and probe outputs recorded from the test fleet with Scripts/record-probe.
enum Fixture {
  static let root: URL = {
    guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
      fatalError("test fixtures missing from the bundle")
    }
    return url
  }()

  static func data(_ relative: String) throws -> Data {
    try Data(contentsOf: root.appendingPathComponent(relative))
  }

  static func text(_ relative: String) throws -> String {
    String(decoding: try data(relative), as: UTF8.self)
  }

  /// `samples/NAME.stdout` and `.stderr`.
  static func sample(_ name: String) throws -> (stdout: String, stderr: String) {
    (try text("samples/\(name).stdout"), try text("samples/\(name).stderr"))
  }

  /// A recorded probe run: evidence as the collector would have stored it.
  static func probe(_ host: String) throws -> HostEvidence {
    try RecordedProbe.read(root.appendingPathComponent("probe/\(host)"))
  }

  /// The host's own `systemd-analyze security --json=short` listing, recorded with the probe.
  static func analyzeListing(_ host: String) throws -> [(unit: String, exposure: String, predicate: String)] {
    let entries = try JSONDecoder().decode(
      [[String: String]].self, from: try data("probe/\(host)/analyze-all.json"))
    return entries.compactMap { entry in
      guard let unit = entry["unit"], let exposure = entry["exposure"], let predicate = entry["predicate"]
      else {
        return nil
      }
      return (unit, exposure, predicate)
    }
  }

  static func unitFile(_ path: String, _ body: String) -> UnitFileText {
    UnitFileText(path: path, lines: body.split(separator: "\n", omittingEmptySubsequences: false))
  }
}
