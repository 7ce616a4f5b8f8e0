import Collector
import Foundation
import Inventory
import Normalize
import Storage
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a prepared scan: fans out, shows progress, handles Ctrl-C, and finishes the scan's metadata.
final class ScanRunner: @unchecked Sendable {
  private let prepared: ScanCommand.PreparedScan
  private let console: Console
  private let grace: Double
  private let lock = NSLock()
  private var progress: ScanProgress
  private var interrupted = false
  private var finalizing = false
  private let started = Date()
  private let terminal = isatty(2) == 1
  private var lastDraw = Date.distantPast
  private var drawn = false
  /// This run's finished hosts without their services (kept light), and their service counts.
  private var finished: [(host: HostReport, services: Int)] = []

  init(prepared: ScanCommand.PreparedScan, console: Console, grace: Double) {
    self.prepared = prepared
    self.console = console
    self.grace = grace
    self.progress = ScanProgress(total: prepared.hosts.count)
  }

  /// Returns the exit status.
  func run() async -> Int32 {
    let collector = Collector(
      transport: prepared.transport, probe: Probe.random(), store: prepared.store,
      concurrency: prepared.concurrency)
    let hosts = prepared.hosts
    let task = Task {
      try await collector.collect(
        hosts, keepReports: false, onStart: { [self] _ in self.hostStarted() },
        onFinish: { [self] report in self.hostFinished(report) })
    }
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler { [self] in self.interrupt(task) }
    source.resume()
    let ticker = Task { [self] in
      while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(500))
        self.draw(force: true)
      }
    }
    let result = await task.result
    ticker.cancel()
    source.cancel()
    signal(SIGINT, SIG_DFL)
    return await finish(result)
  }

  private func hostStarted() {
    lock.withLock { progress.started() }
    draw(force: false)
  }

  private func hostFinished(_ report: HostReport) {
    var light = report
    light.services = []
    let snapshot = lock.withLock {
      progress.finished(report)
      finished.append((light, report.services.count))
      return progress
    }
    if terminal {
      draw(force: false)
    } else if !console.quiet {
      let seconds = String(format: "%.1f", Double(report.durationMs ?? 0) / 1000)
      let detail =
        report.status.code.hasData
        ? "\(report.status.code.rawValue) (\(report.services.count) services, \(seconds) s)"
        : report.status.description
      console.progress("[\(snapshot.done)/\(snapshot.total)] \(report.name): \(detail)")
    }
  }

  /// One live line on a terminal, redrawn at most ten times a second.
  private func draw(force: Bool) {
    guard terminal, !console.quiet else { return }
    let line: String? = lock.withLock {
      guard !finalizing else { return nil }
      let now = Date()
      guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return nil }
      lastDraw = now
      drawn = true
      return progress.line(elapsed: now.timeIntervalSince(started))
    }
    guard let line else { return }
    console.status(line)
  }

  private func clearLine() {
    if terminal && drawn && !console.quiet { console.status("") }
  }

  private func interrupt(_ task: Task<[HostReport], any Error>) {
    let (first, running) = lock.withLock {
      let first = !interrupted
      interrupted = true
      return (first, progress.running)
    }
    guard first else {
      forceExit()
      return
    }
    task.cancel()
    clearLine()
    console.error(
      "interrupted: starting no more hosts; waiting up to \(Int(grace)) s for \(running) running "
        + "(Ctrl-C again to stop now)")
    DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [self] in self.forceExit() }
  }

  /// Leaves hosts still running out of the scan, marks it interrupted and exits at once.
  /// Each finished host is already on disk; `--resume` probes the rest.
  private func forceExit() {
    let proceed = lock.withLock {
      guard !finalizing else { return false }
      finalizing = true
      return true
    }
    guard proceed else { return }
    clearLine()
    let (hosts, services) = outcome()
    var metadata = prepared.metadata
    metadata.state = .interrupted
    metadata.finishedAt = Date()
    metadata.counts = Self.counts(hosts, services: services)
    do { try prepared.store.writeMetadataNow(metadata) } catch {
      console.error("error: \(error)")
    }
    console.summary(
      hosts, services: services, planned: metadata.plannedHosts.count, directory: prepared.directory)
    console.error("scan interrupted; finish it with: unitaudit scan --resume \(prepared.directory.path)")
    fflush(nil)
    // Threads still inside a blocking libssh call cannot be interrupted or joined; _exit skips
    // the exit handlers (the C libraries' global cleanup among them) that would free state
    // those threads still use.
    _exit(ExitStatus.interrupted)
  }

  private func finish(_ result: Result<[HostReport], any Error>) async -> Int32 {
    let wasInterrupted = lock.withLock {
      finalizing = true
      return interrupted
    }
    clearLine()
    prepared.transport.shutdown()
    if case .failure(let error) = result {
      console.error("error: the scan stopped: \(error)")
    }
    let (hosts, services) = outcome()
    var metadata = prepared.metadata
    let complete = !wasInterrupted && (try? result.get()) != nil
    metadata.state = complete ? .complete : .interrupted
    metadata.finishedAt = Date()
    metadata.counts = Self.counts(hosts, services: services)
    // The scan directory is closed whatever happened to the history beside it, and a scan
    // whose last words did not reach the history can be resumed to put them there.
    var written = true
    do { try await prepared.store.writeMetadata(metadata) } catch {
      console.error("error: \(error)")
      written = false
    }
    do { try await prepared.store.close() } catch {
      console.error("error: \(error)")
      written = false
    }
    if !written {
      console.error("finish it with: unitaudit scan --resume \(prepared.directory.path)")
      return ExitStatus.findings
    }
    if prepared.localScan, let host = hosts.first, host.status.code == .noSystemd {
      console.error(
        "error: this machine is not running systemd as PID 1, so there is nothing to audit locally "
          + "(scan written to \(prepared.directory.path))")
      return ExitStatus.findings
    }
    console.summary(
      hosts, services: services, planned: metadata.plannedHosts.count, directory: prepared.directory)
    if !complete {
      console.error("scan interrupted; finish it with: unitaudit scan --resume \(prepared.directory.path)")
      return wasInterrupted ? ExitStatus.interrupted : ExitStatus.findings
    }
    return hosts.contains { !$0.status.code.hasData } ? ExitStatus.findings : ExitStatus.success
  }

  /// Every host of the scan (services left out) and the number of services. A new scan knows
  /// them from this run; a resumed one reads the hosts recorded before (a large read,
  /// so only then).
  private func outcome() -> (hosts: [HostReport], services: Int) {
    let mine = lock.withLock { finished }
    guard prepared.alreadyDone > 0, let loaded = try? readScan(prepared.directory) else {
      return (mine.map(\.host), mine.reduce(0) { $0 + $1.services })
    }
    let hosts = loaded.hosts.map { host -> HostReport in
      var light = host
      light.services = []
      return light
    }
    return (hosts, loaded.hosts.reduce(0) { $0 + $1.services.count })
  }

  static func counts(_ hosts: [HostReport], services: Int) -> ScanMetadata.Counts {
    var counts = ScanMetadata.Counts(hosts: hosts)
    counts.services = services
    return counts
  }
}
