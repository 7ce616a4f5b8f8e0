/// Ansible's host patterns, as `--limit` takes them: group or host names, globs (`web*`),
/// regular expressions (`~web[0-9]+`), subscripts (`web[0]`, `web[1:3]`), unions (`a,b` or
/// `a:b`), intersections (`&a`) and exclusions (`!a`).
public enum Limit {
  /// The hosts of `inventory` that `pattern` selects, in inventory order. `@file` entries
  /// must already be replaced by the file's lines (see `expandFiles`).
  public static func select(_ pattern: String, from inventory: ResolvedInventory) throws(InventoryError)
    -> [FleetHost]
  {
    let terms = split(pattern)
    guard !terms.isEmpty else { throw InventoryError(file: "--limit", "the pattern is empty") }
    let matcher = Matcher(inventory: inventory)
    // The result keeps inventory order, so the selection is a set.
    var selected: Set<String> = []
    for term in ordered(terms) {
      if matcher.hostIndex[term] != nil {
        selected.insert(term)
        continue
      }
      let matched = try matcher.match(term)
      switch term.first {
      case "!": selected.subtract(matched)
      case "&": selected.formIntersection(matched)
      default: selected.formUnion(matched)
      }
    }
    return inventory.hosts.filter { selected.contains($0.name) }
  }

  /// Splits a pattern like Ansible: on commas if there are any; else the whole pattern if it
  /// is one host address (so `::1` or `host:22` survive); else on colons outside brackets.
  public static func split(_ pattern: String) -> [String] {
    if pattern.contains(",") {
      return pattern.split(separator: ",").map { $0.trimming(" \t") }.filter { !$0.isEmpty }
    }
    let whole = pattern.trimming(" \t")
    let (host, _) = HostPattern.splitPort(whole)
    if HostPattern.isValidAddress(host) { return whole.isEmpty ? [] : [whole] }
    var terms: [String] = []
    var current = ""
    var depth = 0
    for character in pattern {
      switch character {
      case "[":
        depth += 1
        current.append(character)
      case "]":
        depth = max(0, depth - 1)
        current.append(character)
      case ":" where depth == 0, " " where depth == 0, "\t" where depth == 0:
        if !current.isEmpty { terms.append(current) }
        current = ""
      default:
        current.append(character)
      }
    }
    if !current.isEmpty { terms.append(current) }
    return terms
  }

  /// Unions first, then intersections, then exclusions; `all` when there is no union.
  static func ordered(_ terms: [String]) -> [String] {
    let exclude = terms.filter { $0.hasPrefix("!") }
    let intersect = terms.filter { $0.hasPrefix("&") }
    var regular = terms.filter { !$0.hasPrefix("!") && !$0.hasPrefix("&") }
    if regular.isEmpty { regular = ["all"] }
    return regular + intersect + exclude
  }

  /// Replaces `@FILE` terms with the lines of the file, read by `read` (the I/O edge).
  public static func expandFiles(_ pattern: String, read: (String) throws(InventoryError) -> String)
    throws(InventoryError) -> String
  {
    var terms: [String] = []
    for term in split(pattern) {
      if term.hasPrefix("@") {
        let text = try read(String(term.dropFirst()))
        terms += text.split(separator: "\n").map { $0.trimming(" \t\r") }.filter { !$0.isEmpty }
      } else {
        terms.append(term)
      }
    }
    return terms.joined(separator: ",")
  }

  struct Matcher {
    let inventory: ResolvedInventory
    let hostIndex: [String: Int]
    /// Every group name, `all` and `ungrouped` included, as Ansible's pattern matching sees them.
    let groupNames: [String]

    init(inventory: ResolvedInventory) {
      self.inventory = inventory
      var index: [String: Int] = [:]
      for (offset, host) in inventory.hosts.enumerated() where index[host.name] == nil {
        index[host.name] = offset
      }
      hostIndex = index
      let fromHosts = inventory.hosts.flatMap(\.groups)
      var names = ["all", "ungrouped"]
      var seen = Set(names)
      for name in inventory.groups + fromHosts where seen.insert(name).inserted { names.append(name) }
      groupNames = names
    }

    func members(of group: String) -> [String] {
      switch group {
      case "all": inventory.hosts.map(\.name)
      case "ungrouped": inventory.hosts.filter { $0.groups.isEmpty }.map(\.name)
      default: inventory.groupHosts[group] ?? inventory.hosts.filter { $0.groups.contains(group) }.map(\.name)
      }
    }

