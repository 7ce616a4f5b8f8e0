import Foundation
import UnitModel

/// Splits concatenated JSON documents (`[…]\n\n[…]`): tracks nesting, strings and escapes,
/// and returns each top-level value's text. `trailing` counts the bytes of an unfinished one.
public func splitJSONDocuments(_ text: String) -> (documents: [String], trailing: Int?) {
  let bytes = Array(text.utf8)
  let split = splitJSONDocuments(bytes)
  return (split.ranges.map { String(decoding: bytes[$0], as: UTF8.self) }, split.trailing)
}

/// `splitJSONDocuments` over bytes: each top-level array or object as a range of `bytes`;
/// anything between them is skipped.
public func splitJSONDocuments(_ bytes: [UInt8]) -> (ranges: [Range<Int>], trailing: Int?) {
  var ranges: [Range<Int>] = []
  var index = 0
  while index < bytes.count {
    guard bytes[index] == UInt8(ascii: "[") || bytes[index] == UInt8(ascii: "{") else {
      index += 1
      continue
    }
    guard let end = jsonContainerEnd(bytes, from: index, to: bytes.count) else {
      return (ranges, bytes.count - index)
    }
    ranges.append(index..<end)
    index = end
  }
  return (ranges, nil)
}

/// Where the array or object that starts at `start` ends (exclusive), counting brackets
/// outside strings (a quote closes a string when an even number of backslashes precede it);
/// nil when it does not end before `limit`. Checks nesting depth only, not the JSON grammar.
func jsonContainerEnd(_ bytes: [UInt8], from start: Int, to limit: Int) -> Int? {
  bytes.withUnsafeBufferPointer { buffer -> Int? in
    guard let base = buffer.baseAddress else { return nil }
    var depth = 0
    var index = start
    while index < limit {
      let byte = base[index]
      index += 1
      switch byte {
      case UInt8(ascii: "\""):
        let opening = index
        while true {
          guard let found = memchr(base + index, Int32(UInt8(ascii: "\"")), limit - index) else { return nil }
          let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
          var backslashes = 0
          while quote - backslashes - 1 >= opening, base[quote - backslashes - 1] == UInt8(ascii: "\\") {
            backslashes += 1
          }
          index = quote + 1
          if backslashes % 2 == 0 { break }
        }
      case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
        if depth == 0 { return index }
      default: break
      }
    }
    return nil
  }
}
