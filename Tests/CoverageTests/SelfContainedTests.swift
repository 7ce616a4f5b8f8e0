import Foundation
import ReportTemplates
import Storage
import TestSupport
import Testing
import UnitModel

@testable import Coverage

/// The repository's root, from this file's path.
private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent()
  .deletingLastPathComponent()

/// unitaudit carries its baselines and templates inside the binary (the EmbedFiles plugin):
/// nothing has to sit beside it.
@Suite("A self-contained binary: bundled files compiled in, --templates errors name the file")
struct SelfContainedTests {
  @Test("the compiled-in baselines and templates are the source files, character for character")
  func embeddedFilesMatchSources() throws {
    let baselines = repository.appendingPathComponent("Sources/Coverage/Baselines")
    let files = try FileManager.default.contentsOfDirectory(atPath: baselines.path).filter {
      $0.hasSuffix(".yml")
    }
    #expect(!files.isEmpty)
    #expect(BaselineStore.bundled == files.map { String($0.dropLast(4)) }.sorted())
    for file in files {
      let text = try String(contentsOf: baselines.appendingPathComponent(file), encoding: .utf8)
      #expect(BaselineStore.bundledTexts[String(file.dropLast(4))] == text, "\(file)")
    }
    let templates = repository.appendingPathComponent("Templates")
    let names = try FileManager.default.contentsOfDirectory(atPath: templates.path).filter {
      $0.hasSuffix(".mustache")
    }
    let bundled = BundledTemplates.all()
    #expect(bundled.keys.sorted() == names.map { String($0.dropLast(".mustache".count)) }.sorted())
    for name in names {
      let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
      #expect(bundled[String(name.dropLast(".mustache".count))] == text, "\(name)")
    }
  }

  /// A scan directory of the coverage tests' small fleet, and a scratch folder around it.
  func scratchScan() async throws -> (root: URL, scan: String) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent(
      "self-contained-\(UUID().uuidString)")
    let metadata = ScanMetadata(
      id: "t", toolVersion: "test", probeVersion: 1, mode: .ssh, state: .complete, startedAt: Date(),
      targets: [], plannedHosts: Fleet.hosts.map(\.name))
    let store = try ScanStore.create(at: root.appendingPathComponent("scan"), metadata: metadata)
    for host in Fleet.hosts { try await store.append(host, evidence: nil) }
    try await store.close()
    return (root, root.appendingPathComponent("scan").path)
  }

  @Test("a copy of the binary alone in an empty folder shows baselines, covers, checks and reports")
  func binaryAloneInAFolder() async throws {
    let (root, scan) = try await scratchScan()
    defer { try? FileManager.default.removeItem(at: root) }
    let alone = root.appendingPathComponent("bin")
    try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: true)
    let binary = alone.appendingPathComponent("unitaudit").path
    try FileManager.default.copyItem(atPath: try TestSupport.unitauditBinary(), toPath: binary)

    let list = try TestSupport.run([binary, "baseline", "list"])
    #expect(list.status == 0 && list.output.contains("fedora-40"), "\(list.output)")
    let show = try TestSupport.run([binary, "baseline", "show", "fedora-40"])
    #expect(show.status == 0 && show.output.contains("set core:"), "\(show.output)")
    let coverage = try TestSupport.run([binary, "coverage", scan])
    #expect(coverage.status == 0, "\(coverage.output)")
    let check = try TestSupport.run([binary, "check", scan])
    #expect(check.status == 1, "\(check.output)")
    let out = root.appendingPathComponent("report").path
    let report = try TestSupport.run([binary, "report", scan, "-o", out, "--format", "html,md"])
    #expect(report.status == 0, "\(report.output)")
    let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
    #expect(html.lowercased().hasPrefix("<!doctype html>"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: alone.path) == ["unitaudit"])
  }

  @Test("a damaged --templates folder is an error that names the file, and no report is written")
  func damagedTemplates() async throws {
    let (root, scan) = try await scratchScan()
    defer { try? FileManager.default.removeItem(at: root) }
    let binary = try TestSupport.unitauditBinary()
    let templates = root.appendingPathComponent("templates")
    try FileManager.default.createDirectory(at: templates, withIntermediateDirectories: true)
    let out = root.appendingPathComponent("out").path
    func report(_ folder: String) throws -> (status: Int32, output: String) {
      try TestSupport.run([binary, "report", scan, "-o", out, "--templates", folder])
    }

    // A section opened and never closed, on line 3.
    let html = templates.appendingPathComponent("report.html.mustache").path
    try "<html>\n<body>\n{{#rows}}<p>{{name}}</p>\n</body>\n".write(
      toFile: html, atomically: true, encoding: .utf8)
    let unclosed = try report(templates.path)
    #expect(unclosed.status == 2, "\(unclosed.output)")
    #expect(unclosed.output.contains("\(html):"), "\(unclosed.output)")
    #expect(unclosed.output.contains("does not parse"), "\(unclosed.output)")
    #expect(!FileManager.default.fileExists(atPath: out), "no report is written when a template is broken")

    // A mismatched section close names its line and column.
    try "line one\n{{#rows}}x{{/hosts}}\n".write(toFile: html, atomically: true, encoding: .utf8)
    let mismatched = try report(templates.path)
    #expect(mismatched.status == 2)
    #expect(mismatched.output.contains("\(html):2:"), "\(mismatched.output)")

    // Not UTF-8.
    try Data([0x7B, 0x7B, 0xFF, 0xFE, 0x7D, 0x7D]).write(to: URL(fileURLWithPath: html))
    let binaryFile = try report(templates.path)
    #expect(binaryFile.status == 2)
    #expect(binaryFile.output.contains("\(html): is not UTF-8 text"), "\(binaryFile.output)")
    try FileManager.default.removeItem(atPath: html)

    // A folder where a template file should be.
    let folder = templates.appendingPathComponent("report.md.mustache")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let notAFile = try report(templates.path)
    #expect(notAFile.status == 2)
    #expect(notAFile.output.contains("\(folder.path): cannot be read"), "\(notAFile.output)")
    try FileManager.default.removeItem(at: folder)

    // No such folder, and a file given as the folder.
    let missing = try report(root.appendingPathComponent("nowhere").path)
    #expect(missing.status == 2)
    #expect(missing.output.contains("nowhere: no such templates folder"), "\(missing.output)")
    let plain = root.appendingPathComponent("plain.txt")
    try "x".write(to: plain, atomically: true, encoding: .utf8)
    let file = try report(plain.path)
    #expect(file.status == 2)
    #expect(file.output.contains("plain.txt: not a folder"), "\(file.output)")

    // A good override still works once the folder is mended.
    try "{{% CONTENT_TYPE: MARKDOWN}}custom {{baselineName}}\n".write(
      toFile: templates.appendingPathComponent("report.md.mustache").path, atomically: true, encoding: .utf8)
    let mended = try report(templates.path)
    #expect(mended.status == 0, "\(mended.output)")
    #expect(try String(contentsOfFile: out + "/report.md", encoding: .utf8) == "custom fedora-40\n")
  }
}
