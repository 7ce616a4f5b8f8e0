// Shared by the build tools that write Swift source (embed-files, generate-directives).

/// `text` as a Swift string literal: quotes, backslashes and control characters escaped, so
/// the literal holds the exact characters of the file.
public func swiftLiteral(_ text: String) -> String {
  var out = "\""
  out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case _ where scalar.value < 0x20 || scalar.value == 0x7F:
      out += "\\u{" + String(scalar.value, radix: 16) + "}"
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}
