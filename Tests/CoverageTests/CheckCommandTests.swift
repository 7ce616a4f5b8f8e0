import Coverage
import Foundation
import Storage
import TestSupport
import Testing
import UnitModel

/// `unitaudit check` as a CI pipeline runs it: exit 0, 1 or 2.
@Suite("unitaudit check: exit codes")
struct CheckCommandTests {
  /// Writes a scan directory holding `hosts`, and the test baseline; returns both paths.
  func fixture(_ hosts: [HostReport]) async throws -> (scan: String, baseline: String) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString)")
    let metadata = ScanMetadata(
      id: "t", toolVersion: "test", probeVersion: 1, mode: .ssh, state: .complete, startedAt: Date(),
      targets: [],
      plannedHosts: hosts.map(\.name))
    let store = try ScanStore.create(at: root.appendingPathComponent("scan"), metadata: metadata)
    for host in hosts { try await store.append(host, evidence: nil) }
    try await store.close()
    let baseline = root.appendingPathComponent("baseline.yml").path
    try Fleet.baselineText.write(toFile: baseline, atomically: true, encoding: .utf8)
    return (root.appendingPathComponent("scan").path, baseline)
  }

  func run(_ arguments: [String]) throws -> (Int32, String) {
    let result = try TestSupport.run([try TestSupport.unitauditBinary()] + arguments)
    return (result.status, result.output)
  }

  @Test("violations exit 1 and are listed; a clean scan exits 0; a bad baseline exits 2")
  func exitCodes() async throws {
    let dirty = try await fixture(Fleet.hosts)
    let (status, output) = try run([
      "check", dirty.scan, "--baseline", dirty.baseline, "--today", "2026-11-22",
    ])
    #expect(status == 1, "\(output)")
    #expect(
      output.contains("b1 systemd-hostnamed.service (dbus-org.freedesktop.hostname1.service) ProtectSystem"))
    #expect(output.contains("c1: not audited"))

    let hardened = Fleet.service("web.service", exposure: 20) {
      $0.privateTmp = Fleet.on()
      $0.protectSystem = Setting(.full, source: nil, impliedBy: "DynamicUser")
      $0.noNewPrivileges = Fleet.on()
    }
    let clean = try await fixture([Fleet.host("a", [hardened])])
    let (okStatus, okOutput) = try run(["check", clean.scan, "--baseline", clean.baseline])
    #expect(okStatus == 0, "\(okOutput)")
    #expect(okOutput.contains("ok: no violations"))
    let (limitStatus, _) = try run([
      "check", clean.scan, "--baseline", clean.baseline, "--max-exposure", "1.5",
    ])
    #expect(limitStatus == 1)

    let broken = clean.baseline + ".bad"
    try "name: x\ntitle: y\nsets:\n  core: [NoSuchThing]\nservices: []\n".write(
      toFile: broken, atomically: true, encoding: .utf8)
    let (badStatus, badOutput) = try run(["check", clean.scan, "--baseline", broken])
    #expect(badStatus == 2)
    #expect(badOutput.contains("\(broken):4: unknown directive 'NoSuchThing'"))
    let (missingStatus, _) = try run(["check", "/nonexistent/scan", "--baseline", "fedora-40"])
    #expect(missingStatus == 2)
    let (requireStatus, _) = try run(["check", clean.scan, "--baseline", clean.baseline, "--require", "nope"])
    #expect(requireStatus == 2)
  }

  @Test("a requirement the host's systemd is too old for is a note; --fail-on-unsupported counts it")
  func unsupported() async throws {
    var old = Fleet.host("old", [Fleet.service("web.service", exposure: 20) { $0.privateTmp = Fleet.on() }])
    old.identity = HostIdentity(hostname: "old", systemdVersion: 247)
    let scan = try await fixture([old])
    let baseline = URL(fileURLWithPath: scan.baseline).deletingLastPathComponent().appendingPathComponent(
      "v.yml"
    ).path
    try "name: v\ntitle: v\nsets:\n  core: [PrivateTmp, PrivateIPC]\nservices: [web.service]\n".write(
      toFile: baseline, atomically: true, encoding: .utf8)
    let (status, output) = try run(["check", scan.scan, "--baseline", baseline])
    #expect(status == 0, "\(output)")
    #expect(
      output.contains("note: old web.service PrivateIPC: unsupported: PrivateIPC: yes needs systemd 248"))
    #expect(output.contains("1 requirement unsupported by the hosts' systemd, not counted"))
    let (strict, strictOutput) = try run([
      "check", scan.scan, "--baseline", baseline, "--fail-on-unsupported",
    ])
    #expect(strict == 1, "\(strictOutput)")
    #expect(strictOutput.contains("1 violation of v (core)"))
  }

  @Test("what hosts sent reaches the terminal without escape sequences or reordering")
  func terminalOutputIsStripped() async throws {
    // An unreachable host's reason with ANSI colour, an OSC window title and hyperlink, a
    // bell, a C1 CSI and a right-to-left override; a service id with the same.
    let hostile =
      "\u{1B}[31mred\u{1B}]0;pwned\u{07}\u{1B}]8;;http://evil.example/\u{07}x\u{9B}2J\u{202E}fdp.exe"
    var down = HostReport(name: "down", status: HostStatus(.unreachable, reason: "gone " + hostile))
    down.address = "10.0.0.9"
    let scan = try await fixture([
      Fleet.host("a", [Fleet.service("evil\(hostile).service", exposure: 90)]), down,
    ])
    let (status, output) = try run(["check", scan.scan, "--baseline", scan.baseline, "--today", "2026-11-22"])
    #expect(status == 1, "\(output)")
    #expect(
      output.contains(
        "down: not audited: unreachable: gone [31mred]0;pwned]8;;http://evil.example/x2Jfdp.exe"))
    for character: Character in ["\u{1B}", "\u{07}", "\u{9B}", "\u{202E}"] {
      #expect(
        !output.contains(character), "raw U+\(String(character.unicodeScalars.first?.value ?? 0, radix: 16))")
    }
  }
}

