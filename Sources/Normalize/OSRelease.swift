import Foundation

/// Parses os-release(5): `KEY=value` lines, values optionally in single or double quotes,
/// with backslash escapes inside double quotes. Malformed lines are skipped.
public func parseOSRelease(_ text: String) -> [String: String] {
  var fields: [String: String] = [:]
  for rawLine in text.split(whereSeparator: \.isNewline) {
    let line = rawLine.trimmingWhitespace()
    guard !line.isEmpty, !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
    let key = String(line[..<eq])
    guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
    fields[key] = unquoteShellValue(line[line.index(after: eq)...])
  }
  return fields
}

private func unquoteShellValue(_ raw: Substring) -> String {
  var result = ""
  var quote: Character?
  var escaped = false
  for char in raw {
    if escaped {
      result.append(char)
      escaped = false
    } else if char == "\\" && quote != "'" {
      escaped = true
    } else if let open = quote {
      if char == open { quote = nil } else { result.append(char) }
    } else if char == "\"" || char == "'" {
      quote = char
    } else {
      result.append(char)
    }
  }
  return result
}

/// What `systemctl --version` says.
public struct SystemdVersionInfo: Sendable, Hashable {
  public var major: Int
  /// `252.39-1~deb12u2` when printed in parentheses, else the major number.
  public var full: String
  public var features: [String]
}

/// Parses `systemd 252 (252.39-1~deb12u2)` and the feature line under it.
public func parseSystemdVersion(_ text: String) -> SystemdVersionInfo? {
  let lines = text.split(whereSeparator: \.isNewline)
  guard let first = lines.first else { return nil }
  let words = first.split(separator: " ")
  guard words.count >= 2, words[0] == "systemd", let major = Int(words[1]) else { return nil }
  var full = String(words[1])
  if words.count >= 3, words[2].hasPrefix("("), words[2].hasSuffix(")") {
    full = String(words[2].dropFirst().dropLast())
  }
  let features =
    lines.dropFirst().first.map { line in
      line.split(separator: " ").map(String.init).filter { $0.hasPrefix("+") || $0.hasPrefix("-") }
    } ?? []
  return SystemdVersionInfo(major: major, full: full, features: features)
}

/// Parses `systemctl show` output: blocks of `Key=Value` lines separated by empty lines,
/// one block per unit in argument order.
public func parseShowBlocks(_ text: String) -> [[String: String]] {
  var blocks: [[String: String]] = []
  var current: [String: String] = [:]
  for line in textLines(text) {
    if line.isEmpty {
      if !current.isEmpty { blocks.append(current) }
      current = [:]
      continue
    }
    // A line without a key (`=x`) is none that systemd prints: skipped, as a line without `=`.
    guard let eq = line.utf8.firstIndex(of: UInt8(ascii: "=")), eq != line.startIndex else { continue }
    current[String(line[..<eq])] = String(line[line.utf8.index(after: eq)...])
  }
  if !current.isEmpty { blocks.append(current) }
  return blocks
}

/// The lines of `text` without their line ends, as systemd reads a file: a line ends at "\n"
/// or "\r\n". Split on the UTF-8 bytes: splitting a String by Character walks grapheme
/// clusters, which costs more on a megabyte of `systemctl cat`, and takes "\r\n" for one
/// character that is not "\n".
func textLines(_ text: String) -> [Substring] {
  var text = text
  // Each line as byte offsets, found with memchr; "\n" and "\r" are ASCII, so every cut falls
  // between scalars and the Substrings are made straight from UTF-8 offsets.
  let ranges: [Range<Int>] = text.withUTF8 { buffer in
    guard let base = buffer.baseAddress else { return [0..<0] }
    var ranges: [Range<Int>] = []
    var start = 0
    while true {
      let end =
        memchr(base + start, Int32(UInt8(ascii: "\n")), buffer.count - start).map {
          base.distance(to: $0.assumingMemoryBound(to: UInt8.self))
        } ?? buffer.count
      let cut = end > start && buffer[end - 1] == UInt8(ascii: "\r") ? end - 1 : end
      ranges.append(start..<cut)
      guard end < buffer.count else { return ranges }
      start = end + 1
    }
  }
  let utf8 = text.utf8
  return ranges.map { range in
    text[
      utf8.index(
        utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)
    ]
  }
}

extension Substring {
  /// Strips spaces, tabs and line ends from both sides (systemd's WHITESPACE), byte by byte.
  func trimmingWhitespace() -> Substring {
    let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    guard let start = utf8.firstIndex(where: { !isSpace($0) }),
      let end = utf8.lastIndex(where: { !isSpace($0) })
    else { return Substring() }
    return Substring(utf8[start...end])
  }
}

extension String {
  /// Strips spaces, tabs and line ends from both sides (systemd's WHITESPACE), byte by byte.
  func trimmingWhitespace() -> Substring { self[...].trimmingWhitespace() }
}
