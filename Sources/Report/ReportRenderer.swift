import Coverage
import Foundation
import Mustache
import UnitModel

/// A report format.
public enum ReportFormat: String, Sendable, CaseIterable, Codable {
  case html, md, csv, json
}

public enum ReportError: Error, CustomStringConvertible, Sendable {
  case template(String, String)
  case missingTemplate(String)

  public var description: String {
    switch self {
    case .template(let name, let why): "template \(name) cannot be read: \(why)"
    case .missingTemplate(let name): "no template named \(name)"
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

/// Renders reports from Mustache templates (HTML, Markdown) and code (CSV, JSON). Pure: the
/// templates come in as text.
public struct ReportRenderer: Sendable {
  let library: MustacheLibrary

  /// - Parameter templates: template text by name (`report.html`, `report.md`).
  public init(templates: [String: String]) throws(ReportError) {
    MustacheContentTypes.register(MarkdownContentType(), named: "MARKDOWN")
    var library = MustacheLibrary()
    for (name, text) in templates {
      do { try library.register(text, named: name) } catch { throw .template(name, "\(error)") }
    }
    self.library = library
  }

  /// The files of one format: name → content.
  public func render(_ format: ReportFormat, _ input: ReportInput) throws(ReportError) -> [String: String] {
    switch format {
    case .html:
      return ["report.html": try render(template: "report.html", ReportView(input))]
    case .md:
      return ["report.md": try render(template: "report.md", ReportView(input))]
    case .csv:
      return [
        "services.csv": CSV.services(input), "checks.csv": CSV.checks(input), "hosts.csv": CSV.hosts(input),
      ]
    case .json:
      return ["report.json": Self.json(input)]
    }
  }

  func render(template name: String, _ view: ReportView) throws(ReportError) -> String {
    guard let text = library.render(view, withTemplate: name) else { throw .missingTemplate(name) }
    return text
  }

  /// The scan and its coverage for other tools, with the schema version.
  static func json(_ input: ReportInput) -> String {
    struct Document: Encodable {
      var schemaVersion: Int
      var scan: ScanMetadata
      var hosts: [HostReport]
      var baseline: String
      var required: [String]
      var coverage: CoverageReport
      var diff: ScanDiff?
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    let document = Document(
      schemaVersion: ScanMetadata.currentSchemaVersion, scan: input.metadata, hosts: input.hosts,
      baseline: input.baseline.name, required: input.required, coverage: input.coverage,
      diff: input.compare?.diff)
    guard let data = try? encoder.encode(document) else { return "{}" }
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}
