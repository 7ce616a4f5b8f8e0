import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A child process run to its end, blocking: no stdin, stdout handed over as it comes (so a
/// caller can parse a stream without keeping it), stderr kept up to a limit, a deadline after
/// which its whole process group is killed. Call it on a thread of a `BlockingPool`.
public enum ChildProcess {
  public struct Exit: Sendable {
    /// The exit status; nil when it ended by a signal.
    public var status: Int32?
    public var stderr: [UInt8]
    /// The deadline passed and the process group was killed.
    public var timedOut: Bool
    /// The stdout handler asked to stop; the process group was killed.
    public var stopped: Bool
    /// Why it could not start, when it did not.
    public var failedToStart: String?
  }

  /// Runs `arguments` (the first an absolute path) with `environment` (nil: this process's)
  /// added to this process's, handing each chunk of stdout to `onStdout`, which returns false
  /// to stop the child.
  public static func run(
    _ arguments: [String], environment: [String: String] = [:], deadlineSeconds: Double,
    stderrLimit: Int = 1 << 20,
    onStdout: ([UInt8]) -> Bool
  ) -> Exit {
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0 else {
      return failed("cannot create a pipe: \(String(cString: strerror(errno)))")
    }
    guard pipe(&errPipe) == 0 else {
      close(outPipe[0])
      close(outPipe[1])
      return failed("cannot create a pipe: \(String(cString: strerror(errno)))")
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
    var spawned: Int32
    if environment.isEmpty {
      spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, cArgs, environ)
    } else {
      var merged = ProcessInfo.processInfo.environment
      merged.merge(environment) { _, given in given }
      let cEnv = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
      defer { cEnv.forEach { free($0) } }
      spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, cArgs, cEnv)
    }
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
      close(outPipe[0])
      close(errPipe[0])
      return failed("cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
    }

    var stderr: [UInt8] = []
    var timedOut = false
    var stopped = false
    var open: [Int32] = [outPipe[0], errPipe[0]]
    let deadline = Date().addingTimeInterval(deadlineSeconds)
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !open.isEmpty && !stopped {
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
        if entry.fd == outPipe[0] {
          if !onStdout(Array(buffer[0..<count])) {
            stopped = true
            break
          }
        } else if stderr.count < stderrLimit {
          stderr.append(contentsOf: buffer[0..<min(count, stderrLimit - stderr.count)])
        }
      }
    }
    if timedOut || stopped { kill(-pid, SIGKILL) }
    for fd in open { close(fd) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exited = (status & 0x7f) == 0
    return Exit(
      status: exited ? (status >> 8) & 0xff : nil, stderr: stderr, timedOut: timedOut, stopped: stopped,
      failedToStart: nil)
  }

  private static func failed(_ why: String) -> Exit {
    Exit(status: nil, stderr: [], timedOut: false, stopped: false, failedToStart: why)
  }

  /// The first absolute path of `name` along `PATH`, nil when there is none.
  public static func find(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    for directory in path.split(separator: ":") where directory.hasPrefix("/") {
      let candidate = directory + "/" + name
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }
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
