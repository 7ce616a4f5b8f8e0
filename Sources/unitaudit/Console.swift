import ArgumentParser
import Foundation
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Terminal output: summaries on stdout, errors on stderr, control characters from hosts
/// never reach the terminal.
struct Console {
  var quiet: Bool

  func info(_ line: String) {
    guard !quiet else { return }
    print(line)
  }

  func error(_ line: String) {
    FileHandle.standardError.write(Data((terminalSafe(line) + "\n").utf8))
  }

  func summary(_ hosts: [HostReport], directory: URL) {
    guard !quiet else { return }
    let services = hosts.reduce(0) { $0 + $1.services.count }
    var byStatus: [HostStatusCode: Int] = [:]
    for host in hosts { byStatus[host.status.code, default: 0] += 1 }
    let statusText = HostStatusCode.allCases.compactMap { code in
      byStatus[code].map { "\($0) \(code.rawValue)" }
    }.joined(separator: ", ")
    print("scanned \(hosts.count) host\(hosts.count == 1 ? "" : "s"): \(statusText); \(services) services")
    for host in hosts where host.status.code != .ok {
      print("  \(terminalSafe(host.name)): \(terminalSafe(host.status.description))")
    }
    print("scan written to \(directory.path)")
  }
}

/// Removes escape sequences and other control characters (a host's name or output could
/// otherwise drive the operator's terminal).
func terminalSafe(_ text: String) -> String {
  String(
    String.UnicodeScalarView(
      text.unicodeScalars.filter { scalar in
        let category = scalar.properties.generalCategory
        return category != .control && category != .format || scalar == "\t"
      }))
}

extension CleanExit {
  /// A one-line error and exit status 1 (ArgumentParser's CleanExit exits 0).
  var asFailure: any Error { FailureMessage(text: "\(self)") }
}

struct FailureMessage: Error, CustomStringConvertible {
  var text: String
  var description: String { text }
}
