import ArgumentParser
import Collector
import Foundation
import Inventory
import Normalize
import UnitModel

struct ScanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scan",
    abstract: "Probe hosts and write a scan directory.",
    discussion: """
      The scan directory holds scan.json (what was scanned, how and when), hosts.jsonl (one \
      normalized host per line, written as each host finishes) and evidence/ (the raw probe \
      output of every host, byte for byte). Reports and checks read it.

      Exit status: 0 when every host was scanned, 1 when any host failed or has no systemd, \
      2 on usage errors.
      """)

  @Flag(name: .long, help: "Scan this machine (runs the probe with /bin/sh).")
  var local = false

  @Option(
    name: [.short, .customLong("output")], help: "The scan directory to create (must not exist or be empty).")
  var output: String?

  @Option(
    name: .customLong("max-output"),
    help: "Bytes of probe output kept per host; more marks the host truncated.")
  var maxOutput: Int = 64 << 20

  @Option(help: "Seconds one host's probe may take in all.")
  var deadline: Double = 120

  @Flag(name: [.short, .long], help: "Print nothing but errors.")
  var quiet = false

  func validate() throws {
    guard local else {
      throw ValidationError("say which hosts to scan: --local for this machine")
    }
    guard maxOutput > 0 else { throw ValidationError("--max-output must be positive") }
    guard deadline > 0 else { throw ValidationError("--deadline must be positive") }
  }

  func run() async throws {
    let console = Console(quiet: quiet)
    let directory = URL(fileURLWithPath: output ?? defaultScanDirectory())
    let hostname = ProcessInfo.processInfo.hostName
    let hosts = [FleetHost.local(hostname: hostname)]
    let probe = Probe.random()
    let limits = ProbeLimits(maxOutputBytes: maxOutput, deadlineSeconds: deadline)
    var metadata = ScanMetadata(
      id: UUID().uuidString.lowercased(), toolVersion: UnitAudit.version, probeVersion: Probe.version,
      mode: .local, startedAt: Date(), targets: ["local"], plannedHosts: hosts.map(\.name),
      options: ["max-output": String(maxOutput), "deadline": String(deadline)])
    let store: ScanStore
    do {
      store = try ScanStore.create(at: directory, metadata: metadata)
    } catch {
      throw CleanExit.message("error: \(error)").asFailure
    }
    let transport = LocalTransport(limits: limits)
    let collector = Collector(transport: transport, probe: probe, store: store, concurrency: 1)
    let reports: [HostReport]
    do {
      reports = try await collector.collect(hosts)
    } catch {
      transport.shutdown()
      throw CleanExit.message("error: \(error)").asFailure
    }
    transport.shutdown()
    await store.close()
    metadata.state = .complete
    metadata.finishedAt = Date()
    metadata.counts = ScanMetadata.Counts(hosts: reports)
    try await store.writeMetadata(metadata)

    if let host = reports.first, local, host.status.code == .noSystemd {
      console.error(
        "error: this machine is not running systemd as PID 1, so there is nothing to audit locally (scan written to \(directory.path))"
      )
      throw ExitCode(1)
    }
    console.summary(reports, directory: directory)
    if reports.contains(where: { !$0.status.code.hasData }) { throw ExitCode(1) }
  }

  private func defaultScanDirectory() -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    return "unitaudit-scan-\(formatter.string(from: Date()))"
  }
}
