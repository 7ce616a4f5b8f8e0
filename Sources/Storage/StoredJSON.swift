import Foundation

/// Compact JSON with sorted keys: the bytes `ScanCoding.lineEncoder` (Foundation's
/// `JSONEncoder`, `.sortedKeys`, `.withoutEscapingSlashes`) writes, for the values the store
/// writes once per new configuration (parts, checks, states). Foundation boxes every value
/// of the tree it builds; this builds a small tree of its own and writes it in one pass.
/// Values it does not write as Foundation would (dates, data, URLs, decimals, numbers that
/// are not finite) make it throw `Unsupported`, and `encode` then asks Foundation.
package enum StoredJSON {
  struct Unsupported: Error {}

  /// `value` as JSON, as `ScanCoding.lineEncoder` writes it.
  package static func encode(_ value: some Encodable) throws -> [UInt8] {
    do {
      let root = Slot()
      try value.encode(to: NodeEncoder(slot: root))
      // Nothing encoded at the top: Foundation's error, from Foundation.
      guard root.filled else { throw Unsupported() }
      var out: [UInt8] = []
      out.reserveCapacity(1024)
      write(root.node, into: &out)
      return out
    } catch is Unsupported {
      return Array(try ScanCoding.lineEncoder.encode(value))
    }
  }

  /// A value of the tree.
  fileprivate enum Node {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case object(Object)
    case array(List)
    /// A container made before it is filled (`nestedContainer`, `superEncoder`).
    case nested(Slot)
  }

  /// An object's members as they were encoded; sorted when written.
  fileprivate final class Object {
    var members: [(key: String, value: Node)] = []
  }

  fileprivate final class List {
    var items: [Node] = []
  }

  /// Where a value goes: filled by the encoder handed to the value.
  fileprivate final class Slot {
    var node: Node = .null
    var filled = false
  }

  private static func write(_ node: Node, into out: inout [UInt8]) {
    switch node {
    case .null: out += "null".utf8
    case .bool(let value): out += (value ? "true" : "false").utf8
    case .int(let value): out += String(value).utf8
    case .uint(let value): out += String(value).utf8
    case .double(let value):
      // Swift's shortest form, as Foundation writes it: "10", not "10.0".
      var text = value.description
      if text.hasSuffix(".0") { text.removeLast(2) }
      out += text.utf8
    case .string(let value): writeString(value, into: &out)
    case .nested(let slot): write(slot.filled ? slot.node : .object(Object()), into: &out)
    case .array(let list):
      out.append(UInt8(ascii: "["))
      for (index, item) in list.items.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        write(item, into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let object):
      out.append(UInt8(ascii: "{"))
      // Sorted by the keys' bytes; of one key encoded twice the last wins. Members often come
      // sorted already (a service's checks), which one pass finds.
      let members = object.members
      let sorted = zip(members, members.dropFirst()).allSatisfy { precedes($0.key, $1.key) }
      let order =
        sorted
        ? Array(members.indices)
        : members.indices.sorted { a, b in
          let (left, right) = (members[a].key, members[b].key)
          return left != right ? precedes(left, right) : a < b
        }
      var first = true
      for (position, index) in order.enumerated() {
        if !sorted, position + 1 < order.count, members[order[position + 1]].key == members[index].key {
          continue
        }
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        writeString(members[index].key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(members[index].value, into: &out)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  private static let hex = Array("0123456789abcdef".utf8)

  /// Whether `left`'s UTF-8 bytes sort before `right`'s.
  private static func precedes(_ left: String, _ right: String) -> Bool {
    var left = left
    var right = right
    return left.withUTF8 { a in
      right.withUTF8 { b in
        let common = min(a.count, b.count)
        guard common > 0, let first = a.baseAddress, let second = b.baseAddress else {
          return a.count < b.count
        }
        let order = memcmp(first, second, common)
        return order != 0 ? order < 0 : a.count < b.count
      }
    }
  }

  private static func writeString(_ value: String, into out: inout [UInt8]) {
    var value = value
    out.append(UInt8(ascii: "\""))
    value.withUTF8 { bytes in
      // Runs that need no escape are copied whole.
      var start = 0
      for index in 0..<bytes.count {
        let byte = bytes[index]
        guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        start = index + 1
        switch byte {
        case UInt8(ascii: "\""): out += #"\""#.utf8
        case UInt8(ascii: "\\"): out += #"\\"#.utf8
        case 0x08: out += #"\b"#.utf8
        case 0x09: out += #"\t"#.utf8
        case 0x0A: out += #"\n"#.utf8
        case 0x0C: out += #"\f"#.utf8
        case 0x0D: out += #"\r"#.utf8
        default:
          out += #"\u00"#.utf8
          out.append(hex[Int(byte >> 4)])
          out.append(hex[Int(byte & 0x0F)])
        }
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
    }
    out.append(UInt8(ascii: "\""))
  }

  /// The node of a value that is not one of the scalars, encoded by its own `encode(to:)`;
  /// one that encodes nothing is an empty object, as Foundation writes it.
  fileprivate static func node(of value: some Encodable) throws -> Node {
    switch value {
    case is Date, is Data, is URL, is Decimal: throw Unsupported()
    default: break
    }
    let slot = Slot()
    try value.encode(to: NodeEncoder(slot: slot))
    return slot.filled ? slot.node : .object(Object())
  }

  fileprivate static func finite(_ value: Double) throws -> Node {
    guard value.isFinite else { throw Unsupported() }
    return .double(value)
  }
}

/// Coding paths are left empty: only error messages read them, and a value that cannot be
/// written here is written by Foundation.
private struct NodeEncoder: Encoder {
  let slot: StoredJSON.Slot
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    let object: StoredJSON.Object
    if slot.filled, case .object(let existing) = slot.node {
      object = existing
    } else {
      object = StoredJSON.Object()
      slot.node = .object(object)
      slot.filled = true
    }
    return KeyedEncodingContainer(KeyedNodes<Key>(object: object))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    let list: StoredJSON.List
    if slot.filled, case .array(let existing) = slot.node {
      list = existing
    } else {
      list = StoredJSON.List()
      slot.node = .array(list)
      slot.filled = true
    }
    return UnkeyedNodes(list: list)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    SingleNode(slot: slot)
  }
}

private struct KeyedNodes<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let object: StoredJSON.Object
  var codingPath: [any CodingKey] { [] }

  private func put(_ node: StoredJSON.Node, _ key: Key) { object.members.append((key.stringValue, node)) }

  mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
  mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
  mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
  mutating func encode(_ value: Double, forKey key: Key) throws { put(try StoredJSON.finite(value), key) }
  mutating func encode(_ value: Float, forKey key: Key) throws { throw StoredJSON.Unsupported() }
  mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int64, forKey key: Key) throws { put(.int(value), key) }
  mutating func encode(_ value: UInt, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
  mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
  mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
  mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
  mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.uint(value), key) }
  mutating func encode(_ value: some Encodable, forKey key: Key) throws {
    put(try StoredJSON.node(of: value), key)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
    -> KeyedEncodingContainer<NestedKey>
  {
    let slot = StoredJSON.Slot()
    put(.nested(slot), key)
    return NodeEncoder(slot: slot).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    let slot = StoredJSON.Slot()
    put(.nested(slot), key)
    return NodeEncoder(slot: slot).unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
  mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

  private func superEncoder(named name: String) -> any Encoder {
    let slot = StoredJSON.Slot()
    object.members.append((name, .nested(slot)))
    return NodeEncoder(slot: slot)
  }
}

/// What unkeyed and single-value containers share: a place for each scalar they are given.
private protocol NodeSink {
  func put(_ node: StoredJSON.Node)
}

extension NodeSink {
  mutating func encodeNil() throws { put(.null) }
  mutating func encode(_ value: Bool) throws { put(.bool(value)) }
  mutating func encode(_ value: String) throws { put(.string(value)) }
  mutating func encode(_ value: Double) throws { put(try StoredJSON.finite(value)) }
  mutating func encode(_ value: Float) throws { throw StoredJSON.Unsupported() }
  mutating func encode(_ value: Int) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int8) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int16) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int32) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int64) throws { put(.int(value)) }
  mutating func encode(_ value: UInt) throws { put(.uint(UInt64(value))) }
  mutating func encode(_ value: UInt8) throws { put(.uint(UInt64(value))) }
  mutating func encode(_ value: UInt16) throws { put(.uint(UInt64(value))) }
  mutating func encode(_ value: UInt32) throws { put(.uint(UInt64(value))) }
  mutating func encode(_ value: UInt64) throws { put(.uint(value)) }
  mutating func encode(_ value: some Encodable) throws { put(try StoredJSON.node(of: value)) }
}

private struct UnkeyedNodes: UnkeyedEncodingContainer, NodeSink {
  let list: StoredJSON.List
  var codingPath: [any CodingKey] { [] }
  var count: Int { list.items.count }

  func put(_ node: StoredJSON.Node) { list.items.append(node) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
    -> KeyedEncodingContainer<NestedKey>
  {
    let slot = StoredJSON.Slot()
    put(.nested(slot))
    return NodeEncoder(slot: slot).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    let slot = StoredJSON.Slot()
    put(.nested(slot))
    return NodeEncoder(slot: slot).unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder {
    let slot = StoredJSON.Slot()
    put(.nested(slot))
    return NodeEncoder(slot: slot)
  }
}

private struct SingleNode: SingleValueEncodingContainer, NodeSink {
  let slot: StoredJSON.Slot
  var codingPath: [any CodingKey] { [] }

  func put(_ node: StoredJSON.Node) {
    slot.node = node
    slot.filled = true
  }
}
