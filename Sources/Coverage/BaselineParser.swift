import BoundedYAML
import UnitModel
import Yams

/// A problem in a baseline file, by file and line.
public struct BaselineError: Error, CustomStringConvertible, Sendable, Hashable {
  public var file: String
  public var line: Int?
  public var message: String

  public init(file: String, line: Int?, _ message: String) {
    self.file = file
    self.line = line
    self.message = message
  }

  public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// Reads a baseline from YAML text. Pure.
///
/// ```yaml
/// name: acme-2026
/// title: ACME service hardening policy
/// reference: https://wiki.example.com/hardening
/// provenance: Adopted by the security board on 2026-03-02; revised every quarter
/// version: "3"
/// sets:
///   core: [PrivateTmp, NoNewPrivileges, {ProtectSystem: [full, strict]}, User]
///   extended: [CapabilityBoundingSet, SystemCallFilter]
/// services:
///   - nginx.service
///   - name: chrony.service
///     not-applicable: { ProtectClock: chronyd sets the clock }
///   - name: debug-shell.service
///     exempt: an interactive root shell by design
///   - name: cups.service
///     owner: print-team
///     tracker: https://src.example.com/cups/pull/12
///     target: F42            # a day (2026-12-31) or a release below
///     note: waits for the upstream release
/// releases:
///   F42: 2025-04-15
/// waivers:
///   - { service: nginx.service, directive: PrivateNetwork, hosts: "web*",
///       reason: serves the network, owner: web-team, expires: 2027-01-31 }
/// ```
public enum BaselineParser {
  public static func parse(_ text: String, file: String) throws(BaselineError) -> Baseline {
    let root: Node?
    do {
      root = try BoundedYAML.compose(text)
    } catch let error as BoundedYAML.TooManyNodes {
      throw BaselineError(file: file, line: nil, "invalid baseline: \(error)")
    } catch let error as YamlError {
      throw BaselineError(file: file, line: yamlLine(error), "invalid YAML: \(yamlProblem(error))")
    } catch {
      throw BaselineError(file: file, line: nil, "invalid YAML: \(error)")
    }
    guard let top = root?.mapping else {
      throw BaselineError(file: file, line: root?.mark?.line, "a baseline is a mapping")
    }
    let reader = Reader(file: file)
    for (key, _) in top
    where !["name", "title", "reference", "provenance", "version", "sets", "services", "waivers", "releases"]
      .contains(
        key.string ?? "")
    {
      throw BaselineError(
        file: file, line: key.mark?.line,
        "unknown key '\(key.string ?? "")' (expected name, title, reference, provenance, version, sets, services, waivers, "
          + "releases)"
      )
    }
    let name = try reader.text(top["name"], "name", in: top)
    let title = try reader.text(top["title"], "title", in: top)
    let sets = try reader.sets(top["sets"], in: top)
    let releases = try reader.releases(top["releases"])
    let services = try reader.services(top["services"], in: top, releases: releases)
    let waivers = try reader.waivers(top["waivers"], services: services)
    return Baseline(
      name: name, title: title, reference: try reader.optionalText(top["reference"]),
      provenance: try reader.optionalText(top["provenance"]),
      version: try reader.optionalText(top["version"]), sets: sets, services: services, waivers: waivers,
      releases: releases)
  }

  static func yamlLine(_ error: YamlError) -> Int? {
    switch error {
    case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
    case .duplicatedKeysInMapping(_, let context): context.mark.line
    default: nil
    }
  }

  static func yamlProblem(_ error: YamlError) -> String {
    switch error {
    case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
      problem
    case .duplicatedKeysInMapping(let keys, _): "duplicate key \(keys.first.map { "'\($0)'" } ?? "")"
    default: "\(error)"
    }
  }

  struct Reader {
    let file: String

    func fail(_ node: Node?, _ message: String) -> BaselineError {
      BaselineError(file: file, line: node?.mark?.line, message)
    }

    func text(_ node: Node?, _ what: String, in parent: Node.Mapping) throws(BaselineError) -> String {
      guard let node else {
        throw BaselineError(file: file, line: parent.mark?.line, "'\(what)' is missing")
      }
      guard let scalar = node.scalar, !scalar.string.isEmpty else {
        throw fail(node, "'\(what)' must be text")
      }
      return scalar.string
    }

    func optionalText(_ node: Node?) throws(BaselineError) -> String? {
      guard let node else { return nil }
      guard let scalar = node.scalar else { throw fail(node, "expected text") }
      return scalar.string
    }

