import Coverage
import Foundation
import UnitModel

/// `check --sarif FILE`: the check's violations as SARIF 2.1.0, the form code-scanning
/// dashboards and DefectDojo import, held to GitHub code scanning's ingestion rules as well as
/// the OASIS schema. One rule per requirement of the baseline (and one per other kind of
/// violation); one result per finding at one place: a violation that many hosts share at the
/// same line of the same unit file is one result naming its hosts, and a host that could not
/// be audited is one result at the inventory line that names it. Every result has a location
/// (GitHub rejects a file with one that has none). Unit-file paths are relative to `ROOT`
/// (`file:///`), so a repository that holds unit files at their installed paths lines up with
/// them. Pure.
public enum SARIFReport {
  public static let schema =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

  /// The SARIF log of `results`: the rules, the violations grouped by finding and place, the
  /// most important first (and those past `limits.resultsPerRun` left out), each a result.
  public static func render(
    _ results: CheckResults, requirements: [Requirement], toolVersion: String,
    hostSources: [String: Provenance] = [:], limits: Limits = Limits()
  ) -> Document {
    let rules = rules(for: requirements, baseline: results.baseline)
    let index = Dictionary(
      rules.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
    let groups = groups(of: results, hostSources: hostSources)
    let kept = ordered(groups).prefix(limits.resultsPerRun)
    let out = resultsOf(kept, ruleIndex: index, limits: limits)
    let log = Log(
      schema: schema, version: "2.1.0",
      runs: [
        Run(
          tool: .init(
            driver: .init(
              name: "unitaudit", version: toolVersion, informationUri: nil, rules: rules)),
          originalUriBaseIds: ["ROOT": .init(uri: "file:///", uriBaseId: nil)], results: out,
          properties: groups.count > kept.count ? .init(omittedResults: groups.count - kept.count) : nil)
      ])
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(log) else {
      return Document(text: "{}", results: 0, omitted: groups.count)
    }
    return Document(
      text: JSONString.escapingInvisible(String(decoding: data, as: UTF8.self)) + "\n", results: out.count,
      omitted: groups.count - kept.count)
  }

  /// One rule per requirement of the baseline, then one per other kind of violation.
  static func rules(for requirements: [Requirement], baseline: String) -> [Rule] {
    var rules: [Rule] = requirements.map { requirement in
      let spec = DirectiveTable.all[requirement.directive.index]
      var help = "\(baseline) requires \(requirement.summary) of each service it names."
      if let review = spec.review { help += " Before adding it, review: \(review)." }
      help += " See \(manPage(spec.name)) for \(spec.name)=."
      return Rule(
        id: spec.name, name: spec.name, shortDescription: .init(text: requirement.summary),
        fullDescription: .init(text: "\(spec.name)= as the baseline \(baseline) requires it"),
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
    return rules
  }

  /// Every violation, grouped: a host-level result stays the host's own; the same finding at
  /// the same line of the same file is one group for every host that has it.
  static func groups(of results: CheckResults, hostSources: [String: Provenance]) -> [Group] {
    let violations =
      results.hosts.flatMap { host -> [Violation] in
        (host.error.map { [$0] } ?? [])
          + host.cases.flatMap { testCase -> [Violation] in
            if case .failed(let violations) = testCase.outcome { return violations }
            return []
          }
      } + results.general
    var groups: [Group] = []
    var groupOf: [GroupKey: Int] = [:]
    for violation in violations {
      // A directive violation falls under its requirement's rule; every other kind, its own.
      let id =
        violation.kind == .directive
        ? violation.directive.map { DirectiveTable.all[$0.index].name } ?? violation.kind.rawValue
        : violation.kind.rawValue
      let place = location(of: violation, hostSources: hostSources)
      let key = GroupKey(
        rule: id, uri: place.uri, line: place.line, service: violation.service ?? "",
        reason: violation.reason,
        host: violation.kind == .notScanned ? violation.host ?? "" : "", uriBaseId: place.base)
      if let at = groupOf[key] {
        if let host = violation.host { groups[at].hosts.append(host) }
      } else {
        groupOf[key] = groups.count
        groups.append(Group(key: key, violation: violation, hosts: violation.host.map { [$0] } ?? []))
      }
    }
    return groups
  }

  /// What GitHub shows first, and keeps when there are more results than it takes: errors,
  /// then notes; within a level, the findings on the most hosts.
  static func ordered(_ groups: [Group]) -> [Group] {
    groups.enumerated().sorted { a, b in
      let (la, lb) = (a.element.violation.kind == .unsupported, b.element.violation.kind == .unsupported)
      if la != lb { return !la }
      if a.element.hosts.count != b.element.hosts.count {
        return a.element.hosts.count > b.element.hosts.count
      }
      return a.offset < b.offset
    }.map(\.element)
  }

  /// Each group as a result: located, fingerprinted (a repeat of one identity numbered), and
  /// naming its first hosts.
  static func resultsOf(_ groups: ArraySlice<Group>, ruleIndex: [String: Int], limits: Limits) -> [Result] {
    var seen: [String: Int] = [:]
    return groups.map { group -> Result in
      let key = group.key
      let violation = group.violation
      var identity = [key.rule, key.service, key.uri].joined(separator: "|")
      if !key.host.isEmpty { identity += "|" + key.host }
      seen[identity, default: 0] += 1
      let occurrence = seen[identity] ?? 1
      let digest = String(FNV1a.hash(identity.utf8), radix: 16)
      let shown = group.hosts.prefix(limits.hostsListed)
      return Result(
        ruleId: key.rule, ruleIndex: ruleIndex[key.rule] ?? 0,
        level: violation.kind == .unsupported ? "note" : "error",
        message: .init(text: message(violation, hosts: group.hosts)),
        locations: [
          Location(
            physicalLocation: .init(
              artifactLocation: .init(uri: key.uri, uriBaseId: key.uriBaseId),
              region: .init(startLine: key.line)))
        ],
        partialFingerprints: [
          "primaryLocationLineHash": "\(digest):\(occurrence)",
          "unitaudit/v2": occurrence == 1 ? identity : "\(identity)#\(occurrence)",
        ],
        properties: .init(
          hosts: Array(shown), hostCount: group.hosts.count, service: violation.service,
          kind: violation.kind.rawValue))
    }
  }

  /// The SARIF text, how many results it holds, and how many it left out to stay within
  /// GitHub's limit on results per run (the least important: notes first, then the findings
  /// on the fewest hosts).
  public struct Document: Sendable {
    public var text: String
    public var results: Int
    public var omitted: Int
  }

  /// GitHub code scanning's limits on one upload (docs.github.com, "SARIF support for code
  /// scanning" and "SARIF results exceed limit"): a file over any of them is rejected whole.
  public struct Limits: Sendable {
    public var resultsPerRun = 25_000
    /// How many of a result's hosts its properties name (`hostCount` has them all), so that a
    /// finding on every host of a 10,000-host fleet stays a short result.
    public var hostsListed = 50
    public init() {}
  }

  /// Where a result points. A violation with a file (the unit file and line, the baseline's
  /// waiver) points there; a host that was not audited, or a unit with no file, points at the
  /// inventory line that names the host, and a host from `-H` or `--local` (no file names it)
  /// at `unitaudit-hosts/HOST`, line 1.
  static func location(of violation: Violation, hostSources: [String: Provenance]) -> (
    uri: String, line: Int, base: String?
  ) {
    if let place = violation.location ?? violation.host.flatMap({ hostSources[$0] }) {
      let absolute = place.file.hasPrefix("/")
      return (uriPath(relative(place.file)), max(1, place.line), absolute ? "ROOT" : nil)
    }
    return ("unitaudit-hosts/" + uriPath(violation.host ?? "unknown"), 1, nil)
  }

  /// The result's text: what is wrong and on which hosts (the first few by name).
  static func message(_ violation: Violation, hosts: [String]) -> String {
    let place = [violation.service, violation.directive?.rawValue].compactMap { $0 }.joined(separator: " ")
    let what = place.isEmpty ? violation.reason : "\(place): \(violation.reason)"
    switch hosts.count {
    case 0: return what
    case 1: return "\(hosts[0]): \(what)"
    case 2...3: return "\(what) (on \(hosts.joined(separator: ", ")))"
    default:
      return
        "\(what) (on \(hosts.count) hosts: \(hosts.prefix(3).joined(separator: ", ")) and \(hosts.count - 3) more)"
    }
  }

  /// A path as an RFC 3986 relative reference: characters a URI path may not hold
  /// (`\x2d` in escaped unit names, spaces, brackets, non-ASCII) percent-encoded, and `./`
  /// before a first segment with a colon, which would read as a scheme.
  static func uriPath(_ path: String) -> String {
    var out = ""
    for byte in path.utf8 {
      let c = Character(Unicode.Scalar(byte))
      if byte < 0x80 && (c.isLetter || c.isNumber || "-._~!$&'()*+,;=:@/".contains(c)) {
        out.append(c)
      } else {
        out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
      }
    }
    if let colon = out.firstIndex(of: ":"), !out[..<colon].contains("/") { out = "./" + out }
    return out
  }

  struct GroupKey: Hashable {
    var rule: String
    var uri: String
    var line: Int
    var service: String
    var reason: String
    var host: String
    var uriBaseId: String? = nil
  }

  struct Group {
    var key: GroupKey
    var violation: Violation
    var hosts: [String]
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
    var properties: RunProperties?
  }

  struct RunProperties: Encodable {
    var omittedResults: Int
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
    /// The hosts with this finding, the first `Limits.hostsListed` of them.
    var hosts: [String]
    var hostCount: Int
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
