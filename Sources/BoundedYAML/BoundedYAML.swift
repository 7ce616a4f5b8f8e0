import Yams

/// YAML composed with a bound on what its aliases may multiply. Yams shares an anchored node
/// wherever an alias names it, so composing is cheap, but every reader that walks the tree
/// visits that node once per alias: ten levels of ten aliases (`&a [*b, *b, …]`, a "billion
/// laughs") make a 300-byte file a walk of 10¹⁰ nodes. Inventories and baselines come through
/// here and are refused before anyone walks them.
public enum BoundedYAML {
  /// The most nodes a walk of the document may visit: a document without aliases has fewer
  /// nodes than bytes, so this only stops alias expansion.
  public static func nodeLimit(forBytes bytes: Int) -> Int { max(1_000_000, bytes) }

  public struct TooManyNodes: Error, CustomStringConvertible, Sendable {
    public let limit: Int
    public var description: String {
      "its aliases expand to more than \(limit) nodes, more than any real file needs; "
        + "unitaudit refuses it rather than walk them (write the values out, or use fewer aliases)"
    }
  }

  /// Composes one document (`Yams.compose`) and throws `TooManyNodes` when walking it
  /// would visit more than `nodeLimit` nodes; Yams' own errors pass through.
  public static func compose(_ text: String) throws -> Node? {
    guard let root = try Yams.compose(yaml: text) else { return nil }
    let limit = nodeLimit(forBytes: text.utf8.count)
    if walkExceeds(root, limit: limit) { throw TooManyNodes(limit: limit) }
    return root
  }

  /// True when visiting `root` the way readers do (every alias expanded) passes `limit`
  /// nodes. Stops as soon as it does, so it costs at most `limit` steps.
  static func walkExceeds(_ root: Node, limit: Int) -> Bool {
    var pending = [root]
    var visited = 0
    while let node = pending.popLast() {
      visited += 1
      if visited > limit { return true }
      switch node {
      case .mapping(let mapping):
        for (key, value) in mapping {
          pending.append(key)
          pending.append(value)
        }
      case .sequence(let sequence): pending.append(contentsOf: sequence)
      case .scalar, .alias: break
      }
    }
    return false
  }
}
