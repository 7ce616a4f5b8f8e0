import Foundation
import Testing
import UnitModel

@Suite("the scan model's JSON")
struct ModelCodingTests {
  func encode<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  @Test("hardening settings use systemd's directive names and round-trip")
  func hardeningKeys() throws {
    var settings = HardeningSettings()
    settings.protectSystem = Setting(
      .strict, source: Provenance(file: "/etc/systemd/system/a.service.d/x.conf", line: 3))
    settings.protectHome = Setting(.readOnly, source: nil, impliedBy: "DynamicUser")
    settings.restrictAddressFamilies = Setting(FilterList(mode: .deny, entries: ["AF_PACKET"]), source: nil)
    let json = try encode(settings)
    #expect(
      json == #"{"ProtectHome":{"impliedBy":"DynamicUser","value":"read-only"},"#
        + #""ProtectSystem":{"source":{"file":"/etc/systemd/system/a.service.d/x.conf","line":3,"origin":"admin"},"value":"strict"},"#
        + #""RestrictAddressFamilies":{"value":{"entries":["AF_PACKET"],"mode":"deny"}}}"#)
    #expect(try JSONDecoder().decode(HardeningSettings.self, from: Data(json.utf8)) == settings)
    #expect(HardeningSettings.directiveNames.count == DirectiveTable.all.count)
  }

  @Test("hardening settings are values: a copy shares storage until one side changes")
  func hardeningCopyOnWrite() {
    var original = HardeningSettings()
    original.privateTmp = Setting(
      true, source: Provenance(file: "/usr/lib/systemd/system/a.service", line: 9))
    var copy = original
    #expect(copy.sharesStorage(with: original))
    copy.privateTmp?.value = false
    copy[keyPath: \HardeningSettings.noNewPrivileges] = Setting(true, source: nil)
    #expect(!copy.sharesStorage(with: original))
    #expect(original.privateTmp?.value == true && original.noNewPrivileges == nil)
    #expect(copy.privateTmp?.value == false && copy.noNewPrivileges?.value == true)
    #expect(copy != original)
    copy.privateTmp?.value = true
    copy.noNewPrivileges = nil
    // Equal by value in separate boxes, with equal hashes.
    #expect(copy == original && !copy.sharesStorage(with: original))
    #expect(Set([copy, original]).count == 1)
  }

  @Test("exposures are numbers with one decimal; statuses are kebab-case")
  func exposureAndStatus() throws {
    let overall = OverallExposure(exposure: Exposure(tenths: 96), predicate: "UNSAFE")
    #expect(try encode(overall) == #"{"exposure":9.6,"predicate":"UNSAFE"}"#)
    #expect(
      try JSONDecoder().decode(
        OverallExposure.self, from: Data(#"{"exposure":9.6,"predicate":"UNSAFE"}"#.utf8)) == overall)
    #expect(
      try encode(HostStatus(.hostKeyUnknown, reason: "r")) == #"{"code":"host-key-unknown","reason":"r"}"#)
    #expect(
      try encode(HostStatus(.hostCertInvalid, reason: "r")) == #"{"code":"host-cert-invalid","reason":"r"}"#)
    #expect(HostStatusCode.allCases.count == 12)
    #expect(HostStatusCode.allCases.allSatisfy { $0.rawValue.allSatisfy { $0.isLowercase || $0 == "-" } })
  }

  /// Found by the host-line fuzz target: `1e300` trapped converting to tenths, in JSONDecoder's
  /// reading as in the fast one, and stopped `unitaudit report` on a damaged line.
  @Test("an exposure out of range is kept within 0–10, as Exposure(tenths:) keeps it; never a trap")
  func exposureOutOfRange() throws {
    for (text, tenths) in [
      ("1e300", 100), ("-1e300", 0), ("11", 100), ("-0.5", 0), ("9.96", 100), ("0.04", 0),
    ] {
      let decoded = try JSONDecoder().decode([Exposure].self, from: Data("[\(text)]".utf8))
      #expect(decoded == [Exposure(tenths: tenths)], "\(text)")
    }
    #expect(Exposure(value: .nan) == nil)
    #expect(Exposure(value: .infinity) == Exposure(tenths: 100))
    #expect(Exposure(value: 4.25) == Exposure(tenths: 43))
  }

  @Test("a host report round-trips and finds services by alias")
  func hostRoundTrip() throws {
    let service = ServiceRecord(
      id: "ssh.service", aliases: ["sshd.service"], loadState: "loaded",
      overall: OverallExposure(exposure: Exposure(tenths: 96), predicate: "UNSAFE"),
      checks: [
        "UserOrDynamicUser": SecurityCheck(
          name: "User=/DynamicUser=", description: "d", set: false, exposure: Exposure(tenths: 4))
      ])
    let host = HostReport(name: "h1", groups: ["web"], status: HostStatus(.ok), services: [service])
    let data = try JSONEncoder().encode(host)
    #expect(try JSONDecoder().decode(HostReport.self, from: data) == host)
    #expect(host.service(named: "sshd.service")?.id == "ssh.service")
    #expect(host.service(named: "nope.service") == nil)
    let counts = ScanMetadata.Counts(hosts: [host, HostReport(name: "h2", status: HostStatus(.timeout))])
    #expect(counts.byStatus == ["ok": 1, "timeout": 1])
    #expect(counts.services == 1)
  }
}
