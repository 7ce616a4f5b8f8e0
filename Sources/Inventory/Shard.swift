import UnitModel

/// One of N disjoint shares of an inventory, for collectors that each scan part of a fleet
/// (a Kubernetes Indexed Job, AWX job slices). A host belongs to the share its name hashes to
/// (FNV-1a, 64-bit, of the name's UTF-8, modulo N), so the shares are disjoint, together are
/// the whole inventory, and a host's share does not move when other hosts come or go. Pure.
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
  /// 0-based, below `count` (Kubernetes' `JOB_COMPLETION_INDEX`).
  public let index: Int
  public let count: Int

  public init(index: Int, count: Int) throws(InventoryError) {
    guard count >= 1, count <= 10_000 else {
      throw InventoryError(file: "--shard", "the shard count must be 1 to 10000, not \(count)")
    }
    guard (0..<count).contains(index) else {
      throw InventoryError(
        file: "--shard",
        "the shard index must be 0 to \(count - 1) (0-based, as JOB_COMPLETION_INDEX), not \(index)")
    }
    self.index = index
    self.count = count
  }

  /// Parses `I/N`.
  public init(parsing text: String) throws(InventoryError) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
      throw InventoryError(file: "--shard", "write the shard as INDEX/COUNT (0/4 … 3/4), not '\(text)'")
    }
    try self.init(index: index, count: count)
  }

  /// Whether the host named `name` is in this share.
  public func owns(_ name: String) -> Bool {
    Int(FNV1a.hash(name.utf8) % UInt64(count)) == index
  }

  public var description: String { "\(index)/\(count)" }
}
