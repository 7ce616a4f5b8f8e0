import Coverage
import Foundation
import UnitModel

/// The HTML page's embedded data: the scanned hosts (the hosts table is rendered from them, a
/// page of rows at a time) and each service's detail, which names hosts by their index in
/// that data.
extension ReportView {
  /// One scanned host as the page's data: the cells of its row in the hosts table, with short
  /// keys (n name, a address, g groups, o OS, v systemd, s status, t its tone, c services,
  /// h hardened, w worst exposure, ws its sort key).
  struct HostData: Encodable {
    var n: String
    var a: String
    var g: String
    var o: String
    var v: String
    var s: String
    var t: String
    var c: Int
    var h: Int
    var w: String
    var ws: Int
  }

  static func hostData(_ rows: [HostRow]) -> String {
    let data = rows.map { row in
      HostData(
        n: row.name, a: row.address, g: row.groups, o: row.os, v: row.systemd, s: row.status,
        t: row.statusTone,
        c: row.services, h: row.hardened, w: row.worst, ws: row.worstSort)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Inert.scriptJSON(String(decoding: (try? encoder.encode(data)) ?? Data("[]".utf8), as: UTF8.self))
  }

  /// Per service: the distinct configurations across hosts (hosts sharing the same values),
  /// so a 1,000-host fleet does not repeat the same detail 1,000 times. A configuration names
  /// its hosts by their index in `scanned` (the page's host data).
  static func details(_ input: ReportInput, requirements: [Requirement], scanned: [HostReport]) -> String {
    struct Setting: Encodable, Hashable {
      var directive: String
      var value: String
      var satisfied: Bool
      var source: String
      var file: String
    }
    struct Config: Encodable {
      var hosts: [Int]
      var exposures: [String]
      var settings: [Setting]
    }
    struct Detail: Encodable {
      var units: [String]
      var configs: [Config]
    }
    var result: [String: Detail] = [:]
    let lookups = scanned.map(ServiceLookup.init)
    for service in input.coverage.services where service.status != .notInstalled {
      var configs: [[Setting]: Config] = [:]
      var order: [[Setting]] = []
      for (index, lookup) in lookups.enumerated() {
        guard let record = lookup.service(named: service.name) else { continue }
        let settings = requirements.map { requirement in
          let e = requirement.evaluate(record)
          return Setting(
            directive: requirement.directive.rawValue, value: Inert.text(e.value), satisfied: e.satisfied,
            source: e.source.rawValue, file: e.provenance.map { "\(Inert.text($0.file)):\($0.line)" } ?? "")
        }
        if configs[settings] == nil {
          configs[settings] = Config(hosts: [], exposures: [], settings: settings)
          order.append(settings)
        }
        configs[settings]?.hosts.append(index)
        configs[settings]?.exposures.append(record.overall.map { "\($0.exposure) \($0.predicate)" } ?? "–")
      }
      result[Inert.text(service.name)] = Detail(
        units: service.unitIDs.map(Inert.text), configs: order.compactMap { configs[$0] })
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(result)) ?? Data("{}".utf8)
    return Inert.scriptJSON(String(decoding: data, as: UTF8.self))
  }
}
