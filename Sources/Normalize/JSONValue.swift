/// A parsed JSON value. `systemd-analyze security --json=short` prints about a megabyte of
/// small objects per host; this parser reads them in a single pass over the UTF-8 bytes,
/// without the bridged Foundation objects JSONSerialization makes for each.
///
/// Objects keep their members in order, as a list: the security output's objects have about
/// five keys each, where a linear look-up beats hashing and building a dictionary per object.
public enum JSONValue: Sendable, Hashable {
  case object([Member])
  case array([JSONValue])
  case string(String)
  /// Numbers keep their text (`0.1`, `9.6`): unitaudit reads them as exposures.
  case number(String)
  case bool(Bool)
  case null

  public struct Member: Sendable, Hashable {
    public var key: String
    public var value: JSONValue
  }

  /// The member named `key` (the last one, when a key repeats, as most JSON readers do).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last { $0.key == key }?.value
  }

  public var string: String? {
    if case .string(let text) = self { return text }
    return nil
  }

  /// A number as written (`2500`, `18446744073709551615`): read it at the width it needs.
  public var numberText: String? {
    if case .number(let text) = self { return text }
    return nil
  }

  public var bool: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  public var array: [JSONValue]? {
    if case .array(let items) = self { return items }
    return nil
  }

  public var isObject: Bool {
    if case .object = self { return true }
    return false
  }

  /// Parses one JSON document (RFC 8259); nil when it is not valid JSON or has trailing bytes.
  public static func parse(_ text: String) -> JSONValue? {
    let bytes = Array(text.utf8)
    return parse(bytes, in: bytes.indices)
  }

  /// Parses the document at `range` of `bytes`, without copying it out.
  public static func parse(_ bytes: [UInt8], in range: Range<Int>) -> JSONValue? {
    var parser = Parser(bytes: bytes, index: range.lowerBound, end: range.upperBound)
    guard let value = parser.value(depth: 0) else { return nil }
    parser.skipSpace()
    return parser.index == parser.end ? value : nil
  }

  /// Parses JSON documents written one after another (`[…]\n\n[…]`), as
  /// `systemd-analyze security --json` prints them; nil when any of them is not valid JSON
  /// (then `splitJSONDocuments` finds the good ones).
  public static func parseSequence(_ bytes: [UInt8]) -> [JSONValue]? {
    var parser = Parser(bytes: bytes, index: 0, end: bytes.count)
    var documents: [JSONValue] = []
    parser.skipSpace()
    while parser.index < parser.end {
      guard let value = parser.value(depth: 0) else { return nil }
      documents.append(value)
      parser.skipSpace()
    }
    return documents
  }

  struct Parser {
    let bytes: [UInt8]
    var index: Int
    /// Where the document ends (exclusive): the parser never reads at or past it.
    let end: Int
    /// The members and items of the objects and arrays being read, a nested one's above its
    /// parent's: each object or array is copied out once, at its size, instead of growing an
    /// array of its own by doubling (three allocations for a directive's four members).
    var memberStack: [Member] = []
    var itemStack: [JSONValue] = []
    /// Object keys longer than a small string, by a hash of their bytes: a stored host's ~80
    /// check fields come back in each of its services and share one string each.
    var keys: [UInt64: String] = [:]

    mutating func skipSpace() {
      while index < end {
        switch bytes[index] {
        case 0x20, 0x09, 0x0A, 0x0D: index += 1
        default: return
        }
      }
    }

    mutating func value(depth: Int) -> JSONValue? {
      guard depth < 512 else { return nil }
      skipSpace()
      guard index < end else { return nil }
      switch bytes[index] {
      case UInt8(ascii: "{"): return object(depth: depth)
      case UInt8(ascii: "["): return array(depth: depth)
      case UInt8(ascii: "\""): return string().map(JSONValue.string)
      case UInt8(ascii: "t"): return literal("true", .bool(true))
      case UInt8(ascii: "f"): return literal("false", .bool(false))
      case UInt8(ascii: "n"): return literal("null", .null)
      default: return number()
      }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
      let count = word.utf8CodeUnitCount
      guard index + count <= end else { return nil }
      let matches = word.withUTF8Buffer { expected in
        expected.indices.allSatisfy { bytes[index + $0] == expected[$0] }
      }
      guard matches else { return nil }
      index += count
      return value
    }

    mutating func object(depth: Int) -> JSONValue? {
      index += 1
      let base = memberStack.count
      defer { memberStack.removeSubrange(base...) }
      skipSpace()
      if index < end, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object([])
      }
      while true {
        skipSpace()
        guard index < end, bytes[index] == UInt8(ascii: "\""), let key = key() else { return nil }
        skipSpace()
        guard index < end, bytes[index] == UInt8(ascii: ":") else { return nil }
        index += 1
        guard let item = value(depth: depth + 1) else { return nil }
        memberStack.append(Member(key: key, value: item))
        skipSpace()
        guard index < end else { return nil }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        guard bytes[index] == UInt8(ascii: "}") else { return nil }
        index += 1
        return .object(Array(memberStack[base...]))
      }
    }

    mutating func array(depth: Int) -> JSONValue? {
      index += 1
      let base = itemStack.count
      defer { itemStack.removeSubrange(base...) }
      skipSpace()
      if index < end, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array([])
      }
      while true {
        guard let item = value(depth: depth + 1) else { return nil }
        itemStack.append(item)
        skipSpace()
        guard index < end else { return nil }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        guard bytes[index] == UInt8(ascii: "]") else { return nil }
        index += 1
        return .array(Array(itemStack[base...]))
      }
    }

    /// An object's key: `string()`, with keys seen before in this document shared.
    mutating func key() -> String? {
      let start = index + 1
      var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
      var at = start
      while at < end {
        let byte = bytes[at]
        if byte == UInt8(ascii: "\"") {
          let text: String
          // Up to 15 bytes a string holds them itself: nothing to share.
          if at - start > 15, let known = keys[hash], known.utf8.elementsEqual(bytes[start..<at]) {
            text = known
          } else {
            text = String(decoding: bytes[start..<at], as: UTF8.self)
            if at - start > 15 { keys[hash] = text }
          }
          index = at + 1
          return text
        }
        if byte == UInt8(ascii: "\\") || byte < 0x20 { return string() }
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        at += 1
      }
      return nil
    }

    mutating func string() -> String? {
      index += 1
      let start = index
      // Fast path: no escapes.
      while index < end {
        let byte = bytes[index]
        if byte == UInt8(ascii: "\"") {
          let text = String(decoding: bytes[start..<index], as: UTF8.self)
          index += 1
          return text
        }
        if byte == UInt8(ascii: "\\") { break }
        if byte < 0x20 { return nil }
        index += 1
      }
      var scalars = Array(bytes[start..<index])
      while index < end {
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "\""):
          index += 1
          return String(decoding: scalars, as: UTF8.self)
        case UInt8(ascii: "\\"):
          index += 1
          guard index < end else { return nil }
          let escape = bytes[index]
          index += 1
          switch escape {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
          case UInt8(ascii: "b"): scalars.append(0x08)
          case UInt8(ascii: "f"): scalars.append(0x0C)
          case UInt8(ascii: "n"): scalars.append(0x0A)
          case UInt8(ascii: "r"): scalars.append(0x0D)
          case UInt8(ascii: "t"): scalars.append(0x09)
          case UInt8(ascii: "u"):
            guard var code = hex4() else { return nil }
            if (0xD800..<0xDC00).contains(code) {
              // A surrogate pair.
              guard index + 1 < end, bytes[index] == UInt8(ascii: "\\"),
                bytes[index + 1] == UInt8(ascii: "u")
              else { return nil }
              index += 2
              guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
            scalars.append(contentsOf: Array(String(scalar).utf8))
          default: return nil
          }
        default:
          if byte < 0x20 { return nil }
          scalars.append(byte)
          index += 1
        }
      }
      return nil
    }

    mutating func hex4() -> UInt32? {
      guard index + 4 <= end else { return nil }
      var value: UInt32 = 0
      for byte in bytes[index..<index + 4] {
        value <<= 4
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value |= UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value |= UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value |= UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
      }
      index += 4
      return value
    }

    mutating func number() -> JSONValue? {
      let start = index
      if index < end, bytes[index] == UInt8(ascii: "-") { index += 1 }
      let digitsStart = index
      while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
      guard index > digitsStart else { return nil }
      if bytes[digitsStart] == UInt8(ascii: "0"), index - digitsStart > 1 { return nil }
      if index < end, bytes[index] == UInt8(ascii: ".") {
        index += 1
        let fraction = index
        while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
          index += 1
        }
        guard index > fraction else { return nil }
      }
      if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
        index += 1
        if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
          index += 1
        }
        let exponent = index
        while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
          index += 1
        }
        guard index > exponent else { return nil }
      }
      return .number(String(decoding: bytes[start..<index], as: UTF8.self))
    }
  }
}
