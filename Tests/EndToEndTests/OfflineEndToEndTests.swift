import Foundation
import Storage
import TestSupport
import Testing
import UnitModel

/// Offline agrees with booted: each release's host, scanned over SSH, against the tree it
/// boots from, scanned with `--root`. What differs must be what only a running machine has
/// (its /run, instances and generated units made at boot) or systemd's own offline analysis;
/// anything else is a mismatch.
@Suite("End to end: offline scans of the fleet's trees agree with the booted hosts", .tags(.e2e), .exclusive)
struct OfflineEndToEndTests {
  /// One host of each release (and every bookworm flavour but the refused last host's).
  static let hosts = ["h1", "h2", "h3", "h4", "bullseye-web", "trixie-web", "testing-web"]

  /// The one check the running manager reports otherwise: it gives `PrivateMounts` the mount
  /// namespace it sets up anyway for the unit's other sandboxing, the offline analysis reads
  /// the unit's own (unset) value.
  static let onlineOnlyChecks: Set<String> = ["PrivateMounts"]

  struct Tally: CustomStringConvertible {
    var services = 0
    var directives = 0
    var runtimeServices: [String] = []
    var runtimeFileDifferences = 0
    var runtimeStates = 0
    var exposureEqual = 0
    var exposurePrivateMounts = 0
    var exposureOtherAnalyzer = 0
    var exposureRuntimeFiles = 0
    /// The checks that differ where another systemd graded the tree, with how many services each.
    var otherAnalyzerChecks: [String: Int] = [:]
    var mismatches: [String] = []

