import Coverage
import UnitModel

/// The view of `release-notes.md`: one section per kind of change that has any, one row per
/// service, the package (and its versions) named on its rows. Every text that came from a
/// tree or a package is made inert (`Inert.text`); Markdown escaping is the template's.
public struct ReleaseNotesView: Sendable {
  public struct Row: Sendable {
    public var package: String
    public var service: String
    public var status: String
    public var exposure: String
    public var directives: String
  }

  public struct Section: Sendable {
    public var title: String
    public var about: String
    public var rows: [Row]
  }

  public var before: String
  public var after: String
  public var baseline: String
  public var required: String
  public var summary: String
  public var sections: [Section]

  public init(_ notes: ReleaseNotes) {
    before = Inert.text(notes.before)
    after = Inert.text(notes.after)
    baseline = Inert.text(notes.baseline)
    required = notes.required.joined(separator: ", ")
    let order: [(ReleaseNotes.Kind, String, String)] = [
      (.hardened, "Hardened", "Services that now meet every required directive, and what they gained."),
      (
        .improved, "Improved",
        "Services that gained directives or a lower exposure, without meeting every one yet."
      ),
      (
        .regressed, "Regressed",
        "Services that lost a directive, or whose exposure went up: check these before release."
      ),
      (.new, "New services", "Services only the newer release has."),
      (.gone, "Gone", "Services only the older release had."),
    ]
    summary =
      order.map { kind, _, _ in "\(notes.counts[kind.rawValue] ?? 0) \(kind.rawValue)" }.joined(
        separator: ", ") + ", \(notes.counts["unchanged"] ?? 0) unchanged"
    sections = order.compactMap { kind, title, about in
      let rows = notes.packages.flatMap { package in
        package.services.filter { $0.kind == kind }.map { service in
          Row(
            package: Inert.text(package.package) + Self.versions(package),
            service: Inert.text(service.service),
            status: Self.change(service.statusBefore, service.statusAfter),
            exposure: Self.change(service.exposureBefore?.description, service.exposureAfter?.description),
            directives: (service.gained.map { "+\($0.directive.rawValue)=\(Inert.text($0.after))" }
              + service.lost.map { "−\($0.directive.rawValue) (now \(Inert.text($0.after)))" }).joined(
                separator: ", "))
        }
      }
      return rows.isEmpty ? nil : Section(title: title, about: about, rows: rows)
    }
  }

  static func versions(_ package: ReleaseNotes.Package) -> String {
    switch (package.versionBefore, package.versionAfter) {
    case (let a?, let b?) where a != b: " (\(Inert.text(a)) → \(Inert.text(b)))"
    case (_, let b?): " (\(Inert.text(b)))"
    case (let a?, nil): " (\(Inert.text(a)))"
    default: ""
    }
  }

  static func change(_ before: String?, _ after: String?) -> String {
    switch (before, after) {
    case (let a?, let b?) where a != b: "\(a) → \(b)"
    case (_, let b?): b
    case (let a?, nil): a
    default: "–"
    }
  }
}
