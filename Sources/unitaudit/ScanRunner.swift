import Collector
import Dispatch
import Foundation
import Storage
import Synchronization
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// A scan session on the terminal: the progress line, Ctrl-C, the summary and the exit
/// status. The scan's lifecycle is `ScanSession`'s; this is how it looks.
final class ScanRunner: Sendable {
  private let session: ScanSession
  private let console: Console
  private let started = Date()
  private let terminal = isatty(2) == 1
  private let state: Mutex<State>

  private struct State {
    var progress: ScanProgress
    var interrupted = false
    /// Set once the scan is being finished: nothing draws or finishes it again.
    var finalizing = false
    var lastDraw = Date.distantPast
    var drawn = false
  }

  init(session: ScanSession, console: Console) {
    self.session = session
    self.console = console
    state = Mutex(State(progress: ScanProgress(total: session.hosts.count)))
  }

  /// Runs the scan to its end; returns the exit status.
  func run() async -> Int32 {
    let collecting = Task { [self] in
      try await session.collect(
        onStart: { _ in self.hostStarted() }, onFinish: { report in self.hostFinished(report) })
    }
    // Ctrl-C arrives through one signal source, read as a stream; the progress line is
    // redrawn by a task of its own.
    let interrupts = SignalStream(SIGINT)
    let signals = interrupts.signals
    let watcher = Task { [self] in
      for await _ in signals { interrupt(collecting) }
    }
    let ticker = Task { [self] in
      while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(500))
        draw(force: true)
      }
    }
    let result = await collecting.result
    ticker.cancel()
    watcher.cancel()
    interrupts.stop()
    return await finish(result)
  }

  private func hostStarted() {
    state.withLock { $0.progress.started() }
    draw(force: false)
  }

  private func hostFinished(_ report: HostReport) {
    let snapshot = state.withLock {
      $0.progress.finished(report)
      return $0.progress
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
    let line: String? = state.withLock { state in
      guard !state.finalizing else { return nil }
      let now = Date()
      guard force || now.timeIntervalSince(state.lastDraw) > 0.1 else { return nil }
      state.lastDraw = now
      state.drawn = true
      return state.progress.line(elapsed: now.timeIntervalSince(started))
    }
    guard let line else { return }
    console.status(line)
  }

  private func clearLine() {
    if terminal && !console.quiet && state.withLock({ $0.drawn }) { console.status("") }
  }

  /// The first Ctrl-C starts no more hosts and gives those running `graceSeconds`; the second,
  /// or the end of the grace, stops at once.
  private func interrupt(_ collecting: Task<Void, any Error>) {
    let (first, running) = state.withLock { state in
      let first = !state.interrupted
      state.interrupted = true
      return (first, state.progress.running)
    }
    guard first else {
      Task { await forceExit() }
      return
    }
    collecting.cancel()
    clearLine()
    let grace = session.metadata.options.graceSeconds
    console.error(
      "interrupted: starting no more hosts; waiting up to \(Int(grace)) s for \(running) running "
        + "(Ctrl-C again to stop now)")
    Task { [self] in
      try? await Task.sleep(for: .seconds(grace))
      await forceExit()
    }
  }

  /// Leaves hosts still running out of the scan, marks it interrupted and exits at once.
  /// Each finished host is already on disk; `--resume` probes the rest.
  private func forceExit() async {
    let proceed = state.withLock { state in
      guard !state.finalizing else { return false }
      state.finalizing = true
      return true
    }
    guard proceed else { return }
    clearLine()
    do {
      let ending = try await session.markInterrupted()
      console.summary(
        ending.hosts, services: ending.metadata.counts.services, planned: ending.metadata.plannedHosts.count,
        directory: session.directory)
    } catch {
      console.error("error: \(error)")
    }
    console.error("scan interrupted; finish it with: unitaudit scan --resume \(session.directory.path)")
    fflush(nil)
    // Threads still inside a blocking libssh call cannot be interrupted or joined; _exit skips
    // the exit handlers (the C libraries' global cleanup among them) that would free state
    // those threads still use.
    _exit(ExitStatus.interrupted)
  }

  private func finish(_ result: Result<Void, any Error>) async -> Int32 {
    let wasInterrupted = state.withLock { state in
      state.finalizing = true
      return state.interrupted
    }
    clearLine()
    if case .failure(let error) = result {
      console.error("error: the scan stopped: \(error)")
    }
    let complete = !wasInterrupted && (try? result.get()) != nil
    let ending: ScanSession.Ending
    do {
      ending = try await session.finish(interrupted: !complete)
    } catch {
      console.error("error: \(error)")
      console.error("finish it with: unitaudit scan --resume \(session.directory.path)")
      return ExitStatus.findings
    }
    if session.metadata.mode == .local, let host = ending.hosts.first, host.status.code == .noSystemd {
      console.error(
        "error: this machine is not running systemd as PID 1, so there is nothing to audit locally "
          + "(scan written to \(session.directory.path))")
      return ExitStatus.findings
    }
    console.summary(
      ending.hosts, services: ending.metadata.counts.services, planned: ending.metadata.plannedHosts.count,
      directory: session.directory)
    if !complete {
      console.error("scan interrupted; finish it with: unitaudit scan --resume \(session.directory.path)")
      return wasInterrupted ? ExitStatus.interrupted : ExitStatus.findings
    }
    return ending.hosts.contains { !$0.status.code.hasData } ? ExitStatus.findings : ExitStatus.success
  }
}

/// A signal delivered as an async stream while it lasts: the signal's default action is off
/// from `init` to `stop()`.
struct SignalStream {
  let signals: AsyncStream<Void>
  private let source: any DispatchSourceSignal
  private let number: Int32

  init(_ number: Int32) {
    self.number = number
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .unbounded)
    source.setEventHandler { continuation.yield() }
    source.setCancelHandler { continuation.finish() }
    source.resume()
    self.source = source
    signals = stream
  }

  func stop() {
    source.cancel()
    signal(number, SIG_DFL)
  }
}