    var description: String {
      "\(services) services, \(directives) directives compared; exposure equal \(exposureEqual), "
        + "PrivateMounts only \(exposurePrivateMounts), another analyzer version \(exposureOtherAnalyzer), "
        + "runtime drop-ins \(exposureRuntimeFiles) (checks differing under another analyzer: "
        + otherAnalyzerChecks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
          separator: ", ")
        + "); runtime-only services \(runtimeServices.count) "
        + "(\(runtimeServices.joined(separator: " "))), runtime unit-file states \(runtimeStates), services with "
        + "runtime drop-ins \(runtimeFileDifferences); mismatches \(mismatches.count)"
    }
  }

  @Test(
    "every release: the same services, directives with file and line, effective settings; exposures equal or explained per check",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func offlineAgreesWithBooted() throws {
    let fleet = try #require(Fleet.configured)
    let work = try temporaryDirectory("offline-e2e")
    defer { try? FileManager.default.removeItem(at: work) }
    let online = work.appendingPathComponent("online")
    let offline = work.appendingPathComponent("offline")
    let scan = try run([
      try unitauditBinary(), "scan", "-i", fleet.inventory, "--known-hosts", fleet.knownHosts,
      "--no-ssh-config",
      "--limit", Self.hosts.joined(separator: ","), "-o", online.path,
    ])
    #expect(scan.status == 0, "\(scan.output)")
    let trees = Self.hosts.flatMap {
      ["--root", "\($0)=\(fleet.directory.appendingPathComponent("hosts/\($0)/root").path)"]
    }
    let offlineScan = try run([try unitauditBinary(), "scan"] + trees + ["-o", offline.path])
    #expect(offlineScan.status == 0, "\(offlineScan.output)")
    let booted = Dictionary(uniqueKeysWithValues: try readScan(online).hosts.map { ($0.name, $0) })
    let read = Dictionary(uniqueKeysWithValues: try readScan(offline).hosts.map { ($0.name, $0) })
    var total = Tally()
    for name in Self.hosts {
      let host = try #require(booted[name])
      let tree = try #require(read[name])
      #expect(tree.offline?.kind == .tree)
      #expect(tree.identity?.systemdVersion == host.identity?.systemdVersion, "\(name): the tree's systemd")
      #expect(tree.identity?.osVersionID == host.identity?.osVersionID)
      let tally = compare(host, tree)
      print("offline vs booted \(name) (systemd \(host.identity?.systemdVersion ?? 0)): \(tally)")
      for mismatch in tally.mismatches { Issue.record("\(name): \(mismatch)") }
      total.services += tally.services
      total.directives += tally.directives
      total.exposureEqual += tally.exposureEqual
      total.exposurePrivateMounts += tally.exposurePrivateMounts
      total.exposureOtherAnalyzer += tally.exposureOtherAnalyzer
      total.exposureRuntimeFiles += tally.exposureRuntimeFiles
      total.runtimeStates += tally.runtimeStates
      total.runtimeFileDifferences += tally.runtimeFileDifferences
      total.runtimeServices += tally.runtimeServices.map { "\(name):\($0)" }
      total.otherAnalyzerChecks.merge(tally.otherAnalyzerChecks, uniquingKeysWith: +)
    }
    print("offline vs booted, all: \(total)")
    #expect(total.services > 500)
  }

  func compare(_ host: HostReport, _ tree: HostReport) -> Tally {
    var tally = Tally()
    let offline = Dictionary(uniqueKeysWithValues: tree.services.map { ($0.id, $0) })
    let online = Dictionary(uniqueKeysWithValues: host.services.map { ($0.id, $0) })
    for service in host.services where offline[service.id] == nil {
      // What only a running machine has: instances started by a dependency or a login, units
      // a generator made at boot.
      if service.id.contains("@") || service.fragmentPath?.hasPrefix("/run/") == true
        || service.sourcePath != nil
      {
        tally.runtimeServices.append(service.id)
      } else {
        tally.mismatches.append("\(service.id) is on the booted host only")
      }
    }
    for service in tree.services where online[service.id] == nil {
      tally.mismatches.append("\(service.id) is in the tree only")
    }
    let sameAnalyzer =
      host.identity?.systemdVersion
      == tree.offline?.analyzer.flatMap { text in
        text.split(separator: " ").dropFirst().first.flatMap { Int($0) }
      }
    for (id, booted) in online.sorted(by: { $0.key < $1.key }) {
      guard let read = offline[id] else { continue }
      tally.services += 1
      func same<Value: Equatable>(_ field: String, _ path: KeyPath<ServiceRecord, Value>) {
        if booted[keyPath: path] != read[keyPath: path] {
          tally.mismatches.append(
            "\(id) \(field): \(booted[keyPath: path]) booted, \(read[keyPath: path]) offline")
        }
      }
      same("fragment", \.fragmentPath)
      same("aliases", \.aliases)
      same("package", \.package)
      same("load state", \.loadState)
      same("type", \.type)
      same("description", \.description)
      if booted.unitFileState != read.unitFileState {
        if booted.unitFileState?.hasSuffix("-runtime") == true {
          tally.runtimeStates += 1
        } else {
          tally.mismatches.append(
            "\(id) unit-file state: \(booted.unitFileState ?? "-") booted, \(read.unitFileState ?? "-") offline"
          )
        }
      }
      // Directives and settings: equal, but for the drop-ins a running machine has in /run.
      let runtime = booted.dropInPaths.filter { $0.hasPrefix("/run/") }
      let bootedDirectives = booted.directives.filter { !$0.source.file.hasPrefix("/run/") }
      tally.directives += bootedDirectives.count
      if bootedDirectives != read.directives {
        tally.mismatches.append("\(id): directives differ (file and line)")
      }
      if booted.dropInPaths.filter({ !$0.hasPrefix("/run/") }) != read.dropInPaths {
        tally.mismatches.append("\(id) drop-ins: \(booted.dropInPaths) booted, \(read.dropInPaths) offline")
      }
      if runtime.isEmpty {
        if booted.hardening != read.hardening { tally.mismatches.append("\(id): effective settings differ") }
      } else {
        tally.runtimeFileDifferences += 1
      }
      // Exposure: equal, or each differing check explained.
      guard booted.overall?.exposure != read.overall?.exposure else {
        tally.exposureEqual += 1
        continue
      }
      let differing = Set(booted.checks.map(\.key)).union(read.checks.map(\.key)).filter { field in
        booted.checks[field]?.set != read.checks[field]?.set
          || booted.checks[field]?.exposure != read.checks[field]?.exposure
      }
      if !runtime.isEmpty {
        tally.exposureRuntimeFiles += 1
      } else if !sameAnalyzer {
        tally.exposureOtherAnalyzer += 1
        for field in differing { tally.otherAnalyzerChecks[field, default: 0] += 1 }
      } else if !differing.isEmpty && differing.isSubset(of: Self.onlineOnlyChecks) {
        tally.exposurePrivateMounts += 1
      } else {
        tally.mismatches.append(
          "\(id) exposure \(booted.overall?.exposure.description ?? "-") booted, "
            + "\(read.overall?.exposure.description ?? "-") offline; checks \(differing.sorted())")
      }
    }
    return tally
  }

  @Test(
    "release notes from trees of bullseye, bookworm, trixie and testing: Markdown and JSON for each step",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func releaseNotes() throws {
    let fleet = try #require(Fleet.configured)
    let work = try temporaryDirectory("release-notes")
    defer { try? FileManager.default.removeItem(at: work) }
    let releases = [
      ("bullseye", "bullseye-web"), ("bookworm", "h2"), ("trixie", "trixie-web"), ("testing", "testing-web"),
    ]
    for (release, host) in releases {
      let scan = try run([
        try unitauditBinary(), "scan", "--root",
        "\(release)=\(fleet.directory.appendingPathComponent("hosts/\(host)/root").path)", "-q", "-o",
        work.appendingPathComponent(release).path,
      ])
      #expect(scan.status == 0, "\(scan.output)")
    }
    for (older, newer) in zip(releases, releases.dropFirst()) {
      let paths = [work.appendingPathComponent(older.0).path, work.appendingPathComponent(newer.0).path]
      let markdown = try run([try unitauditBinary(), "diff"] + paths + ["--release-notes"])
      #expect(markdown.status == 0, "\(markdown.output)")
      #expect(markdown.output.hasPrefix("# Service hardening: \(older.0) → \(newer.0)"))
      let json = try run([try unitauditBinary(), "diff"] + paths + ["--release-notes", "--json"])
      let notes = try JSONDecoder().decode(Notes.self, from: Data(json.output.utf8))
      // Each step of Debian's releases adds and removes services, and the Markdown lists them.
      #expect((notes.counts["new"] ?? 0) > 0 && markdown.output.contains("## New services"))
      let sections = markdown.output.split(separator: "\n").filter { $0.hasPrefix("## ") }
      print(
        "release notes \(older.0) → \(newer.0): \(notes.counts.sorted { $0.key < $1.key }); \(sections.count) sections"
      )
      print(markdown.output)
    }
  }

  struct Notes: Decodable {
    var counts: [String: Int]
  }
}
