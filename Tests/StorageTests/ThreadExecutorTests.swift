import Dispatch
import Foundation
import TestSupport
import Testing

@testable import BlockingWork

/// An actor whose methods block, as the scan store's do.
private actor Blocking {
  nonisolated let executor: ThreadExecutor
  nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
  private var order: [Int] = []
  private var threads: Set<String> = []

  init(_ executor: ThreadExecutor) { self.executor = executor }

  func record(_ number: Int) {
    order.append(number)
    threads.insert(Self.threadName())
  }

  func seen() -> (order: [Int], threads: Set<String>) { (order, threads) }

  /// Blocks its thread until `released` is signalled; false when 20 s pass first.
  func wait(for released: DispatchSemaphore) -> Bool {
    threads.insert(Self.threadName())
    return released.wait(timeout: .now() + 20) == .success
  }

  /// The thread's name as the kernel has it (what `top -H` shows).
  static func threadName() -> String {
    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
    return comm.trimmingCharacters(in: .newlines)
  }
}

@Suite("the blocking store's executor")
struct ThreadExecutorTests {
  @Test("an actor on a ThreadExecutor runs every call, one at a time, on its own named thread")
  func serial() async {
    let actor = Blocking(ThreadExecutor(name: "unitaudit-test"))
    await withTaskGroup(of: Void.self) { group in
      for number in 0..<500 { group.addTask { await actor.record(number) } }
    }
    let seen = await actor.seen()
    #expect(seen.order.count == 500)
    #expect(Set(seen.order) == Set(0..<500))
    #expect(seen.threads == ["unitaudit-test"])
  }

  @Test("actors blocked on their threads leave the cooperative pool free: a pool task releases them")
  func poolStaysFree() async {
    // More blocked actors than the pool has threads: had they run on the pool, the task
    // that releases them would wait for a thread until their 20 s ran out.
    let count = ProcessInfo.processInfo.activeProcessorCount * 2 + 2
    let released = DispatchSemaphore(value: 0)
    let actors = (0..<count).map { Blocking(ThreadExecutor(name: "unitaudit-t\($0)")) }
    let waits = actors.map { actor in Task { await actor.wait(for: released) } }
    // Give every actor time to block its thread before the pool is asked for one.
    try? await Task.sleep(for: .milliseconds(200))
    let releasing = Task.detached {
      for _ in 0..<count { released.signal() }
    }
    await releasing.value
    var answered = 0
    for wait in waits where await wait.value { answered += 1 }
    #expect(answered == count)
    for (index, actor) in actors.enumerated() {
      #expect(await actor.seen().threads == ["unitaudit-t\(index)"])
    }
  }
}
