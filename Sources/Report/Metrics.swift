import Coverage
import Foundation
import UnitModel

/// A scan as Prometheus metrics, in the text format node_exporter's textfile collector reads
/// (and OpenMetrics' `# EOF` at the end). Pure.
///
/// Named as Prometheus asks: the `unitaudit_` prefix, base units (`_seconds`), `_total` for
/// none (every value is a gauge: a scan is a snapshot, not a running count), and label sets
/// that are bounded by the fleet (host, unit, baseline) or by an enum (status); no free text
/// (a host's failure reason) is ever a label.
public enum Metrics {
  /// The file `report --format metrics` writes.
  public static let fileName = "unitaudit.prom"

  public static func write(_ input: ReportInput, into sink: inout some ReportSink) {
    func family(_ name: String, _ help: String) {
      sink.write("# HELP \(name) \(help)\n# TYPE \(name) gauge\n")
    }
    func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: String) {
      sink.write(name)
      if !labels.isEmpty {
        sink.write("{" + labels.map { "\($0.key)=\"\(escaped($0.value))\"" }.joined(separator: ",") + "}")
      }
      sink.write(" \(value)\n")
    }
    let metadata = input.metadata
    family(
      "unitaudit_scan_start_timestamp_seconds", "When the scan started, in seconds since the Unix epoch.")
    sample("unitaudit_scan_start_timestamp_seconds", [:], seconds(metadata.startedAt))
    if let finished = metadata.finishedAt {
      family("unitaudit_scan_end_timestamp_seconds", "When the scan ended, in seconds since the Unix epoch.")
      sample("unitaudit_scan_end_timestamp_seconds", [:], seconds(finished))
      family("unitaudit_scan_duration_seconds", "How long the scan took.")
      sample(
        "unitaudit_scan_duration_seconds", [:], seconds(finished.timeIntervalSince(metadata.startedAt)))
    }

    family("unitaudit_hosts", "Hosts of the scan by status (ok, partial, unreachable, auth-failed, ...).")
    let byStatus = Dictionary(grouping: input.hosts, by: \.status.code)
    for code in HostStatusCode.allCases {
      sample("unitaudit_hosts", ["status": code.rawValue], String(byStatus[code]?.count ?? 0))
    }
    family("unitaudit_host_status", "1 for each host, labelled with its status in the scan.")
    for host in input.hosts {
      sample("unitaudit_host_status", ["host": host.name, "status": host.status.code.rawValue], "1")
    }
    family("unitaudit_host_services", "Service units found on a host with data.")
    for host in input.hosts where host.status.code.hasData {
      sample("unitaudit_host_services", ["host": host.name], String(host.services.count))
    }

    family(
      "unitaudit_service_exposure",
      "Exposure of a service on a host as systemd-analyze security gives it: 0 (best) to 10 (worst).")
    for host in input.hosts where host.status.code.hasData {
      for service in host.services {
        guard let exposure = service.overall?.exposure else { continue }
        sample("unitaudit_service_exposure", ["host": host.name, "unit": service.id], exposure.description)
      }
    }

    let baseline = input.coverage.baseline
    family(
      "unitaudit_baseline_services",
      "Services of the baseline by coverage status over the scan's hosts (hardened, partial, not-started, exempt, not-installed)."
    )
    let byCoverage = Dictionary(grouping: input.coverage.services, by: \.status)
    for status in CoverageStatus.allCases {
      sample(
        "unitaudit_baseline_services", ["baseline": baseline, "status": status.rawValue],
        String(byCoverage[status]?.count ?? 0))
    }
    family(
      "unitaudit_host_baseline_services",
      "Baseline services installed on a host by their status there (hardened, partial, not-started).")
    for host in input.coverage.hosts {
      for (status, count) in [
        (CoverageStatus.hardened, host.hardened), (.partial, host.partial), (.notStarted, host.notStarted),
      ] {
        sample(
          "unitaudit_host_baseline_services",
          ["host": host.name, "baseline": baseline, "status": status.rawValue],
          String(count))
      }
    }
    sink.write("# EOF\n")
  }

  /// A label value with `\` and `"` escaped, as the text format asks, and control
  /// characters made visible as in every other format (`Inert.visible`: a line feed becomes
  /// ␊), so a value from a host can neither end the line nor drive a terminal.
  public static func escaped(_ value: String) -> String {
    Inert.visible(value) { scalar in
      switch scalar {
      case "\\": "\\\\"
      case "\"": "\\\""
      default: nil
      }
    }
  }

  /// Seconds since the epoch with millisecond precision, without exponent notation.
  static func seconds(_ date: Date) -> String { seconds(date.timeIntervalSince1970) }

  static func seconds(_ value: TimeInterval) -> String { String(format: "%.3f", max(0, value)) }
}
