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

  @Test(
    "confirming hosts: they apply the lines every canary kept; the drop-in and the verdict say where they held"
  )
  func confirmations() throws {
    let suggestion = Suggestion(
      service: "web.service", unit: "web.service", status: .notStarted, hosts: ["a1", "b1", "c1"],
      oldestSystemd: 252,
      lines: ["PrivateTmp=yes", "ProtectHome=yes", "PrivateNetwork=yes"].map {
        Suggestion.Line(
          directive: .privateTmp, requirement: String($0.prefix { $0 != "=" }), assignment: $0, missingOn: 3,
          review: nil)
      }, leftOut: [], fragments: [], packages: [], exposures: [])
    let broke = CanaryTrial(lines: ["PrivateNetwork=yes"], passed: false, reason: "inactive (failed)")
    var results = [
      CanaryResult(
        host: "a1", systemd: 252, unit: "web.service", kept: ["PrivateTmp=yes", "ProtectHome=yes"],
        dropped: [CanaryResult.Dropped(line: "PrivateNetwork=yes", trial: broke)], trials: 4),
      CanaryResult(
        host: "b1", systemd: 257, unit: "web.service", kept: ["PrivateTmp=yes", "PrivateNetwork=yes"],
        dropped: [CanaryResult.Dropped(line: "ProtectHome=yes", trial: broke)], trials: 4),
    ]
    // What every canary kept: a line one canary dropped is out.
    #expect(Suggest.verifiedLines(suggestion, results: results) == ["PrivateTmp=yes"])
    #expect(Suggest.verifiedLines(suggestion, results: []) == nil)
    results.append(
      CanaryResult(
        role: .confirm, host: "c1", systemd: 247, unit: "web.service", kept: ["PrivateTmp=yes"], trials: 2,
        check: CanaryTrial(lines: ["PrivateTmp=yes"], passed: true)))
    results.append(
      CanaryResult(
        role: .confirm, host: "d1", systemd: 262, unit: "web.service", trials: 2,
        check: CanaryTrial(
          lines: ["PrivateTmp=yes"], passed: false, reason: "inactive (failed)",
          journal: ["web: cannot open /tmp"])))
    // A confirming host never counts as a canary (nor changes the lines).
    #expect(Suggest.verifiedLines(suggestion, results: results) == ["PrivateTmp=yes"])
    let text = Suggest.verifiedDropIn(suggestion, baseline: "s", required: ["core"], results: results)
    #expect(text.contains("verified on 2 canary hosts: a1 (systemd 252), b1 (systemd 257)."))
    #expect(
      text.contains("# Confirmed as it is (one restart, every line below applied) on c1 (systemd 247).\n"))
    #expect(
      text.contains(
        "# FAILED as it is on d1 (systemd 262): inactive (failed)\n#   journal: web: cannot open /tmp\n"))
    let verdict = try #require(CanaryVerdict.verdicts(results)["web.service"])
    #expect(
      verdict.canaries == ["a1", "b1"] && verdict.confirmed == ["c1"]
        && verdict.failed.keys.sorted() == ["d1"])
    #expect(verdict.kept == 1 && verdict.tried == 3 && verdict.verifiedOn == 3)
    // Only confirmations, or only skipped runs: no verdict.
    #expect(CanaryVerdict.verdicts(Array(results.suffix(2))).isEmpty)
    #expect(
      CanaryVerdict.verdicts([
        CanaryResult(host: "a1", systemd: 252, unit: "web.service", skipped: "not running")
      ])
      .isEmpty)
  }

  @Test("journal lines that differ only in their numbers are the same message; other lines are new")
  func journalShapes() {
    #expect(CanaryTrial.shape("User of session c17 not known.") == "User of session c# not known.")
    #expect(CanaryTrial.shape("pid 4021: exit 1") == "pid #: exit #")
    let reference: Set<String> = ["User of session c13 not known.", "Failed to bind 10.0.0.1:53"]
    let journal = [
      "User of session c17 not known.", "Failed to bind 10.0.0.2:53",
      "Failed to save seat data /run/systemd/seats/seat0: Not a directory",
    ]
    #expect(
      CanaryTrial.newLines(journal, reference: reference) == [
        "Failed to save seat data /run/systemd/seats/seat0: Not a directory"
      ])
    #expect(CanaryTrial.newLines(journal, reference: []) == journal)
    // Judged again against a later restart without the drop-in: passes only when every line
    // is accounted for, and only a trial that failed for its journal alone.
    let failed = CanaryTrial(
      lines: ["ProtectProc=invisible"], passed: false, reason: CanaryTrial.journalReason(2),
      journal: Array(journal.prefix(2)), failedOnJournal: true)
    #expect(
      failed.rejudged(reference: ["User of session c3 not known.", "Failed to bind 10.0.0.9:53"]).passed)
    let still = failed.rejudged(reference: ["User of session c3 not known."])
    #expect(!still.passed && still.journal == ["Failed to bind 10.0.0.2:53"] && still.failedOnJournal)
    #expect(still.reason == CanaryTrial.journalReason(1))
    let inactive = CanaryTrial(lines: ["PrivateNetwork=yes"], passed: false, reason: "inactive (failed)")
    #expect(inactive.rejudged(reference: Set(journal)) == inactive)
  }
}
