import Foundation
import UnitModel

/// Decodes a `Decodable` value from a parsed `JSONValue`, as Foundation's `JSONDecoder` with
/// ISO 8601 dates would from the same text, with less work per value: members are found in the
/// object's list itself (by binary search when its keys are sorted, as unitaudit writes
/// them), with no dictionary built per object and no coding path kept; stored services are
/// read member by member (`ServiceRecord(stored:)`).
///
/// It is strict where `JSONDecoder` is lenient: a number that is not exactly an integer of
/// the asked type, or a type other than the one asked for, is an error. A caller that needs
/// `JSONDecoder`'s exact answer on unusual input decodes again with it when this one throws;
/// for the input this one accepts, the two give the same value.
public enum JSONValueDecoder {
  public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
    try ValueDecoder(value: value).decodeValue(T.self)
  }

  /// Parses and decodes JSON text; nil when the text is not one JSON document, or is one that
  /// the two readers could take differently: invalid UTF-8 (JSONDecoder refuses it, the parser
  /// would put U+FFFD in its place) or a `\uD…` escape (half of a surrogate pair, which the two
  /// treat differently when it is unpaired; unitaudit never writes one). Throws when the
  /// document does not decode as `type`.
  public static func decode<T: Decodable>(_ type: T.Type, fromUTF8 bytes: [UInt8]) throws -> T? {
    guard isValidUTF8(bytes), !hasSurrogateEscape(bytes),
      let value = JSONValue.parse(bytes, in: bytes.indices)
    else { return nil }
    return try decode(type, from: value)
  }

  /// True when a backslash is followed by `u` and `d` or `D` anywhere (even where the backslash
  /// is itself escaped: a false alarm only costs the slower reader).
  static func hasSurrogateEscape(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return false }
      var start = 0
      while let found = memchr(base + start, Int32(UInt8(ascii: "\\")), buffer.count - start) {
        let slash = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        if slash + 2 < buffer.count, buffer[slash + 1] == UInt8(ascii: "u"),
          buffer[slash + 2] | 0x20 == UInt8(ascii: "d")
        {
          return true
        }
        start = slash + 1
      }
      return false
    }
  }
}

/// Why `JSONValueDecoder` gave up.
public struct JSONValueDecodingError: Error, CustomStringConvertible {
  public var description: String

  init(_ description: String) { self.description = description }

  static func mismatch(_ type: Any.Type, _ value: JSONValue) -> JSONValueDecodingError {
    JSONValueDecodingError("expected \(type), found \(value.kind)")
  }
}

extension JSONValue {
  fileprivate var kind: String {
    switch self {
    case .object: "an object"
    case .array: "an array"
    case .string: "a string"
    case .number: "a number"
    case .bool: "a boolean"
    case .null: "null"
    }
  }
}

