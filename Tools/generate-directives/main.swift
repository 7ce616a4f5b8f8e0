import Foundation
import ToolSupport

// generate-directives TABLE OUTPUT
//
// Reads the directive table (Sources/UnitModel/Directives.table; its header describes the
// format) and writes OUTPUT, the Swift source of everything that is typed per directive: the
// model's fields and JSON keys, the enums of choice directives, `HardeningDirective`,
// `DirectiveTable.all`, and the accessors the stages go through. The GenerateDirectives build
// plugin runs it. A malformed entry stops the build with the table's file name and line.

struct TableError: Error, CustomStringConvertible {
  var file: String
  var line: Int
  var message: String
  var description: String { "\(file):\(line): error: \(message)" }
}

enum Kind {
  case boolean
  case choice([String])
  case list([String])
  case filter
  case user
  case umask
}

struct Entry {
  var name: String
  var line: Int
  var kind: Kind = .boolean
  var hasKind = false
  var label: String?
  var example: String?
  var unset: String?
  var since: Int?
  var named: [(word: String, since: Int)] = []
  var extended: (property: String, yes: String)?
  var boolean: (yes: String, no: String)?
  var hardened: [String] = []
  var checks: [String] = []
  var suggest: String?
  var noSuggestion: String?
  var review: String?
  /// `effect:` lines: the word (nil for the suggested line or a boolean's yes) and the
  /// badness each check gets.
  var effects: [(word: String?, checks: [(field: String, badness: Int)])] = []
  /// `implies:` lines: the word and the settings it turns on.
  var implies: [(word: String, settings: [(name: String, value: String)])] = []
  var field: String?
  var doc: String?
  var notRequired: String?

  /// The Swift property: the name with its leading capitals lowered (`IPAddressDeny` →
  /// `ipAddressDeny`, `PrivateTmp` → `privateTmp`), unless `field:` names it.
  var property: String {
    if let field { return field }
    let chars = Array(name)
    var upper = 0
    while upper < chars.count, chars[upper].isUppercase { upper += 1 }
    // Keep the last capital of a run that starts a word (`IPA|ddress`).
    let lower = upper > 1 && upper < chars.count ? upper - 1 : upper
    return String(chars[..<lower]).lowercased() + String(chars[lower...])
  }

  var swiftType: String {
    switch kind {
    case .boolean: "Bool"
    case .choice: name
    case .list: "[String]"
    case .filter: "FilterList"
    case .user, .umask: "String"
    }
  }
}

