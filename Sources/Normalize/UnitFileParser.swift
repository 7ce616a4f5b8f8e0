import UnitModel

/// The text of one unit file as `systemctl cat` printed it.
public struct UnitFileText: Sendable, Hashable {
  public var path: String
  /// The file's lines, without line ends; line 1 is `lines[0]`.
  public var lines: [Substring]

  public init(path: String, lines: [Substring]) {
    self.path = path
    self.lines = lines
  }
}

/// A unit file read the way systemd reads it (systemd.syntax(7), conf-parser.c):
/// sections, `#`/`;` comments, `\` continuations (comment lines inside a continuation are
/// skipped), keys and values stripped of surrounding whitespace, values kept verbatim.
public struct ParsedUnitFile: Sendable, Hashable {
  public var path: String
  public var directives: [Directive]
  public var diagnostics: [Diagnostic]
}

/// Lines longer than this are refused, as systemd refuses lines over LONG_LINE_MAX (1 MiB).
public let unitFileMaxLineLength = 1 << 20

public func parseUnitFile(_ file: UnitFileText, unit: String? = nil) -> ParsedUnitFile {
  var directives: [Directive] = []
  var diagnostics: [Diagnostic] = []
  var section: String?
  var pending: (text: String, line: Int)?
  let origin = FileOrigin(path: file.path)

  func report(_ code: String, _ message: String, line: Int) {
    diagnostics.append(
      Diagnostic(.warning, code: code, message, section: "cat", unit: unit, file: file.path, line: line))
  }

  func handle(_ logical: Substring, line: Int) {
    let text = logical.trimmingWhitespace()
    if text.isEmpty || text.first == "#" || text.first == ";" { return }
    if text.first == "[" {
      guard text.last == "]", text.count >= 2 else {
        report("unit.bad-section", "invalid section header '\(text.prefix(80))'", line: line)
        section = nil
        return
      }
      section = String(text.dropFirst().dropLast())
      return
    }
    if text.hasPrefix(".include ") {
      report("unit.include", "'.include' is no longer supported by systemd; ignored", line: line)
      return
    }
    guard let current = section else {
      report("unit.outside-section", "assignment outside of a section; ignored", line: line)
      return
    }
    guard let eq = text.firstIndex(of: "=") else {
      report("unit.missing-equals", "missing '=' in '\(text.prefix(80))'; ignored", line: line)
      return
    }
    let key = text[..<eq].trimmingWhitespace()
    guard !key.isEmpty else {
      report("unit.empty-key", "assignment without a key; ignored", line: line)
      return
    }
    directives.append(
      Directive(
        section: current, key: String(key),
        value: String(text[text.index(after: eq)...].trimmingWhitespace()),
        source: Provenance(file: file.path, line: line, origin: origin)))
  }

  for (index, raw) in file.lines.enumerated() {
    let lineNumber = index + 1
    if raw.utf8.count > unitFileMaxLineLength {
      report(
        "unit.line-too-long", "line longer than \(unitFileMaxLineLength) bytes; ignored", line: lineNumber)
      pending = nil
      continue
    }
    if let open = pending {
      // Comment lines inside a continuation are skipped; the continuation goes on.
      let stripped = raw.trimmingWhitespace()
      if stripped.first == "#" || stripped.first == ";" { continue }
      if endsWithEscape(raw) {
        pending = (open.text + raw.dropLast() + " ", open.line)
      } else {
        pending = nil
        handle(Substring(open.text + raw), line: open.line)
      }
      continue
    }
    if endsWithEscape(raw) {
      let stripped = raw.trimmingWhitespace()
      if stripped.first == "#" || stripped.first == ";" { continue }
      pending = (String(raw.dropLast()) + " ", lineNumber)
    } else {
      handle(raw, line: lineNumber)
    }
  }
  if let open = pending {
    // A continuation at the end of the file: systemd still parses what it has.
    handle(Substring(open.text), line: open.line)
  }
  return ParsedUnitFile(path: file.path, directives: directives, diagnostics: diagnostics)
}

/// True when the line ends in an unescaped backslash.
private func endsWithEscape(_ line: Substring) -> Bool {
  var count = 0
  for byte in line.utf8.reversed() {
    guard byte == UInt8(ascii: "\\") else { break }
    count += 1
  }
  return count % 2 == 1
}
