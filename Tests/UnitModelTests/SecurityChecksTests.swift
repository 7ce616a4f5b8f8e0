import Foundation
import Testing

@testable import UnitModel

@Suite("a service's security checks: a dictionary over sorted arrays")
struct SecurityChecksTests {
  static func check(_ number: Int) -> SecurityCheck {
    SecurityCheck(
      name: "Check\(number)=", description: "check \(number)", set: number % 3 == 0 ? nil : number % 2 == 0,
      exposure: number % 4 == 0 ? nil : Exposure(tenths: number % 101))
  }

  /// The same as the dictionary: the same fields in sorted order, each with the same check.
  static func same(_ checks: SecurityChecks, _ dictionary: [String: SecurityCheck]) -> Bool {
    checks.keys == dictionary.keys.sorted() && checks.count == dictionary.count
      && checks.allSatisfy { dictionary[$0.key] == $0.value }
      && dictionary.allSatisfy { checks[$0.key] == $0.value }
  }

  @Test("random assignments, removals and look-ups give what a dictionary gives")
  func behavesLikeADictionary() {
    // Fields that sort in interesting ways: case, underscores, digits, a prefix of another,
    // non-ASCII, the empty string.
    let fields = [
      "", "A", "a", "B", "PrivateTmp", "Private", "PrivateTmpEx", "_x", "x_", "Z9", "Z10", "é", "e\u{301}",
      "💥",
      "CapabilityBoundingSet_CAP_SYS_ADMIN", "CapabilityBoundingSet",
    ]
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    func next(_ bound: Int) -> Int {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      return Int(state % UInt64(bound))
    }
    var checks: SecurityChecks = [:]
    var dictionary: [String: SecurityCheck] = [:]
    for step in 0..<3000 {
      let field = fields[next(fields.count)]
      if next(4) == 0 {
        checks[field] = nil
        dictionary[field] = nil
      } else {
        checks[field] = Self.check(step)
        dictionary[field] = Self.check(step)
      }
      #expect(checks[field] == dictionary[field])
      if step % 100 == 0 { #expect(Self.same(checks, dictionary), "step \(step)") }
    }
    #expect(Self.same(checks, dictionary))
    // From pairs in any order, the last of equal fields winning: as assignments in order.
    let pairs = (0..<200).map { (fields[next(fields.count)], Self.check($0)) }
    var assigned: [String: SecurityCheck] = [:]
    for (field, check) in pairs { assigned[field] = check }
    #expect(Self.same(SecurityChecks(pairs), assigned))
    // Equal contents are equal, and hash alike, whatever the order they were built in.
    let sorted = SecurityChecks(assigned.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    #expect(sorted == SecurityChecks(pairs))
    #expect(sorted.hashValue == SecurityChecks(pairs).hashValue)
    // The last pair is the only one with its check: without it the set differs.
    #expect(sorted != SecurityChecks(pairs.dropLast()))
  }

  @Test("order(of:) keeps each field once, its last occurrence, in sorted order")
  func order() {
    #expect(SecurityChecks.order(of: []) == [])
    #expect(SecurityChecks.order(of: ["b", "a", "b", "c", "a"]) == [4, 2, 3])
    #expect(SecurityChecks.order(of: ["a", "b", "c"]) == [0, 1, 2])
  }

  @Test("mapValues keeps the fields; stored as the JSON object a dictionary was")
  func mapAndCoding() throws {
    let checks: SecurityChecks = [
      "ProtectSystem": Self.check(1), "NoNewPrivileges": Self.check(2), "A": Self.check(3),
    ]
    let mapped = checks.mapValues { check in
      var seen = check
      seen.set = true
      return seen
    }
    #expect(mapped.keys == ["A", "NoNewPrivileges", "ProtectSystem"])
    #expect(mapped.values.map(\.exposure?.tenths) == [3, 2, 1])
    #expect(mapped.values.allSatisfy { $0.set == true })
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let dictionary = Dictionary(uniqueKeysWithValues: checks.map { ($0.key, $0.value) })
    #expect(try encoder.encode(checks) == encoder.encode(dictionary))
    #expect(try JSONDecoder().decode(SecurityChecks.self, from: JSONEncoder().encode(checks)) == checks)
    let decoded = try JSONDecoder().decode(SecurityChecks.self, from: try encoder.encode(dictionary))
    #expect(decoded == checks)
    #expect(try JSONDecoder().decode(SecurityChecks.self, from: Data("{}".utf8)).isEmpty)
    #expect(throws: DecodingError.self) {
      try JSONDecoder().decode(SecurityChecks.self, from: Data("[]".utf8))
    }
  }
}
