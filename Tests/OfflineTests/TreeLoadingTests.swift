import Foundation
import Normalize
import Offline
import Synchronization
import TestSupport
import Testing
import UnitModel

/// An OS tree's units as systemd's manager loads them: the search path, drop-ins of every kind,
/// aliases, masks, templates and instances, and full overrides; then normalized as a host.
@Suite("offline: a tree's units as systemd loads them")
struct TreeLoadingTests {
  /// A merged-/usr tree with one of each situation.
  static func situations() throws -> TreeBuilder {
    let tree = try TreeBuilder("situations")
    try tree.link("/lib", to: "usr/lib")
    try tree.file(
      "/usr/lib/systemd/system/a.service",
      "[Unit]\nDescription=Alpha\n[Service]\nExecStart=/bin/a\nProtectSystem=full\n[Install]\nWantedBy=multi-user.target\n"
    )
    try tree.link(
      "/etc/systemd/system/multi-user.target.wants/a.service", to: "/usr/lib/systemd/system/a.service")
    try tree.link("/etc/systemd/system/b.service", to: "/usr/lib/systemd/system/a.service")
    try tree.file("/etc/systemd/system/a.service.d/override.conf", "[Service]\nProtectSystem=strict\n")
    try tree.file("/usr/lib/systemd/system/service.d/10-all.conf", "[Service]\nPrivateTmp=yes\n")
    try tree.link("/etc/systemd/system/a.service.d/20-masked.conf", to: "/dev/null")
    try tree.file("/usr/lib/systemd/system/service.d/20-masked.conf", "[Service]\nUser=nobody\n")
    try tree.file("/usr/lib/systemd/system/foo-bar.service", "[Service]\nExecStart=/bin/fb\n")
    try tree.file("/usr/lib/systemd/system/foo-.service.d/prefix.conf", "[Service]\nNoNewPrivileges=yes\n")
    try tree.file("/usr/lib/systemd/system/m.service", "[Service]\nExecStart=/bin/m\n")
    try tree.link("/etc/systemd/system/m.service", to: "/dev/null")
    try tree.file("/usr/lib/systemd/system/t@.service", "[Service]\nExecStart=/bin/t %i\n")
    try tree.link(
      "/etc/systemd/system/getty.target.wants/t@x.service", to: "/usr/lib/systemd/system/t@.service")
    try tree.file("/usr/lib/systemd/system/c.service", "[Service]\nExecStart=/bin/c-vendor\n")
    try tree.file("/etc/systemd/system/c.service", "[Service]\nExecStart=/bin/c-admin\n")
    try tree.file("/usr/lib/systemd/system/s.service", "[Service]\nType=notify\nExecStart=/bin/s\n")
    try tree.file("/usr/lib/systemd/system/not-a-unit.timer", "[Timer]\nOnCalendar=daily\n")
    return tree
  }

  func load(_ tree: TreeBuilder, splitUsr: Bool = false) -> OfflineUnits {
    var loader = UnitLoader(tree: TreeReader(root: tree.root.path), searchPath: .of(splitUsr: splitUsr))
    return loader.load()
  }

