import Collector
import Foundation
import Inventory
import Normalize
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a prepared scan: fans out, shows progress, handles Ctrl-C, and finishes scan.json.
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
        hosts, onStart: { [self] _ in self.hostStarted() },
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
    let snapshot = lock.withLock {
      progress.finished(report)
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
    let hosts = (try? loadScan(prepared.directory).scan.hosts) ?? []
    var metadata = prepared.metadata
    metadata.state = .interrupted
    metadata.finishedAt = Date()
    metadata.counts = ScanMetadata.Counts(hosts: hosts)
    do { try ScanStore.writeMetadata(metadata, in: prepared.directory) } catch {
      console.error("error: \(error)")
    }
    console.summary(hosts, planned: metadata.plannedHosts.count, directory: prepared.directory)
    console.error("scan interrupted; finish it with: unitaudit scan --resume \(prepared.directory.path)")
    fflush(nil)
    // Threads still inside libssh cannot be joined; _exit skips the exit handlers that would
    // race with them (see the libssh notes).
    _exit(130)
  }

  private func finish(_ result: Result<[HostReport], any Error>) async -> Int32 {
    let wasInterrupted = lock.withLock {
      finalizing = true
      return interrupted
    }
    clearLine()
    prepared.transport.shutdown()
    await prepared.store.close()
    if case .failure(let error) = result {
      console.error("error: the scan stopped: \(error)")
    }
    let loaded = try? loadScan(prepared.directory)
    let hosts = loaded?.scan.hosts ?? []
    var metadata = prepared.metadata
    let complete = !wasInterrupted && (try? result.get()) != nil
    metadata.state = complete ? .complete : .interrupted
    metadata.finishedAt = Date()
    metadata.counts = ScanMetadata.Counts(hosts: hosts)
    do { try await prepared.store.writeMetadata(metadata) } catch {
      console.error("error: \(error)")
      return 1
    }
    if prepared.localScan, let host = hosts.first, host.status.code == .noSystemd {
      console.error(
        "error: this machine is not running systemd as PID 1, so there is nothing to audit locally "
          + "(scan written to \(prepared.directory.path))")
      return 1
    }
    console.summary(hosts, planned: metadata.plannedHosts.count, directory: prepared.directory)
    if !complete {
      console.error("scan interrupted; finish it with: unitaudit scan --resume \(prepared.directory.path)")
      return wasInterrupted ? 130 : 1
    }
    return hosts.contains { !$0.status.code.hasData } ? 1 : 0
  }
}
