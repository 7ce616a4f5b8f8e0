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

  /// Release notes between two scans as Markdown (`release-notes.md`), ready to paste.
  public func releaseNotes(_ notes: ReleaseNotes) throws(ReportError) -> String {
    guard let text = library.render(ReleaseNotesView(notes), withTemplate: "release-notes.md") else {
      throw .missingTemplate("release-notes.md")
    }
    return text
  }

  /// The version of report.json's shape (`ReportDocument`), for the tools that read it. 3: a
  /// directive's `satisfied` is an object keyed by where the value came from.
  public static let jsonSchemaVersion = 3

  /// report.json: the `ReportDocument` of `input`, its hosts encoded and written one at a
  /// time so that a 10,000-host report never holds the whole text.
  static func json(_ input: ReportInput, into sink: inout some ReportSink) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    func encoded(_ value: some Encodable) -> String {
      (try? encoder.encode(value)).map { JSONString.escapingInvisible(String(decoding: $0, as: UTF8.self)) }
        ?? "null"
    }
    // The document without its hosts, then `"hosts":[…]` spliced in before its last brace.
    var head = encoded(ReportDocument(input))
    head.removeLast()
    sink.write(head + ",\"hosts\":[")
    // Hosts of one image have the same service summaries: each distinct one is encoded once
    // and its text reused (encoding 1.5 million of them one by one tripled the file's time).
    let requirements = input.baseline.requirements(in: input.required)
    var texts: [ReportDocument.Service: String] = [:]
    for (index, host) in input.hosts.enumerated() {
      var summary = ReportDocument.Host(host, input: input, requirements: requirements)
      let services = summary.services
      summary.services = []
      var text = encoded(summary)
      let list = services.map { service in
        if let known = texts[service] { return known }
        if texts.count >= 100_000 { texts.removeAll() }
        let encodedService = encoded(service)
        texts[service] = encodedService
        return encodedService
      }
      // The empty list the host was encoded with, filled: a key outside every string value
      // (their quotes are escaped), and the only `services` key of a host.
      if let empty = text.range(of: "\"services\":[]") {
        text.replaceSubrange(empty, with: "\"services\":[" + list.joined(separator: ",") + "]")
      }
      sink.write((index == 0 ? "" : ",") + text)
    }
    sink.write("]}\n")
  }
}

/// report.json's shape, declared once: the scan's metadata, the baseline and required sets,
/// the coverage, the change owners' view, the diff with `--compare`, and each host summarized
/// (`hosts`, written one at a time: `ReportRenderer.json`). The full normalized hosts are the
/// scan's (`unitaudit export --jsonl`).
struct ReportDocument: Encodable {
  var schemaVersion = ReportRenderer.jsonSchemaVersion
  var scan: ScanMetadata
  var baseline: String
  var required: [String]
  var coverage: CoverageReport
  var owners: [OwnerEntry]
  var packages: [PackageEntry]
  var diff: ScanDiff?

  init(_ input: ReportInput) {
    scan = input.metadata
    baseline = input.baseline.name
    required = input.required
    coverage = input.coverage
    owners = input.owners
    packages = input.packages
    diff = input.compare?.diff
  }

  /// A host: where it is, its status and identity, and each service's id, aliases, status
  /// against the baseline (`outside-baseline` for a service it does not name), exposure and
  /// predicate. Absent values are `null`.
  struct Host: Encodable {
    var name: String
    /// `host`, `tree` or `package`.
    var kind: String
    var offline: OfflineSource?
    var address: String?
    var port: Int?
    var groups: [String]
    var status: HostStatus
    var identity: HostIdentity?
    var services: [Service]

    init(_ host: HostReport, input: ReportInput, requirements: [Requirement]) {
      name = host.name
      kind = host.kind
      offline = host.offline
      address = host.address
      port = host.port
      groups = host.groups
      status = host.status
      identity = host.identity
      let entries = input.baseline.entries(on: host)
      services = host.services.map { service in
        let status =
          entries[service.id].map {
            CoverageCalculator.judge(
              service, host: host.name, entry: $0, requirements: requirements, baseline: input.baseline,
              today: input.coverage.today, systemd: host.identity?.systemdVersion
            ).status.rawValue
          } ?? "outside-baseline"
        return Service(
          id: service.id, aliases: service.aliases, status: status, exposure: service.overall?.exposure,
          predicate: service.overall?.predicate)
      }
    }

    enum CodingKeys: String, CodingKey {
      case name, kind, offline, address, port, groups, status, identity, services
    }

    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(name, forKey: .name)
      try c.encode(kind, forKey: .kind)
      try c.encode(offline, forKey: .offline)
      try c.encode(address, forKey: .address)
      try c.encode(port, forKey: .port)
      try c.encode(groups, forKey: .groups)
      try c.encode(status, forKey: .status)
      try c.encode(identity, forKey: .identity)
      try c.encode(services, forKey: .services)
    }
  }

  struct Service: Encodable, Hashable {
    var id: String
    var aliases: [String]
    var status: String
    var exposure: Exposure?
    var predicate: String?

    enum CodingKeys: String, CodingKey { case id, aliases, status, exposure, predicate }

    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(id, forKey: .id)
      try c.encode(aliases, forKey: .aliases)
      try c.encode(status, forKey: .status)
      try c.encode(exposure, forKey: .exposure)
      try c.encode(predicate, forKey: .predicate)
    }
  }
}
