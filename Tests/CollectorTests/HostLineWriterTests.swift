import Collector
import Foundation
import Testing
import UnitModel

@Suite("hosts.jsonl lines")
struct HostLineWriterTests {
  @Test("the fast writer gives exactly the encoder's bytes, hostile strings included")
  func sameBytes() throws {
    let tricky = "quote \" backslash \\ slash / tab \t nl \n nul \u{0} esc \u{1B} é 💥 \u{2028} <script>"
    var checks: [String: SecurityCheck] = [:]
    for (index, field) in [
      "PrivateTmp", "User_Or_DynamicUser", "CapabilityBoundingSet_CAP_SYS_ADMIN", tricky,
    ].enumerated() {
      checks[field] = SecurityCheck(
        name: "\(field)=", description: index == 3 ? tricky : "Service has access",
        set: index == 0 ? nil : index % 2 == 0, exposure: index == 1 ? nil : Exposure(tenths: index * 7 % 101)
      )
    }
    checks["Whole"] = SecurityCheck(name: "x", description: "y", set: true, exposure: Exposure(tenths: 100))
    let service = ServiceRecord(
      id: "a.service", aliases: ["b.service"], description: tricky, loadState: "loaded",
      fragmentPath: "/lib/systemd/system/a.service",
      directives: [
        Directive(
          section: "Service", key: "ExecStart", value: tricky,
          source: Provenance(file: "/etc/x \"y\".conf", line: 3)),
        Directive(
          section: "Unit", key: "Description", value: "",
          source: Provenance(file: "/run/systemd/system/a.service", line: 1)),
      ],
      overall: OverallExposure(exposure: Exposure(tenths: 96), predicate: "UNSAFE"), checks: checks)
    let report = HostReport(
      name: "host \"1\"", address: "10.0.0.1", groups: ["g"], status: HostStatus(.ok),
      identity: HostIdentity(osPrettyName: tricky),
      services: [service, ServiceRecord(id: "c.service", loadState: "masked")],
      diagnostics: [Diagnostic(.warning, code: "x", "\"services\":[] inside a message")],
      startedAt: Date(timeIntervalSince1970: 1_795_000_000), durationMs: 12)
    let fast = try HostLineWriter.line(report)
    let slow = try ScanCoding.lineEncoder.encode(report)
    #expect(String(decoding: fast, as: UTF8.self) == String(decoding: slow, as: UTF8.self))
    #expect(try ScanCoding.decoder.decode(HostReport.self, from: fast) == report)
  }
}
