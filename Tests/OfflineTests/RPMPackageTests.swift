import BlockingWork
import Collector
import Foundation
import Inventory
import Normalize
import Offline
import TestSupport
import Testing
import UnitModel

/// An .rpm built here with rpmbuild (Debian's rpm) and audited with `--package`: the same
/// model as a .deb's, owner and version from the package's own header.
@Suite("offline: an .rpm built with rpmbuild, audited as a package")
struct RPMPackageTests {
  static let rpmbuild = ChildProcess.find("rpmbuild")

  static let spec = """
    Name: unitaudit-demo
    Version: 1.2
    Release: 3
    Summary: a service to audit
    License: MIT
    BuildArch: noarch
    %description
    A service unit and a drop-in, for unitaudit's tests.
    %install
    mkdir -p %{buildroot}/usr/lib/systemd/system/demo.service.d
    printf '[Unit]\\nDescription=Demo of %%%%n\\n[Service]\\nExecStart=/usr/bin/demo\\nProtectSystem=strict\\nPrivateTmp=yes\\nNoNewPrivileges=yes\\n[Install]\\nWantedBy=multi-user.target\\n' > %{buildroot}/usr/lib/systemd/system/demo.service
    printf '[Service]\\nProtectHome=yes\\n' > %{buildroot}/usr/lib/systemd/system/demo.service.d/10-home.conf
    %files
    /usr/lib/systemd/system/demo.service
    /usr/lib/systemd/system/demo.service.d/10-home.conf
    """

  @Test(
    "the unit and its drop-in with file and line, owner and version, exposure graded",
    .enabled(if: rpmbuild != nil, "needs rpmbuild and rpm2cpio (Debian's rpm and rpm2cpio)"))
  func rpm() async throws {
    let top = try temporaryDirectory("rpmbuild")
    let spec = top.appendingPathComponent("demo.spec")
    try Self.spec.write(to: spec, atomically: true, encoding: .utf8)
    let built = try TestSupport.run([
      try #require(Self.rpmbuild), "-bb", "--quiet", "--define", "_topdir \(top.path)", spec.path,
    ])
    #expect(built.status == 0, "\(built.output)")
    let rpm = top.appendingPathComponent("RPMS/noarch/unitaudit-demo-1.2-3.noarch.rpm")
    let transport = OfflineTransport(limits: ProbeLimits(deadlineSeconds: 60), concurrency: 1)
    defer { transport.shutdown() }
    let probe = Probe.random()
    let run = await transport.run(probe, on: .offline(name: "demo", path: rpm.path, kind: .package))
    guard case .output(let output, _) = run.result else {
      Issue.record("not read: \(run.result)")
      return
    }
    let report = normalize(
      HostEvidence(host: "demo", nonce: probe.nonce, probeVersion: Probe.version, output: output),
      label: HostLabel(name: "demo", address: rpm.path, groups: ["package"]))
    #expect(report.status.code == .ok, "\(report.status)")
    #expect(report.offline?.kind == .package)
    #expect(report.offline?.package == "unitaudit-demo" && report.offline?.version == "1.2-3")
    let service = try #require(report.service(named: "demo.service"))
    #expect(service.package == "unitaudit-demo" && service.packageVersion == "1.2-3")
    #expect(service.description == "Demo of demo.service")
    #expect(service.fragmentPath == "/usr/lib/systemd/system/demo.service")
    #expect(service.dropInPaths == ["/usr/lib/systemd/system/demo.service.d/10-home.conf"])
    #expect(
      service.hardening.protectSystem?.source
        == Provenance(file: "/usr/lib/systemd/system/demo.service", line: 5))
    #expect(
      service.hardening.protectHome?.source
        == Provenance(file: "/usr/lib/systemd/system/demo.service.d/10-home.conf", line: 2))
    if OfflineAnalyzer.thisMachine().major ?? 0 >= 250 {
      let overall = try #require(service.overall)
      #expect(overall.exposure.tenths < 96, "the drop-in and the fragment's sandboxing lower the exposure")
      #expect(service.checks["ProtectHome"]?.set == true)
    }
  }

  @Test(
    "an RPM-based tree: owners and versions from its rpm database (copied out of the tree first)",
    .enabled(if: rpmbuild != nil, "needs rpmbuild and rpm (Debian's rpm)"))
  func rpmTree() async throws {
    let top = try temporaryDirectory("rpmtree")
    let spec = top.appendingPathComponent("demo.spec")
    try Self.spec.write(to: spec, atomically: true, encoding: .utf8)
    let rpmbuild = try #require(Self.rpmbuild)
    #expect(
      try TestSupport.run([rpmbuild, "-bb", "--quiet", "--define", "_topdir \(top.path)", spec.path]).status
        == 0)
    let rpm = top.appendingPathComponent("RPMS/noarch/unitaudit-demo-1.2-3.noarch.rpm")
    // A tree as an RPM-based system has it: the files in place, the package in the database.
    let tree = try TreeBuilder("rpm-tree")
    try tree.link("/lib", to: "usr/lib")
    let database = tree.url("/usr/lib/sysimage/rpm").path
    try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
    let rpmTool = try #require(ChildProcess.find("rpm"))
    var installed = try TestSupport.run([rpmTool, "--dbpath", database, "--initdb"])
    #expect(installed.status == 0, "\(installed.output)")
    installed = try TestSupport.run([
      rpmTool, "--dbpath", database, "-i", "--justdb", "--nodeps", "--noscripts", "--notriggers", rpm.path,
    ])
    #expect(installed.status == 0, "\(installed.output)")
    try tree.file(
      "/usr/lib/systemd/system/demo.service", "[Unit]\nDescription=Demo\n[Service]\nExecStart=/usr/bin/demo\n"
    )
    try tree.file("/usr/lib/systemd/system/other.service", "[Service]\nExecStart=/usr/bin/other\n")
    let database2 = try #require(RpmDatabase(tree: TreeReader(root: tree.root.path)))
    #expect(database2.versions["unitaudit-demo"] == "1.2-3")
    #expect(
      database2.owners(of: ["/usr/lib/systemd/system/demo.service", "/usr/lib/systemd/system/other.service"])
        == "unitaudit-demo: /usr/lib/systemd/system/demo.service")
    let transport = OfflineTransport(limits: ProbeLimits(deadlineSeconds: 60), concurrency: 1)
    defer { transport.shutdown() }
    let probe = Probe.random()
    let run = await transport.run(probe, on: .offline(name: "fedora", path: tree.root.path, kind: .tree))
    guard case .output(let output, _) = run.result else {
      Issue.record("not read: \(run.result)")
      return
    }
    let report = normalize(
      HostEvidence(host: "fedora", nonce: probe.nonce, probeVersion: Probe.version, output: output),
      label: HostLabel(name: "fedora", groups: ["tree"]))
    #expect(report.service(named: "demo.service")?.package == "unitaudit-demo")
    #expect(report.service(named: "demo.service")?.packageVersion == "1.2-3")
    #expect(report.service(named: "other.service")?.package == nil)
  }
}