    func directive(_ node: Node) throws(BaselineError) -> HardeningDirective {
      guard let name = node.scalar?.string else { throw fail(node, "expected a directive name") }
      guard let directive = HardeningDirective(rawValue: name), directive.spec.notRequired == nil else {
        let requirable = HardeningDirective.allCases.filter { $0.spec.notRequired == nil }
        if let why = HardeningDirective(rawValue: name)?.spec.notRequired {
          throw fail(node, "a baseline cannot name \(name): \(why)")
        }
        let near = requirable.min {
          Self.distance($0.rawValue.lowercased(), name.lowercased())
            < Self.distance($1.rawValue.lowercased(), name.lowercased())
        }.flatMap { Self.distance($0.rawValue.lowercased(), name.lowercased()) <= 3 ? $0 : nil }
        throw fail(
          node,
          "unknown directive '\(name)'" + (near.map { " (did you mean \($0.rawValue)?)" } ?? "")
            + "; known: \(requirable.map(\.rawValue).joined(separator: ", "))")
      }
      return directive
    }

    func sets(_ node: Node?, in parent: Node.Mapping) throws(BaselineError) -> [RequirementSet] {
      guard let node else { throw BaselineError(file: file, line: parent.mark?.line, "'sets' is missing") }
      guard let mapping = node.mapping, !mapping.isEmpty else {
        throw fail(node, "'sets' must map set names to lists of directives")
      }
      var result: [RequirementSet] = []
      for (key, value) in mapping {
        let name = key.string ?? ""
        guard let list = value.sequence else {
          throw fail(value, "set '\(name)' must be a list of directives")
        }
        var requirements: [Requirement] = []
        for item in list {
          let requirement: Requirement
          if item.scalar != nil {
            requirement = Requirement(try directive(item))
          } else if let entry = item.mapping, entry.count == 1, let (directiveNode, valuesNode) = entry.first
          {
            let directive = try directive(directiveNode)
            guard let choices = directive.choices else {
              throw fail(
                directiveNode, "\(directive.rawValue) takes no list of values (its rule: \(directive.rule))")
            }
            let values: [Node] = valuesNode.sequence.map(Array.init) ?? [valuesNode]
            var accepted: [String] = []
            for value in values {
              let text = Self.choiceText(value)
              guard choices.contains(text) else {
                throw fail(
                  value,
                  "'\(text)' is not a value of \(directive.rawValue) (one of: \(choices.joined(separator: ", ")))"
                )
              }
              accepted.append(text)
            }
            requirement = Requirement(directive, accepted: accepted)
          } else {
            throw fail(item, "a requirement is a directive name, or {Directive: [accepted values]}")
          }
          if requirements.contains(where: { $0.directive == requirement.directive }) {
            throw fail(item, "\(requirement.directive.rawValue) appears twice in set '\(name)'")
          }
          requirements.append(requirement)
        }
        result.append(RequirementSet(name: name, requirements: requirements))
      }
      return result
    }

    /// YAML 1.1 reads `yes` as a boolean; a choice like `ProtectSystem: [yes]` means the word.
    static func choiceText(_ node: Node) -> String {
      guard let scalar = node.scalar else { return "" }
      switch scalar.string.lowercased() {
      case "true", "on": return "yes"
      case "false", "off": return "no"
      default: return scalar.string
      }
    }

    /// `releases: { F42: 2025-04-15 }`: names a target may use, each with its day.
    func releases(_ node: Node?) throws(BaselineError) -> [String: String]? {
      guard let node else { return nil }
      guard let mapping = node.mapping else { throw fail(node, "'releases' maps release names to days") }
      var result: [String: String] = [:]
      for (key, value) in mapping {
        guard let name = key.scalar?.string, !name.isEmpty else { throw fail(key, "a release needs a name") }
        let day = value.scalar?.string ?? ""
        guard Self.isDate(day) else {
          throw fail(value, "release \(name): '\(day)' is not a date (YYYY-MM-DD)")
        }
        result[name] = day
      }
      return result
    }

    /// The tracking fields of a service entry; nil when it has none.
    func tracking(_ entry: Node.Mapping, releases: [String: String]?) throws(BaselineError) -> Tracking? {
      var tracking = Tracking(
        owner: try optionalText(entry["owner"]), tracker: try optionalText(entry["tracker"]),
        target: try optionalText(entry["target"]), note: try optionalText(entry["note"]))
      if let tracker = tracking.tracker, let node = entry["tracker"] {
        // Reports make it a link: only web addresses (never `javascript:` or `file:`), and
        // nothing that would end an HTML attribute or a Markdown autolink.
        let lower = tracker.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://"),
          tracker.count > 8,
          !tracker.contains(where: { $0.isWhitespace || $0.asciiValue == nil || "\"<>\\`".contains($0) })
        else { throw fail(node, "tracker '\(tracker)' is not an http(s) URL") }
      }
      if let target = tracking.target, let node = entry["target"], !Self.isDate(target),
        releases?[target] == nil
      {
        let known = releases.map { " (releases: \($0.keys.sorted().joined(separator: ", ")))" } ?? ""
        throw fail(
          node,
          "target '\(target)' is neither a date (YYYY-MM-DD) nor a release named under 'releases'\(known)")
      }
      if tracking.owner?.isEmpty == true { tracking.owner = nil }
      if tracking.note?.isEmpty == true { tracking.note = nil }
      return tracking == Tracking() ? nil : tracking
    }

