import Foundation
import Testing
import UnitModel

@testable import Normalize

/// Nothing a host sends may crash the normalizer: each problem is a diagnostic on the host.
@Suite("bad input becomes diagnostics")
struct BadInputTests {
  static let nonce = "00112233445566778899aabbccddeeff"

  /// Builds probe output the way the script frames it.
  static func output(_ sections: [(name: String, body: String, rc: Int32?)]) -> ProbeOutput {
    var out = ""
    var err = ""
    for section in sections {
      let begin = "@@unitaudit-\(nonce) begin \(section.name) -\n"
      out += begin + section.body
      err += begin
      if let rc = section.rc {
        let end = "\n@@unitaudit-\(nonce) end \(section.name) \(rc)\n"
        out += end
        err += end
      }
    }
    return ProbeOutput(stdout: Array(out.utf8), stderr: Array(err.utf8), exitStatus: 0)
  }

  static let identity: [(name: String, body: String, rc: Int32?)] = [
    ("probe", "1\n", 0), ("hostname", "h9\n", 0), ("os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0),
    ("booted", "yes\n", 0), ("systemd-version", "systemd 252 (252.39-1~deb12u2)\n+PAM -GNUTLS\n\n", 0),
    ("list-units", "x.service loaded active running X\n\n", 0),
    ("list-unit-files", "x.service enabled enabled\n\n", 0),
    (
      "show",
      "Id=x.service\nNames=x.service\nLoadState=loaded\nFragmentPath=/lib/systemd/system/x.service\nDropInPaths=\n\n",
      0
    ),
  ]

  static func report(_ extra: [(name: String, body: String, rc: Int32?)]) -> HostReport {
    let evidence = HostEvidence(host: "h9", nonce: nonce, probeVersion: 1, output: output(identity + extra))
    return normalize(evidence, label: HostLabel(name: "h9"))
  }

  static let goodCat = ("cat", "# /lib/systemd/system/x.service\n[Service]\nProtectSystem=full\n", Int32(0))

  @Test("the same damaged output gives the same report, sections named in output order (fuzzing found it)")
  func damagedOutputIsDeterministic() {
    let sections: [(name: String, body: String, rc: Int32?)] = [
      ("cat", "# /lib/systemd/system/x.service\n", nil), ("show", "Id=x.service\n", nil),
      ("security", "[", nil),
    ]
    let first = Self.report(sections)
    for _ in 0..<20 { #expect(Self.report(sections) == first) }
    #expect(
      first.status.reason?.contains(
        "section 'cat' was cut short; section 'security' was cut short") == true,
      "\(first.status)")
  }

  @Test("truncated JSON")
  func truncatedJSON() throws {
    let json = try Fixture.sample("sec_ssh_cups_short").stdout
    let report = Self.report([Self.goodCat, ("security", String(json.prefix(json.count / 2)), 0)])
    #expect(report.status.code == .partial)
    #expect(report.diagnostics.map(\.code).contains("security.truncated-json"))
    #expect(report.services.first?.hardening.protectSystem?.value == .full)
  }

  @Test("invalid JSON and unknown json_field")
  func invalidJSON() {
    let bad = Self.report([Self.goodCat, ("security", "[{\"set\":tru}]\n\n[{\"unit\":\"x.service\"}]", 0)])
    #expect(bad.diagnostics.map(\.code).contains("security.invalid-json"))
    let unknown = Self.report([
      Self.goodCat,
      (
        "security",
        #"[{"set":true,"name":"Future=","json_field":"FutureCheck","description":"d","exposure":null}]"#
          + "\n\n" + #"[{"unit":"x.service","exposure":"1.0","predicate":"OK","happy":":-)"}]"#, 0
      ),
    ])
    #expect(unknown.status.code == .ok)
    let service = unknown.services.first
    #expect(service?.checks["FutureCheck"]?.set == true)
    #expect(service?.overall?.exposure == Exposure(tenths: 10))
    #expect(unknown.diagnostics.map(\.code) == ["security.unknown-field"])
  }

  @Test("binary bytes and invalid UTF-8")
  func binary() {
    var output = Self.output(Self.identity + [Self.goodCat])
    let marker = Array("@@unitaudit-\(Self.nonce) end cat".utf8)
    let range = output.stdout.firstRange(of: marker)
    let at = range?.lowerBound ?? output.stdout.count
    output.stdout.insert(contentsOf: [0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a], at: at)
    let report = normalize(
      HostEvidence(host: "h9", nonce: Self.nonce, probeVersion: 1, output: output),
      label: HostLabel(name: "h9"))
    #expect(report.diagnostics.contains { $0.code == "probe.invalid-utf8" && $0.section == "cat" })
    #expect(report.services.first?.hardening.protectSystem?.value == .full)

    let noise = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
    let garbage = normalize(
      HostEvidence(
        host: "h9", nonce: Self.nonce, probeVersion: 1,
        output: ProbeOutput(stdout: noise, stderr: noise, exitStatus: 0)),
      label: HostLabel(name: "h9"))
    #expect(garbage.status.code == .probeFailed)
    #expect(garbage.status.reason?.contains("none of its section markers") == true)
    #expect(garbage.status.reason?.unicodeScalars.contains { $0.value < 0x20 } == false)
  }

  @Test("the in-place UTF-8 check agrees with String(validating:) on edge cases and random bytes")
  func utf8Check() {
    let cases: [[UInt8]] = [
      [], Array("plain ASCII, more than eight bytes long".utf8), Array("é … 𝄞 ✓".utf8),
      [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80],
      [0xED, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
      [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xE2, 0x80], [0xF0, 0x9D, 0x84],
      Array("1234567".utf8) + [0xE2, 0x80, 0xA6], Array("12345678".utf8) + [0xE2, 0x80],
    ]
    for bytes in cases {
      #expect(isValidUTF8(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
    }
    // Mostly ASCII with high bytes at every alignment, as systemd's output has them.
    var generator = SystemRandomNumberGenerator()
    var disagreements: [[UInt8]] = []
    for _ in 0..<20_000 {
      let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
        Bool.random(using: &generator)
          ? UInt8.random(in: 0x20...0x7E, using: &generator)
          : UInt8.random(in: 0x80...0xFF, using: &generator)
      }
      if isValidUTF8(bytes) != (String(validating: bytes, as: UTF8.self) != nil) {
        disagreements.append(bytes)
      }
    }
    #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
  }

  @Test("a 10 MB unit file")
  func hugeUnitFile() {
    let line = "Description=" + String(repeating: "a", count: 1000) + "\n"
    let body =
      "# /lib/systemd/system/x.service\n[Unit]\n" + String(repeating: line, count: 10_000)
      + "[Service]\nProtectSystem=strict\n" + "Environment=" + String(repeating: "b", count: 2_000_000) + "\n"
    let security = "[]\n\n[{\"unit\":\"x.service\",\"exposure\":\"9.6\",\"predicate\":\"UNSAFE\"}]\n"
    let report = Self.report([("cat", body, 0), ("security", security, 0)])
    #expect(report.status.code == .ok)
    #expect(report.services.first?.overall?.exposure == Exposure(tenths: 96))
    let service = report.services.first
    #expect(service?.hardening.protectSystem?.value == .strict)
    #expect(service?.hardening.protectSystem?.source?.line == 10_003)
    #expect(report.diagnostics.map(\.code) == ["unit.line-too-long"])
  }

  @Test("output cut by the cap before any section marker: truncated, not probe-failed")
  func truncatedBeforeMarkers() {
    let flood = ProbeOutput(
      stdout: Array(repeating: UInt8(ascii: "x"), count: 4096), stderr: [], exitStatus: 0, truncated: true)
    let report = normalize(
      HostEvidence(host: "h9", nonce: Self.nonce, probeVersion: 1, output: flood),
      label: HostLabel(name: "h9"))
    #expect(report.status.code == .truncated)
    #expect(report.status.reason?.contains("before the probe's first section marker") == true)
    #expect(report.diagnostics.map(\.code) == ["probe.truncated-before-sections"])
    // Without the cap, the same bytes are output the probe did not write.
    var garbage = flood
    garbage.truncated = false
    let failed = normalize(
      HostEvidence(host: "h9", nonce: Self.nonce, probeVersion: 1, output: garbage),
      label: HostLabel(name: "h9"))
    #expect(failed.status.code == .probeFailed)
  }

  @Test("a section missing or cut short")
  func missingSection() {
    let noCat = Self.report([])
    #expect(noCat.status.code == .partial)
    #expect(noCat.diagnostics.contains { $0.code == "probe.missing-section" && $0.section == "cat" })
    #expect(noCat.diagnostics.contains { $0.code == "probe.missing-section" && $0.section == "security" })
    #expect(noCat.services.map(\.id) == ["x.service"])

    let cut = Self.report([("cat", "# /lib/systemd/system/x.service\n[Service]\nProtectSystem=ye", nil)])
    #expect(cut.status.code == .partial)
    #expect(cut.diagnostics.contains { $0.code == "probe.truncated-section" && $0.section == "cat" })

    var identityOnly = Self.identity
    identityOnly.removeAll { $0.name == "show" }
    let noShow = normalize(
      HostEvidence(host: "h9", nonce: Self.nonce, probeVersion: 1, output: Self.output(identityOnly)),
      label: HostLabel(name: "h9"))
    #expect(noShow.status.code == .partial)
    #expect(noShow.status.reason?.contains("'show' missing") == true)
  }

  @Test("markers with another nonce are content, not boundaries")
  func forgedMarkers() {
    let forged = "[Service]\n@@unitaudit-ffffffffffffffffffffffffffffffff end cat 0\nProtectHome=yes\n"
    let report = Self.report([("cat", "# /lib/systemd/system/x.service\n" + forged, 0)])
    #expect(report.services.first?.hardening.protectHome?.value == .yes)
  }

  @Test("a host without systemd as PID 1")
  func noSystemd() {
    let evidence = HostEvidence(
      host: "c1", nonce: Self.nonce, probeVersion: 1,
      output: Self.output([("probe", "1\n", 0), ("hostname", "c1\n", 0), ("booted", "no\n", 0)]))
    let report = normalize(evidence, label: HostLabel(name: "c1"))
    #expect(report.status.code == .noSystemd)
    #expect(report.identity?.hostname == "c1")
  }
}

@Suite("an empty security table is no verdict")
struct EmptySecurityTableTests {
  @Test("loaded services with an empty systemd-analyze security output: partial, with a diagnostic")
  func emptyTable() {
    for body in ["", "[]\n", "\n\n"] {
      let report = BadInputTests.report([BadInputTests.goodCat, ("security", body, 0)])
      #expect(report.status.code == .partial, "\(body.debugDescription): \(report.status)")
      #expect(report.status.reason?.contains("assessed no unit") == true)
      #expect(report.diagnostics.contains { $0.code == "security.empty" && $0.section == "security" })
      #expect(report.services.first?.overall == nil)
    }
    // The text table (systemd 240–249) likewise.
    let text = BadInputTests.report([BadInputTests.goodCat, ("security-text", "", 0)])
    #expect(text.status.code == .partial)
    #expect(text.diagnostics.contains { $0.code == "security.empty" })
  }
}
