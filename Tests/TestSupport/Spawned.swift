import BlockingWork
import Collector
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A child process started with posix_spawn: stdin from /dev/null, stdout and stderr to a
/// file. Foundation's `Process` is avoided here: its wait can hang once daemons fork.
public final class Spawned: @unchecked Sendable {
  public let pid: pid_t
  private var reaped = false
  private var status: Int32 = 0

  public init(_ arguments: [String], output: String, environment: [String: String] = [:]) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    resetSignals(&attributes)
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    let cArgs = arguments.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var pid = pid_t()
    let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, cArgs, cEnv)
    guard result == 0 else {
      throw TestSupport.Failure(
        description: "cannot run \(arguments[0]): \(String(cString: strerror(result)))")
    }
    self.pid = pid
  }

  public var isRunning: Bool {
    guard !reaped else { return false }
    var value: Int32 = 0
    let result = wait4(pid, &value, WNOHANG, &usage)
    if result == pid || (result < 0 && errno == ECHILD) {
      reaped = true
      status = value
      return false
    }
    return true
  }

  /// What the process used (peak RSS, CPU), once `wait()` has reaped it.
  public private(set) var usage = rusage()

  /// Waits for the process to end and returns its exit status (-1 when killed).
  @discardableResult
  public func wait() -> Int32 {
    if !reaped {
      var value: Int32 = 0
      while wait4(pid, &value, 0, &usage) < 0 && errno == EINTR {}
      reaped = true
      status = value
    }
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
  }

  public func stop() {
    if isRunning {
      kill(pid, SIGTERM)
      wait()
    }
  }
}
