import ArgumentParser
import Foundation
import Storage
import UnitModel

struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a scan's hosts as JSON lines, for jq and other tools.",
    discussion: """
      --jsonl writes one JSON object per host, every service with its files, directives, \
      effective settings and checks (docs/scan-database.md describes the \
      fields). To query many hosts, the scan's \
      scan.db answers SQL directly (sqlite3 SCAN/scan.db).

        unitaudit export scan --jsonl | jq -r 'select(.status.code != "ok") | .name'
        unitaudit export scan --jsonl -o hosts.jsonl
      """)

  @Argument(help: "A scan directory.")
  var scan: String

  @Flag(help: "Write JSON lines, one host per line (the only format for now).")
  var jsonl = false

  @Option(name: .shortAndLong, help: "Write to this file (0600) instead of standard output.")
  var output: String?

  func validate() throws {
    guard jsonl else { throw ValidationError("say which format: --jsonl") }
  }

  func run() throws {
    let loaded = try readScan(URL(fileURLWithPath: scan))
    if let output {
      let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
      guard fd >= 0 else {
        throw ValidationError("cannot write \(output): \(String(cString: strerror(errno)))")
      }
      let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
      try HostLines.write(loaded) { try handle.write(contentsOf: $0) }
      try handle.close()
    } else {
      try HostLines.write(loaded) { FileHandle.standardOutput.write($0) }
    }
  }
}