@Suite("unitaudit report --format metrics")
struct MetricsCommandTests {
  @Test("writes unitaudit.prom alone, into a directory other files share; the default formats leave it out")
  func metricsFile() async throws {
    let fixture = try await CheckCommandTests().fixture(Fleet.hosts)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("prom-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: out) }
    // A collector's directory holds other exporters' files: they stay.
    try "node_other 1\n".write(
      to: out.appendingPathComponent("other.prom"), atomically: true, encoding: .utf8)
    let binary = try TestSupport.unitauditBinary()
    let result = try TestSupport.run([
      binary, "report", fixture.scan, "--baseline", fixture.baseline, "--format", "metrics", "-o", out.path,
    ])
    #expect(result.status == 0, "\(result.output)")
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == [
        "other.prom", "unitaudit.prom",
      ])
    let text = try String(contentsOf: out.appendingPathComponent("unitaudit.prom"), encoding: .utf8)
    #expect(text.contains("unitaudit_hosts{status=\"ok\"} "))
    #expect(text.hasSuffix("# EOF\n"))
    // Without --format, the four formats people read and tools load; no metrics.
    let all = out.appendingPathComponent("all")
    let plain = try TestSupport.run([
      binary, "report", fixture.scan, "--baseline", fixture.baseline, "-o", all.path,
    ])
    #expect(plain.status == 0, "\(plain.output)")
    #expect(!FileManager.default.fileExists(atPath: all.appendingPathComponent("unitaudit.prom").path))
    #expect(FileManager.default.fileExists(atPath: all.appendingPathComponent("report.json").path))
    let bad = try TestSupport.run([binary, "report", fixture.scan, "--format", "prom", "-o", all.path])
    #expect(bad.status != 0 && bad.output.contains("html, md, csv, json, metrics"), "\(bad.output)")
  }
}

@Suite("unitaudit check --junit and --sarif")
struct CheckOutputCommandTests {
  @Test("both files are written beside the exit status 1; --overdue takes neither")
  func files() async throws {
    let fixture = try await CheckCommandTests().fixture(Fleet.hosts)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: out) }
    let junit = out.appendingPathComponent("check.xml").path
    let sarif = out.appendingPathComponent("check.sarif").path
    let (status, output) = try CheckCommandTests().run([
      "check", fixture.scan, "--baseline", fixture.baseline, "--today", "2026-11-22", "--junit", junit,
      "--sarif", sarif,
    ])
    #expect(status == 1, "\(output)")
    let xml = try String(contentsOfFile: junit, encoding: .utf8)
    #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "))
    #expect(xml.contains("<testsuite name=\"b1\""))
    #expect(xml.contains("<failure type=\"directive\" message=\"ProtectSystem: "))
    let log =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sarif))) as? [String: Any]
    #expect(log?["version"] as? String == "2.1.0")
    let (refused, message) = try CheckCommandTests().run([
      "check", fixture.scan, "--baseline", fixture.baseline, "--overdue", "--junit", junit,
    ])
    #expect(refused == 64 || refused == 2, "\(message)")
    #expect(message.contains("--overdue writes no --junit or --sarif"))
    let (unwritable, why) = try CheckCommandTests().run([
      "check", fixture.scan, "--baseline", fixture.baseline, "--junit", "/nonexistent/dir/check.xml",
    ])
    #expect(unwritable == 2 && why.contains("cannot write /nonexistent/dir/check.xml"), "\(why)")
  }
}

@Suite("the command line's exit statuses")
struct ExitStatusTests {
  @Test("help and --version exit 0; an unknown command and an unreadable scan or history exit 2")
  func statuses() throws {
    let binary = try TestSupport.unitauditBinary()
    for arguments in [["help", "trend"], ["trend", "--help"], ["--version"]] {
      let result = try TestSupport.run([binary] + arguments)
      #expect(result.status == 0, "\(arguments): \(result.output)")
    }
    let unknown = try TestSupport.run([binary, "frobnicate"])
    #expect(unknown.status == 2 && unknown.output.contains("frobnicate"), "\(unknown.output)")
    let missing = FileManager.default.temporaryDirectory
      .appendingPathComponent("absent-\(UUID().uuidString)").path
    for arguments in [
      ["coverage", missing], ["report", missing], ["export", missing, "--jsonl"],
      ["trend", "--history", missing], ["history", "list", "--history", missing],
    ] {
      let result = try TestSupport.run([binary] + arguments)
      #expect(
        result.status == 2 && result.output.hasPrefix("error: \(missing)")
          && result.output.contains("no such"),
        "\(arguments): \(result.output)")
    }
  }
}
