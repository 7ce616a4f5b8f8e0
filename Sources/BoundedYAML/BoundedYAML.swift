import CYaml
import Yams

/// YAML composed with a bound on what its aliases may multiply. An alias repeats its anchored
/// node wherever it is used: ten levels of ten aliases (`&a [*b, *b, …]`, a "billion laughs")
/// make a 300-byte file a tree of 10¹⁰ nodes. Yams shares the node, so composing looks cheap,
/// but anything that walks the tree — our readers, and Yams itself when it hashes mapping keys
/// to find duplicates — visits it once per use. So the size of the tree with every alias
/// expanded is counted first, from libyaml's events, without building anything, and a
/// document over the bound is refused before Yams composes it.
public enum BoundedYAML {
  /// The most nodes the expanded document may have: a document without aliases has fewer
  /// nodes than bytes, so this only stops alias expansion.
  public static func nodeLimit(forBytes bytes: Int) -> Int { max(1_000_000, bytes) }

  public struct TooManyNodes: Error, CustomStringConvertible, Sendable {
    public let limit: Int
    public var description: String {
      "its aliases expand to more than \(limit) nodes, more than any real file needs; "
        + "unitaudit refuses it rather than walk them (write the values out, or use fewer aliases)"
    }
  }

  /// Composes one document (`Yams.compose`) after checking that, with every alias expanded,
  /// it has at most `nodeLimit` nodes (else `TooManyNodes`); YAML errors are Yams' own.
  public static func compose(_ text: String) throws -> Node? {
    let limit = nodeLimit(forBytes: text.utf8.count)
    if let size = expandedSize(text, limit: limit), size > limit { throw TooManyNodes(limit: limit) }
    return try Yams.compose(yaml: text)
  }

  /// The number of nodes in `text`'s documents with every alias expanded, counted from
  /// libyaml's events; stops early once past `limit`. Nil when libyaml cannot read the text
  /// (Yams then reports the error with its line).
  static func expandedSize(_ text: String, limit: Int) -> Int? {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else { return nil }
    defer { yaml_parser_delete(&parser) }
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { buffer -> Int? in
      yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
      var anchors: [String: Int] = [:]
      // The expanded size so far of each open sequence or mapping, and its anchor.
      var open: [(size: Int, anchor: String?)] = []
      // Every node counted so far, in closed and open collections alike.
      var total = 0
      func add(_ size: Int, anchor: String?) {
        if let anchor { anchors[anchor] = size }
        if !open.isEmpty { open[open.count - 1].size += size }
      }
      func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
      }
      while true {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
        defer { yaml_event_delete(&event) }
        switch event.type {
        case YAML_STREAM_END_EVENT: return total
        case YAML_SCALAR_EVENT:
          add(1, anchor: name(event.data.scalar.anchor))
          total += 1
        case YAML_ALIAS_EVENT:
          // An undefined alias is Yams' error to report; count it as one node.
          let size = name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1
          add(size, anchor: nil)
          total += size
        case YAML_SEQUENCE_START_EVENT:
          open.append((1, name(event.data.sequence_start.anchor)))
          total += 1
        case YAML_MAPPING_START_EVENT:
          open.append((1, name(event.data.mapping_start.anchor)))
          total += 1
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
          // Its nodes are counted already; its size goes to its parent and its anchor.
          if let closed = open.popLast() { add(closed.size, anchor: closed.anchor) }
        default: break
        }
        if total > limit { return total }
      }
    }
  }
}
