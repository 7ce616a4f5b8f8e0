import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Normalize

/// Hosts the store tests record: the recorded real fleet, and hosts with hostile strings and
/// every field set.
enum StoreFixtures {
  /// The probe outputs recorded from the test fleet (NormalizeTests' fixtures).
  static let probes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("NormalizeTests/Fixtures/probe")

  /// The recorded fleet hosts, normalized, with the time and address a scan gives them.
  static func fleetHosts() throws -> [HostReport] {
    let names = try FileManager.default.contentsOfDirectory(atPath: probes.path).sorted()
    return try names.map { name in
      let folder = probes.appendingPathComponent(name)
      var host = normalize(
        try RecordedProbe.read(folder),
        label: HostLabel(name: name, address: "127.0.77.1", port: 22, groups: ["fleet"]))
      host.startedAt = Date(timeIntervalSince1970: 1_795_000_123)
      host.durationMs = 1234
      return host
    }
  }

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