func parse(_ text: String, file: String) throws -> [Entry] {
  var entries: [Entry] = []
  func fail(_ line: Int, _ message: String) -> TableError {
    TableError(file: file, line: line, message: message)
  }
  for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    let number = index + 1
    let line = String(raw)
    if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
    if !line.hasPrefix(" ") {
      let name = line.trimmingCharacters(in: .whitespaces)
      guard name.first?.isUppercase == true, name.allSatisfy({ $0.isLetter || $0.isNumber }) else {
        throw fail(number, "'\(name)' is not a directive name (letters and digits, starting with a capital)")
      }
      if let previous = entries.last, previous.name >= name {
        throw fail(number, "\(name) comes after \(previous.name): keep the entries sorted by name")
      }
      entries.append(Entry(name: name, line: number))
      continue
    }
    guard var entry = entries.popLast() else {
      throw fail(number, "an indented line before the first directive")
    }
    let body = line.trimmingCharacters(in: .whitespaces)
    guard let colon = body.firstIndex(of: ":") else { throw fail(number, "expected `key: value`") }
    let key = String(body[..<colon])
    let value = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    let words = value.split(separator: " ").map(String.init)
    func version(_ text: String) throws -> Int {
      guard let number = Int(text), number > 0 else {
        throw fail(index + 1, "'\(text)' is not a systemd version")
      }
      return number
    }
    switch key {
    case "kind":
      guard let first = words.first else { throw fail(number, "kind: needs a value") }
      let rest = Array(words.dropFirst())
      switch first {
      case "boolean": entry.kind = .boolean
      case "choice":
        guard rest.count >= 2 else { throw fail(number, "a choice needs at least two words") }
        for word in rest where !word.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }) {
          throw fail(number, "choice word '\(word)': use lower-case letters, digits and dashes")
        }
        entry.kind = .choice(rest)
      case "list": entry.kind = .list(rest)
      case "filter": entry.kind = .filter
      case "user": entry.kind = .user
      case "umask": entry.kind = .umask
      default:
        throw fail(number, "unknown kind '\(first)' (boolean, choice, list, filter, user, umask)")
      }
      if first != "choice" && first != "list" && !rest.isEmpty {
        throw fail(number, "a \(first) takes no words")
      }
      entry.hasKind = true
    case "label": entry.label = value
    case "example": entry.example = value
    case "unset": entry.unset = value
    case "since": entry.since = try version(value)
    case "named":
      entry.named = try words.map { word in
        let parts = word.split(separator: "@").map(String.init)
        guard parts.count == 2 else { throw fail(number, "named value '\(word)': write WORD@VERSION") }
        return (parts[0], try version(parts[1]))
      }
    case "extended":
      guard words.count == 2 else { throw fail(number, "extended: write PROPERTY WORD") }
      entry.extended = (words[0], words[1])
    case "boolean":
      guard words.count == 2 else { throw fail(number, "boolean: write YES NO") }
      entry.boolean = (words[0], words[1])
    case "hardened": entry.hardened = words
    case "checks":
      for word in words
      where word.isEmpty || !word.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "*" })
        || word.dropLast().contains("*")
      {
        throw fail(number, "checks: takes json_field names, each ending in * at most (\(word))")
      }
      entry.checks = words
    case "suggest":
      if value.hasPrefix("none: "), value.count > 6 {
        entry.noSuggestion = String(value.dropFirst(6))
      } else if let equals = value.firstIndex(of: "="), value[..<equals].allSatisfy(\.isLetter),
        equals != value.startIndex
      {
        entry.suggest = value
      } else {
        throw fail(number, "suggest: write NAME=VALUE or `none: WHY`")
      }
    case "review": entry.review = value
    case "effect":
      var rest = words[...]
      var word: String?
      if let first = rest.first, first.hasSuffix(":") {
        word = String(first.dropLast())
        rest = rest.dropFirst()
      }
      let checks = try rest.map { pair -> (field: String, badness: Int) in
        let parts = pair.split(separator: "=").map(String.init)
        guard parts.count == 2, let badness = Int(parts[1]), badness >= 0,
          parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "*" })
        else { throw fail(number, "effect: write [WORD:] FIELD=BADNESS… (\(pair))") }
        return (parts[0], badness)
      }
      guard !checks.isEmpty else { throw fail(number, "effect: names no check") }
      entry.effects.append((word, checks))
    case "implies":
      guard let first = words.first, first.hasSuffix(":"), words.count > 1 else {
        throw fail(number, "implies: write WORD: NAME=VALUE…")
      }
      let settings = try words.dropFirst().map { pair -> (name: String, value: String) in
        let parts = pair.split(separator: "=").map(String.init)
        guard parts.count == 2 else { throw fail(number, "implies: write WORD: NAME=VALUE… (\(pair))") }
        return (parts[0], parts[1])
      }
      entry.implies.append((String(first.dropLast()), settings))
    case "field": entry.field = value
    case "doc": entry.doc = value
    case "baseline":
      guard value.hasPrefix("no: "), value.count > 4 else { throw fail(number, "baseline: write `no: WHY`") }
      entry.notRequired = String(value.dropFirst(4))
    default:
      throw fail(number, "unknown key '\(key)'")
    }
    entries.append(entry)
  }
  for entry in entries {
    func fail(_ message: String) -> TableError {
      TableError(file: file, line: entry.line, message: "\(entry.name): \(message)")
    }
    guard entry.hasKind else { throw fail("no kind:") }
    guard let label = entry.label, !label.isEmpty else { throw fail("no label:") }
    guard entry.example != nil else { throw fail("no example:") }
    if case .choice(let words) = entry.kind {
      for effect in entry.effects {
        guard let word = effect.word, words.contains(word) else {
          throw fail("an effect of a choice names one of its words")
        }
      }
    }
    for effect in entry.effects where effect.word == nil && entry.suggest == nil {
      throw fail("an effect without a word is the suggest: line's, and it has none")
    }
    switch entry.kind {
    case .boolean:
      if !entry.hardened.isEmpty || entry.boolean != nil {
        throw fail("a boolean takes no hardened: or boolean:")
      }
    case .choice(let words):
      guard let unset = entry.unset, words.contains(unset) else {
        throw fail("a choice needs unset: one of its words")
      }
      for word in entry.hardened + [entry.boolean?.yes, entry.boolean?.no].compactMap({ $0 })
      where !words.contains(word) {
        throw fail("'\(word)' is not one of its words")
      }
    case .list(let words):
      for word in entry.hardened where !words.contains(word) {
        throw fail("'\(word)' is not one of its words")
      }
    case .filter, .user, .umask:
      if !entry.hardened.isEmpty { throw fail("hardened: is for choices and lists of words") }
    }
    if case .boolean = entry.kind {
    } else if !entry.named.isEmpty || entry.extended != nil {
      throw fail("named: and extended: are for booleans")
    }
  }
  guard !entries.isEmpty else { throw TableError(file: file, line: 1, message: "no directives") }
  return entries
}

