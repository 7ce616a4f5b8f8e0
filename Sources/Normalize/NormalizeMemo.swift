import Synchronization
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// What `normalize` read from the largest sections of a scan's recent hosts, kept for the
/// hosts after them: hosts made from one image print the same `systemd-analyze security`
/// output and the same unit files byte for byte, and reading them is most of the cost of
/// normalizing a host. A section is only taken from here when its bytes (and everything else
/// its reading depends on) are exactly equal to a recent host's — compared in full, not by a
/// hash — so the report is the one a fresh reading would give, and the hosts that share a
/// reading also share its strings and arrays (the scan database's deduplication then finds
/// them equal without comparing their contents).
///
/// One memo serves a scan's concurrent hosts. It keeps the `capacity` readings used last of
/// each kind, with the section bytes they were read from (about a megabyte each).
public final class NormalizeMemo: Sendable {
  struct SecurityKey: Hashable, Sendable {
    var json: Bool
    var stdout: SectionBytes
    var stderr: SectionBytes
  }

  struct UnitFilesKey: Hashable, Sendable {
    var cat: SectionBytes
    /// Every service of the host, in order, and those whose files `systemctl cat` printed.
    var ids: [String]
    var expected: [ExpectedUnitFiles]
    var systemd: Int?
  }

  let security: RecentValues<SecurityKey, SecurityAnalysis>
  let unitFiles: RecentValues<UnitFilesKey, UnitFilesReading>

  /// A memo of at most `capacity` readings of each kind.
  public init(capacity: Int = 16) {
    security = RecentValues(capacity: capacity)
    unitFiles = RecentValues(capacity: capacity)
  }

  /// How many readings were taken from the memo, and how many were made (for tests and the
  /// benchmarks).
  public var counts: (reused: Int, read: Int) {
    let (a, b) = (security.counts, unitFiles.counts)
    return (a.reused + b.reused, a.read + b.read)
  }
}

/// A section's bytes as a dictionary key: equal when every byte is equal (`memcmp`); the
/// hash covers the length and a few hundred bytes spread over the section, so that equal
/// sections cost one comparison and different ones almost never get that far.
struct SectionBytes: Hashable, Sendable {
  let bytes: [UInt8]

  static func == (lhs: SectionBytes, rhs: SectionBytes) -> Bool {
    guard lhs.bytes.count == rhs.bytes.count else { return false }
    return lhs.bytes.withUnsafeBytes { left in
      rhs.bytes.withUnsafeBytes { right in
        guard let l = left.baseAddress, let r = right.baseAddress else { return true }
        return memcmp(l, r, left.count) == 0
      }
    }
  }

  func hash(into hasher: inout Hasher) {
    let count = bytes.count
    hasher.combine(count)
    bytes.withUnsafeBytes { raw in
      guard count > 0 else { return }
      // 16 windows of 16 bytes, from the start to the end.
      let window = min(16, count)
      for step in 0..<16 {
        let start = (count - window) * step / 15
        hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<(start + window)]))
      }
    }
  }
}

/// At most `capacity` values by key, the least recently used dropped first; a value is made
/// outside the lock (two hosts may make the same one at once; both get an equal value).
final class RecentValues<Key: Hashable & Sendable, Value: Sendable>: Sendable {
  private struct State {
    var entries: [Key: (value: Value, used: Int)] = [:]
    var clock = 0
    var reused = 0
    var read = 0
  }
  private let state = Mutex(State())
  let capacity: Int

  init(capacity: Int) { self.capacity = max(1, capacity) }

  var counts: (reused: Int, read: Int) { state.withLock { ($0.reused, $0.read) } }

  func value(for key: Key, make: () -> Value) -> Value {
    let found: Value? = state.withLock { state in
      state.clock += 1
      guard let entry = state.entries[key] else { return nil }
      state.entries[key] = (entry.value, state.clock)
      state.reused += 1
      return entry.value
    }
    if let found { return found }
    let made = make()
    state.withLock { state in
      state.read += 1
      state.clock += 1
      state.entries[key] = (made, state.clock)
      if state.entries.count > capacity,
        let oldest = state.entries.min(by: { $0.value.used < $1.value.used })?.key
      {
        state.entries[oldest] = nil
      }
    }
    return made
  }
}
