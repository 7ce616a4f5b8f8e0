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

  // Byte by byte, as systemd reads: '=' or '#' followed by a combining mark is still that byte.
  func handle(_ logical: Substring, line: Int) {
    let text = logical.trimmingWhitespace()
    guard let first = text.utf8.first, !isComment(first) else { return }
    if first == UInt8(ascii: "[") {
      guard text.utf8.count >= 2, text.utf8.last == UInt8(ascii: "]") else {
        report("unit.bad-section", "invalid section header '\(text.prefix(80))'", line: line)
        section = nil
        return
      }
      section = String(Substring(text.utf8.dropFirst().dropLast()))
      return
    }
    if text.utf8.starts(with: ".include ".utf8) {
      report("unit.include", "'.include' is no longer supported by systemd; ignored", line: line)
      return
    }
    guard let current = section else {
      report("unit.outside-section", "assignment outside of a section; ignored", line: line)
      return
    }
    guard let eq = text.utf8.firstIndex(of: UInt8(ascii: "=")) else {
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
        value: String(text[text.utf8.index(after: eq)...].trimmingWhitespace()),
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
      if let first = raw.trimmingWhitespace().utf8.first, isComment(first) { continue }
      if endsWithEscape(raw) {
        pending = (open.text + Substring(raw.utf8.dropLast()) + " ", open.line)
      } else {
        pending = nil
        handle(Substring(open.text + raw), line: open.line)
      }
      continue
    }
    if endsWithEscape(raw) {
      if let first = raw.trimmingWhitespace().utf8.first, isComment(first) { continue }
      pending = (String(Substring(raw.utf8.dropLast())) + " ", lineNumber)
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

/// `#` and `;` start a comment line.
private func isComment(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "#") || byte == UInt8(ascii: ";") }

/// True when the line ends in an unescaped backslash.
private func endsWithEscape(_ line: Substring) -> Bool {
  var count = 0
  for byte in line.utf8.reversed() {
    guard byte == UInt8(ascii: "\\") else { break }
    count += 1
  }
  return count % 2 == 1
}
