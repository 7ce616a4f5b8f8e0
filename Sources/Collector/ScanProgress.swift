import Foundation
import UnitModel

/// Counts of a running scan and the one-line text that shows them. A value: the CLI owns
/// the one instance and draws it.
public struct ScanProgress: Sendable, Hashable {
  public var total: Int
  public var done = 0
  public var running = 0
  public var ok = 0
  public var partial = 0
  public var failed: [HostStatusCode: Int] = [:]
  public var services = 0

  public init(total: Int) { self.total = total }

  public mutating func started() { running += 1 }

  public mutating func finished(_ report: HostReport) {
    running = max(0, running - 1)
    done += 1
    services += report.services.count
    switch report.status.code {
    case .ok: ok += 1
    case .partial, .truncated: partial += 1
    default: failed[report.status.code, default: 0] += 1
    }
  }

  /// `37/100 hosts · 35 ok · 1 partial · failed: 1 timeout · 4 running · 0:42 elapsed · ETA 1:10`
  public func line(elapsed: TimeInterval) -> String {
    var parts = ["\(done)/\(total) hosts", "\(ok) ok"]
    if partial > 0 { parts.append("\(partial) partial") }
    if !failed.isEmpty {
      let reasons = HostStatusCode.allCases.compactMap { code in failed[code].map { "\($0) \(code.rawValue)" }
      }
      parts.append("failed: " + reasons.joined(separator: ", "))
    }
    if running > 0 { parts.append("\(running) running") }
    parts.append("\(Self.clock(elapsed)) elapsed")
    if done > 0, done < total {
      parts.append("ETA \(Self.clock(elapsed / Double(done) * Double(total - done)))")
    }
    return parts.joined(separator: " · ")
  }

  /// `m:ss`, or `h:mm:ss` past an hour.
  public static func clock(_ seconds: TimeInterval) -> String {
    let whole = max(0, Int(seconds.rounded()))
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60)
    let mm = m < 10 && h > 0 ? "0\(m)" : "\(m)"
    let ss = s < 10 ? "0\(s)" : "\(s)"
    return h > 0 ? "\(h):\(mm):\(ss)" : "\(mm):\(ss)"
  }
}