  @Test("ids, names, fragments, drop-ins in file-name order, masks, instances, states")
  func situationsLoad() throws {
    let loaded = load(try Self.situations())
    let units = Dictionary(uniqueKeysWithValues: loaded.units.map { ($0.id, $0) })
    #expect(
      units.keys.sorted() == [
        "a.service", "c.service", "foo-bar.service", "m.service", "s.service", "t@x.service",
      ])
    let a = try #require(units["a.service"])
    #expect(a.names == ["a.service", "b.service"])
    #expect(a.fragmentPath == "/usr/lib/systemd/system/a.service")
    #expect(
      a.dropInPaths == [
        "/usr/lib/systemd/system/service.d/10-all.conf", "/etc/systemd/system/a.service.d/override.conf",
      ])
    #expect(a.unitFileState == "enabled")
    #expect(a.description == "Alpha")
    #expect(a.type == "simple")
    #expect(units["c.service"]?.fragmentPath == "/etc/systemd/system/c.service")
    // foo-bar has no drop-in of its own masking 20-masked.conf: the type-level one applies.
    #expect(
      units["foo-bar.service"]?.dropInPaths == [
        "/usr/lib/systemd/system/service.d/10-all.conf", "/usr/lib/systemd/system/service.d/20-masked.conf",
        "/usr/lib/systemd/system/foo-.service.d/prefix.conf",
      ])
    #expect(units["m.service"]?.loadState == "masked")
    #expect(units["m.service"]?.unitFileState == "masked")
    #expect(units["t@x.service"]?.fragmentPath == "/usr/lib/systemd/system/t@.service")
    #expect(units["t@x.service"]?.unitFileState == "enabled")
    #expect(units["s.service"]?.unitFileState == "static")
    #expect(units["s.service"]?.type == "notify")
    #expect(units["foo-bar.service"]?.unitFileState == "static")
    #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
  }

  @Test("normalized as a host: directives with file and line, effective settings, the offline source")
  func situationsNormalize() throws {
    let tree = try Self.situations()
    let probe = Probe.random()
    let output = OfflineProbe.evidence(
      tree: TreeReader(root: tree.root.path), name: "t",
      source: OfflineSource(kind: .tree, path: tree.root.path),
      nonce: probe.nonce,
      analyzer: OfflineAnalyzer(version: nil) { _, _, _ in .init(stdout: [], stderr: [], exitStatus: 1) })
    let report = normalize(
      HostEvidence(host: "t", nonce: probe.nonce, probeVersion: Probe.version, output: output),
      label: HostLabel(name: "t", groups: ["tree"]))
    #expect(report.status.code == .ok, "\(report.status)")
    #expect(report.offline?.kind == .tree)
    #expect(report.offline?.path == tree.root.path)
    #expect(report.kind == "tree")
    #expect(report.diagnostics.contains { $0.code == "offline.no-analyzer" })
    let a = try #require(report.service(named: "b.service"))
    #expect(a.id == "a.service")
    #expect(a.hardening.protectSystem?.value == .strict)
    #expect(
      a.hardening.protectSystem?.source
        == Provenance(file: "/etc/systemd/system/a.service.d/override.conf", line: 2))
    #expect(a.hardening.privateTmp?.value == true)
    #expect(a.hardening.user == nil, "the masked drop-in's User= must not apply")
    #expect(a.activeState == nil, "only a running manager knows the active state")
    #expect(a.overall == nil)
    let c = try #require(report.service(named: "c.service"))
    #expect(c.fragmentPath == "/etc/systemd/system/c.service")
    #expect(c.directives.first?.value == "/bin/c-admin", "the full override in /etc hides the vendor file")
    #expect(!c.directives.contains { $0.value == "/bin/c-vendor" })
    #expect(report.service(named: "foo-bar.service")?.hardening.noNewPrivileges?.value == true)
    #expect(report.service(named: "m.service")?.isMasked == true)
  }

  @Test(
    "an analyzer older than 250 scores nothing and says so; one of 250 or later is run once per loaded unit")
  func analyzerVersions() throws {
    let tree = try Self.situations()
    let probe = Probe.random()
    let calls = CallLog()
    for (version, scored) in [
      ("systemd 247 (247.3-7+deb11u5)", false), ("systemd 252 (252.39-1~deb12u2)", true),
    ] {
      let analyzer = OfflineAnalyzer(version: version) { unit, root, _ in
        calls.add(unit)
        #expect(root == tree.root.path)
        return .init(stdout: [], stderr: Array("Unit \(unit) not found.\n".utf8), exitStatus: 1)
      }
      let output = OfflineProbe.evidence(
        tree: TreeReader(root: tree.root.path), name: "t",
        source: OfflineSource(kind: .tree, path: tree.root.path),
        nonce: probe.nonce, analyzer: analyzer)
      let report = normalize(
        HostEvidence(host: "t", nonce: probe.nonce, probeVersion: Probe.version, output: output),
        label: HostLabel(name: "t"))
      #expect(report.offline?.analyzer == version)
      #expect(report.diagnostics.contains { $0.code == "offline.no-analyzer" } == !scored, "\(version)")
      #expect(report.identity?.securityAnalysis == (scored ? .json : SecurityAnalysisSupport.none))
      if scored {
        // The loaded units, each analysed once; each failed analysis named on its unit.
        #expect(
          calls.units.sorted() == ["a.service", "c.service", "foo-bar.service", "s.service", "t@x.service"])
        #expect(report.diagnostics.filter { $0.code == "security.offline-unanalysed" }.count == 5)
      } else {
        #expect(calls.units.isEmpty)
      }
    }
  }

  @Test("split /usr: /lib is searched before /usr/lib, and drop-ins are shown in their resolved directory")
  func splitUsr() throws {
    let tree = try TreeBuilder("split")
    try tree.link("/lib", to: "usr/lib")
    try tree.file("/usr/lib/systemd/system/x.service", "[Service]\nExecStart=/bin/x\n")
    try tree.file("/lib/systemd/system/x.service.d/debian.conf", "[Service]\nPrivateTmp=yes\n")
    let unit = try #require(load(tree, splitUsr: true).units.first)
    #expect(unit.fragmentPath == "/lib/systemd/system/x.service")
    #expect(unit.dropInPaths == ["/usr/lib/systemd/system/x.service.d/debian.conf"])
    #expect(load(tree, splitUsr: false).units.first?.fragmentPath == "/usr/lib/systemd/system/x.service")
  }

  @Test("the tree's dpkg database: owners of unit files (merged-/usr twins too) and systemd's version")
  func dpkg() throws {
    let tree = try TreeBuilder("dpkg")
    try tree.link("/lib", to: "usr/lib")
    try tree.file(
      "/var/lib/dpkg/status",
      "Package: systemd\nStatus: install ok installed\nVersion: 252.39-1~deb12u2\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n"
    )
    try tree.file("/var/lib/dpkg/info/systemd.list", "/lib/systemd/system\n/lib/systemd/system/x.service\n")
    try tree.file("/var/lib/dpkg/info/nginx:amd64.list", "/usr/lib/systemd/system/y.service\n")
    let database = try #require(DpkgDatabase(tree: TreeReader(root: tree.root.path)))
    #expect(database.versions == ["systemd": "252.39-1~deb12u2"])
    #expect(database.systemdIsSplitUsr)
    #expect(
      database.owners(of: ["/lib/systemd/system/x.service", "/lib/systemd/system/y.service"])
        == "systemd: /lib/systemd/system/x.service\nnginx: /lib/systemd/system/y.service")
  }

  @Test("systemd's overall exposure is the sum over the checks' grades, on every unit of two real hosts")
  func exposureFromGrades() throws {
    // Recorded with SYSTEMD_ANALYZE_DEBUG=1 (probe 2): each check's weight, badness and range.
    for host in ["h2-v2", "trixie-web-v2"] {
      let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NormalizeTests/Fixtures/probe/\(host)")
      let report = normalize(try RecordedProbe.read(folder), label: HostLabel(name: host))
      var compared = 0
      for service in report.services {
        guard let overall = service.overall, service.checks.allSatisfy({ $0.value.grade != nil }) else {
          continue
        }
        #expect(
          Exposure(grades: service.checks.compactMap(\.value.grade)) == overall.exposure, "\(service.id)")
        compared += 1
      }
      #expect(compared > 50)
    }
  }
}

/// The units an analyzer was asked about (it runs on a transport's thread).
final class CallLog: Sendable {
  private let calls = Mutex<[String]>([])
  func add(_ unit: String) { calls.withLock { $0.append(unit) } }
  var units: [String] { calls.withLock { $0 } }
}
