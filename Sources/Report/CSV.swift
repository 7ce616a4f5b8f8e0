import Coverage
import UnitModel

/// RFC 4180 CSV (UTF-8, CRLF, a header row), with cells a spreadsheet would run as formulas
/// neutralized. Pure.
public enum CSV {
  /// Quotes a field when needed; a field starting with `=`, `+`, `-`, `@`, TAB or CR gets a
  /// leading `'` so spreadsheets show it as text; control characters other than line breaks
  /// and tabs, and bidirectional overrides, become visible (`Inert.visible`). Cut at 32,000
  /// characters (spreadsheet limit).
  public static func field(_ value: String) -> String {
    // Fast path: most cells are short, plain words.
    var plain = value.utf8.count <= 32_000
    if plain, let first = value.utf8.first,
      [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13].contains(first)
    {
      plain = false
    }
    if plain {
      // Quotes, separators, controls and anything not ASCII take the careful path.
      for byte in value.utf8
      where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte < 0x20 || byte >= 0x7F {
        plain = false
        break
      }
    }
    if plain { return value }
    var text = value.count > 32_000 ? String(value.prefix(32_000)) + "…" : value
    // Line breaks and tabs stay (quoted); other controls and bidirectional overrides become
    // visible, so that a CSV shown in a terminal (cat, column) cannot drive it.
    if text.unicodeScalars.contains(where: { !["\n", "\r", "\t"].contains($0) && Inert.visible($0) != $0 }) {
      text = String(
        String.UnicodeScalarView(
          text.unicodeScalars.map { ["\n", "\r", "\t"].contains($0) ? $0 : Inert.visible($0) }))
    }
    if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
      text = "'" + text
    }
    if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
      return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return text
  }

  public static func table(header: [String], rows: [[String]]) -> String {
    var sink = StringSink()
    row(header, into: &sink)
    for values in rows { row(values, into: &sink) }
    return sink.text
  }

  static func row(_ values: [String], into sink: inout some ReportSink) {
    sink.write(values.map(field).joined(separator: ",") + "\r\n")
  }

  /// The CSV files by name, each written into the sink `open` gives for it.
  public static let files = ["services.csv", "checks.csv", "hosts.csv", "owners.csv", "packages.csv"]

  /// The most rows a spreadsheet opens (Excel, LibreOffice Calc). `checks.csv` has one row per
  /// host × service × check (about 80 per service): 10,000 hosts make 121 million rows and
  /// 9 GB, which nobody can open, so past this many rows it is written only on request.
  public static let spreadsheetRowLimit = 1_048_576

  /// The rows `checks.csv` would have, header included.
  public static func checksRowCount(_ input: ReportInput) -> Int {
    var rows = 1
    for host in input.hosts where host.status.code.hasData {
      for service in host.services { rows += service.checks.count }
    }
    return rows
  }

  /// The files to write: all three, or without `checks.csv` when it would be larger than a
  /// spreadsheet opens and `allChecks` is false.
  public static func files(
    for input: ReportInput, allChecks: Bool, rowLimit: Int = spreadsheetRowLimit
  ) -> [String] {
    allChecks || checksRowCount(input) <= rowLimit ? files : files.filter { $0 != "checks.csv" }
  }

  public static func write(_ name: String, _ input: ReportInput, into sink: inout some ReportSink) {
    switch name {
    case "services.csv": services(input, into: &sink)
    case "checks.csv": checks(input, into: &sink)
    case "owners.csv": owners(input, into: &sink)
    case "packages.csv": packages(input, into: &sink)
    default: hosts(input, into: &sink)
    }
  }

  /// `services.csv`: one row per host × service, one column per required directive.
  public static func services(_ input: ReportInput) -> String {
    var sink = StringSink()
    services(input, into: &sink)
    return sink.text
  }

  static func services(_ input: ReportInput, into sink: inout some ReportSink) {
    let requirements = input.baseline.requirements(in: input.required)
    let today = input.coverage.today
    row(
      ["host", "groups", "os", "systemd", "service", "status", "exposure", "predicate"]
        + requirements.map(\.directive.rawValue), into: &sink)
    for host in input.hosts where host.status.code.hasData {
      let entries = input.baseline.entries(on: host)
      for service in host.services {
        var status = "outside-baseline"
        // One evaluation per requirement, from the judgement when there is one (it skips
        // directives the baseline calls not applicable: those are evaluated here).
        var evaluations = [Evaluation?](repeating: nil, count: requirements.count)
        if let entry = entries[service.id] {
          let judged = CoverageCalculator.judge(
            service, host: host.name, entry: entry, requirements: requirements, baseline: input.baseline,
            today: today, systemd: host.identity?.systemdVersion)
          status = judged.status.rawValue
          evaluations = judged.outcomes.map(\.evaluation)
          for (index, outcome) in judged.outcomes.enumerated() {
            if case .unsupported(let needs) = outcome.state {
              evaluations[index]?.value = "unsupported (needs systemd \(needs))"
            }
          }
        }
        var values = [
          host.name, host.groups.joined(separator: " "), host.identity?.osPrettyName ?? "",
          host.identity?.systemdVersion.map(String.init) ?? "", service.id, status,
          service.overall?.exposure.description ?? "", service.overall?.predicate ?? "",
        ]
        for (requirement, evaluation) in zip(requirements, evaluations) {
          values.append((evaluation ?? requirement.evaluate(service)).value)
        }
        row(values, into: &sink)
      }
    }
  }

  /// `checks.csv`: long form, one row per host × service × security check.
  public static func checks(_ input: ReportInput) -> String {
    var sink = StringSink()
    checks(input, into: &sink)
    return sink.text
  }

  static func checks(_ input: ReportInput, into sink: inout some ReportSink) {
    // A check is keyed by its json_field across versions; `name` is what the host's systemd
    // printed and `systemd` the version that assessed it. A check a host's systemd does not
    // have is no row for that host: not assessed there, not unset.
    row(["host", "service", "json_field", "set", "exposure", "name", "systemd"], into: &sink)
    for host in input.hosts where host.status.code.hasData {
      let hostField = field(host.name)
      let version = "," + (host.identity?.systemdVersion.map(String.init) ?? "") + "\r\n"
      for service in host.services {
        let prefix = hostField + "," + field(service.id) + ","
        var chunk = ""
        for (name, check) in service.checks {
          chunk +=
            prefix + field(name) + "," + (check.set.map { $0 ? "true" : "false" } ?? "") + ","
            + (check.exposure?.description ?? "") + "," + field(check.name) + version
        }
        sink.write(chunk)
      }
    }
  }

  /// `owners.csv`: the change owners' view (`OwnerView`), one row per service: every service
  /// the baseline tracks and every installed one not hardened.
  public static func owners(_ input: ReportInput) -> String {
    var sink = StringSink()
    owners(input, into: &sink)
    return sink.text
  }

  static func owners(_ input: ReportInput, into sink: inout some ReportSink) {
    row(
      [
        "service", "status", "hosts", "exposure_min", "exposure_median", "exposure_max", "compared_status",
        "compared_exposure_median", "owner", "tracker", "target", "target_day", "overdue", "note",
        "canary_lines_kept", "canary_lines_tried", "canary_hosts", "confirmed_on", "confirm_failed_on",
      ], into: &sink)
    for entry in input.owners {
      row(
        [
          entry.service, entry.status.rawValue, String(entry.hosts),
          entry.exposure?.min.description ?? "", entry.exposure?.median.description ?? "",
          entry.exposure?.max.description ?? "", entry.comparedStatus?.rawValue ?? "",
          entry.comparedExposure?.median.description ?? "", entry.tracking.owner ?? "",
          entry.tracking.tracker ?? "", entry.tracking.target ?? "", entry.targetDay ?? "",
          entry.overdue ? "yes" : "no", entry.tracking.note ?? "",
          entry.canary.map { String($0.kept) } ?? "", entry.canary.map { String($0.tried) } ?? "",
          entry.canary?.canaries.joined(separator: " ") ?? "",
          entry.canary?.confirmed.joined(separator: " ") ?? "",
          entry.canary?.failed.keys.sorted().joined(separator: " ") ?? "",
        ], into: &sink)
    }
  }

  /// `packages.csv`: the per-package view (`PackageView`), one row per package × service.
  public static func packages(_ input: ReportInput) -> String {
    var sink = StringSink()
    packages(input, into: &sink)
    return sink.text
  }

  static func packages(_ input: ReportInput, into sink: inout some ReportSink) {
    row(
      [
        "package", "versions", "service", "status", "hosts", "exposure_min", "exposure_median",
        "exposure_max",
        "missing",
      ], into: &sink)
    for entry in input.packages {
      for service in entry.services {
        row(
          [
            entry.package, entry.versions.joined(separator: " "), service.service, service.status,
            String(service.hosts), service.exposure?.min.description ?? "",
            service.exposure?.median.description ?? "", service.exposure?.max.description ?? "",
            service.missing.joined(separator: " "),
          ], into: &sink)
      }
    }
  }

  /// `hosts.csv`: one row per host, failed ones with their reason.
  public static func hosts(_ input: ReportInput) -> String {
    var sink = StringSink()
    hosts(input, into: &sink)
    return sink.text
  }

  static func hosts(_ input: ReportInput, into sink: inout some ReportSink) {
    let coverage = Dictionary(input.coverage.hosts.map { ($0.name, $0) }) { a, _ in a }
    let rows = input.hosts.map { host -> [String] in
      let c = coverage[host.name]
      return [
        host.name, host.kind, host.address ?? "", host.port.map(String.init) ?? "",
        host.groups.joined(separator: " "),
        host.status.code.rawValue, host.status.reason ?? "", host.identity?.osID ?? "",
        host.identity?.osVersionID ?? "", host.identity?.systemdVersion.map(String.init) ?? "",
        String(host.services.count), c.map { String($0.hardened) } ?? "", c?.worstExposure?.description ?? "",
      ]
    }
    row(
      [
        "host", "kind", "address", "port", "groups", "status", "reason", "os_id", "os_version", "systemd",
        "services", "hardened", "worst_exposure",
      ], into: &sink)
    for values in rows { row(values, into: &sink) }
  }
}
