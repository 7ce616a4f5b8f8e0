import Foundation
import UnitModel

/// A baseline as a policy file for `systemd-analyze security --security-policy=FILE`
/// (systemd 250 and later): every check that assesses one of the required directives keeps
/// systemd's own weight and range, every other check gets weight 0, so systemd's exposure
/// counts only what the baseline asks for. Pure.
///
/// The file is a JSON object keyed by the checks' `json_field`s; systemd uses its built-in
/// values for whatever a check's object leaves out, and ignores fields it does not know, so
/// one file serves every version from 250 on.
public struct SecurityPolicy: Sendable, Hashable {
  /// The checks left at systemd's weight, by `json_field`.
  public var weighed: [String]
  /// The checks set to weight 0.
  public var ignored: [String]
  /// Required directives that no check of `systemd-analyze security` assesses (systemd's
  /// exposure cannot reflect them).
  public var unassessed: [HardeningDirective]

  /// The policy of `baseline`'s `required` sets over `checks` (every `json_field` unitaudit
  /// knows systemd to have).
  public init(baseline: Baseline, required: [String], checks: some Sequence<String>) {
    let directives = baseline.requirements(in: required).map(\.directive)
    let rows = directives.map { DirectiveTable.all[$0.index] }
    var weighed: [String] = []
    var ignored: [String] = []
    for field in Set(checks).sorted() {
      if rows.contains(where: { $0.assesses(field) }) { weighed.append(field) } else { ignored.append(field) }
    }
    self.weighed = weighed
    self.ignored = ignored
    unassessed = zip(directives, rows).filter { $1.checks.isEmpty }.map(\.0)
  }

  /// The policy file's text: `{"CHECK": {"weight": 0}, …}` for the checks ignored, and an
  /// empty object (systemd's own values) for those weighed, sorted by name.
  public var json: String {
    var entries: [(String, String)] = ignored.map { ($0, #"{ "weight": 0 }"#) }
    entries += weighed.map { ($0, "{ }") }
    let body = entries.sorted { $0.0 < $1.0 }.map { "  \(JSONString.quoted($0.0)): \($0.1)" }
    return "{\n" + body.joined(separator: ",\n") + "\n}\n"
  }
}
