import Coverage
import Foundation
import Inventory
import Normalize
import Offline
import SSH
import UnitModel

/// One fuzz target per parser that reads what hosts or users hand us. Each takes any bytes,
/// must not crash, and checks its properties with `precondition` — round trips, bounds
/// (lines within the file, exposures within 0–10, ports within 1–65535), errors and
/// diagnostics that name their file — so that a broken property is a crash too: libFuzzer
/// (`unitaudit-fuzz`, Scripts/fuzz) and the quick mutation tests (Tests/FuzzTests) both
/// report it as one. `run` says whether the input was taken whole (no error, no diagnostic),
/// so that the tests can hold that damaged input reached both the accepting and the
/// refusing paths.
public enum FuzzTarget: String, CaseIterable, Sendable {
  case cat, show, securityJSON = "security-json", securityText = "security-text", probe, inventory, baseline
  case hostLine = "host-line"
  /// A package's payload (tar, or cpio `newc` when it starts with `0707`), read as a stream.
  case archive
  /// A host key or certificate blob a server presents, checked against a CA line for it; and
  /// the bytes read as known_hosts lines.
  case hostKey = "host-key"

  /// The nonce of the recorded probe output the `probe` target's seeds come from.
  public static let probeNonce = "32a6f83413e02f5232b52fd4d1b6b145"

