/// JSON string literals written by hand where Foundation's encoder is too slow (the scan's
/// hosts.jsonl lines, report.json). The same text as `JSONEncoder` with
/// `.withoutEscapingSlashes`; `scriptSafe` also escapes `<`, `>`, `&`, U+2028 and U+2029 so
/// the JSON can sit inside an HTML `<script>` element.
public enum JSONString {
  /// True when `value` goes between the quotes as it is (nothing to escape).
  static func isPlain(_ value: String, scriptSafe: Bool) -> Bool {
    value.utf8.allSatisfy { byte in
      byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
        && !(scriptSafe
          && (byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")
            || byte == 0xE2))
    }
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
          if scalar.value < 0x20 {
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
    if isPlain(value, scriptSafe: scriptSafe) {
      out.append(UInt8(ascii: "\""))
      out.append(contentsOf: value.utf8)
      out.append(UInt8(ascii: "\""))
    } else {
      out.append(contentsOf: quoted(value, scriptSafe: scriptSafe).utf8)
    }
  }

  public static func quoted(_ value: String, scriptSafe: Bool = false) -> String {
    var out = ""
    append(value, to: &out, scriptSafe: scriptSafe)
    return out
  }

  static func unicodeEscape(_ value: UInt32) -> String {
    let hex = String(value, radix: 16)
    return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
  }
}
