/// Reads the SSH wire encoding (RFC 4251, section 5) of key blobs, certificates and
/// signatures: big-endian integers and length-prefixed strings. Every read is bounded by the
/// bytes there are; a short or oversized field is nil, never a crash.
struct SSHWireReader {
  private let bytes: [UInt8]
  private(set) var offset: Int

  init(_ bytes: [UInt8]) {
    self.bytes = bytes
    self.offset = 0
  }

  var isAtEnd: Bool { offset == bytes.count }

  mutating func byte() -> UInt8? {
    guard offset < bytes.count else { return nil }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func uint32() -> UInt32? {
    guard bytes.count - offset >= 4 else { return nil }
    defer { offset += 4 }
    return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
  }

  mutating func uint64() -> UInt64? {
    guard bytes.count - offset >= 8 else { return nil }
    defer { offset += 8 }
    return bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
  }

  /// A `string`: four bytes of length, then that many bytes.
  mutating func string() -> [UInt8]? {
    let start = offset
    guard let length = uint32(), bytes.count - offset >= Int(length) else {
      offset = start
      return nil
    }
    defer { offset += Int(length) }
    return Array(bytes[offset..<offset + Int(length)])
  }

  /// A `string` read as UTF-8 text.
  mutating func text() -> String? {
    string().flatMap { String(bytes: $0, encoding: .utf8) }
  }

  /// A `string` holding a list of strings (a certificate's principals).
  mutating func stringList() -> [String]? {
    guard let packed = string() else { return nil }
    var inner = SSHWireReader(packed)
    var items: [String] = []
    while !inner.isAtEnd {
      guard let item = inner.text() else { return nil }
      items.append(item)
    }
    return items
  }

  /// A `string` holding name/value pairs (a certificate's critical options or extensions);
  /// the names.
  mutating func optionNames() -> [String]? {
    guard let packed = string() else { return nil }
    var inner = SSHWireReader(packed)
    var names: [String] = []
    while !inner.isAtEnd {
      guard let name = inner.text(), inner.string() != nil else { return nil }
      names.append(name)
    }
    return names
  }
}

/// Writes the SSH wire encoding: what `SSHWireReader` reads.
struct SSHWireWriter {
  private(set) var bytes: [UInt8] = []

  mutating func string(_ value: some Collection<UInt8>) {
    let count = UInt32(value.count)
    bytes += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
    bytes += value
  }

  mutating func text(_ value: String) { string(Array(value.utf8)) }

  mutating func byte(_ value: UInt8) { bytes.append(value) }

  mutating func raw(_ value: [UInt8]) { bytes += value }
}
