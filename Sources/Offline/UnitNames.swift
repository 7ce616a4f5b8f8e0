import Foundation

/// Unit names as systemd takes them (systemd.unit(5)): which names are services, templates and
/// instances, and the specifiers a description may hold.
extension UnitLoader {
  /// The characters systemd allows in a unit name, ending in `.service`, at most 255 bytes.
  static func isServiceName(_ name: String) -> Bool {
    guard name.hasSuffix(".service"), name.utf8.count <= 255, name.count > ".service".count else {
      return false
    }
    return name.utf8.allSatisfy { byte in
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
      case UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "\\"),
        UInt8(ascii: "@"):
        true
      default: false
      }
    }
  }

  /// No control characters: a path that shows on a line of its own in `systemctl cat` and
  /// `systemctl show` output, as systemd's own paths do.
  static func isPrintable(_ path: String) -> Bool { !path.utf8.contains { $0 < 0x20 || $0 == 0x7F } }

  static func isTemplate(_ name: String) -> Bool { name.hasSuffix("@.service") }

  static func isInstance(_ name: String) -> Bool { name.contains("@") && !isTemplate(name) }

  /// `bar` for `foo@bar.service`.
  static func instance(of name: String) -> String? {
    guard isInstance(name), let at = name.firstIndex(of: "@") else { return nil }
    return String(name[name.index(after: at)...].dropLast(".service".count))
  }

  /// The specifiers systemd expands in a description that a tree can tell (systemd.unit(5),
  /// "Specifiers"): `%n` `%N` `%p` `%P` `%i` `%I` `%%`; any other is kept as written.
  static func expandSpecifiers(_ text: String, id: String, instance: String?) -> String {
    guard text.contains("%") else { return text }
    let prefix = String(id.prefix { $0 != "@" && $0 != "." }.split(separator: "@").first ?? "")
    var result = ""
    var iterator = text.makeIterator()
    while let character = iterator.next() {
      guard character == "%", let code = iterator.next() else {
        result.append(character)
        continue
      }
      switch code {
      case "n": result += id
      case "N": result += String(id.dropLast(".service".count))
      case "p", "P": result += prefix
      case "i", "I": result += instance ?? ""
      case "%": result += "%"
      default: result += "%\(code)"
      }
    }
    return result
  }

  /// `foo@.service` for `foo@bar.service`.
  static func template(of name: String) -> String? {
    guard isInstance(name), let at = name.firstIndex(of: "@") else { return nil }
    return name[..<at] + "@.service"
  }
}
