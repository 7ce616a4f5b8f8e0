/// JSON string literals written by hand where Foundation's encoder is too slow (report.json),
/// and the escaping of every JSON line unitaudit writes (`export --jsonl`). The same text as `JSONEncoder` with
/// `.withoutEscapingSlashes`, except that C1 controls and bidirectional overrides and
/// isolates are written as `\u` escapes too (the same value to every JSON reader, but a file
/// shown in a terminal cannot drive it or reorder its text); `scriptSafe` also escapes `<`,
/// `>`, `&`, U+2028 and U+2029 so the JSON can sit inside an HTML `<script>` element.
public enum JSONString {
  /// True when `value` goes between the quotes as it is (nothing to escape). The lead bytes
  /// 0xC2 (C1 controls) and 0xE2 (overrides, separators) send a value to the careful path.
  static func isPlain(_ value: String, scriptSafe: Bool) -> Bool {
    var value = value
    return value.withUTF8 { isPlain($0, scriptSafe: scriptSafe) }
  }

  /// The same test on the string's UTF-8 bytes in place (a tight loop; walking
  /// `String.UTF8View` index by index was a tenth of writing a host's line).
  static func isPlain(_ bytes: UnsafeBufferPointer<UInt8>, scriptSafe: Bool) -> Bool {
    bytes.allSatisfy { byte in
      byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xC2 && byte != 0xE2
        && !(scriptSafe
          && (byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")))
    }
  }

  /// Characters escaped even outside HTML: C1 controls, bidirectional overrides and isolates.
  static func needsEscape(_ value: UInt32) -> Bool {
    value < 0x20 || (0x80..<0xA0).contains(value) || (0x202A...0x202E).contains(value)
      || (0x2066...0x2069).contains(value)
  }

  public static func append(_ value: String, to out: inout String, scriptSafe: Bool = false) {
    out += "\""
    if isPlain(value, scriptSafe: scriptSafe) {
      out += value
    } else {
      for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "<" where scriptSafe, ">" where scriptSafe, "&" where scriptSafe, "\u{2028}" where scriptSafe,
          "\u{2029}" where scriptSafe:
          out += unicodeEscape(scalar.value)
        default:
          if needsEscape(scalar.value) {
            out += unicodeEscape(scalar.value)
          } else {
            out.unicodeScalars.append(scalar)
          }
        }
      }
    }
    out += "\""
  }

  /// The same literal, appended to UTF-8 bytes.
  public static func append(_ value: String, to out: inout [UInt8], scriptSafe: Bool = false) {
    var value = value
    let plain = value.withUTF8 { bytes in
      guard isPlain(bytes, scriptSafe: scriptSafe) else { return false }
      out.append(UInt8(ascii: "\""))
      out.append(contentsOf: bytes)
      out.append(UInt8(ascii: "\""))
      return true
    }
    if !plain { out.append(contentsOf: quoted(value, scriptSafe: scriptSafe).utf8) }
  }

  public static func quoted(_ value: String, scriptSafe: Bool = false) -> String {
    var out = ""
    append(value, to: &out, scriptSafe: scriptSafe)
    return out
  }

  /// JSON text (from `JSONEncoder`) with C1 controls and bidirectional overrides and
  /// isolates written as `\u` escapes. Outside strings JSON has only ASCII, so every such
  /// character is inside a string, where the escape means the same.
  public static func escapingInvisible(_ json: String) -> String {
    guard hasInvisible(json.utf8) else { return json }
    var out = String.UnicodeScalarView()
    for scalar in json.unicodeScalars {
      if scalar.value >= 0x80 && needsEscape(scalar.value) {
        out.append(contentsOf: unicodeEscape(scalar.value).unicodeScalars)
      } else {
        out.append(scalar)
      }
    }
    return String(out)
  }

  /// Whether UTF-8 text holds a C1 control (C2 80–9F) or a bidirectional override or
  /// isolate (E2 80 AA–AE, E2 81 A6–A9), found on the bytes: a dash or an ellipsis, which
  /// share the lead byte E2, does not send a whole line down the slow path.
  static func hasInvisible(_ bytes: String.UTF8View) -> Bool {
    var previous: (UInt8, UInt8) = (0, 0)
    for byte in bytes {
      switch (previous.0, previous.1, byte) {
      case (_, 0xC2, 0x80...0x9F), (0xE2, 0x80, 0xAA...0xAE), (0xE2, 0x81, 0xA6...0xA9): return true
      default: previous = (previous.1, byte)
      }
    }
    return false
  }

  static func unicodeEscape(_ value: UInt32) -> String {
    let hex = String(value, radix: 16)
    return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
  }
}
