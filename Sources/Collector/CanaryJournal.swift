import Foundation
import Synchronization

/// What `CanaryRun` does to a canary host, recorded on the collector before it is done: one
/// JSON line per drop-in applied, and one when it was removed. Lines without their removal
/// are what a killed run left on a host; `CanaryRun.restore` removes them.
public struct CanaryJournalEntry: Sendable, Codable, Hashable {
  public enum Event: String, Sendable, Codable { case applied, removed }
  public var event: Event
  public var host: String
  public var unit: String
  /// The drop-in's path on the host (always under /run/systemd/system).
  public var path: String
  /// The unit's ActiveState before the canary touched it.
  public var wasActive: Bool
  /// When, in seconds since 1970.
  public var at: Double = Date().timeIntervalSince1970
}

/// Appends journal lines, each synced: a kill after `applied` must find it on disk.
final class JournalWriter: Sendable {
  let url: URL
  private let lock = Mutex(())

  init(_ url: URL) { self.url = url }

  func append(_ entry: CanaryJournalEntry) {
    guard var line = try? JSONEncoder().encode(entry) else { return }
    line.append(0x0A)
    lock.withLock { _ in
      let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { return }
      defer { close(fd) }
      _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      fsync(fd)
    }
  }

  /// When a canary first applied a drop-in to `unit` on `host`, per the journal.
  func firstApplied(host: String, unit: String) -> Double? {
    guard let data = try? Data(contentsOf: url) else { return nil }
    return data.split(separator: 0x0A).compactMap { line in
      (try? JSONDecoder().decode(CanaryJournalEntry.self, from: Data(line))).flatMap {
        $0.event == .applied && $0.host == host && $0.unit == unit ? $0.at : nil
      }
    }.min()
  }

  /// The drop-ins applied and not removed, per the journal at `url`.
  static func openEntries(_ url: URL) -> [CanaryJournalEntry] {
    guard let data = try? Data(contentsOf: url) else { return [] }
    var open: [String: CanaryJournalEntry] = [:]
    for line in data.split(separator: 0x0A) {
      guard let entry = try? JSONDecoder().decode(CanaryJournalEntry.self, from: Data(line)) else { continue }
      let key = "\(entry.host)\u{0}\(entry.path)"
      switch entry.event {
      case .applied: open[key] = open[key] ?? entry
      case .removed: open[key] = nil
      }
    }
    return open.values.sorted { ($0.host, $0.path) < ($1.host, $1.path) }
  }
}
