import Coverage
import Foundation
import Mustache
import UnitModel

/// A report format.
public enum ReportError: Error, CustomStringConvertible, Sendable {
  /// A template that does not parse: the file it came from, where, and why.
  case template(file: String, line: Int?, column: Int?, reason: String)
  case missingTemplate(String)

  public var description: String {
    switch self {
    case .template(let file, let line, let column, let reason):
      let place = [line, column].compactMap { $0.map(String.init) }.joined(separator: ":")
      return "\(file)\(place.isEmpty ? "" : ":" + place): the template does not parse: \(reason)"
    case .missingTemplate(let name): return "no template named \(name)"
    }
  }
}

/// Markdown table cells: pipes, backslashes, emphasis, code, HTML and links escaped; newlines
/// folded. Registered as the `MARKDOWN` content type (`{{% CONTENT_TYPE: MARKDOWN}}`).
struct MarkdownContentType: MustacheContentType {
  func escapeText(_ text: String) -> String {
    var out = ""
    for character in text {
      switch character {
      case "\\", "|", "*", "_", "`", "[", "]", "<", ">", "#", "~", "!", "{", "}": out += "\\\(character)"
      case "\n", "\r", "\r\n": out += " "
      case "&": out += "&amp;"
      default: out.append(character)
      }
    }
    return out
  }
}

/// Renders reports from Mustache templates (HTML, Markdown) and code (CSV, JSON) into text.
/// Pure: the templates come in as text, the reports go out as text; `ReportWriter` writes them
/// to files.
public struct ReportRenderer: Sendable {
  let library: MustacheLibrary

  /// - Parameters:
  ///   - templates: template text by name (`report.html`, `report.md`).
  ///   - files: the file each template was read from, by name, for errors; a template without
  ///     one is named as bundled.
  public init(templates: [String: String], files: [String: String] = [:]) throws(ReportError) {
    MustacheContentTypes.register(MarkdownContentType(), named: "MARKDOWN")
    var library = MustacheLibrary()
    for (name, text) in templates.sorted(by: { $0.key < $1.key }) {
      do { try library.register(text, named: name) } catch {
        let file = files[name] ?? "the bundled template \(name)"
        if let error = error as? MustacheTemplate.ParserError {
          let line = error.context.line.trimmingCharacters(in: .whitespaces)
          throw .template(
            file: file, line: error.context.lineNumber, column: error.context.columnNumber,
            reason: Self.explain(error.error) + (line.isEmpty ? "" : " (near `\(line.prefix(80))`)"))
        }
        throw .template(file: file, line: nil, column: nil, reason: "\(error)")
      }
    }
    self.library = library
  }

  /// The parser's error in words.
  static func explain(_ error: any Error) -> String {
    switch error as? MustacheTemplate.Error {
    case .sectionCloseNameIncorrect: "a section is closed with another name than the one it was opened with"
    case .unfinishedName: "a tag is not finished"
    case .expectedSectionEnd: "a section is opened and never closed"
    case .invalidSetDelimiter: "a set-delimiter tag is malformed"
    default: "\(error)"
    }
  }

  /// The files of one format, name → content, made by the same table entry as the files
  /// `ReportWriter` writes (for tests and small scans).
  public func render(_ format: ReportFormat, _ input: ReportInput) throws -> [String: String] {
    var files: [String: String] = [:]
    for file in format.files(input, renderer: self, pages: PageViews(input), allChecks: true) {
      var sink: any ReportSink = StringSink()
      _ = try file.write(&sink)
      files[file.name] = (sink as? StringSink)?.text
    }
    return files
  }

  func render(template name: String, _ view: ReportView) throws(ReportError) -> String {
    guard let text = library.render(view, withTemplate: name) else { throw .missingTemplate(name) }
    return text
  }

  /// The scan and its coverage for other tools, with the schema version. Hosts are summarized
  /// (status, identity, each service's id, aliases, per-host status, exposure and predicate);
  /// the full normalized hosts are the scan's (`unitaudit export --jsonl`). Hosts are written one by one.
  /// The version of report.json's shape, for the tools that read it. 3: a directive's
  /// `satisfied` is an object keyed by where the value came from (it was an array of keys and
  /// counts in no fixed order).
  public static let jsonSchemaVersion = 3

  static func json(_ input: ReportInput, into sink: inout some ReportSink) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    func encoded(_ value: some Encodable) -> String {
      (try? encoder.encode(value)).map { JSONString.escapingInvisible(String(decoding: $0, as: UTF8.self)) }
        ?? "null"
    }
    sink.write("{\"schemaVersion\":\(Self.jsonSchemaVersion),\"scan\":\(encoded(input.metadata))")
    sink.write(
      ",\"baseline\":\(JSONText.string(input.baseline.name)),\"required\":\(encoded(input.required))")
    sink.write(",\"coverage\":\(encoded(input.coverage)),\"owners\":\(encoded(input.owners))")
    if let diff = input.compare?.diff { sink.write(",\"diff\":\(encoded(diff))") }
    sink.write(",\"hosts\":[")
    let requirements = input.baseline.requirements(in: input.required)
    for (index, host) in input.hosts.enumerated() {
      let entries = input.baseline.entries(on: host)
      var text = index == 0 ? "{" : ",{"
      text +=
        "\"name\":\(JSONText.string(host.name)),\"address\":\(host.address.map(JSONText.string) ?? "null")"
      text += ",\"port\":\(host.port.map(String.init) ?? "null"),\"groups\":\(JSONText.array(host.groups))"
      text +=
        ",\"status\":\(encoded(host.status)),\"identity\":\(host.identity.map(encoded) ?? "null"),\"services\":["
      for (offset, service) in host.services.enumerated() {
        let status =
          entries[service.id].map {
            CoverageCalculator.judge(
              service, host: host.name, entry: $0, requirements: requirements, baseline: input.baseline,
              today: input.coverage.today, systemd: host.identity?.systemdVersion
            ).status.rawValue
          } ?? "outside-baseline"
        text += offset == 0 ? "{" : ",{"
        text += "\"id\":\(JSONText.string(service.id)),\"aliases\":\(JSONText.array(service.aliases))"
        text +=
          ",\"status\":\"\(status)\",\"exposure\":\(service.overall.map { $0.exposure.description } ?? "null")"
        text += ",\"predicate\":\(service.overall.map { JSONText.string($0.predicate) } ?? "null")}"
      }
      sink.write(text + "]}")
    }
    sink.write("]}\n")
  }
}

/// JSON text for strings and string arrays, without Foundation's encoder (which is slow for
/// millions of small values); script-safe, like the page's embedded data.
enum JSONText {
  static func string(_ value: String) -> String { JSONString.quoted(value, scriptSafe: true) }

  static func array(_ values: [String]) -> String { "[" + values.map(string).joined(separator: ",") + "]" }
}
