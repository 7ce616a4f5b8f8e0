import Foundation

/// A serial executor on a thread of its own, for actors whose methods block on I/O (the
/// scan store: SQLite, the evidence files, a PostgreSQL history across a network). Its jobs
/// run one at a time, in order, and never on the cooperative pool. The thread lives as long
/// as the process (it is never shut down, so no job an actor awaits is ever dropped); idle,
/// it waits on a condition.
public final class ThreadExecutor: SerialExecutor, Sendable {
  private let thread: BlockingPool

  /// - Parameter name: the thread's name (15 bytes at most).
  public init(name: String) { thread = BlockingPool(threads: 1, name: name) }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    let executor = asUnownedSerialExecutor()
    thread.submit { job.runSynchronously(on: executor) }
  }

  public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