private struct ValueDecoder: Decoder {
  let value: JSONValue
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let members) = value else {
      throw JSONValueDecodingError.mismatch([String: Any].self, value)
    }
    return KeyedDecodingContainer(KeyedContainer<Key>(members: members))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let items) = value else { throw JSONValueDecodingError.mismatch([Any].self, value) }
    return UnkeyedContainer(items: items)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

  func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
    // The types JSONDecoder reads its own way; everything else through its `init(from:)`.
    // (Metatypes compared by identity: `is String.Type` is a dynamic cast, a few times per value.)
    let special: Any?
    if T.self == String.self {
      special = try string()
    } else if T.self == Bool.self {
      special = try bool()
    } else if T.self == Int.self {
      special = try integer(Int.self)
    } else if T.self == Double.self {
      special = try double()
    } else if T.self == Date.self {
      let text = try string()
      guard let date = try? Date.ISO8601FormatStyle().parse(text) else {
        throw JSONValueDecodingError("expected an ISO 8601 date, found \(text.debugDescription)")
      }
      special = date
    } else if T.self == ServiceRecord.self {
      special = ServiceRecord(stored: value)  // nil: `init(from:)` reads it below
    } else {
      special = nil
    }
    if let special {
      guard let typed = special as? T else { throw JSONValueDecodingError.mismatch(type, value) }
      return typed
    }
    return try T(from: self)
  }

  func string() throws -> String {
    guard case .string(let text) = value else { throw JSONValueDecodingError.mismatch(String.self, value) }
    return text
  }

  func bool() throws -> Bool {
    guard case .bool(let flag) = value else { throw JSONValueDecodingError.mismatch(Bool.self, value) }
    return flag
  }

  func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
    guard case .number(let text) = value, let number = I(text) else {
      throw JSONValueDecodingError.mismatch(type, value)
    }
    return number
  }

  /// A number as JSONDecoder reads it, which refuses one a `Double` cannot hold: too large
  /// (`1e400`, infinite here) or too small (`1e-400`, zero here though its digits are not).
  func double() throws -> Double {
    guard case .number(let text) = value, let number = Double(text), number.isFinite,
      number != 0
        || !text.utf8.prefix(while: { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") })
          .contains(where: { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") })
    else {
      throw JSONValueDecodingError.mismatch(Double.self, value)
    }
    return number
  }
}

extension ValueDecoder: SingleValueDecodingContainer {
  func decodeNil() -> Bool {
    if case .null = value { return true }
    return false
  }
  func decode(_ type: Bool.Type) throws -> Bool { try bool() }
  func decode(_ type: String.Type) throws -> String { try string() }
  func decode(_ type: Double.Type) throws -> Double { try double() }
  func decode(_ type: Float.Type) throws -> Float { Float(try double()) }
  func decode(_ type: Int.Type) throws -> Int { try integer(type) }
  func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
  func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
  func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
  func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
  func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
  func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let members: [JSONValue.Member]
  /// Keys in strictly ascending order (as unitaudit writes them, sorted): no key repeats, and
  /// a member is found by binary search, where a linear search per key would be quadratic in
  /// a dictionary of ~80 security checks. Otherwise the search is linear.
  let ascending: Bool
  var codingPath: [any CodingKey] { [] }

  init(members: [JSONValue.Member]) {
    self.members = members
    ascending = members.count > 4 && zip(members, members.dropFirst()).allSatisfy { $0.key < $1.key }
  }

  var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

  /// The member's value; the first one when a key repeats, as JSONDecoder takes it.
  func member(_ key: Key) -> JSONValue? {
    let name = key.stringValue
    guard ascending else { return members.first { $0.key == name }?.value }
    var low = 0
    var high = members.count
    while low < high {
      let middle = (low + high) / 2
      let candidate = members[middle].key
      if candidate == name { return members[middle].value }
      if candidate < name { low = middle + 1 } else { high = middle }
    }
    return nil
  }

  func contains(_ key: Key) -> Bool { member(key) != nil }

  func value(_ key: Key) throws -> ValueDecoder {
    guard let value = member(key) else { throw JSONValueDecodingError("'\(key.stringValue)' is missing") }
    return ValueDecoder(value: value)
  }

  func decodeNil(forKey key: Key) throws -> Bool { try value(key).decodeNil() }
  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(key).bool() }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(key).string() }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(key).double() }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try value(key).double()) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(key).integer(type) }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(key).integer(type) }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(key).integer(type) }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(key).integer(type) }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(key).integer(type) }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(key).integer(type) }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(key).integer(type) }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(key).integer(type) }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(key).integer(type) }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(key).integer(type) }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(key).decodeValue(type) }

  /// Absent and null are both nil, as JSONDecoder has it.
  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
    guard let value = member(key) else { return nil }
    if case .null = value { return nil }
    return try ValueDecoder(value: value).decodeValue(type)
  }

  func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type, forKey key: Key
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try value(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try value(key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder {
    throw JSONValueDecodingError("superDecoder is not supported")
  }

  func superDecoder(forKey key: Key) throws -> any Decoder {
    throw JSONValueDecodingError("superDecoder is not supported")
  }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
  let items: [JSONValue]
  var currentIndex = 0
  var codingPath: [any CodingKey] { [] }
  var count: Int? { items.count }
  var isAtEnd: Bool { currentIndex >= items.count }

  init(items: [JSONValue]) { self.items = items }

  mutating func next() throws -> ValueDecoder {
    guard currentIndex < items.count else { throw JSONValueDecodingError("the array has no more items") }
    defer { currentIndex += 1 }
    return ValueDecoder(value: items[currentIndex])
  }

  mutating func decodeNil() throws -> Bool {
    guard currentIndex < items.count else { throw JSONValueDecodingError("the array has no more items") }
    guard case .null = items[currentIndex] else { return false }
    currentIndex += 1
    return true
  }

  mutating func decode(_ type: Bool.Type) throws -> Bool { try next().bool() }
  mutating func decode(_ type: String.Type) throws -> String { try next().string() }
  mutating func decode(_ type: Double.Type) throws -> Double { try next().double() }
  mutating func decode(_ type: Float.Type) throws -> Float { Float(try next().double()) }
  mutating func decode(_ type: Int.Type) throws -> Int { try next().integer(type) }
  mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().integer(type) }
  mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().integer(type) }
  mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().integer(type) }
  mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().integer(type) }
  mutating func decode(_ type: UInt.Type) throws -> UInt { try next().integer(type) }
  mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().integer(type) }
  mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().integer(type) }
  mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().integer(type) }
  mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().integer(type) }
  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try next().container(keyedBy: type)
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    try next().unkeyedContainer()
  }

  mutating func superDecoder() throws -> any Decoder {
    throw JSONValueDecodingError("superDecoder is not supported")
  }
}
