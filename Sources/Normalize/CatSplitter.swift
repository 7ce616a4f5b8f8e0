import UnitModel

/// What `systemctl show` says a unit's files are; used to tell units apart in `systemctl cat`
/// output, which has no marker between units.
public struct ExpectedUnitFiles: Sendable, Hashable {
  public var unit: String
  public var masked: Bool
  /// Fragment first, then drop-ins, in systemd's order.
  public var paths: [String]

  public init(unit: String, masked: Bool, paths: [String]) {
    self.unit = unit
    self.masked = masked
    self.paths = paths
  }
}

public struct CatSplit: Sendable {
  /// Unit id → its files in order.
  public var files: [String: [UnitFileText]]
  /// Units that `systemctl cat` reported as masked.
  public var masked: Set<String>
  public var diagnostics: [Diagnostic]
}

/// Splits one `systemctl cat U1 U2 …` output into the files of each unit.
///
/// `cat` prints `# /path` then the file for every file, one empty line between files and
/// nothing between units; the header names the real file (an alias shows its target, an
/// instance its template). The units are walked in argument order and each expected
/// header is looked up from where the previous one ended, so comment lines inside a unit
/// file that look like headers are never mistaken for one.
public func splitCatOutput(_ text: String, expected: [ExpectedUnitFiles]) -> CatSplit {
  let lines = textLines(text)
  // Every line that could be a header, by the path it names.
  var headerLines: [Substring: [Int]] = [:]
  var maskedLines: [Substring: [Int]] = [:]
  // Compared byte by byte: most lines are unit file text, and only these two forms matter.
  let maskedPrefix = "# Unit ".utf8
  let maskedSuffix = " is masked.".utf8
  for (index, line) in lines.enumerated() where line.utf8.starts(with: "# ".utf8) {
    let bytes = line.utf8
    if bytes.starts(with: "# /".utf8) {
      headerLines[Substring(bytes.dropFirst(2)), default: []].append(index)
    } else if bytes.count >= maskedPrefix.count + maskedSuffix.count, bytes.starts(with: maskedPrefix),
      bytes.suffix(maskedSuffix.count).elementsEqual(maskedSuffix)
    {
      maskedLines[Substring(bytes.dropFirst(maskedPrefix.count).dropLast(maskedSuffix.count)), default: []]
        .append(index)
    }
  }
  func firstLine(_ table: [Substring: [Int]], _ key: String, from cursor: Int) -> Int? {
    table[Substring(key)]?.first { $0 >= cursor }
  }

  var found: [(unit: String, path: String, header: Int)] = []
  var masked: Set<String> = []
  var diagnostics: [Diagnostic] = []
  var cursor = 0
  for unit in expected {
    if unit.masked {
      if let line = firstLine(maskedLines, unit.unit, from: cursor) {
        masked.insert(unit.unit)
        cursor = line + 1
      } else {
        diagnostics.append(
          Diagnostic(
            .warning, code: "cat.masked-line-missing",
            "systemctl show says the unit is masked but systemctl cat did not", section: "cat",
            unit: unit.unit))
      }
      continue
    }
    for path in unit.paths {
      guard let line = firstLine(headerLines, path, from: cursor) else {
        diagnostics.append(
          Diagnostic(
            .warning, code: "cat.file-missing", "systemctl cat did not print \(path)", section: "cat",
            unit: unit.unit, file: path))
        continue
      }
      found.append((unit.unit, path, line))
      cursor = line + 1
    }
  }

  var files: [String: [UnitFileText]] = [:]
  let starts = found.map(\.header)
  let maskedSorted = maskedLines.values.joined().sorted()
  for (position, entry) in found.enumerated() {
    var end = position + 1 < starts.count ? starts[position + 1] : lines.count
    // A masked line between two files also ends the file before it.
    if let maskedAfter = maskedSorted.first(where: { $0 > entry.header && $0 < end }) {
      end = maskedAfter
    }
    var body = Array(lines[(entry.header + 1)..<end])
    // The empty line cat prints between files belongs to no file.
    if body.last == "" { body.removeLast() }
    files[entry.unit, default: []].append(UnitFileText(path: entry.path, lines: body))
  }
  return CatSplit(files: files, masked: masked, diagnostics: diagnostics)
}
