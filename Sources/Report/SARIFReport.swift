import Coverage
import Foundation
import UnitModel

/// `check --sarif FILE`: the check's violations as SARIF 2.1.0, the form code-scanning
/// dashboards and DefectDojo import. One rule per requirement of the baseline (and one per
/// other kind of violation), one result per violation, located at the unit file and line
/// where the setting was set wrongly or would go, with the host in the result's properties.
/// Paths are relative to `ROOT` (`file:///`), so a repository that holds unit files at their
/// installed paths lines up with them. Pure.
public enum SARIFReport {
  public static let schema =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

  public static func json(
    _ results: CheckResults, requirements: [Requirement], toolVersion: String
  ) -> String {
    var rules: [Rule] = requirements.map { requirement in
      let spec = DirectiveTable.all[requirement.directive.index]
      var help = "\(results.baseline) requires \(requirement.summary) of each service it names."
      if let review = spec.review { help += " Before adding it, review: \(review)." }
      help += " See \(manPage(spec.name)) for \(spec.name)=."
      return Rule(
        id: spec.name, name: spec.name, shortDescription: .init(text: requirement.summary),
        fullDescription: .init(text: "\(spec.name)= as the baseline \(results.baseline) requires it"),
        help: .init(text: help), helpUri: manPageURL(spec.name),
        defaultConfiguration: .init(level: "error"), properties: .init(tags: ["security", "systemd"]))
    }
    let others: [(Violation.Kind, String, String)] = [
      (
        .exposure, "Exposure above the limit",
        "The service's overall systemd-analyze security exposure is above --max-exposure."
      ),
      (
        .notScanned, "Host not audited",
        "The host could not be audited: it was unreachable, refused the connection or key, or has no systemd."
      ),
      (
        .expiredWaiver, "Expired waiver",
        "A waiver of the baseline has expired: renew it with a reason, or fix the service."
      ),
      (
        .unsupported, "Unsupported by the host's systemd",
        "The host's systemd is too old for the requirement: no unit file change can meet it."
      ),
    ]
    for (kind, short, help) in others {
      rules.append(
        Rule(
          id: kind.rawValue, name: kind.rawValue, shortDescription: .init(text: short),
          fullDescription: .init(text: help), help: .init(text: help), helpUri: nil,
          defaultConfiguration: .init(level: kind == .unsupported ? "note" : "error"),
          properties: .init(tags: ["security", "systemd"])))
    }
    let index = Dictionary(
      rules.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })

    var out: [Result] = []
    let violations =
      results.hosts.flatMap { host -> [Violation] in
        (host.error.map { [$0] } ?? [])
          + host.cases.flatMap { testCase -> [Violation] in
            if case .failed(let violations) = testCase.outcome { return violations }
            return []
          }
      } + results.general
    for violation in violations {
      // A directive violation falls under its requirement's rule; every other kind, its own.
      let id =
        violation.kind == .directive
        ? violation.directive.map { DirectiveTable.all[$0.index].name } ?? violation.kind.rawValue
        : violation.kind.rawValue
      let locations = violation.location.map { location in
        [
          Location(
            physicalLocation: .init(
              artifactLocation: .init(uri: relative(location.file), uriBaseId: "ROOT"),
              region: .init(startLine: max(1, location.line))))
        ]
      }
      out.append(
        Result(
          ruleId: id, ruleIndex: index[id] ?? 0,
          level: violation.kind == .unsupported ? "note" : "error",
          message: .init(text: violation.description), locations: locations,
          partialFingerprints: [
            "unitaudit/v1": [violation.host ?? "", violation.service ?? "", id].joined(separator: "|")
          ],
          properties: .init(host: violation.host, service: violation.service, kind: violation.kind.rawValue)))
    }
    let log = Log(
      schema: schema, version: "2.1.0",
      runs: [
        Run(
          tool: .init(
            driver: .init(
              name: "unitaudit", version: toolVersion, informationUri: nil, rules: rules)),
          originalUriBaseIds: ["ROOT": .init(uri: "file:///")], results: out)
      ])
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(log) else { return "{}" }
    return JSONString.escapingInvisible(String(decoding: data, as: UTF8.self)) + "\n"
  }

  /// `/lib/systemd/system/x.service` → `lib/systemd/system/x.service`, relative to ROOT.
  static func relative(_ path: String) -> String {
    String(path.drop { $0 == "/" })
  }

  /// The man page that documents a directive.
  static func manPage(_ name: String) -> String {
    ["IPAddressDeny", "IPAddressAllow", "DevicePolicy", "DeviceAllow"].contains(name)
      ? "systemd.resource-control(5)" : "systemd.exec(5)"
  }

  static func manPageURL(_ name: String) -> String {
    let page =
      manPage(name).hasPrefix("systemd.resource-control") ? "systemd.resource-control" : "systemd.exec"
    return "https://www.freedesktop.org/software/systemd/man/\(page).html#\(name)="
  }

  struct Log: Encodable {
    var schema: String
    var version: String
    var runs: [Run]
    enum CodingKeys: String, CodingKey {
      case schema = "$schema"
      case version, runs
    }
  }

  struct Run: Encodable {
    var tool: Tool
    var originalUriBaseIds: [String: ArtifactLocation]
    var results: [Result]
  }

  struct Tool: Encodable {
    var driver: Driver
  }

  struct Driver: Encodable {
    var name: String
    var version: String
    var informationUri: String?
    var rules: [Rule]
  }

  struct Text: Encodable {
    var text: String
  }

  struct Rule: Encodable {
    var id: String
    var name: String
    var shortDescription: Text
    var fullDescription: Text
    var help: Text
    var helpUri: String?
    var defaultConfiguration: Configuration
    var properties: RuleProperties
  }

  struct Configuration: Encodable {
    var level: String
  }

  struct RuleProperties: Encodable {
    var tags: [String]
  }

  struct Result: Encodable {
    var ruleId: String
    var ruleIndex: Int
    var level: String
    var message: Text
    var locations: [Location]?
    var partialFingerprints: [String: String]
    var properties: ResultProperties
  }

  struct ResultProperties: Encodable {
    var host: String?
    var service: String?
    var kind: String
  }

  struct Location: Encodable {
    var physicalLocation: PhysicalLocation
  }

  struct PhysicalLocation: Encodable {
    var artifactLocation: ArtifactLocation
    var region: Region
  }

  struct ArtifactLocation: Encodable {
    var uri: String
    var uriBaseId: String?
  }

  struct Region: Encodable {
    var startLine: Int
  }
}
