import ArgumentParser
import Collector
import Foundation
import UnitModel

struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a scan's hosts as JSON lines, for jq and other tools.",
    discussion: """
      --jsonl writes one JSON object per host, every service with its files, directives, \
      effective settings and checks, in the form older scans (schema versions 1 and 2) \
      stored in hosts.jsonl (docs/scan-database.md describes it). To query many hosts, the scan's \
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
    let loaded = try usageErrors { try loadScan(URL(fileURLWithPath: scan)) }
    if let output {
      let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
      guard fd >= 0 else {
        throw ValidationError("cannot write \(output): \(String(cString: strerror(errno)))")
      }
      let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
      try HostLines.write(loaded.scan) { try handle.write(contentsOf: $0) }
      try handle.close()
    } else {
      try HostLines.write(loaded.scan) { FileHandle.standardOutput.write($0) }
    }
  }
}

struct ConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "convert",
    abstract: "Convert an older scan (scan.json and hosts.jsonl) into a scan database.",
    discussion: """
      Reads SCAN's scan.json, plan.json and hosts.jsonl and writes SCAN/scan.db, which every \
      command then reads (and `scan --resume` can finish). The older files are left as they \
      were: delete them once you no longer need them. Older scans are read without \
      converting too; converting makes them small and fast to read.
      """)

  @Argument(help: "A scan directory of schema version 1 or 2 (scan.json and hosts.jsonl).")
  var scan: String

  func run() throws {
    let converted = try usageErrors { try convertLegacyScan(URL(fileURLWithPath: scan)) }
    print(
      "converted \(converted.hosts) hosts and \(converted.services) services into "
        + "\(scan)/\(ScanStore.databaseFile); \(scan)/\(ScanStore.legacyHostsFile) is no longer read")
    if !converted.skippedLines.isEmpty {
      FileHandle.standardError.write(
        Data(
          "warning: \(scan)/\(ScanStore.legacyHostsFile): skipped unreadable lines \(converted.skippedLines)\n"
            .utf8))
    }
  }
}
