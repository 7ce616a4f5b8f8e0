import Coverage
import Foundation
import UnitModel

/// Making values from hosts harmless before any format sees them.
public enum Inert {
  /// The longest value shown in HTML and Markdown; the rest is summarized.
  public static let maxShown = 1_000

  /// Control characters become visible symbols (ESC → ␛), and very long values are cut.
  public static func text(_ value: String) -> String {
    var scalars = String.UnicodeScalarView()
    var count = 0
    for scalar in value.unicodeScalars {
      if count == maxShown {
        let rest = value.unicodeScalars.count - maxShown
        return String(scalars) + "… (\(rest) more characters)"
      }
      count += 1
      scalars.append(visible(scalar))
    }
    return String(scalars)
  }

  /// A scalar that cannot drive a terminal or reorder text: C0 controls become their
  /// symbols (ESC → ␛), DEL ␡; C1 controls, line and paragraph separators and bidirectional
  /// overrides and isolates (U+202A–202E, U+2066–2069) become U+FFFD.
  public static func visible(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
    switch scalar.value {
    case 0..<0x20: Unicode.Scalar(0x2400 + scalar.value) ?? "?"
    case 0x7F: "\u{2421}"
    case 0x80..<0xA0, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: "\u{FFFD}"
    default: scalar
    }
  }

  /// Text for XML (SVG, JUnit): the five specials escaped, and every scalar made `visible`, so
  /// that C0 controls, which XML 1.0 cannot carry, become symbols.
  public static func xml(_ value: String) -> String {
    visible(value) { scalar in
      switch scalar {
      case "&": "&amp;"
      case "<": "&lt;"
      case ">": "&gt;"
      case "\"": "&quot;"
      case "'": "&#39;"
      default: nil
      }
    }
  }

  /// `value` with each scalar `escape` names replaced by what it gives, and every other made
  /// `visible`: the escapers of the text formats (XML, Prometheus labels) are this and a table.
  public static func visible(_ value: String, escape: (Unicode.Scalar) -> String?) -> String {
    var out = ""
    for scalar in value.unicodeScalars {
      if let escaped = escape(scalar) { out += escaped } else { out.unicodeScalars.append(visible(scalar)) }
    }
    return out
  }

  /// JSON that can sit inside `<script type="application/json">`: no `<`, `>`, `&`.
  public static func scriptJSON(_ json: String) -> String {
    json.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
      .replacingOccurrences(of: "&", with: "\\u0026")
  }
}