    func services(_ node: Node?, in parent: Node.Mapping, releases: [String: String]?) throws(BaselineError)
      -> [BaselineService]
    {
      guard let node else {
        throw BaselineError(file: file, line: parent.mark?.line, "'services' is missing")
      }
      guard let list = node.sequence else { throw fail(node, "'services' must be a list") }
      var result: [BaselineService] = []
      var seen: [String: Int] = [:]
      for item in list {
        var service: BaselineService
        if let scalar = item.scalar {
          service = BaselineService(name: scalar.string)
        } else if let entry = item.mapping {
          let keys = ["name", "exempt", "not-applicable", "owner", "tracker", "target", "note"]
          for (key, _) in entry where !keys.contains(key.string ?? "") {
            throw fail(key, "unknown key '\(key.string ?? "")' (expected \(keys.joined(separator: ", ")))")
          }
          guard let nameNode = entry["name"], let name = nameNode.scalar?.string else {
            throw fail(item, "a service needs a 'name'")
          }
          service = BaselineService(
            name: name, exempt: try optionalText(entry["exempt"]),
            tracking: try tracking(entry, releases: releases))
          if let reasons = entry["not-applicable"] {
            guard let mapping = reasons.mapping else {
              throw fail(reasons, "'not-applicable' maps directives to reasons")
            }
            for (key, reason) in mapping {
              service.notApplicable[try directive(key)] = reason.scalar?.string ?? ""
            }
          }
        } else {
          throw fail(
            item, "a service is a unit name or {name, exempt, not-applicable, owner, tracker, target, note}")
        }
        guard service.name.hasSuffix(".service"), !service.name.contains(where: { $0 == " " || $0 == "/" })
        else {
          throw fail(item, "'\(service.name)' is not a service unit name (foo.service)")
        }
        if let first = seen[service.name] {
          throw fail(item, "service '\(service.name)' is listed twice (first on line \(first))")
        }
        seen[service.name] = item.mark?.line ?? 0
        result.append(service)
      }
      return result
    }

    func waivers(_ node: Node?, services: [BaselineService]) throws(BaselineError) -> [Waiver] {
      guard let node else { return [] }
      guard let list = node.sequence else { throw fail(node, "'waivers' must be a list") }
      var result: [Waiver] = []
      for item in list {
        guard let entry = item.mapping else { throw fail(item, "a waiver is a mapping") }
        let allowed = ["service", "directive", "hosts", "reason", "owner", "expires"]
        for (key, _) in entry where !allowed.contains(key.string ?? "") {
          throw fail(
            key, "unknown key '\(key.string ?? "")' in a waiver (expected \(allowed.joined(separator: ", ")))"
          )
        }
        let service = try text(entry["service"], "service", in: entry)
        guard let directiveNode = entry["directive"] else { throw fail(item, "a waiver needs a 'directive'") }
        let directive = try directive(directiveNode)
        let reason = try text(entry["reason"], "reason", in: entry)
        let owner = try text(entry["owner"], "owner", in: entry)
        var expires: String?
        if let date = entry["expires"] {
          let value = date.scalar?.string ?? ""
          guard Self.isDate(value) else { throw fail(date, "'\(value)' is not a date (YYYY-MM-DD)") }
          expires = value
        }
        result.append(
          Waiver(
            service: service, directive: directive, hosts: try optionalText(entry["hosts"]), reason: reason,
            owner: owner, expires: expires,
            origin: Provenance(file: file, line: item.mark?.line ?? 1, origin: .unknown)))
      }
      return result
    }

    /// Edit distance, for "did you mean".
    static func distance(_ a: String, _ b: String) -> Int {
      let a = Array(a)
      let b = Array(b)
      var row = Array(0...b.count)
      for i in 1...max(1, a.count) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(1, b.count) where !b.isEmpty {
          let current = row[j]
          row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
          previous = current
        }
      }
      return a.isEmpty ? b.count : row[b.count]
    }

    /// `YYYY-MM-DD` naming a real day.
    static func isDate(_ text: String) -> Bool {
      let parts = text.split(separator: "-", omittingEmptySubsequences: false)
      guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
        let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month)
      else { return false }
      let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
      let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
      return (1...days).contains(day)
    }
  }
}
