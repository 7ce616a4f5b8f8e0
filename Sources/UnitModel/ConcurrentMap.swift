import Dispatch

extension Array where Element: Sendable {
  /// `map`, with the elements transformed at the same time on every core
  /// (`DispatchQueue.concurrentPerform`); the results keep the elements' order. For independent
  /// pieces of CPU work that take milliseconds or more each: decoding the lines of a scan,
  /// writing the files of a report.
  public func concurrentMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
    guard count > 1 else { return map(transform) }
    let results = Slots<T>(count: count)
    DispatchQueue.concurrentPerform(iterations: count) { index in
      results.set(index, transform(self[index]))
    }
    return results.values
  }
}

/// One slot per element, each written by one iteration only: through a buffer of its own, as
/// an Array's copy-on-write check would race.
// @unchecked: each slot is written by one iteration and read after all of them have ended.
private final class Slots<T>: @unchecked Sendable {
  private let slots: UnsafeMutableBufferPointer<T?>

  init(count: Int) {
    slots = .allocate(capacity: count)
    slots.initialize(repeating: nil)
  }

  deinit {
    slots.deinitialize()
    slots.deallocate()
  }

  func set(_ index: Int, _ value: T) { slots[index] = value }

  /// Every slot, once every iteration has run (each has set its own).
  var values: [T] { slots.compactMap { $0 } }
}
