import Collector
import Foundation
import Inventory
import Normalize
import Offline
import TestSupport
import Testing
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// Crafted trees and packages, one per way a hostile input could reach outside the tree, hang
/// the scan or take unbounded memory: each is read inert, and each says what it refused.
@Suite("offline: hostile trees and packages are read inert")
struct HostileInputTests {
  /// A unit file outside the tree, with a marker that must never reach a scan.
  static func secret(in folder: URL) throws -> URL {
    let outside = folder.appendingPathComponent("outside")
    try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
    try "[Service]\nExecStart=/SECRET-OUTSIDE-THE-TREE\n".write(
      to: outside.appendingPathComponent("leak.service"), atomically: true, encoding: .utf8)
    return outside
  }

  /// The tree scanned as a host: its evidence through `OfflineTransport` (the analyzer of
  /// this machine when it has one), normalized.
  func scan(_ path: String, kind: OfflineSource.Kind, name: String = "x") async throws -> (
    HostReport, ProbeOutput?
  ) {
    let transport = OfflineTransport(limits: ProbeLimits(deadlineSeconds: 60), concurrency: 1)
    defer { transport.shutdown() }
    let probe = Probe.random()
    let host = FleetHost.offline(name: name, path: path, kind: kind)
    let run = await transport.run(probe, on: host)
    switch run.result {
    case .failed(let status):
      return (HostReport(name: name, status: status), nil)
    case .output(let output, _):
      let report = normalize(
        HostEvidence(host: name, nonce: probe.nonce, probeVersion: Probe.version, output: output),
        label: HostLabel(name: name, address: path, groups: [kind.rawValue]))
      return (report, output)
    }
  }

  func mentions(_ output: ProbeOutput?, _ text: String) -> Bool {
    guard let output else { return false }
    let needle = Array(text.utf8)
    return output.stdout.indices.contains { output.stdout[$0...].starts(with: needle) }
  }

