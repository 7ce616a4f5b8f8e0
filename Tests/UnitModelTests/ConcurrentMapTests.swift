import Foundation
import Testing
import UnitModel

@Suite("concurrentMap")
struct ConcurrentMapTests {
  @Test("gives map's result, in order, for every size, nil results included")
  func sameAsMap() {
    for count in [0, 1, 2, 3, 17, 1000] {
      let numbers = Array(0..<count)
      #expect(numbers.concurrentMap { $0 * 3 } == numbers.map { $0 * 3 })
      #expect(numbers.concurrentMap { $0 % 2 == 0 ? nil : $0 } == numbers.map { $0 % 2 == 0 ? nil : $0 })
    }
  }
}
