import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Storage

/// The store's own JSON writer against Foundation's encoder it stands in for: the same bytes
/// for every value the store writes, or the part would not be found again by its digest.
@Suite("stored JSON: Foundation's bytes")
struct StoredJSONTests {
  func same<T: Encodable>(_ value: T, _ label: String) throws {
    let ours = try StoredJSON.encode(value)
    let foundation = Array(try ScanCoding.lineEncoder.encode(value))
    #expect(ours == foundation, "\(label): \(String(decoding: ours, as: UTF8.self).prefix(300))")
  }

  @Test("every part, check, state and summary of the recorded fleet and of hostile hosts")
  func recordedAndHostile() throws {
    let tricky = StoreFixtures.trickyReport()
    var values = 0
    for host in try StoreFixtures.fleetHosts() + [tricky.report] {
      try same(host.diagnostics, "\(host.name) diagnostics")
      try same(host.record, "\(host.name) record")
      for service in host.services {
        var unit = service
        unit.directives = []
        unit.checks = [:]
        try same(unit, "\(host.name) \(service.id) unit")
        try same(service.directives, "\(host.name) \(service.id) directives")
        try same(service.hardening, "\(host.name) \(service.id) hardening")
        try same(service.checks, "\(host.name) \(service.id) checks")
        for check in service.checks.values { try same(check, "\(host.name) \(service.id) check") }
        try same(
          UnitStateKey(active: service.activeState, sub: service.subState, unitFile: service.unitFileState),
          "state")
        try same(ConfigSummary(id: service.id, overall: service.overall), "summary")
        values += 8 + service.checks.count
      }
    }
    #expect(values > 5_000)
    try same(tricky.checks, "tricky checks")
    try same(tricky.service, "tricky service")
  }

  @Test("numbers, escapes, key order, nesting and empty values")
  func scalars() throws {
    try same((0...100).map { Exposure(tenths: $0) }, "exposures")
    try same([0.1, 0.5, 10, 1e-7, 1e21, 123456789.125, 0.30000000000000004, -0.0, -2.5], "doubles")
    try same([Int64.max, Int64.min, 0, -1], "integers")
    try same([UInt64.max], "unsigned")
    try same(
      [String((0..<128).map { Character(Unicode.Scalar(UInt8($0))) }), "é\u{2028}😀a\u{301}"], "escapes")
    try same(["z": 1, "Z": 2, "aa": 3, "a": 4, "é": 5, "e": 6, "_": 7, "a10": 8, "a2": 9], "key order")
    try same([[String: [Int]]](), "empty array")
    try same([String: Int](), "empty object")
    try same([["x": [["y": [1, 2]], [:]]]], "nested")
    try same([Optional<Int>.none, 1], "null in an array")
    // A date is written by Foundation itself.
    try same(["at": Date(timeIntervalSince1970: 1_795_000_000)], "date")
  }
}