func list(_ words: [String]) -> String { "[" + words.map(swiftLiteral).joined(separator: ", ") + "]" }

/// A choice word as an enum case name: `read-only` → `readOnly`, always in backticks so that
/// words such as `default` and `private` need no care.
func caseName(_ word: String) -> String {
  let parts = word.split(separator: "-")
  let camel = parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
  return "`\(camel)`"
}

func generate(_ entries: [Entry], tableName: String) -> String {
  var s = """
    // Generated at build time by the GenerateDirectives plugin (Tools/generate-directives)
    // from \(tableName). Edit the table, not this file.

    """
  for entry in entries {
    guard case .choice(let words) = entry.kind else { continue }
    s += "\n/// `\(entry.name)=`.\npublic enum \(entry.name): String, Codable, Sendable, CaseIterable {\n"
    for word in words { s += "  case \(caseName(word)) = \(swiftLiteral(word))\n" }
    s += "}\n"
  }

  s += """

    extension HardeningSettings {
      /// The settings themselves, one optional `Setting` per directive of the table. A nil
      /// field means that no file assigned it: systemd's default applies.
      public struct Fields: Codable, Sendable, Hashable {

    """
  for entry in entries {
    if let doc = entry.doc { s += "    /// \(doc)\n" }
    s += "    public var \(entry.property): Setting<\(entry.swiftType)>?\n"
  }
  s += "\n    public init() {}\n\n    enum CodingKeys: String, CodingKey {\n"
  for entry in entries { s += "      case \(entry.property) = \(swiftLiteral(entry.name))\n" }
  s += "    }\n\n"

  // Each accessor twice: on `Fields`, and on `HardeningSettings`, where each case loads its
  // one field from the box (a call that passes the box, not a copy of every field).
  var inBox = ""
  func accessor(_ doc: String, _ signature: String, _ match: (Entry) -> String?, fallback: String) {
    for base in ["", "box.fields."] {
      let prefix = ""
      var text = "\(prefix)  /// \(doc)\n\(prefix)  @inlinable\n\(prefix)  public \(signature) {\n"
      text += "\(prefix)    switch directive {\n"
      var all = true
      for entry in entries {
        if let body = match(entry) {
          text += "\(prefix)    case .\(entry.property): \(base)\(body)\n"
        } else {
          all = false
        }
      }
      if !all { text += "\(prefix)    default: \(fallback)\n" }
      text += "\(prefix)    }\n\(prefix)  }\n\n"
      if base.isEmpty {
        // Inside `Fields`, one level deeper.
        s += text.split(separator: "\n", omittingEmptySubsequences: false)
          .map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
      } else {
        inBox += text
      }
    }
  }
  accessor(
    "A boolean directive's setting; nil for a directive of another kind.",
    "func flag(_ directive: HardeningDirective) -> Setting<Bool>?",
    { if case .boolean = $0.kind { $0.property } else { nil } }, fallback: "nil")
  accessor(
    "A choice directive's setting, as its word; nil for a directive of another kind.",
    "func choice(_ directive: HardeningDirective) -> Setting<String>?",
    { if case .choice = $0.kind { "\($0.property).map(\\.word)" } else { nil } }, fallback: "nil")
  accessor(
    "A list directive's setting; nil for a directive of another kind.",
    "func words(_ directive: HardeningDirective) -> Setting<[String]>?",
    { if case .list = $0.kind { $0.property } else { nil } }, fallback: "nil")
  accessor(
    "A filter directive's setting; nil for a directive of another kind.",
    "func filter(_ directive: HardeningDirective) -> Setting<FilterList>?",
    { if case .filter = $0.kind { $0.property } else { nil } }, fallback: "nil")
  accessor(
    "A user or umask directive's setting; nil for a directive of another kind.",
    "func text(_ directive: HardeningDirective) -> Setting<String>?",
    {
      switch $0.kind {
      case .user, .umask: $0.property
      default: nil
      }
    }, fallback: "nil")
  accessor(
    "The assignment that decided a directive's value; nil when no file set it.",
    "func source(of directive: HardeningDirective) -> Provenance?",
    { "\($0.property)?.source" }, fallback: "nil")

  s += """
        /// Sets a choice directive from a unit file's text: an empty text resets it, and a
        /// boolean stands for the words the table gives. False when the text is none of its
        /// words (or the directive is no choice), and the field is left as it was.
        public mutating func setChoice(
          _ directive: HardeningDirective, _ text: String, source: Provenance?
        ) -> Bool {
          switch directive {

    """
  var allChoices = true
  for entry in entries {
    guard case .choice = entry.kind else {
      allChoices = false
      continue
    }
    let meaning = entry.boolean.map { "(yes: .\(caseName($0.yes)), no: .\(caseName($0.no)))" } ?? "nil"
    s +=
      "      case .\(entry.property): return Self.assign(text, source, to: &\(entry.property), boolean: \(meaning))\n"
  }
  if !allChoices { s += "      default: return false\n" }
  s += "      }\n    }\n  }\n}\n"
  s += "\nextension HardeningSettings {\n" + inBox + "}\n"

  s += """

    /// A directive of the table, as baselines and coverage name it.
    public enum HardeningDirective: String, Sendable, Hashable, Codable, CaseIterable, Comparable {

    """
  for entry in entries { s += "  case \(entry.property) = \(swiftLiteral(entry.name))\n" }
  s += """

      public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

      /// Its entry of `DirectiveTable.all` (a copy: hot paths read
      /// `DirectiveTable.all[directive.index].since` in place).
      public var spec: DirectiveSpec { DirectiveTable.all[index] }

      /// Its position in `DirectiveTable.all`.
      @inlinable
      public var index: Int {
        switch self {

    """
  for (index, entry) in entries.enumerated() { s += "    case .\(entry.property): \(index)\n" }
  s += "    }\n  }\n\n"
  s += "  /// Its kind, without the kind's words: what a hot path switches on.\n"
  s += "  @inlinable\n  public var form: DirectiveSpec.Form {\n    switch self {\n"
  for entry in entries {
    let form: String
    switch entry.kind {
    case .boolean: form = "boolean"
    case .choice: form = "choice"
    case .list: form = "list"
    case .filter: form = "filter"
    case .user: form = "user"
    case .umask: form = "umask"
    }
    s += "    case .\(entry.property): .\(form)\n"
  }
  s += "    }\n  }\n\n"
  s += "  /// What `systemctl show` prints when no file sets it (`DirectiveSpec.unsetShow`).\n"
  s += "  @inlinable\n  public var unset: String? {\n    switch self {\n"
  for entry in entries { s += "    case .\(entry.property): \(entry.unset.map(swiftLiteral) ?? "nil")\n" }
  s += "    }\n  }\n}\n"

  s +=
    "\nextension DirectiveTable {\n  /// Every directive, sorted by name (the order of `hosts.jsonl`'s keys).\n"
  s += "  public static let all: [DirectiveSpec] = [\n"
  for entry in entries {
    let kind: String
    switch entry.kind {
    case .boolean: kind = ".boolean"
    case .choice(let words): kind = ".choice(\(list(words)))"
    case .list(let words): kind = ".list(\(list(words)))"
    case .filter: kind = ".filter"
    case .user: kind = ".user"
    case .umask: kind = ".umask"
    }
    let named =
      "["
      + entry.named.map { "Named(name: \(swiftLiteral($0.word)), since: \($0.since))" }.joined(
        separator: ", ")
      + "]"
    let extended =
      entry.extended.map { ".init(property: \(swiftLiteral($0.property)), yes: \(swiftLiteral($0.yes)))" }
      ?? "nil"
    let effects =
      entry.effects.isEmpty
      ? "[]"
      : "["
        + entry.effects.map { effect in
          "DirectiveSpec.Effect(word: \(effect.word.map(swiftLiteral) ?? "nil"), checks: ["
            + effect.checks.map { "(\(swiftLiteral($0.field)), \($0.badness))" }.joined(separator: ", ")
            + "])"
        }.joined(separator: ", ") + "]"
    let implies =
      entry.implies.isEmpty
      ? "[]"
      : "["
        + entry.implies.map { implied in
          "DirectiveSpec.Implied(word: \(swiftLiteral(implied.word)), settings: ["
            + implied.settings.map { "(\(swiftLiteral($0.name)), \(swiftLiteral($0.value)))" }.joined(
              separator: ", ")
            + "])"
        }.joined(separator: ", ") + "]"
    s += """
          DirectiveSpec(
            \(swiftLiteral(entry.name)), .\(entry.property), \(kind), .of(\\.\(entry.property)),
            label: \(swiftLiteral(entry.label ?? "")), example: \(swiftLiteral(entry.example ?? "")),
            unset: \(entry.unset.map(swiftLiteral) ?? "nil"), since: \(entry.since.map(String.init) ?? "nil"),
            named: \(named), extended: \(extended), hardened: \(list(entry.hardened)),
            checks: \(list(entry.checks)), suggest: \(entry.suggest.map(swiftLiteral) ?? "nil"),
            noSuggestion: \(entry.noSuggestion.map(swiftLiteral) ?? "nil"), review: \(entry.review.map(swiftLiteral) ?? "nil"),
            effects: \(effects), implies: \(implies),
            notRequired: \(entry.notRequired.map(swiftLiteral) ?? "nil")),

      """
  }
  s += "  ]\n}\n"
  return s
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
  FileHandle.standardError.write(Data("usage: generate-directives TABLE OUTPUT\n".utf8))
  exit(2)
}
let (table, output) = (arguments[0], arguments[1])
do {
  guard let data = FileManager.default.contents(atPath: table),
    let text = String(validating: data, as: UTF8.self)
  else {
    throw TableError(file: table, line: 1, message: "cannot be read as UTF-8 text")
  }
  let source = generate(
    try parse(text, file: table), tableName: URL(fileURLWithPath: table).lastPathComponent)
  // Written only when it changed, so that an unchanged table does not recompile the module.
  if let old = FileManager.default.contents(atPath: output), old == Data(source.utf8) { exit(0) }
  try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch let error as TableError {
  FileHandle.standardError.write(Data("\(error)\n".utf8))
  exit(1)
} catch {
  FileHandle.standardError.write(Data("generate-directives: error: \(error)\n".utf8))
  exit(1)
}