  @Test("links out of the tree, absolute or climbing with .., and a linked directory stay inside it")
  func linksOut() async throws {
    let tree = try TreeBuilder("links-out")
    let outside = try Self.secret(in: tree.root.deletingLastPathComponent())
    try tree.file("/usr/lib/systemd/system/good.service", "[Service]\nExecStart=/bin/good\n")
    try tree.link(
      "/etc/systemd/system/absolute.service", to: outside.appendingPathComponent("leak.service").path)
    try tree.link(
      "/etc/systemd/system/climb.service",
      to: String(repeating: "../", count: 12) + outside.path.dropFirst() + "/leak.service")
    try tree.link("/usr/local/lib/systemd/system", to: outside.path)
    try tree.link("/usr/lib/systemd/system/service.d", to: outside.path)
    let (report, output) = try await scan(tree.root.path, kind: .tree)
    #expect(!mentions(output, "SECRET-OUTSIDE-THE-TREE"))
    #expect(report.service(named: "good.service")?.loadState == "loaded")
    #expect(report.service(named: "leak.service") == nil, "the outside folder's unit was listed")
    // Resolved inside the tree, the links lead nowhere: the units are not found (and, as
    // systemd's not-found units, not listed), each with its diagnostic.
    for name in ["absolute.service", "climb.service"] {
      #expect(report.service(named: name) == nil, "\(name)")
    }
    #expect(
      report.diagnostics.contains { $0.code == "offline.link-above-root" && $0.unit == "climb.service" })
    #expect(
      report.diagnostics.contains { $0.code == "offline.unit-unreadable" && $0.unit == "absolute.service" })
  }

  @Test("a link loop, a FIFO, a socket and a directory where unit files should be: refused, no hang")
  func specialFiles() async throws {
    let tree = try TreeBuilder(shortPath: ())
    defer { try? FileManager.default.removeItem(at: tree.root) }
    try tree.link("/etc/systemd/system/loop1.service", to: "loop2.service")
    try tree.link("/etc/systemd/system/loop2.service", to: "loop1.service")
    try tree.fifo("/usr/lib/systemd/system/fifo.service")
    try tree.file("/usr/lib/systemd/system/ok.service", "[Service]\nExecStart=/bin/ok\n")
    try tree.fifo("/usr/lib/systemd/system/ok.service.d/fifo.conf")
    try tree.directory("/usr/lib/systemd/system/dir.service")
    let socketPath = tree.url("/usr/lib/systemd/system/socket.service").path
    let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in socketPath.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    defer { close(socketFD) }
    #expect(bound == 0, "cannot make a socket at \(socketPath)")
    let started = Date()
    let (report, _) = try await scan(tree.root.path, kind: .tree)
    // A hang would last forever; the bound leaves room for a loaded 2-core machine running the
    // other suites at once (a run took 36 s there).
    #expect(Date().timeIntervalSince(started) < 120)
    #expect(report.service(named: "ok.service")?.loadState == "loaded")
    let refused = Set(report.diagnostics.filter { $0.code == "offline.unit-unreadable" }.compactMap(\.unit))
    #expect(
      refused.isSuperset(of: ["loop1.service", "fifo.service", "dir.service"]), "\(report.diagnostics)")
    #expect(refused.contains("socket.service"))
    #expect(
      report.diagnostics.contains { $0.code == "offline.dropin-unreadable" && $0.message.contains("FIFO") })
  }

  @Test("a 10 GiB unit file and a drop-in named with a newline: refused before any byte is read")
  func hugeAndControlCharacters() async throws {
    let tree = try TreeBuilder("huge")
    try tree.sparse("/usr/lib/systemd/system/huge.service", size: 10 << 30)
    try tree.file("/usr/lib/systemd/system/named.service", "[Service]\nExecStart=/bin/named\n")
    try tree.file("/usr/lib/systemd/system/named.service.d/a\n# /etc/shadow.conf", "[Service]\nUser=forged\n")
    let (report, output) = try await scan(tree.root.path, kind: .tree)
    #expect(report.service(named: "huge.service")?.loadState == "bad-setting")
    #expect(report.diagnostics.contains { $0.unit == "huge.service" && $0.message.contains("over the") })
    #expect(report.service(named: "named.service")?.hardening.user == nil)
    #expect(!mentions(output, "forged"))
    #expect((output?.stdout.count ?? 0) < 1 << 20)
  }

  @Test("NUL bytes and invalid UTF-8 in a unit file: read, with diagnostics, nothing lost around them")
  func damagedText() async throws {
    let tree = try TreeBuilder("damaged")
    try tree.bytes(
      "/usr/lib/systemd/system/bad.service",
      Array("[Unit]\nDescription=".utf8) + [0xFF, 0xFE, 0x00, 0xC3, 0x28]
        + Array("\n[Service]\nExecStart=/bin/x\nPrivateTmp=yes\n".utf8))
    let (report, _) = try await scan(tree.root.path, kind: .tree)
    let service = try #require(report.service(named: "bad.service"))
    #expect(service.hardening.privateTmp?.value == true)
    #expect(!report.diagnostics.isEmpty)
  }

  @Test("a directory of more entries than the limit: the rest are left out, and said so")
  func hugeDirectory() throws {
    let tree = try TreeBuilder("many")
    for index in 0..<150 {
      try tree.file("/usr/lib/systemd/system/u\(index).service", "[Service]\nExecStart=/bin/x\n")
    }
    var loader = UnitLoader(
      tree: TreeReader(root: tree.root.path, limits: TreeLimits(maxDirectoryEntries: 100)),
      searchPath: .of(splitUsr: false))
    let loaded = loader.load()
    #expect(loaded.units.count == 100)
    #expect(loaded.diagnostics.contains { $0.code == "offline.directory-truncated" })
  }

  @Test(
    "unit files past the bytes a tree may give in all, and units past the deadline, are left out and said so")
  func totalBytesAndDeadline() throws {
    let tree = try TreeBuilder("budget")
    let body = "[Service]\nExecStart=/bin/x\n" + String(repeating: "# padding\n", count: 100)
    for index in 0..<3 { try tree.file("/usr/lib/systemd/system/u\(index).service", body) }
    var loader = UnitLoader(
      tree: TreeReader(root: tree.root.path, limits: TreeLimits(maxTotalBytes: body.utf8.count * 2)),
      searchPath: .of(splitUsr: false))
    let loaded = loader.load()
    #expect(loaded.units.map(\.loadState) == ["loaded", "loaded", "bad-setting"])
    #expect(
      loaded.diagnostics.contains {
        $0.unit == "u2.service" && $0.message.contains("bytes read from this tree in all")
      })
    var late = UnitLoader(
      tree: TreeReader(root: tree.root.path), searchPath: .of(splitUsr: false),
      deadline: Date(timeIntervalSinceNow: -1))
    let none = late.load()
    #expect(none.units.isEmpty)
    #expect(none.diagnostics.contains { $0.code == "offline.deadline" })
  }

  @Test(
    "packages: .. in a path, a link among the parents, a device node, an oversized unit: nothing written outside"
  )
  func hostilePackage() async throws {
    let folder = try temporaryDirectory("hostile-deb")
    let outside = folder.appendingPathComponent("outside")
    try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
    let deb = try DebBuilder.deb(
      "evil",
      [
        .init(name: "./etc/", kind: .directory),
        .file(
          "./usr/lib/systemd/system/good.service", "[Service]\nExecStart=/bin/good\nProtectSystem=strict\n"),
        .file("./usr/lib/systemd/system/../../../../../../../../tmp/dotdot.service", "[Service]\n"),
        .init(name: "./etc/systemd/system", kind: .symlink(outside.path)),
        .file("./etc/systemd/system/through.service", "[Service]\nExecStart=/bin/through\n"),
        .init(name: "./usr/lib/systemd/system/device.service", kind: .characterDevice),
        .init(name: "./usr/lib/systemd/system/big.service", kind: .zeros(5 << 20)),
        .init(name: "./usr/lib/systemd/system/hard.service", kind: .hardLink("./etc/passwd")),
      ], in: folder)
    let (report, _) = try await scan(deb.path, kind: .package, name: "evil")
    #expect(report.status.code == .ok, "\(report.status)")
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty, "written outside the tree")
    #expect(!FileManager.default.fileExists(atPath: "/tmp/dotdot.service"), "written outside the tree")
    #expect(report.offline?.package == "evil")
    #expect(report.service(named: "good.service")?.package == "evil")
    #expect(report.service(named: "good.service")?.hardening.protectSystem?.value == .strict)
    let refused = report.diagnostics.filter { $0.code == "offline.member-refused" }.map(\.message)
    #expect(refused.contains { $0.contains("dotdot.service") && $0.contains("'..'") }, "\(refused)")
    #expect(
      refused.contains { $0.contains("through.service") && $0.contains("link stands among its parent") })
    #expect(refused.contains { $0.contains("device.service") && $0.contains("character device") })
    #expect(refused.contains { $0.contains("big.service") && $0.contains("larger than") })
    #expect(refused.contains { $0.contains("hard.service") && $0.contains("hard link") })
    #expect(report.services.map(\.id) == ["good.service"])
  }

  @Test("a payload that expands past the limit stops there; a file that is no package is named as such")
  func bombAndGarbage() throws {
    let folder = try temporaryDirectory("bomb")
    let bomb = try DebBuilder.deb(
      "bomb", [.init(name: "./usr/share/zeros", kind: .zeros(64 << 20))], gzip: true, in: folder)
    #expect((try FileManager.default.attributesOfItem(atPath: bomb.path)[.size] as? Int ?? 0) < 1 << 20)
    let root = folder.appendingPathComponent("unpacked")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    let result = PackageUnpacker.unpack(
      bomb.path, format: .deb, into: root.path, limits: PackageLimits(maxPayloadBytes: 8 << 20))
    guard case .failure(let error) = result else {
      Issue.record("the bomb was unpacked whole")
      return
    }
    #expect(error.reason.contains("more than 8388608 bytes"), "\(error)")

    let garbage = folder.appendingPathComponent("garbage_1_all.deb")
    try Data("this is not a package".utf8).write(to: garbage)
    guard case .failure(let notPackage) = PackageUnpacker.info(of: garbage.path, format: .deb, deadline: 10)
    else {
      Issue.record("garbage read as a package")
      return
    }
    #expect(notPackage.reason.contains("not a readable deb package"))
  }

  @Test("a package without a service is listed, with a note saying so")
  func noService() async throws {
    let folder = try temporaryDirectory("no-service")
    let deb = try DebBuilder.deb("docs", [.file("./usr/share/doc/docs/README", "hello\n")], in: folder)
    let (report, _) = try await scan(deb.path, kind: .package, name: "docs")
    #expect(report.status.code == .ok)
    #expect(report.services.isEmpty)
    #expect(report.diagnostics.contains { $0.code == "offline.no-service" })
  }
}
