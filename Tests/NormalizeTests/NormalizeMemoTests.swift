import Foundation
import Testing
import UnitModel

@testable import Normalize

@Suite("the normalize memo: a section printed again byte for byte is read once")
struct NormalizeMemoTests {
  /// `evidence` with `old` replaced by `new` (of the same length) in its stdout, once.
  static func changed(_ evidence: HostEvidence, _ old: String, _ new: String) throws -> HostEvidence {
    var copy = evidence
    let bytes = copy.output.stdout
    let needle = Array(old.utf8)
    let start = try #require(
      bytes.indices.dropLast(needle.count).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) })
    copy.output.stdout.replaceSubrange(start..<(start + needle.count), with: Array(new.utf8))
    return copy
  }

  @Test("reports with the memo equal reports without it, for the same and for different hosts")
  func sameReports() throws {
    let memo = NormalizeMemo(capacity: 2)
    let hosts = ["h1", "h2", "h3", "trixie-web", "bullseye-web-v2"]
    for round in 0..<2 {
      for host in hosts {
        let evidence = try Fixture.probe(host)
        let label = HostLabel(name: "\(host)-\(round)")
        #expect(normalize(evidence, label: label, memo: memo) == normalize(evidence, label: label), "\(host)")
      }
    }
    // Five hosts, a memo of two: every reading is made again in the second round, none taken.
    #expect(memo.counts.reused == 0)
    let wide = NormalizeMemo()
    for host in hosts + hosts {
      let evidence = try Fixture.probe(host)
      #expect(
        normalize(evidence, label: HostLabel(name: host), memo: wide)
          == normalize(evidence, label: HostLabel(name: host)))
    }
    // The second time each host's security output and unit files are taken from the memo.
    #expect(wide.counts.reused == 2 * hosts.count)
  }

  @Test("one byte changed in a section is read anew, and the report shows it")
  func oneByte() throws {
    let memo = NormalizeMemo()
    let h2 = try Fixture.probe("h2")
    let first = normalize(h2, label: HostLabel(name: "a"), memo: memo)
    // An exposure in the security JSON and a value in a unit file, each changed in place.
    let exposure = try Self.changed(h2, "\"exposure\":\"0.2\"", "\"exposure\":\"0.7\"")
    let unitFile = try Self.changed(h2, "PrivateTmp=yes", "PrivateTmp=no ")
    for evidence in [exposure, unitFile] {
      let fresh = normalize(evidence, label: HostLabel(name: "b"))
      let remembered = normalize(evidence, label: HostLabel(name: "b"), memo: memo)
      #expect(remembered == fresh)
      #expect(remembered.services != first.services)
    }
    #expect(memo.counts.reused == 2)
  }

  @Test("hosts that share a reading share its storage")
  func sharedStorage() throws {
    let memo = NormalizeMemo()
    let a = normalize(try Fixture.probe("h2"), label: HostLabel(name: "a"), memo: memo)
    let b = normalize(try Fixture.probe("h2"), label: HostLabel(name: "b"), memo: memo)
    let service = try #require(a.services.first { !$0.directives.isEmpty })
    let other = try #require(b.services.first { $0.id == service.id })
    #expect(service.hardening.sharesStorage(with: other.hardening))
    service.directives.withUnsafeBufferPointer { left in
      other.directives.withUnsafeBufferPointer { right in #expect(left.baseAddress == right.baseAddress) }
    }
  }
}
