import Inventory
import Testing

@Suite("--shard: disjoint, complete, stable shares of an inventory")
struct ShardTests {
  static let names = (1...10_000).map { "host-\($0).example.com" }

  @Test(
    "every host is in exactly one share; the shares are the whole inventory", arguments: [1, 2, 4, 7, 32])
  func partition(count: Int) throws {
    let shards = try (0..<count).map { try Shard(index: $0, count: count) }
    var seen: [String: Int] = [:]
    for shard in shards {
      for name in Self.names where shard.owns(name) { seen[name, default: 0] += 1 }
    }
    #expect(seen.count == Self.names.count)
    #expect(seen.values.allSatisfy { $0 == 1 })
    // Shares are even enough to spread the work: each within 15% of the mean.
    let sizes = shards.map { shard in Self.names.filter { shard.owns($0) }.count }
    let mean = Double(Self.names.count) / Double(count)
    #expect(sizes.allSatisfy { abs(Double($0) - mean) <= mean * 0.15 }, "\(sizes)")
  }

  @Test(
    "a host's share is FNV-1a (64-bit) of its name modulo COUNT: fixed, whatever else the inventory holds")
  func stable() throws {
    // Computed independently (the FNV-1a definition, in Python): any tool can tell a host's share.
    for (name, count, index) in [
      ("h1", 4, 2), ("h2", 4, 3), ("bullseye-web", 4, 1), ("web-01.example.com", 4, 0), ("db7", 7, 6),
      ("h1", 7, 5),
    ] {
      #expect(try Shard(index: index, count: count).owns(name), "\(name) in \(index)/\(count)")
    }
  }

  @Test("INDEX/COUNT parses; anything else is refused with what to write")
  func parsing() throws {
    let shard = try Shard(parsing: "3/4")
    #expect(shard.index == 3 && shard.count == 4 && shard.description == "3/4")
    for bad in ["4/4", "-1/4", "a/b", "0/0", "1", "1/2/3", ""] {
      #expect(throws: InventoryError.self, "\(bad)") { try Shard(parsing: bad) }
    }
    do {
      _ = try Shard(parsing: "4/4")
    } catch {
      #expect(error.description.contains("0 to 3 (0-based"))
    }
  }
}
