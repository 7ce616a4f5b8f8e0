import TestSupport
import Testing

@testable import Normalize

@Suite("the JSON parser")
struct JSONValueTests {
  /// Keys that repeat across a document, some longer than a small string (which the parser
  /// shares), two that differ only in their last byte, and some that need escapes.
  static let keys = [
    "id", "short", "CapabilityBoundingSet_CAP_SYS_TIME", "CapabilityBoundingSet_CAP_SYS_TIMF",
    "RestrictAddressFamilies_AF_UNIX", "é_a_long_key_with_accents_é", "a \"quoted\\ key/that is long",
    "tab\tkey that is rather long", "",
  ]

  /// A random document: objects (keys from `keys`, repeats allowed), arrays, strings,
  /// integers and literals, nested up to `depth` levels.
  static func document(_ generator: inout SeededGenerator, depth: Int) -> JSONValue {
    let kind =
      depth == 0 ? Int.random(in: 2..<6, using: &generator) : Int.random(in: 0..<6, using: &generator)
    switch kind {
    case 0:
      return .object(
        (0..<Int.random(in: 0..<12, using: &generator)).map { _ in
          JSONValue.Member(
            key: keys.randomElement(using: &generator) ?? "",
            value: document(&generator, depth: depth - 1))
        })
    case 1:
      return .array(
        (0..<Int.random(in: 0..<12, using: &generator)).map { _ in document(&generator, depth: depth - 1) })
    case 2: return .string(keys.randomElement(using: &generator) ?? "")
    case 3: return .number(String(Int.random(in: -1000...100_000, using: &generator)))
    case 4: return .bool(Bool.random(using: &generator))
    default: return .null
    }
  }

  /// JSON text for `value`; letters of strings are sometimes written as `\u` escapes.
  static func text(_ value: JSONValue, _ generator: inout SeededGenerator) -> String {
    func quoted(_ string: String) -> String {
      var out = "\""
      for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\t": out += "\\t"
        case "A"..."Z" where Int.random(in: 0..<8, using: &generator) == 0:
          out += "\\u00" + String(scalar.value, radix: 16)
        default: out.unicodeScalars.append(scalar)
        }
      }
      return out + "\""
    }
    switch value {
    case .object(let members):
      return "{" + members.map { quoted($0.key) + ":" + text($0.value, &generator) }.joined(separator: ",")
        + "}"
    case .array(let items): return "[" + items.map { text($0, &generator) }.joined(separator: ", ") + "]"
    case .string(let string): return quoted(string)
    case .number(let digits): return digits
    case .bool(let flag): return flag ? "true" : "false"
    case .null: return "null"
    }
  }

  @Test("nested objects and arrays of every size, repeated and escaped keys: read back as written")
  func randomDocuments() {
    var generator = SeededGenerator(seed: 0x150_0A7E)
    var objects = 0
    var failures: [String] = []
    for _ in 0..<400 {
      let value = Self.document(&generator, depth: 5)
      if case .object = value { objects += 1 }
      let written = Self.text(value, &generator)
      if JSONValue.parse(written) != value { failures.append(written) }
      // Two documents in a row through one parser: nothing of the first is left for the second.
      let second = Self.document(&generator, depth: 4)
      let pair = written + "\n" + Self.text(second, &generator)
      if JSONValue.parseSequence(Array(pair.utf8)) != [value, second] { failures.append(pair) }
    }
    #expect(failures.isEmpty, "\(failures.count) misread, the first: \(failures.first?.prefix(400) ?? "")")
    #expect(objects > 0)  // the generator does make objects at the top
  }

  @Test("a document that breaks inside nested containers is refused; the next one reads whole")
  func brokenInsideNesting() {
    for broken in [
      #"{"CapabilityBoundingSet_CAP_SYS_TIME":[1,{"a":[2,3}]}"#, #"[{"x":1},{"y":[true,]}]"#,
      #"{"CapabilityBoundingSet_CAP_SYS_TIME":{"CapabilityBoundingSet_CAP_SYS_TIME""#,
    ] {
      #expect(JSONValue.parse(broken) == nil, "\(broken)")
      #expect(JSONValue.parseSequence(Array((#"[{"k":1}]"# + "\n" + broken).utf8)) == nil)
    }
    let key = "CapabilityBoundingSet_CAP_SYS_TIME"
    let nested = JSONValue.parse(#"{"\#(key)":{"\#(key)":[{"\#(key)":[]},{}]},"\#(key)":[[],[[]]]}"#)
    let expected = JSONValue.object([
      .init(
        key: key,
        value: .object([
          .init(key: key, value: .array([.object([.init(key: key, value: .array([]))]), .object([])]))
        ])),
      .init(key: key, value: .array([.array([]), .array([.array([])])])),
    ])
    #expect(nested == expected)
  }

  @Test("a long key with invalid UTF-8 comes back repaired each time it repeats")
  func invalidKeys() {
    let first: [UInt8] = Array(#"{""#.utf8) + Array("abcdefghijklmnop".utf8) + [0xFF] + Array(#"":1,""#.utf8)
    let second: [UInt8] = Array("abcdefghijklmnop".utf8) + [0xC3] + Array(#"":2,""#.utf8)
    let third: [UInt8] = Array("abcdefghijklmnop".utf8) + [0xFF] + Array(#"":3}"#.utf8)
    let bytes = first + second + third
    guard case .object(let members) = JSONValue.parse(bytes, in: bytes.indices) else {
      Issue.record("not read")
      return
    }
    let repaired = "abcdefghijklmnop\u{FFFD}"
    #expect(members.map(\.key) == [repaired, repaired, repaired])
    #expect(members.map(\.value) == [.number("1"), .number("2"), .number("3")])
  }
}
