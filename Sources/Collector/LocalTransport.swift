import BlockingWork
import Foundation
import Inventory
import Normalize
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the probe on this machine with `/bin/sh`.
public final class LocalTransport: Transport {
  public let name = "local"
  let limits: ProbeLimits
  let shell: String
  private let pool = BlockingPool(threads: 1, name: "unitaudit-local")

  public init(limits: ProbeLimits = ProbeLimits(), shell: String = "/bin/sh") {
    self.limits = limits
    self.shell = shell
  }

  public func run(_ probe: Probe, on host: FleetHost) async -> TransportRun {
    let shell = self.shell
    let limits = self.limits
    let script = probe.script
    let run = await pool.run {
      TransportRun(runProcess([shell, "-c", script], limits: limits))
    }
    return run ?? TransportRun(.failed(HostStatus(.probeFailed, reason: "the scan is shutting down")))
  }

  public func shutdown() { pool.shutdown() }
}

/// Spawns a process with no stdin, reads its stdout and stderr apart until both close (or
/// the output cap or deadline is hit), and reaps it. Blocking: call it on a pool thread.
func runProcess(_ arguments: [String], limits: ProbeLimits) -> TransportResult {
  var outPipe: [Int32] = [0, 0]
  var errPipe: [Int32] = [0, 0]
  guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
    return .failed(
      HostStatus(.probeFailed, reason: "cannot create a pipe: \(String(cString: strerror(errno)))"))
  }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
  for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }

  // Its own process group, so a deadline kills the whole tree.
  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  defer { posix_spawnattr_destroy(&attributes) }
  resetSignals(&attributes, flags: POSIX_SPAWN_SETPGROUP)
  posix_spawnattr_setpgroup(&attributes, 0)
  var pid = pid_t()
  let cArgs = arguments.map { strdup($0) } + [nil]
  defer { cArgs.forEach { free($0) } }
  let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, cArgs, environ)
  close(outPipe[1])
  close(errPipe[1])
  guard spawned == 0 else {
    close(outPipe[0])
    close(errPipe[0])
    return .failed(
      HostStatus(.probeFailed, reason: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))"))
  }

  var stdout: [UInt8] = []
  var stderr: [UInt8] = []
  var truncated = false
  var timedOut = false
  var open: [Int32] = [outPipe[0], errPipe[0]]
  let deadline = Date().addingTimeInterval(limits.deadlineSeconds)
  var buffer = [UInt8](repeating: 0, count: 65536)
  while !open.isEmpty {
    let remaining = deadline.timeIntervalSinceNow
    if remaining <= 0 {
      timedOut = true
      break
    }
    var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining, 1) * 1000))
    if ready < 0 && errno != EINTR { break }
    for entry in fds where entry.revents != 0 {
      let count = read(entry.fd, &buffer, buffer.count)
      if count <= 0 {
        close(entry.fd)
        open.removeAll { $0 == entry.fd }
        continue
      }
      if stdout.count + stderr.count + count > limits.maxOutputBytes {
        truncated = true
        continue
      }
      if entry.fd == outPipe[0] {
        stdout.append(contentsOf: buffer[0..<count])
      } else {
        stderr.append(contentsOf: buffer[0..<count])
      }
    }
  }
  if timedOut { kill(-pid, SIGKILL) }
  for fd in open { close(fd) }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  if timedOut {
    return .failed(
      HostStatus(.timeout, reason: "the probe did not finish within \(Int(limits.deadlineSeconds)) s"))
  }
  let exited = (status & 0x7f) == 0
  return .output(
    ProbeOutput(
      stdout: stdout, stderr: stderr, exitStatus: exited ? (status >> 8) & 0xff : nil, truncated: truncated),
    notes: [])
}

/// Gives a child a clean signal state: nothing blocked, and the signals a parent may block or
/// ignore (Swift's runtime blocks many in its threads; the CLI ignores SIGPIPE) back to their
/// default action. Without this, a child inherits the blocked mask and cannot be stopped with
/// SIGTERM.
public func resetSignals(_ attributes: inout posix_spawnattr_t, flags: Int32 = 0) {
  var empty = sigset_t()
  sigemptyset(&empty)
  posix_spawnattr_setsigmask(&attributes, &empty)
  var defaults = sigset_t()
  sigemptyset(&defaults)
  for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2] {
    sigaddset(&defaults, signal)
  }
  posix_spawnattr_setsigdefault(&attributes, &defaults)
  posix_spawnattr_setflags(&attributes, Int16(flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
}
