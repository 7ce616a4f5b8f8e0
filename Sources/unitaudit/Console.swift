import ArgumentParser
import Foundation
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Terminal output: summaries on stdout, errors on stderr, control characters from hosts
/// never reach the terminal.
struct Console: Sendable {
  var quiet: Bool

  /// A line on stdout, flushed: progress shows as it happens in a log or a pipe too.
  func info(_ line: String) {
    guard !quiet else { return }
    print(line)
    fflush(nil)  // every output stream: `stdout` is not concurrency-safe to name
  }

  func error(_ line: String) {
    FileHandle.standardError.write(Data((terminalSafe(line) + "\n").utf8))
  }

  /// A plain progress line on stderr (when stderr is not a terminal).
  func progress(_ line: String) {
    guard !quiet else { return }
    FileHandle.standardError.write(Data((terminalSafe(line) + "\n").utf8))
  }

  /// Replaces the live status line on a terminal's stderr.
  func status(_ line: String) {
    var text = terminalSafe(line)
    var size = winsize()
    if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1, text.count >= Int(size.ws_col) {
      text = String(text.prefix(Int(size.ws_col) - 1))
    }
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
  }

  /// The end of a scan: hosts by status, services seen, failures with their reasons, where
  /// the scan is.
  func summary(_ hosts: [HostReport], services: Int, planned: Int, directory: URL) {
    guard !quiet else { return }
    var byStatus: [HostStatusCode: Int] = [:]
    for host in hosts { byStatus[host.status.code, default: 0] += 1 }
    let statusText = HostStatusCode.allCases.compactMap { code in
      byStatus[code].map { "\($0) \(code.rawValue)" }
    }.joined(separator: ", ")
    let missing = planned > hosts.count ? " (\(planned - hosts.count) of \(planned) not scanned)" : ""
    print(
      "scanned \(hosts.count) host\(hosts.count == 1 ? "" : "s")\(missing): \(statusText.isEmpty ? "none" : statusText); "
        + "\(services) services")
    let problems = hosts.filter { $0.status.code != .ok }
    for host in problems.prefix(20) {
      print("  \(terminalSafe(host.name)): \(terminalSafe(host.status.description))")
    }
    if problems.count > 20 {
      print("  … and \(problems.count - 20) more (`unitaudit report` lists them all)")
    }
    let accepted = hosts.filter { $0.diagnostics.contains { $0.code == "ssh.host-key-accepted" } }.count
    if accepted > 0 {
      print(
        "accepted \(accepted) new host key\(accepted == 1 ? "" : "s") on first use (see each host's diagnostics)"
      )
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
