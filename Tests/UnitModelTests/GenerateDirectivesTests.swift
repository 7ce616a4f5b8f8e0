import Foundation
import TestSupport
import Testing
import UnitModel

/// The build tool that turns Directives.table into the model's per-directive code: one entry
/// reaches every stage, and a malformed entry stops the build at its file and line.
@Suite("generate-directives")
struct GenerateDirectivesTests {
  static let table = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Sources/UnitModel/Directives.table")

  /// Runs the tool on `text` and returns its status, its messages and what it wrote.
  static func generate(_ text: String) throws -> (status: Int32, output: String, source: String) {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let input = scratch.appendingPathComponent("Directives.table")
    let output = scratch.appendingPathComponent("Directives.swift")
    try text.write(to: input, atomically: true, encoding: .utf8)
    let tool = try TestSupport.builtBinary("generate-directives")
    let run = try TestSupport.run([tool, input.path, output.path])
    let source = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    return (run.status, run.output.replacingOccurrences(of: scratch.path + "/", with: ""), source)
  }

  @Test("one new entry reaches the field, its JSON key, the baseline name, the writer and coverage")
  func oneEntry() throws {
    let original = try String(contentsOf: Self.table, encoding: .utf8)
    let entry = """

      ZygoteGuard
        kind: boolean
        label: ZygG
        example: yes
        unset: no
        since: 270
        named: strict@271

      """
    let result = try Self.generate(original + entry)
    #expect(result.status == 0, "\(result.output)")
    for line in [
      "public var zygoteGuard: Setting<Bool>?",  // the model's field
      #"case zygoteGuard = "ZygoteGuard""#,  // its JSON key, and the name baselines use
      "case .zygoteGuard: zygoteGuard\n",  // flag(_:): the resolver's and coverage's access
      "case .zygoteGuard: zygoteGuard?.source",  // provenance
      #"label: "ZygG""#, "since: 270", #"Named(name: "strict", since: 271)"#,  // the table
    ] {
      #expect(result.source.contains(line), "missing: \(line)")
    }
    // Both enums that name directives gained exactly one case.
    let before = try Self.generate(original)
    let cases = { (source: String) in
      source.components(separatedBy: "\n").filter { $0.contains("= \"") }.count
    }
    #expect(cases(result.source) == cases(before.source) + 2)
  }

  @Test(
    "a malformed entry names the file and line",
    arguments: [
      (
        "Zeta\n  kind: boolean\n  label: Z\n  example: yes\nAlpha\n  kind: boolean\n  label: A\n  example: yes\n",
        5,
        "Alpha comes after Zeta: keep the entries sorted by name"
      ),
      ("Alpha\n  kind: boolean\n  label: A\n  example: yes\n  colour: red\n", 5, "unknown key 'colour'"),
      (
        "Alpha\n  kind: choice a b\n  label: A\n  example: a\n", 1,
        "Alpha: a choice needs unset: one of its words"
      ),
      (
        "Alpha\n  kind: boolean\n  label: A\n  example: yes\n  since: soon\n", 5,
        "'soon' is not a systemd version"
      ),
      ("Alpha\n  kind: boolean\n  example: yes\n", 1, "Alpha: no label:"),
      (
        "Alpha\n  kind: list\n  label: A\n  example: x\n  named: strict@257\n", 1,
        "named: and extended: are for booleans"
      ),
      ("Alpha\n  kind: maybe\n", 2, "unknown kind 'maybe'"),
    ])
  func malformed(text: String, line: Int, message: String) throws {
    let result = try Self.generate(text)
    #expect(result.status == 1)
    #expect(result.output.hasPrefix("Directives.table:\(line): error: "), "\(result.output)")
    #expect(result.output.contains(message), "\(result.output)")
    #expect(result.source.isEmpty)
  }

  @Test("the table the build read is the model's: every entry is a field, a directive and a JSON key")
  func builtFromTable() throws {
    let text = try String(contentsOf: Self.table, encoding: .utf8)
    let names = text.components(separatedBy: "\n").filter { $0.first?.isUppercase == true }
    #expect(names == DirectiveTable.all.map(\.name))
    #expect(HardeningDirective.allCases.map(\.rawValue) == names)
    for directive in HardeningDirective.allCases { #expect(directive.spec.directive == directive) }
  }
}
