import Foundation
import Offline
import TestSupport
import Testing

/// Every command downstream of a scan reads offline scans as it reads hosts': coverage, check
/// (JUnit, SARIF), diff and release notes, suggest, history and trend, every report format,
/// merge. The binary, on two crafted trees and a package.
@Suite("offline: every command reads offline scans", .serialized)
struct OfflineDownstreamTests {
  static let baseline = """
    name: offline-test
    title: Offline test baseline
    version: "1"
    sets:
      core:
        - PrivateTmp
        - ProtectSystem: [full, strict]
        - NoNewPrivileges
    services:
      - web.service
      - db.service
      - new.service
      - pkg.service
    """

  /// Release 1: web partly hardened, db not at all. Release 2: web hardened, db gone, new.
  static func trees(in folder: URL) throws -> (URL, URL, URL) {
    let one = try TreeBuilder("release-1")
    try one.link("/lib", to: "usr/lib")
    try one.file(
      "/usr/lib/systemd/system/web.service",
      "[Unit]\nDescription=Web\n[Service]\nExecStart=/usr/bin/web\nPrivateTmp=yes\n")
    try one.file("/usr/lib/systemd/system/db.service", "[Service]\nExecStart=/usr/bin/db\n")
    let two = try TreeBuilder("release-2")
    try two.link("/lib", to: "usr/lib")
    try two.file(
      "/usr/lib/systemd/system/web.service",
      "[Unit]\nDescription=Web\n[Service]\nExecStart=/usr/bin/web\nPrivateTmp=yes\nProtectSystem=strict\nNoNewPrivileges=yes\n"
    )
    try two.file("/usr/lib/systemd/system/new.service", "[Service]\nExecStart=/usr/bin/new\nPrivateTmp=yes\n")
    let deb = try DebBuilder.deb(
      "pkg",
      [
        .file(
          "./usr/lib/systemd/system/pkg.service", "[Service]\nExecStart=/usr/bin/pkg\nNoNewPrivileges=yes\n")
      ],
      in: folder)
    return (one.root, two.root, deb)
  }

  func unitaudit(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try TestSupport.run([try TestSupport.unitauditBinary()] + arguments)
  }

  @Test(
    "coverage, check, diff, release notes, suggest, history, trend, reports and merge on trees and a package")
  func downstream() throws {
    let work = try temporaryDirectory("offline-downstream")
    defer { try? FileManager.default.removeItem(at: work) }
    let baseline = work.appendingPathComponent("baseline.yml").path
    try Self.baseline.write(toFile: baseline, atomically: true, encoding: .utf8)
    let (one, two, deb) = try Self.trees(in: work)
    let first = work.appendingPathComponent("first").path
    let second = work.appendingPathComponent("second").path
    var result = try unitaudit(["scan", "--root", "r1=\(one.path)", "--package", deb.path, "-q", "-o", first])
    #expect(result.status == 0, "\(result.output)")
    result = try unitaudit(["scan", "--root", "r2=\(two.path)", "-q", "-o", second])
    #expect(result.status == 0, "\(result.output)")

    result = try unitaudit(["coverage", first, "--baseline", baseline, "--json"])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("\"web.service\"") && result.output.contains("\"pkg.service\""))

    let junit = work.appendingPathComponent("junit.xml")
    let sarif = work.appendingPathComponent("unitaudit.sarif")
    result = try unitaudit([
      "check", first, "--baseline", baseline, "--junit", junit.path, "--sarif", sarif.path,
    ])
    #expect(result.status == 1, "db.service misses every directive: \(result.output)")
    let junitText = try String(contentsOf: junit, encoding: .utf8)
    #expect(junitText.contains("<testsuite name=\"r1\"") && junitText.contains("db.service"))
    let sarifData = try Data(contentsOf: sarif)
    #expect(
      GitHubSARIFRules.check(sarifData, gzippedBytes: try GitHubSARIFRules.gzippedSize(of: sarif)).isEmpty)
    #expect(String(decoding: sarifData, as: UTF8.self).contains("usr/lib/systemd/system/db.service"))

    result = try unitaudit(["diff", first, second, "--baseline", baseline, "--release-notes"])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("## Hardened") && result.output.contains("web.service"))
    #expect(result.output.contains("## New services") && result.output.contains("new.service"))
    #expect(result.output.contains("## Gone") && result.output.contains("db.service"))
    result = try unitaudit(["diff", first, second, "--baseline", baseline])
    #expect(result.status == 0 && result.output.contains("hosts added: r2"), "\(result.output)")

    result = try unitaudit(["suggest", first, "--baseline", baseline, "--service", "db.service"])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("ProtectSystem=") && result.output.contains("NoNewPrivileges=yes"))
    if OfflineAnalyzer.thisMachine().major ?? 0 >= 250 {
      #expect(
        result.output.contains("predicted"), "the offline grades predict the exposure: \(result.output)")
    }

    let history = work.appendingPathComponent("history.db").path
    result = try unitaudit(["history", "add", first, second, "--history", history, "--baseline", baseline])
    #expect(result.status == 0, "\(result.output)")
    result = try unitaudit(["trend", "--history", history, "--baseline", baseline])
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("web.service"), "\(result.output)")

    let reports = work.appendingPathComponent("reports").path
    result = try unitaudit([
      "report", first, "--baseline", baseline, "--format", "html,md,csv,json,metrics,junit,sarif", "-o",
      reports,
    ])
    #expect(result.status == 0, "\(result.output)")
    let hosts = try String(contentsOfFile: reports + "/hosts.csv", encoding: .utf8)
    #expect(hosts.contains("r1,tree,") && hosts.contains(",package,"), "\(hosts)")
    let packages = try String(contentsOfFile: reports + "/packages.csv", encoding: .utf8)
    #expect(packages.contains("pkg,1.0-1,pkg.service,partial"), "\(packages)")
    let html = try String(contentsOfFile: reports + "/report.html", encoding: .utf8)
    #expect(html.contains("r1 (tree)") && html.contains("(package)"))
    #expect(try String(contentsOfFile: reports + "/report.md", encoding: .utf8).contains("## Packages"))

    let merged = work.appendingPathComponent("merged").path
    result = try unitaudit(["merge", merged, first, second])
    #expect(result.status == 0, "\(result.output)")
    result = try unitaudit(["coverage", merged, "--baseline", baseline, "--json"])
    #expect(result.status == 0 && result.output.contains("\"r2\""), "\(result.output)")
  }
}
