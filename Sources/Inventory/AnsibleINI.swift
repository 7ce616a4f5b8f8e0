/// Reads Ansible's INI inventory format the way `ansible-inventory` does: `[group]`,
/// `[group:vars]` and `[group:children]` sections, host lines with `key=value` variables
/// (shell-quoted), host ranges, and hosts before any section in `ungrouped`.
public enum AnsibleINI {
  public static func parse(_ text: String, source: String) throws(InventoryError) -> InventoryGraph {
    var graph = InventoryGraph(source: source)
    var group = "ungrouped"
    var state = "hosts"
    // Groups named by a [x:vars] or [p:children] section before they were defined.
    var pendingVars: [String: Int] = [:]
    var pendingChildren: [String: (line: Int, parents: [String])] = [:]

    func fail(_ line: Int, _ message: String) -> InventoryError {
      InventoryError(file: source, line: line, message)
    }

    func addPendingChildren(_ name: String) throws(InventoryError) {
      guard let pending = pendingChildren.removeValue(forKey: name) else { return }
      for parent in pending.parents {
        do { try graph.addChild(name, to: parent) } catch { throw fail(pending.line, error.description) }
        if pendingChildren[parent] != nil { try addPendingChildren(parent) }
      }
    }

    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let number = offset + 1
      let line = raw.trimming(" \t\r\u{0B}\u{0C}")
      guard let first = line.first, first != "#", first != ";" else { continue }

      if let (name, kind) = sectionHeader(line) {
        group = name
        state = kind ?? "hosts"
        guard ["hosts", "children", "vars"].contains(state) else {
          throw fail(
            number, "section [\(name):\(state)] has an unknown type '\(state)' (use :vars or :children)")
        }
        if graph.groups[name] == nil {
          if state == "vars" && pendingVars[name] == nil && pendingChildren[name] == nil {
            pendingVars[name] = number
          }
          graph.addGroup(name)
        }
        if state != "vars" {
          pendingVars[name] = nil
          try addPendingChildren(name)
        }
        continue
      }
      if line.hasPrefix("[") && line.hasSuffix("]") {
        throw fail(
          number,
          "invalid section '\(line)': a section is [group], [group:vars] or [group:children], with no spaces")
      }

      switch state {
      case "hosts":
        let tokens: [String]
        do { tokens = try shellSplit(line) } catch { throw fail(number, "cannot read host line: \(error)") }
        guard let entry = tokens.first else { continue }
        if entry.hasSuffix(":") {
          throw fail(number, "host '\(entry)' ends in ':', which is reserved for a port")
        }
        let (pattern, port) = HostPattern.splitPort(entry)
        let names: [String]
        do { names = try HostPattern.expand(pattern) } catch { throw fail(number, error.description) }
        if names.contains(where: \.isEmpty) {
          throw fail(number, "the host line names no host ('\(line)'): an empty name cannot be connected to")
        }
        if names.contains("---") {
          throw fail(number, "'---' starts a YAML document: is this a YAML inventory?")
        }
        var vars: [(String, VarValue)] = []
        for token in tokens.dropFirst() {
          guard let equals = token.firstIndex(of: "=") else {
            throw fail(number, "expected key=value after the host name, got '\(token)'")
          }
          vars.append((String(token[..<equals]), parseValue(String(token[token.index(after: equals)...]))))
        }
        for name in names {
          graph.addHost(name, to: group, port: port, line: number)
          for (key, value) in vars { graph.setHostVar(name, key, value) }
        }
      case "vars":
        guard let equals = line.firstIndex(of: "=") else {
          throw fail(number, "expected key=value, got '\(line)'")
        }
        let key = line[..<equals].trimming(" \t")
        let value = line[line.index(after: equals)...].trimming(" \t")
        graph.setGroupVar(group, key, parseValue(value))
      default:  // children
        guard let child = groupName(line) else { throw fail(number, "expected a group name, got '\(line)'") }
        if graph.groups[child] == nil {
          pendingChildren[child, default: (number, [])].parents.append(group)
        } else {
          do { try graph.addChild(child, to: group) } catch { throw fail(number, error.description) }
        }
      }
    }
    if let (name, line) = pendingVars.min(by: { $0.value < $1.value }) {
      throw fail(line, "section [\(name):vars] is for a group that is never defined")
    }
    if let (name, pending) = pendingChildren.min(by: { $0.value.line < $1.value.line }) {
      throw fail(
        pending.line,
        "section [\(pending.parents.last ?? "?"):children] names group '\(name)', which is never defined")
    }
    graph.reconcile()
    return graph
  }

  /// `[name]` or `[name:kind]`, optionally followed by a comment.
  static func sectionHeader(_ line: String) -> (String, String?)? {
    guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
    let rest = line[line.index(after: close)...].trimming(" \t")
    guard rest.isEmpty || rest.hasPrefix("#") else { return nil }
    let inside = line[line.index(after: line.startIndex)..<close]
    let parts = inside.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    let name = parts[0]
    guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" || $0 == "]" }) else { return nil }
    if parts.count == 2 {
      let kind = parts[1]
      guard !kind.isEmpty, kind.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
      return (String(name), String(kind))
    }
    return (String(name), nil)
  }

  static func groupName(_ line: String) -> String? {
    var text = Substring(line)
    if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
    let name = text.trimming(" \t")
    guard !name.isEmpty, !name.contains(where: { $0 == ":" || $0 == "]" || $0 == " " || $0 == "\t" }) else {
      return nil
    }
    return name
  }

  /// A value as Ansible's INI reader sees it: a quoted Python string literal loses its quotes;
  /// anything else stays text.
  static func parseValue(_ text: String) -> VarValue {
    if text.count >= 2, let quote = text.first, quote == "'" || quote == "\"", text.last == quote {
      let body = text.dropFirst().dropLast()
      if !body.contains(quote) || body.contains("\\") {
        var result = ""
        var escaped = false
        for character in body {
          if escaped {
            switch character {
            case "n": result.append("\n")
            case "t": result.append("\t")
            default: result.append(character)
            }
            escaped = false
          } else if character == "\\" {
            escaped = true
          } else {
            result.append(character)
          }
        }
        return .scalar(result)
      }
    }
    return .scalar(text)
  }

  /// Splits a line like POSIX `shlex.split(line, comments=True)`: whitespace separates
  /// words, quotes group, backslash escapes, and `#` at the start of a word ends the line.
  static func shellSplit(_ line: String) throws(HostPatternError) -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for character in line {
      if escaped {
        if let q = quote, q == "\"", character != "\"" && character != "\\" { word.append("\\") }
        word.append(character)
        escaped = false
        continue
      }
      if let q = quote {
        if character == q {
          quote = nil
        } else if character == "\\" && q == "\"" {
          escaped = true
        } else {
          word.append(character)
        }
        continue
      }
      switch character {
      case " ", "\t", "\r":
        if inWord { words.append(word) }
        word = ""
        inWord = false
      case "#":
        if inWord { words.append(word) }
        return words
      case "\\":
        escaped = true
        inWord = true
      case "'", "\"":
        quote = character
        inWord = true
      default:
        word.append(character)
        inWord = true
      }
    }
    if quote != nil { throw .invalid("no closing quotation") }
    if escaped { throw .invalid("no escaped character") }
    if inWord { words.append(word) }
    return words
  }
}

extension StringProtocol {
  func trimming(_ set: String) -> String {
    var slice = Substring(self)
    while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
    while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
    return String(slice)
  }
}