  /// Runs the target on `input`; true when the input was taken whole (no error, no
  /// diagnostic).
  @discardableResult
  public func run(_ input: [UInt8]) -> Bool {
    let text = String(decoding: input, as: UTF8.self)
    switch self {
    case .cat:
      let split = splitCatOutput(text, expected: [])
      var clean = split.diagnostics.isEmpty
      for files in split.files.values {
        for file in files {
          let parsed = parseUnitFile(file, unit: "x.service")
          for directive in parsed.directives {
            precondition(
              (1...max(1, file.lines.count)).contains(directive.source.line),
              "a directive outside its file's lines")
            precondition(directive.source.file == file.path, "a directive from another file")
            precondition(
              !directive.key.isEmpty && !directive.key.contains(where: { $0.isWhitespace || $0 == "=" }),
              "a directive key with blanks or '='")
            precondition(!directive.value.contains("\n"), "a value spanning lines after continuations")
          }
          for diagnostic in parsed.diagnostics {
            precondition(diagnostic.file == file.path, "a diagnostic without its file")
          }
          clean = clean && parsed.diagnostics.isEmpty
        }
      }
      return clean
    case .archive:
      let whole = ArchiveListing(input, chunk: input.count, fileLimit: 4096, totalLimit: 1 << 20)
      // The stream reads the same whatever the chunks it is handed.
      for chunk in [1, 7, 512] {
        let chunked = ArchiveListing(input, chunk: chunk, fileLimit: 4096, totalLimit: 1 << 20)
        precondition(
          chunked.members == whole.members && chunked.error == whole.error,
          "the members differ with chunks of \(chunk) bytes")
      }
      for member in whole.members {
        if let kept = member.kept {
          precondition(kept == member.size && kept <= 4096, "a member kept past its size")
        }
        if let path = member.treePath {
          let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
          precondition(path.hasPrefix("/") && !parts.isEmpty, "a tree path that is not absolute")
          precondition(
            !parts.contains { $0.isEmpty || $0 == ".." || $0 == "." || $0.utf8.contains(0) },
            "a tree path with an empty part, '..', '.' or a NUL")
        }
      }
      precondition(whole.error != nil || whole.consumed <= 1 << 20, "read past the payload limit")
      return whole.error == nil && !whole.members.isEmpty
    case .hostKey:
      let lines = KnownHosts(text: text, file: "kh")
      let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
      precondition(
        lines.entries.allSatisfy { (1...lineCount).contains($0.line) }, "a known_hosts line out of range")
      let certificate = SSHCertificate(blob: input)
      if let certificate {
        precondition(
          Array(input.prefix(certificate.signedBytes.count)) == certificate.signedBytes,
          "signed bytes not a prefix")
      }
      let ca = certificate.map { Data($0.signatureKey).base64EncodedString() } ?? "AAAA"
      let known = KnownHosts(text: "@cert-authority * ssh-ed25519 \(ca)\n", file: "kh")
      let outcome = HostKeyCheck.evaluate(
        presented: input, host: "web1.example.org", port: 22, knownHosts: known,
        now: Date(timeIntervalSince1970: 1_800_000_000))
      if case .certificateAccepted = outcome {
        precondition(
          certificate?.kind == .host
            && (certificate?.principals.isEmpty == true
              || certificate?.principals.contains("web1.example.org") == true),
          "a certificate accepted that is not a host certificate for the name")
      }
      return certificate != nil
    case .show:
      let blocks = parseShowBlocks(text)
      precondition(blocks.allSatisfy { !$0.isEmpty }, "an empty show block")
      precondition(
        blocks.allSatisfy { $0.keys.allSatisfy { !$0.isEmpty && !$0.contains("=") && !$0.contains("\n") } },
        "a show key that is empty or holds '=' or a line end")
      return !blocks.isEmpty
    case .securityJSON:
      let analysis = parseSecurityJSON(stdout: text, stderr: "")
      Self.checkBounds(analysis)
      // The one-pass reader and split-then-parse agree on any stream of arrays and objects.
      let bytes = Array(text.utf8)
      if let documents = JSONValue.parseSequence(bytes), documents.allSatisfy(\.isContainer) {
        let split = splitJSONDocuments(bytes)
        precondition(split.trailing == nil, "one-pass read a stream the splitter calls unfinished")
        precondition(
          documents == split.ranges.map { JSONValue.parse(bytes, in: $0) },
          "one-pass and split readers differ")
      }
      return analysis.diagnostics.isEmpty && !analysis.units.isEmpty
    case .securityText:
      let analysis = parseSecurityText(stdout: text, stderr: "")
      Self.checkBounds(analysis)
      return analysis.diagnostics.isEmpty && !analysis.units.isEmpty
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
      for service in first.services {
        precondition(!service.id.isEmpty, "a service without its id")
        precondition(
          service.overall.map { (0...100).contains($0.exposure.tenths) } ?? true, "an exposure outside 0–10")
      }
      return first.status.code.hasData
    case .inventory:
      var taken = false
      func check(_ error: InventoryError) {
        precondition(error.description.contains("fuzz.inv"), "an inventory error without its file: \(error)")
      }
      // Every host a parser gives names itself, has a port a socket takes, and says which
      // line of the file named it.
      func check(_ hosts: [FleetHost]) {
        // Lines as YAML counts them too: "\r\n", "\n", a lone "\r", NEL, LS and PS each end one.
        let breaks = text.unicodeScalars.split(omittingEmptySubsequences: false) {
          ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0)
        }
        let lines = max(1, breaks.count)
        for host in hosts {
          precondition(!host.name.isEmpty, "a host without a name")
          precondition(host.port.map { (1...65_535).contains($0) } ?? true, "a port outside 1–65535")
          if let source = host.source {
            precondition(source.file == "fuzz.inv", "a host from another file")
            precondition((1...lines).contains(source.line), "a host's line outside the file")
          }
        }
        taken = true
      }
      do throws(InventoryError) {
        check(try AnsibleINI.parse(text, source: "fuzz.inv").resolve().hosts)
      } catch {
        check(error)
      }
      do throws(InventoryError) { check(try PlainList.parse(text, source: "fuzz.inv").hosts) } catch {
        check(error)
      }
      do throws(InventoryError) {
        let root = try YAMLInventory.compose(text, source: "fuzz.inv")
        if YAMLInventory.isNative(root) {
          check(try NativeInventory.parse(root, source: "fuzz.inv").hosts)
        } else {
          check(try YAMLInventory.parseAnsible(root, source: "fuzz.inv").0.resolve().hosts)
        }
      } catch { check(error) }
      return taken
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
        return true
      }
      return false
    case .baseline:
      do throws(BaselineError) {
        let baseline = try BaselineParser.parse(text, file: "fuzz.yml")
        // Every waiver says where it was written, in this file.
        for waiver in baseline.waivers {
          precondition(
            waiver.origin?.file == "fuzz.yml" && (waiver.origin?.line ?? 0) >= 1, "a waiver without its line")
        }
        precondition(!baseline.sets.isEmpty, "a baseline without a requirement set")
        return true
      } catch {
        precondition(error.description.contains("fuzz.yml"), "a baseline error without its file: \(error)")
        return false
      }
    }
  }
}

extension FuzzTarget {
  /// Exposures are 0–10, overall and per check, whatever numbers the output held.
  static func checkBounds(_ analysis: SecurityAnalysis) {
    for result in analysis.units.values {
      precondition(
        result.overall.map { (0...100).contains($0.exposure.tenths) } ?? true, "an exposure outside 0–10")
      for check in result.checks.values {
        precondition(
          check.exposure.map { (0...100).contains($0.tenths) } ?? true, "a check's exposure outside 0–10")
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
