import Collector
import Foundation
import Testing
import UnitModel

@Suite("hosts.jsonl lines")
struct HostLineWriterTests {
  @Test(
    "the fast writer gives the encoder's bytes (C1 controls and bidi overrides escaped), hostile strings included"
  )
  func sameBytes() throws {
    let (report, service, checks) = Self.trickyReport()
    let fast = try HostLineWriter.line(report)
    let slow = try ScanCoding.lineEncoder.encode(report)
    #expect(
      String(decoding: fast, as: UTF8.self)
        == JSONString.escapingInvisible(String(decoding: slow, as: UTF8.self)))
    #expect(!String(decoding: fast, as: UTF8.self).contains { "\u{9B}\u{202E}\u{2066}".contains($0) })
    #expect(try ScanCoding.decoder.decode(HostReport.self, from: fast) == report)
    // Each distinct check once per host: a second service with the same checks adds none.
    var twice = report
    twice.services.append(service)
    twice.services[2].id = "d.service"
    let stored = try #require(
      try JSONSerialization.jsonObject(with: try HostLineWriter.line(twice)) as? [String: Any])
    let table = try #require(stored["checkTable"] as? [[String: Any]])
    #expect(table.count == checks.count + 1)  // everyField adds one check of its own
    #expect(try ScanCoding.decoder.decode(HostReport.self, from: try HostLineWriter.line(twice)) == twice)
  }

  @Test("every directive of the table is written, in the encoder's order and bytes")
  func everyDirective() throws {
    var fields = HardeningSettings.Fields()
    let keys = DirectiveTable.all.map(\.name)
    // Each field set through the table's booleans or by decoding the model's own JSON.
    var object: [String: Any] = [:]
    for spec in DirectiveTable.all {
      let value: Any =
        switch spec.kind {
        case .boolean: true
        case .choice(let values): values[values.count - 1]
        case .user, .umask: spec.example
        case .list: [spec.example]
        case .filter: ["entries": [spec.example], "mode": "allow"]
        }
      object[spec.name] = ["value": value, "variant": spec.namedValues.first?.name as Any].compactMapValues {
        $0 is NSNull ? nil : $0
      }
    }
    let data = try JSONSerialization.data(withJSONObject: object)
    fields = try JSONDecoder().decode(HardeningSettings.Fields.self, from: data)
    for spec in DirectiveTable.all { #expect(spec.field.read(fields) != nil, "\(spec.name) did not decode") }
    var report = HostReport(name: "t", status: HostStatus(.ok))
    report.services = [
      ServiceRecord(id: "a.service", loadState: "loaded", hardening: HardeningSettings(fields))
    ]
    let fast = try HostLineWriter.line(report)
    let slow = try ScanCoding.lineEncoder.encode(report)
    #expect(String(decoding: fast, as: UTF8.self) == String(decoding: slow, as: UTF8.self))
    let line = try #require(try JSONSerialization.jsonObject(with: fast) as? [String: Any])
    let services = try #require(line["services"] as? [[String: Any]])
    let hardening = try #require(services.first?["hardening"] as? [String: Any])
    #expect(hardening.keys.sorted() == keys)
  }

  @Test("a version 1 line (texts inline in every check) still reads")
  func readsVersionOne() throws {
    let line = """
      {"diagnostics":[],"groups":[],"name":"h","services":[{"aliases":[],"checks":{"PrivateTmp":\
      {"description":"Service has access to other software's temporary files","exposure":0.2,\
      "name":"PrivateTmp=","set":false}},"directives":[],"dropInPaths":[],"files":[],\
      "hardening":{},"id":"a.service","loadState":"loaded"}],"status":{"code":"ok"}}
      """
    let host = try ScanCoding.decoder.decode(HostReport.self, from: Data(line.utf8))
    let check = try #require(host.services.first?.checks["PrivateTmp"])
    #expect(check.name == "PrivateTmp=")
    #expect(check.exposure == Exposure(tenths: 2))
    #expect(check.set == false)
    // Written again, it is a version 2 line whose check sits in checkTable.
    let again = String(decoding: try HostLineWriter.line(host), as: UTF8.self)
    #expect(again.contains("\"checkTable\":[{\"description\":\"Service has access"))
    #expect(again.contains("\"checks\":{\"PrivateTmp\":0}"))
    #expect(try ScanCoding.decoder.decode(HostReport.self, from: Data(again.utf8)) == host)
  }

  @Test("a check number outside checkTable makes the line unreadable, not wrong")
  func outOfRangeCheck() throws {
    let line = """
      {"checkTable":[{"description":"x","name":"y"}],"diagnostics":[],"groups":[],"name":"h",\
      "services":[{"aliases":[],"checks":{"PrivateTmp":1},"directives":[],"dropInPaths":[],\
      "files":[],"hardening":{},"id":"a.service","loadState":"loaded"}],"status":{"code":"ok"}}
      """
    #expect(throws: DecodingError.self) {
      try ScanCoding.decoder.decode(HostReport.self, from: Data(line.utf8))
    }
  }

  /// A host whose strings hold every kind of character the writer escapes, with a service
  /// that sets every field; also its first service and that service's checks.
  static func trickyReport() -> (report: HostReport, service: ServiceRecord, checks: SecurityChecks) {
    let tricky =
      "\"checks\":{} \"directives\":[] \"diagnostics\": quote \" backslash \\ slash / tab \t nl \n nul \u{0} esc \u{1B} é 💥 \u{2028} <script> csi \u{9B} rtl \u{202E} isolate \u{2066} — …"
    var checks: SecurityChecks = [:]
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
      services: [service, ServiceRecord(id: "c.service", loadState: "masked"), Self.everyField(tricky)],
      diagnostics: [Diagnostic(.warning, code: "x", "\"services\":[] inside a message")],
      startedAt: Date(timeIntervalSince1970: 1_795_000_000), durationMs: 12)
    return (report, service, checks)
  }

  /// A service with every member and every hardening setting set, values tricky where strings.
  static func everyField(_ tricky: String) -> ServiceRecord {
    let source = Provenance(file: "/etc/systemd/system/e.service.d/\(tricky).conf", line: 7)
    func on<V>(_ value: V, implied: Bool = false) -> Setting<V> {
      implied ? Setting(value, source: nil, impliedBy: "DynamicUser") : Setting(value, source: source)
    }
    var fields = HardeningSettings.Fields()
    fields.protectSystem = on(.strict)
    fields.protectHome = on(.readOnly, implied: true)
    fields.protectProc = on(.invisible)
    fields.procSubset = on(.pid)
    fields.privateTmp = Setting(true, source: nil, impliedBy: "DynamicUser", variant: "disconnected")
    fields.privateDevices = on(false)
    fields.privateNetwork = on(true)
    fields.privateUsers = on(false)
    fields.privateIPC = on(true)
    fields.noNewPrivileges = on(true)
    fields.user = on(tricky)
    fields.dynamicUser = on(true)
    fields.capabilityBoundingSet = on(["CAP_NET_BIND_SERVICE", tricky])
    fields.ambientCapabilities = on([])
    fields.restrictAddressFamilies = on(FilterList(mode: .allow, entries: ["AF_UNIX", "AF_INET"]))
    fields.systemCallFilter = on(FilterList(mode: .deny, entries: ["@mount", tricky]))
    fields.systemCallArchitectures = on(["native"])
    fields.restrictNamespaces = on([])
    fields.protectClock = on(true)
    fields.protectHostname = on(false)
    fields.protectControlGroups = Setting(true, source: source, variant: tricky)
    fields.protectKernelTunables = on(true)
    fields.protectKernelModules = on(false)
    fields.protectKernelLogs = on(true)
    fields.lockPersonality = on(true)
    fields.memoryDenyWriteExecute = on(false)
    fields.restrictRealtime = on(true)
    fields.restrictSUIDSGID = on(true, implied: true)
    fields.removeIPC = on(true)
    fields.keyringMode = on(.private)
    fields.devicePolicy = on(.closed)
    fields.umask = on("0077")
    fields.ipAddressDeny = on(["any"])
    fields.ipAddressAllow = on(["localhost", "10.0.0.0/8"])
    return ServiceRecord(
      id: "e.service", aliases: ["f.service", tricky], description: "every field", loadState: "loaded",
      activeState: "active", subState: tricky, unitFileState: "enabled", type: "notify",
      fragmentPath: "/lib/systemd/system/e.service", dropInPaths: [source.file, "/run/x.conf"],
      sourcePath: "/etc/init.d/e",
      files: [
        UnitFileRef(path: "/lib/systemd/system/e.service", isDropIn: false),
        UnitFileRef(path: source.file, isDropIn: true),
      ],
      hardening: HardeningSettings(fields),
      overall: OverallExposure(exposure: Exposure(tenths: 100), predicate: tricky),
      checks: ["PrivateTmp": SecurityCheck(name: "PrivateTmp=", description: "d", set: true, exposure: nil)])
  }
}
