import Testing

/// Runs a suite (or a test) while no other `.exclusive` one runs.
///
/// Swift Testing runs suites in parallel. That is right for unit tests, but the suites that
/// start fleets of servers (200 sshd-backed hosts, the booted systemd fleet) or spin the
/// fuzzers load both cores of a small machine on their own; side by side they starved each
/// other until healthy hosts missed their 12 s probe deadline. Each such suite takes this trait,
/// so they run one after another while the light suites go on around them. Waiting is an
/// `await`, not a blocked thread.
public struct ExclusiveTrait: SuiteTrait, TestTrait, TestScoping {
  public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
    // The whole suite, or the whole test function (not once per argument).
    test.isSuite || testCase == nil ? self : nil
  }

  public func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    await ExclusiveGate.shared.enter()
    do {
      try await function()
    } catch {
      await ExclusiveGate.shared.leave()
      throw error
    }
    await ExclusiveGate.shared.leave()
  }
}

extension Trait where Self == ExclusiveTrait {
  /// Runs while no other `.exclusive` suite or test runs (see `ExclusiveTrait`).
  public static var exclusive: Self { Self() }
}

/// One holder at a time; the others wait in arrival order.
actor ExclusiveGate {
  static let shared = ExclusiveGate()
  private var held = false
  private var waiting: [CheckedContinuation<Void, Never>] = []

  func enter() async {
    guard held else {
      held = true
      return
    }
    // `leave()` hands the gate over directly: `held` stays true for the next holder.
    await withCheckedContinuation { waiting.append($0) }
  }

  func leave() {
    if waiting.isEmpty {
      held = false
    } else {
      waiting.removeFirst().resume()
    }
  }
}
