import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Coverage

@Suite("canary: the lines of a drop-in that leave a service working")
struct CanaryTests {
  /// A trial that fails when any of `breakers` is applied, counting its calls.
  final class FakeService {
    let breakers: Set<String>
    var calls: [[String]] = []
    init(_ breakers: Set<String>) { self.breakers = breakers }

    func trial(_ lines: [String]) -> CanaryTrial {
      calls.append(lines)
      let broken = lines.filter(breakers.contains)
      return CanaryTrial(
        lines: lines, passed: broken.isEmpty, reason: broken.isEmpty ? nil : "inactive (failed)",
        journal: broken.map { "broken by \($0)" })
    }
  }

  @Test("every breaking line is found, nothing else is dropped, and the kept lines keep their order")
  func findsBreakers() {
    let review = (1...6).map { "Review\($0)=yes" }
    let rest = (1...9).map { "Rest\($0)=yes" }
    for breakers in [
      Set<String>(), ["Review3=yes"], ["Review1=yes", "Review6=yes"], ["Rest4=yes", "Review2=yes"],
      Set(review),
    ] {
      let service = FakeService(breakers)
      let found = LineSearch.search(review: review, rest: rest) { service.trial($0) }
      #expect(Set(found.dropped.map(\.line)) == breakers, "\(breakers)")
      #expect(found.kept == (rest + review).filter { !breakers.contains($0) }, "\(breakers)")
      #expect(found.trials == service.calls.count)
      // The lines kept pass together, and each dropped line carries the trial that showed it.
      #expect(service.trial(found.kept).passed)
      for dropped in found.dropped { #expect(dropped.trial.journal.contains("broken by \(dropped.line)")) }
      // Few restarts: one when nothing breaks, about 2·log2(n) per breaker otherwise.
      #expect(found.trials <= 1 + (breakers.count == 0 ? 0 : 3 + 8 * breakers.count), "\(found.trials)")
    }
  }

  @Test("the unflagged lines are tried before the REVIEW lines")
  func unflaggedFirst() {
    let service = FakeService(["R=yes"])
    _ = LineSearch.search(review: ["R=yes"], rest: ["A=yes", "B=yes"]) { service.trial($0) }
    #expect(service.calls.first == ["A=yes", "B=yes", "R=yes"])
    #expect(service.calls.dropFirst().first == ["A=yes", "B=yes"])
  }

  @Test(
    "the verified drop-in says where each line was verified, and comments out what broke the service, with why"
  )
  func verifiedDropIn() throws {
    let suggestion = Suggestion(
      service: "web.service", unit: "web.service", status: .notStarted, hosts: ["a1", "b1"],
      oldestSystemd: 252,
      lines: [
        Suggestion.Line(
          directive: .privateTmp, requirement: "PrivateTmp", assignment: "PrivateTmp=yes", missingOn: 2,
          review: nil),
        Suggestion.Line(
          directive: .privateNetwork, requirement: "PrivateNetwork", assignment: "PrivateNetwork=yes",
          missingOn: 2,
          review: "a network service cannot listen"),
      ], leftOut: [], fragments: ["/usr/lib/systemd/system/web.service"], packages: [], exposures: [])
    let broke = CanaryTrial(
      lines: ["PrivateTmp=yes", "PrivateNetwork=yes"], passed: false,
      reason: "the health command failed (exit 7)",
      journal: ["web: bind: Cannot assign requested address"])
    let results = [
      CanaryResult(
        host: "a1", systemd: 252, unit: "web.service", kept: ["PrivateTmp=yes"],
        dropped: [CanaryResult.Dropped(line: "PrivateNetwork=yes", trial: broke)], trials: 3)
    ]
    let text = Suggest.verifiedDropIn(suggestion, baseline: "s", required: ["core"], results: results)
    #expect(text.contains("verified on 1 canary host: a1 (systemd 252)."))
    #expect(text.contains("# verified on a1 (systemd 252)\nPrivateTmp=yes\n"))
    #expect(
      text.contains(
        "# LEFT OUT: it broke web.service on a1 (systemd 252): the health command failed (exit 7)\n"
          + "#   journal: web: bind: Cannot assign requested address\n# PrivateNetwork=yes\n"))
    // Every assignment left uncommented is one the canary kept.
    let active = text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }
    #expect(active == ["PrivateTmp=yes"])
    // Not tried anywhere: the plain drop-in, saying so.
    let skipped = Suggest.verifiedDropIn(
      suggestion, baseline: "s", required: ["core"],
      results: [CanaryResult(host: "a1", systemd: 252, unit: "web.service", skipped: "not running now")])
    #expect(skipped.hasSuffix("# Not verified on a canary: a1: not running now\n"))
  }
}
