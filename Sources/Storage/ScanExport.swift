import Foundation
import UnitModel

/// Host lines: one JSON object per host, the model's own form (sorted keys, ISO 8601 dates,
/// C1 controls and bidirectional overrides escaped), which `unitaudit export --jsonl` writes
/// for jq and other tools.
public enum HostLines {
  /// One host's line, without its newline.
  public static func line(_ host: HostReport) throws -> Data {
    let encoded = String(decoding: try ScanCoding.lineEncoder.encode(host), as: UTF8.self)
    return Data(JSONString.escapingInvisible(encoded).utf8)
  }

  /// Every host of `scan`, a line each, handed to `write` in order. Lines are encoded on every
  /// core, a batch of hosts at a time.
  public static func write(_ scan: Scan, _ write: (Data) throws -> Void) throws {
    var start = 0
    while start < scan.hosts.count {
      let batch = Array(scan.hosts[start..<min(start + 64, scan.hosts.count)])
      for encoded in batch.concurrentMap({ host in Result { try line(host) } }) {
        var line = try encoded.get()
        line.append(UInt8(ascii: "\n"))
        try write(line)
      }
      start += batch.count
    }
  }
}
