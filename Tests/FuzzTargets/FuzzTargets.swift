import Coverage
import Foundation
import Inventory
import Normalize
import UnitModel

/// One fuzz target per parser that reads what hosts or users hand us. Each takes any bytes,
/// must not crash, and checks its properties with `precondition`, so that a broken property
/// is a crash too: libFuzzer (`unitaudit-fuzz`, Scripts/fuzz) and the quick mutation tests
/// (Tests/FuzzTests) both report it as one.
public enum FuzzTarget: String, CaseIterable, Sendable {
  case cat, show, securityJSON = "security-json", securityText = "security-text", probe, inventory, baseline
  case hostLine = "host-line"

  /// The nonce of the recorded probe output the `probe` target's seeds come from.
  public static let probeNonce = "32a6f83413e02f5232b52fd4d1b6b145"

  public func run(_ input: [UInt8]) {
    let text = String(decoding: input, as: UTF8.self)
    switch self {
    case .cat:
      let split = splitCatOutput(text, expected: [])
      for files in split.files.values {
        for file in files { _ = parseUnitFile(file, unit: "x.service") }
      }
    case .show:
      precondition(parseShowBlocks(text).allSatisfy { !$0.isEmpty }, "an empty show block")
    case .securityJSON:
      _ = parseSecurityJSON(stdout: text, stderr: "")
      // The one-pass reader and split-then-parse agree on any stream of arrays and objects.
      let bytes = Array(text.utf8)
      if let documents = JSONValue.parseSequence(bytes), documents.allSatisfy(\.isContainer) {
        let split = splitJSONDocuments(bytes)
        precondition(split.trailing == nil, "one-pass read a stream the splitter calls unfinished")
        precondition(
          documents == split.ranges.map { JSONValue.parse(bytes, in: $0) },
          "one-pass and split readers differ")
      }
    case .securityText:
      _ = parseSecurityText(stdout: text, stderr: "")
    case .probe:
      let evidence = HostEvidence(
        host: "h", nonce: Self.probeNonce, probeVersion: 1,
        output: ProbeOutput(stdout: input, stderr: [], exitStatus: 0))
      let first = normalize(evidence, label: HostLabel(name: "h"))
      precondition(
        first == normalize(evidence, label: HostLabel(name: "h")), "normalize is not deterministic")
      if first.status.code == .ok {
        precondition(!first.diagnostics.contains { $0.severity == .error }, "ok with an error diagnostic")
      }
    case .inventory:
      func check(_ error: InventoryError) {
        precondition(error.description.contains("fuzz.inv"), "an inventory error without its file: \(error)")
      }
      do throws(InventoryError) { _ = try AnsibleINI.parse(text, source: "fuzz.inv") } catch { check(error) }
      do throws(InventoryError) { _ = try PlainList.parse(text, source: "fuzz.inv") } catch { check(error) }
      do throws(InventoryError) {
        let root = try YAMLInventory.compose(text, source: "fuzz.inv")
        if YAMLInventory.isNative(root) {
          _ = try NativeInventory.parse(root, source: "fuzz.inv")
        } else {
          _ = try YAMLInventory.parseAnsible(root, source: "fuzz.inv")
        }
      } catch { check(error) }
    case .hostLine:
      // A host line as `unitaudit export --jsonl` writes it: once read, the host written again
      // reads back as the same host.
      let decoder = JSONDecoder()
      decoder.dateDecodingStrategy = .iso8601
      if let host = try? decoder.decode(HostReport.self, from: Data(input)) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let line = try? encoder.encode(host) else {
          preconditionFailure("a host that was read cannot be written again")
        }
        let again = try? decoder.decode(HostReport.self, from: line)
        precondition(again == host, "a host line written again reads as another host")
      }
    case .baseline:
      do throws(BaselineError) {
        _ = try BaselineParser.parse(text, file: "fuzz.yml")
      } catch {
        precondition(error.description.contains("fuzz.yml"), "a baseline error without its file: \(error)")
      }
    }
  }
}

extension JSONValue {
  var isContainer: Bool {
    switch self {
    case .array, .object: true
    default: false
    }
  }
}