    func match(_ term: String) throws(InventoryError) -> [String] {
      var pattern = Substring(term)
      if pattern.first == "!" || pattern.first == "&" { pattern = pattern.dropFirst() }
      guard !pattern.isEmpty else {
        throw InventoryError(file: "--limit", "'\(term)' has nothing after '\(term)'")
      }
      let (expression, slice) = splitSubscript(String(pattern))
      let matchName = try nameMatcher(expression)
      var results: [String] = []
      var seen: Set<String> = []
      let groups = groupNames.filter(matchName)
      for group in groups {
        for host in members(of: group) where seen.insert(host).inserted { results.append(host) }
      }
      if groups.isEmpty || expression.hasPrefix("~") || expression.contains(where: { ".?*[".contains($0) }) {
        for host in inventory.hosts where matchName(host.name) && seen.insert(host.name).inserted {
          results.append(host.name)
        }
      }
      guard let slice, !results.isEmpty else { return results }
      func index(_ value: Int) -> Int { value < 0 ? results.count + value : value }
      switch slice {
      case .single(let value):
        let i = index(value)
        guard results.indices.contains(i) else {
          throw InventoryError(
            file: "--limit", "'\(term)': index \(value) is outside the \(results.count) matched hosts")
        }
        return [results[i]]
      case .range(let start, let end):
        let last = min(end.map(index) ?? results.count - 1, results.count - 1)
        let first = index(start)
        guard first <= last, first < results.count else { return [] }
        return Array(results[first...last])
      }
    }

    enum Subscript { case single(Int), range(Int, Int?) }

    /// `name[3]`, `name[-1]`, `name[1:4]` or `name[2:]`; not for `~regex`.
    func splitSubscript(_ pattern: String) -> (String, Subscript?) {
      guard !pattern.hasPrefix("~"), pattern.hasSuffix("]"), let open = pattern.lastIndex(of: "["),
        open > pattern.startIndex
      else { return (pattern, nil) }
      let inside = pattern[pattern.index(after: open)..<pattern.index(before: pattern.endIndex)]
      let base = String(pattern[..<open])
      if let value = Int(inside), inside.first != "+" { return (base, .single(value)) }
      for separator in [":", "-"] as [Character] {
        let parts = inside.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy(\.isASCIIDigit),
          parts[1].allSatisfy(\.isASCIIDigit), let start = Int(parts[0])
        else { continue }
        return (base, .range(start, parts[1].isEmpty ? nil : Int(parts[1])))
      }
      return (pattern, nil)
    }

    /// A glob (`fnmatch`: `*`, `?`, `[seq]`, `[!seq]`, whole name, case-sensitive) or, after
    /// `~`, a regular expression matched at the start of the name.
    func nameMatcher(_ pattern: String) throws(InventoryError) -> (String) -> Bool {
      if pattern.hasPrefix("~") {
        let regex: Regex<AnyRegexOutput>
        do { regex = try Regex(String(pattern.dropFirst())) } catch {
          throw InventoryError(
            file: "--limit", "invalid regular expression '\(pattern.dropFirst())': \(error)")
        }
        return { name in (try? regex.prefixMatch(in: name)) != nil }
      }
      let glob = Array(pattern)
      return { name in Glob.matches(glob[...], Array(name)[...]) }
    }
  }
}

/// Shell-style wildcard matching as Python's `fnmatch` does it.
enum Glob {
  static func matches(_ pattern: ArraySlice<Character>, _ name: ArraySlice<Character>) -> Bool {
    var p = pattern.startIndex
    var n = name.startIndex
    var starP: Int?
    var starN = 0
    while n < name.endIndex {
      if p < pattern.endIndex {
        let token = pattern[p]
        if token == "*" {
          starP = p
          starN = n
          p += 1
          continue
        }
        if token == "?" {
          p += 1
          n += 1
          continue
        }
        if token == "[", let (matched, next) = matchClass(pattern, at: p, name[n]) {
          if matched {
            p = next
            n += 1
            continue
          }
        } else if token == name[n] {
          p += 1
          n += 1
          continue
        }
      }
      guard let star = starP else { return false }
      p = star + 1
      starN += 1
      n = starN
    }
    while p < pattern.endIndex, pattern[p] == "*" { p += 1 }
    return p == pattern.endIndex
  }

  /// Matches `[...]` at `start`; nil when the bracket is not closed (then it is a literal `[`).
  static func matchClass(_ pattern: ArraySlice<Character>, at start: Int, _ character: Character) -> (
    Bool, Int
  )? {
    var i = start + 1
    var negate = false
    if i < pattern.endIndex, pattern[i] == "!" {
      negate = true
      i += 1
    }
    var first = true
    var matched = false
    while i < pattern.endIndex {
      let c = pattern[i]
      if c == "]" && !first { return (matched != negate, i + 1) }
      first = false
      if i + 2 < pattern.endIndex, pattern[i + 1] == "-", pattern[i + 2] != "]" {
        if c <= character && character <= pattern[i + 2] { matched = true }
        i += 3
      } else {
        if c == character { matched = true }
        i += 1
      }
    }
    return nil
  }
}
