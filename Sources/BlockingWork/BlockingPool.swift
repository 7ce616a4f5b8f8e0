import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs blocking work (libssh sessions, child processes) on threads of its own, never on
/// Swift's cooperative pool, whose few threads would otherwise stall every other task.
///
/// The threads are POSIX threads that `shutdown()` joins: OpenSSL's exit handlers race with
/// threads that are still exiting, so every worker must be gone before the process exits.
// @unchecked: the queue, `stopping` and the threads are read and written under `condition` only.
public final class BlockingPool: @unchecked Sendable {
  private let condition = NSCondition()
  private var queue: [@Sendable () -> Void] = []
  private var stopping = false
  private var threads: [pthread_t] = []

  /// - Parameters:
  ///   - threads: how many jobs may block at once.
  ///   - name: the threads' name, as `top -H` and debuggers show it (15 bytes at most).
  public init(threads count: Int, name: String = "unitaudit-block") {
    let count = max(1, count)
    for _ in 0..<count {
      var thread = pthread_t()
      var attributes = pthread_attr_t()
      pthread_attr_init(&attributes)
      pthread_attr_setstacksize(&attributes, 1 << 20)
      let box = Unmanaged.passRetained(WorkerBox(pool: self, name: String(name.prefix(15))))
      let created = pthread_create(
        &thread, &attributes,
        { raw in
          guard let raw else { return nil }
          let box = Unmanaged<WorkerBox>.fromOpaque(raw).takeRetainedValue()
          Thread.current.name = box.name
          box.pool.workLoop()
          return nil
        }, box.toOpaque())
      pthread_attr_destroy(&attributes)
      if created == 0 { threads.append(thread) } else { box.release() }
    }
  }

  private final class WorkerBox {
    let pool: BlockingPool
    let name: String
    init(pool: BlockingPool, name: String) {
      self.pool = pool
      self.name = name
    }
  }

  private func workLoop() {
    while true {
      condition.lock()
      while queue.isEmpty && !stopping { condition.wait() }
      if queue.isEmpty && stopping {
        condition.unlock()
        return
      }
      let job = queue.removeFirst()
      condition.unlock()
      job()
    }
  }

  /// Queues `job` for a pool thread; false once the pool is shutting down.
  @discardableResult
  func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    guard !stopping else { return false }
    queue.append(job)
    condition.signal()
    return true
  }

  /// Runs `body` on a pool thread and returns its result.
  public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
      let accepted = submit { continuation.resume(returning: body()) }
      if !accepted { continuation.resume(returning: nil) }
    }
  }

  /// Lets queued jobs finish, then joins every thread. Idempotent.
  public func shutdown() {
    condition.lock()
    stopping = true
    let joining = threads
    threads = []
    condition.broadcast()
    condition.unlock()
    for thread in joining { pthread_join(thread, nil) }
  }

  deinit { shutdown() }
}
