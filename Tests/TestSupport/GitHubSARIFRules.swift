import Foundation

/// GitHub code scanning's ingestion rules for an uploaded SARIF file, each from GitHub's own
/// documentation or from what its upload is known to reject; docs/integrations.md lists them
/// with their sources. Returns every rule a file breaks, in words.
public enum GitHubSARIFRules {
  static let levels: Set<String> = ["none", "note", "warning", "error"]

  public static func check(_ data: Data, gzippedBytes: Int) -> [String] {
    var broken: [String] = []
    func fail(_ rule: String) { if broken.count < 50 { broken.append(rule) } }
    // "SARIF file is too large": at most 10 MB gzip-compressed.
    if gzippedBytes > 10 * 1024 * 1024 { fail("gzip-compressed size \(gzippedBytes) is over 10 MB") }
    guard let log = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      return ["not a JSON object"]
    }
    // sarifLog: $schema, version 2.1.0 and runs[] are required; at most 20 runs.
    if (log["$schema"] as? String ?? "").isEmpty { fail("sarifLog.$schema is missing") }
    if log["version"] as? String != "2.1.0" { fail("sarifLog.version is not 2.1.0") }
    guard let runs = log["runs"] as? [[String: Any]], !runs.isEmpty else { return broken + ["no runs[]"] }
    if runs.count > 20 { fail("\(runs.count) runs: more than 20") }
    for (r, run) in runs.enumerated() {
      let tool = run["tool"] as? [String: Any]
      let driver = tool?["driver"] as? [String: Any]
      // toolComponent: name and rules[] are required; at most 100 extensions.
      if (driver?["name"] as? String ?? "").isEmpty { fail("runs[\(r)].tool.driver.name is missing") }
      if (tool?["extensions"] as? [Any])?.count ?? 0 > 100 { fail("runs[\(r)]: more than 100 extensions") }
      guard let rules = driver?["rules"] as? [[String: Any]] else {
        fail("runs[\(r)].tool.driver.rules[] is missing")
        continue
      }
      if rules.count > 25_000 { fail("runs[\(r)]: \(rules.count) rules, more than 25,000") }
      var ids: Set<String> = []
      for (i, rule) in rules.enumerated() {
        let at = "runs[\(r)].rules[\(i)]"
        // reportingDescriptor: id, shortDescription.text, fullDescription.text and help.text
        // required (no empty strings); name ≤ 255, the descriptions ≤ 1,024 characters;
        // defaultConfiguration.level note, warning or error; at most 20 tags;
        // security-severity a number above 0.0 up to 10.0.
        guard let id = rule["id"] as? String, !id.isEmpty else {
          fail("\(at).id is missing")
          continue
        }
        if !ids.insert(id).inserted { fail("\(at).id \(id) is not unique") }
        for field in ["shortDescription", "fullDescription"] {
          let text = (rule[field] as? [String: Any])?["text"] as? String ?? ""
          if text.isEmpty { fail("\(at).\(field).text is missing") }
          if text.count > 1_024 { fail("\(at).\(field).text is over 1,024 characters") }
        }
        if ((rule["help"] as? [String: Any])?["text"] as? String ?? "").isEmpty {
          fail("\(at).help.text is missing")
        }
        if let name = rule["name"] as? String, name.count > 255 { fail("\(at).name is over 255 characters") }
        if let level = (rule["defaultConfiguration"] as? [String: Any])?["level"] as? String,
          !["note", "warning", "error"].contains(level)
        {
          fail("\(at).defaultConfiguration.level \(level)")
        }
        let properties = rule["properties"] as? [String: Any]
        if (properties?["tags"] as? [Any])?.count ?? 0 > 20 { fail("\(at): more than 20 tags") }
        if let severity = properties?["security-severity"] {
          guard let text = severity as? String, let value = Double(text), value > 0, value <= 10 else {
            fail("\(at).properties.security-severity is not a string from 0.1 to 10.0")
            continue
          }
        }
      }
      guard let results = run["results"] as? [[String: Any]] else {
        fail("runs[\(r)].results[] is missing")
        continue
      }
      if results.count > 25_000 { fail("runs[\(r)]: \(results.count) results, more than 25,000") }
      let bases = run["originalUriBaseIds"] as? [String: Any] ?? [:]
      var fingerprints: Set<String> = []
      for (n, result) in results.enumerated() {
        let at = "runs[\(r)].results[\(n)]"
        // result: message.text required; ruleId names a rule and ruleIndex points at it.
        if ((result["message"] as? [String: Any])?["text"] as? String ?? "").isEmpty {
          fail("\(at).message.text is missing")
        }
        let ruleId = result["ruleId"] as? String
        if let ruleId, !ids.contains(ruleId) { fail("\(at).ruleId \(ruleId) names no rule") }
        if let index = result["ruleIndex"] as? Int {
          if !rules.indices.contains(index) || rules[index]["id"] as? String != ruleId {
            fail("\(at).ruleIndex \(index) is not the rule \(ruleId ?? "?")")
          }
        }
        if let level = result["level"] as? String, !levels.contains(level) { fail("\(at).level \(level)") }
        // partialFingerprints required; code scanning uses only primaryLocationLineHash, and
        // two results with the same one would be one alert.
        let hash =
          (result["partialFingerprints"] as? [String: Any])?["primaryLocationLineHash"] as? String ?? ""
        if hash.isEmpty { fail("\(at).partialFingerprints.primaryLocationLineHash is missing") }
        if !fingerprints.insert(hash).inserted {
          fail("\(at): primaryLocationLineHash \(hash) is not unique")
        }
        // locations[]: at least one ("locationFromSarifResult: expected at least one
        // location", github/codeql-action#1738 and #2459), up to 10 (1,000 is the hard limit).
        let locations = result["locations"] as? [[String: Any]] ?? []
        if locations.isEmpty { fail("\(at) has no location") }
        if locations.count > 10 { fail("\(at) has \(locations.count) locations, more than 10") }
        for location in locations {
          // physicalLocation: artifactLocation.uri required ("expected artifact location"),
          // a URI reference (codeql-action validates the format); relative, so it resolves
          // against the repository root whether or not a source root or originalUriBaseIds
          // is given, and never mismatches a source root's scheme. region.startLine ≥ 1.
          let physical = location["physicalLocation"] as? [String: Any]
          let artifact = physical?["artifactLocation"] as? [String: Any]
          let uri = artifact?["uri"] as? String ?? ""
          if uri.isEmpty {
            fail("\(at): a location has no artifactLocation.uri")
          } else if !isRelativeReference(uri) {
            fail("\(at): uri \(uri) is not a relative URI reference")
          }
          if let base = artifact?["uriBaseId"] as? String, bases[base] == nil {
            fail("\(at): uriBaseId \(base) is not in originalUriBaseIds")
          }
          let region = physical?["region"] as? [String: Any]
          guard let start = region?["startLine"] as? Int, start >= 1 else {
            fail("\(at): region.startLine is missing or below 1")
            continue
          }
          if let end = region?["endLine"] as? Int, end < start { fail("\(at): endLine before startLine") }
        }
      }
    }
    return broken
  }

  /// RFC 3986 `relative-ref` with a path: only the characters a URI may hold (anything else
  /// percent-encoded), no scheme (no colon in the first segment), not `//authority`.
  public static func isRelativeReference(_ text: String) -> Bool {
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?#%")
    guard text.allSatisfy({ allowed.contains($0) }), !text.hasPrefix("//"), !text.hasPrefix("/") else {
      return false
    }
    let bytes = Array(text.utf8)
    for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "%") {
      guard i + 2 < bytes.count, bytes[i + 1].isHexDigit, bytes[i + 2].isHexDigit else { return false }
    }
    let firstSegment = text.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    return !firstSegment.contains(":")
  }

  public static func gzippedSize(of file: URL) throws -> Int {
    let result = try TestSupport.run(["/bin/sh", "-c", "gzip -c \"$0\" | wc -c", file.path])
    return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max
  }
}

extension UInt8 {
  fileprivate var isHexDigit: Bool {
    (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
  }
}
