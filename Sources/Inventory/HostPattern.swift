/// Host entries as Ansible writes them: `name`, `name:port`, `[v6]:port`, and ranges such as
/// `web[01:20].example.com` or `db-[a:f]`.
public enum HostPattern {
  /// Splits an optional port off a host entry, the way Ansible's `parse_address` does: a
  /// `:NN` suffix after a host name or IPv4 address, or after a bracketed expression
  /// (`[::1]:22`). A bare IPv6 address keeps its colons. An entry that is not a valid host
  /// name or address is returned whole, with no port.
  public static func splitPort(_ entry: String) -> (host: String, port: Int?) {
    var host = entry
    var port: Int?
    // [anything]:port
    if host.hasPrefix("["), let close = host.lastIndex(of: "]"),
      host[host.index(after: close)...].hasPrefix(":")
    {
      let digits = host[host.index(close, offsetBy: 2)...]
      let inner = host[host.index(after: host.startIndex)..<close]
      if !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), !inner.isEmpty, let value = Int(digits) {
        host = String(inner)
        port = value
      }
    }
    // name:port, where the name has no colon outside brackets.
    if let (name, value) = splitHostPort(host) {
      host = name
      port = value
    }
    guard isValidAddress(host) else { return (entry, nil) }
    return (host, port)
  }

  private static func splitHostPort(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":") else { return nil }
    let digits = text[text.index(after: colon)...]
    guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(digits) else { return nil }
    let name = text[..<colon]
    var depth = 0
    for character in name {
      switch character {
      case "[": depth += 1
      case "]": depth -= 1
      case ":" where depth == 0: return nil
      default: break
      }
    }
    return (String(name), value)
  }

  /// An IPv4 address, an IPv6 address or a host name, each possibly with `[x:y]` ranges.
  static func isValidAddress(_ text: String) -> Bool {
    isIPv4(text) || isIPv6(text) || isHostName(text)
  }

  static func isIPv4(_ text: String) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4
      && parts.allSatisfy { part in
        if isRange(part, alphabet: .numeric) { return true }
        guard (1...3).contains(part.count), part.allSatisfy(\.isASCIIDigit), let value = Int(part) else {
          return false
        }
        return value <= 255
      }
  }

  static func isIPv6(_ text: String) -> Bool {
    guard text.contains(":") else { return false }
    // An embedded IPv4 tail (::ffff:1.2.3.4).
    var body = Substring(text)
    var groupsAvailable = 8
    if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
      guard isIPv4(String(body[body.index(after: lastColon)...])) else { return false }
      body = body[...lastColon]
      if body.hasSuffix("::") == false { body = body.dropLast() }
      groupsAvailable = 6
    }
    let halves = body.components(separatedBy: "::")
    guard halves.count <= 2 else { return false }
    func groups(_ half: String) -> [Substring]? {
      if half.isEmpty { return [] }
      let parts = half.split(separator: ":", omittingEmptySubsequences: false)
      let valid = parts.allSatisfy { part in
        (1...4).contains(part.count) && part.allSatisfy(\.isHexDigit) || isRange(part, alphabet: .hex)
      }
      return valid ? parts : nil
    }
    if halves.count == 1 {
      guard let all = groups(halves[0]) else { return false }
      return all.count == groupsAvailable
    }
    guard let left = groups(halves[0]), let right = groups(halves[1]) else { return false }
    return left.count + right.count < groupsAvailable
  }

  /// Labels of word characters and dashes (not at either end), or ranges, joined by dots.
  static func isHostName(_ text: String) -> Bool {
    let labels = text.split(separator: ".", omittingEmptySubsequences: false)
    return !labels.isEmpty && labels.allSatisfy(isLabel)
  }

  private static func isLabel(_ label: Substring) -> Bool {
    // Tokens: word characters, '-', or a complete [..] range.
    var tokens: [Substring] = []
    var index = label.startIndex
    while index < label.endIndex {
      if label[index] == "[" {
        guard let close = label[index...].firstIndex(of: "]") else { return false }
        let range = label[index...close]
        guard isRange(range, alphabet: .alphanumeric) else { return false }
        tokens.append(range)
        index = label.index(after: close)
      } else {
        let character = label[index]
        guard character.isLetter || character.isNumber || character == "_" || character == "-" else {
          return false
        }
        tokens.append(label[index...index])
        index = label.index(after: index)
      }
    }
    guard let first = tokens.first, let last = tokens.last else { return false }
    if first == "-" { return false }
    if last == "-" || last == "_" { return false }
    return true
  }

  enum RangeAlphabet { case numeric, hex, alphanumeric }

  /// `[x:y]` or `[x:y:step]`.
  static func isRange(_ text: Substring, alphabet: RangeAlphabet) -> Bool {
    guard text.hasPrefix("["), text.hasSuffix("]"), text.count > 2 else { return false }
    let parts = text.dropFirst().dropLast().split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2 || parts.count == 3 else { return false }
    if parts.count == 3, parts[2].isEmpty || !parts[2].allSatisfy(\.isASCIIDigit) { return false }
    let (start, end) = (parts[0], parts[1])
    switch alphabet {
    case .numeric:
      return !start.isEmpty && !end.isEmpty && (start + end).allSatisfy(\.isASCIIDigit)
    case .hex:
      return !start.isEmpty && !end.isEmpty && (start + end).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    case .alphanumeric:
      if start.count == 1, end.count == 1, start.allSatisfy(\.isLowercaseASCIILetter),
        end.allSatisfy(\.isLowercaseASCIILetter)
      {
        return true
      }
      return !start.isEmpty && !end.isEmpty && (start + end).allSatisfy(\.isASCIIDigit)
    }
  }

  /// The most host names one entry may expand to. Ansible sets no limit, but a fuzzed line
  /// like `n[0:99]e[0:99][0:99]` would otherwise fill memory; a real fleet this size is
  /// listed in several entries.
  public static let expansionLimit = 100_000

  /// Expands every `[begin:end]` or `[begin:end:step]` in a host name: numeric (zero-padded
  /// when `begin` has a leading zero) or one letter to another. Throws when the name expands
  /// to more than `expansionLimit` hosts.
  public static func expand(_ name: String) throws(HostPatternError) -> [String] {
    var names: [String] = []
    try expand(name, into: &names, whole: name)
    return names
  }

  private static func expand(_ name: String, into names: inout [String], whole: String)
    throws(HostPatternError)
  {
    guard let open = name.firstIndex(of: "[") else {
      names.append(name)
      return
    }
    guard let close = name[open...].firstIndex(of: "]") else {
      throw .invalid("'\(name)' has '[' without a closing ']'")
    }
    let head = name[..<open]
    let tail = name[name.index(after: close)...]
    let bounds = name[name.index(after: open)..<close].split(separator: ":", omittingEmptySubsequences: false)
    guard bounds.count == 2 || bounds.count == 3 else {
      throw .invalid("host range '\(name[open...close])' must be [begin:end] or [begin:end:step]")
    }
    let begin = bounds[0].isEmpty ? "0" : String(bounds[0])
    let end = String(bounds[1])
    guard !end.isEmpty else { throw .invalid("host range '\(name[open...close])' has no end") }
    var step = 1
    if bounds.count == 3 {
      guard let value = Int(bounds[2]), value > 0 else {
        throw .invalid("host range '\(name[open...close])' has an invalid step")
      }
      step = value
    }
    var values: [String] = []
    if begin.count == 1, end.count == 1, let b = begin.first, let e = end.first, b.isASCIILetter,
      e.isASCIILetter
    {
      let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
      guard let from = letters.firstIndex(of: b), let to = letters.firstIndex(of: e), from <= to else {
        throw .invalid("host range '\(name[open...close])' must have begin <= end")
      }
      values = stride(from: from, through: to, by: step).map { String(letters[$0]) }
    } else {
      guard let from = Int(begin), let to = Int(end), from >= 0 else {
        throw .invalid("host range '\(name[open...close])' must be numbers or single letters")
      }
      let padded = begin.hasPrefix("0") && begin.count > 1
      if padded && begin.count != end.count {
        throw .invalid("host range '\(name[open...close])' must have begin and end of equal length")
      }
      if from <= to {
        guard (to - from) / step < expansionLimit else { throw tooMany(whole) }
        values = stride(from: from, through: to, by: step).map { number in
          let text = String(number)
          return padded ? String(repeating: "0", count: max(0, begin.count - text.count)) + text : text
        }
      }
    }
    for value in values {
      try expand(head + value + tail, into: &names, whole: whole)
      guard names.count <= expansionLimit else { throw tooMany(whole) }
    }
  }

  private static func tooMany(_ name: String) -> HostPatternError {
    .invalid(
      "'\(name)' expands to more than \(expansionLimit) hosts; list the fleet in several entries")
  }
}

public enum HostPatternError: Error, CustomStringConvertible, Sendable, Hashable {
  case invalid(String)
  public var description: String {
    switch self {
    case .invalid(let text): text
    }
  }
}

extension Character {
  var isASCIIDigit: Bool { ("0"..."9").contains(self) }
  var isLowercaseASCIILetter: Bool { ("a"..."z").contains(self) }
  var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
