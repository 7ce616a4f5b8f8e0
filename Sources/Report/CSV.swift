import Coverage
import UnitModel

/// RFC 4180 CSV (UTF-8, CRLF, a header row), with cells a spreadsheet would run as formulas
/// neutralized. Pure.
public enum CSV {
  /// Quotes a field when needed; a field starting with `=`, `+`, `-`, `@`, TAB or CR gets a
  /// leading `'` so spreadsheets show it as text. Cut at 32,000 characters (spreadsheet limit).
  public static func field(_ value: String) -> String {
    var text = value.count > 32_000 ? String(value.prefix(32_000)) + "…" : value
    if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
      text = "'" + text
    }
    if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
      return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return text
  }

  public static func table(header: [String], rows: [[String]]) -> String {
    var out = header.map(field).joined(separator: ",") + "\r\n"
    for row in rows { out += row.map(field).joined(separator: ",") + "\r\n" }
    return out
  }

  /// `services.csv`: one row per host × service, one column per required directive.
  public static func services(_ input: ReportInput) -> String {
    let requirements = input.baseline.requirements(in: input.required)
    let today = input.coverage.today
    var rows: [[String]] = []
    for host in input.hosts where host.status.code.hasData {
      // The baseline entry each unit of this host answers to (by id or alias).
      var entries: [String: BaselineService] = [:]
      for entry in input.baseline.services {
        if let unit = host.service(named: entry.name)?.id { entries[unit] = entry }
      }
      for service in host.services {
        let status =
          entries[service.id].map { entry in
            CoverageCalculator.judge(
              service, host: host.name, entry: entry, requirements: requirements, baseline: input.baseline,
              today: today
            ).status.rawValue
          } ?? "outside-baseline"
        var row = [
          host.name, host.groups.joined(separator: " "), host.identity?.osPrettyName ?? "",
          host.identity?.systemdVersion.map(String.init) ?? "", service.id, status,
          service.overall?.exposure.description ?? "", service.overall?.predicate ?? "",
        ]
        row += requirements.map { $0.evaluate(service).value }
        rows.append(row)
      }
    }
    return table(
      header: ["host", "groups", "os", "systemd", "service", "status", "exposure", "predicate"]
        + requirements.map(\.directive.rawValue), rows: rows)
  }

  /// `checks.csv`: long form, one row per host × service × security check.
  public static func checks(_ input: ReportInput) -> String {
    var rows: [[String]] = []
    for host in input.hosts where host.status.code.hasData {
      for service in host.services {
        for (field, check) in service.checks.sorted(by: { $0.key < $1.key }) {
          rows.append([
            host.name, service.id, field, check.set.map { $0 ? "true" : "false" } ?? "",
            check.exposure?.description ?? "",
          ])
        }
      }
    }
    return table(header: ["host", "service", "json_field", "set", "exposure"], rows: rows)
  }

  /// `hosts.csv`: one row per host, failed ones with their reason.
  public static func hosts(_ input: ReportInput) -> String {
    let coverage = Dictionary(input.coverage.hosts.map { ($0.name, $0) }) { a, _ in a }
    let rows = input.hosts.map { host -> [String] in
      let c = coverage[host.name]
      return [
        host.name, host.address ?? "", host.port.map(String.init) ?? "", host.groups.joined(separator: " "),
        host.status.code.rawValue, host.status.reason ?? "", host.identity?.osID ?? "",
        host.identity?.osVersionID ?? "", host.identity?.systemdVersion.map(String.init) ?? "",
        String(host.services.count), c.map { String($0.hardened) } ?? "", c?.worstExposure?.description ?? "",
      ]
    }
    return table(
      header: [
        "host", "address", "port", "groups", "status", "reason", "os_id", "os_version", "systemd", "services",
        "hardened", "worst_exposure",
      ], rows: rows)
  }
}
