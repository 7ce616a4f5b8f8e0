import Foundation
import Storage
import TestSupport
import Testing
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

extension Tag {
  /// Tests that scan the booted systemd fleet (`Scripts/fleet up`).
  @Tag static var e2e: Self
}

/// The fleet that `Scripts/fleet up` wrote: `$UNITAUDIT_FLEET` names its directory.
struct Fleet {
  let directory: URL
  var inventory: String { directory.appendingPathComponent("inventory.yml").path }
  var knownHosts: String { directory.appendingPathComponent("known_hosts").path }
  var key: String { directory.appendingPathComponent("keys/id_ed25519").path }

  static var configured: Fleet? {
    ProcessInfo.processInfo.environment["UNITAUDIT_FLEET"].map { Fleet(directory: URL(fileURLWithPath: $0)) }
  }
}

enum E2EError: Error, CustomStringConvertible {
  case failed(String)
  var description: String {
    switch self {
    case .failed(let text): text
    }
  }
}

func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
  try TestSupport.run(arguments, input: input)
}

func unitauditBinary() throws -> String { try TestSupport.unitauditBinary() }

@Suite("End to end: the model against systemd's own answers on the booted fleet", .tags(.e2e), .exclusive)
struct FleetEndToEndTests {
  @Test(
    "scan the fleet over SSH; every value equals what systemd reports on that host",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func fleetMatchesSystemd() async throws {
    let fleet = try #require(Fleet.configured)
    let scanDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "e2e-scan-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: scanDirectory) }
    let scan = try run([
      try unitauditBinary(), "scan", "-i", fleet.inventory, "--known-hosts", fleet.knownHosts,
      "--no-ssh-config",
      "--connect-timeout", "5", "-o", scanDirectory.path,
    ])
    // Exit 1: the refused host and the dead address are failures by design.
    #expect(scan.status == 1, "\(scan.output)")
    let hosts: [HostReport] = try readScan(scanDirectory).hosts
    var byName: [String: HostReport] = [:]
    for host in hosts { byName[host.name] = host }
    // The last host (hN) is the one whose key known_hosts leaves out.
    let numbers = hosts.compactMap { host -> Int? in
      host.name.hasPrefix("h") ? Int(host.name.dropFirst()) : nil
    }
    #expect(byName["dead"]?.status.code == .unreachable)
    let refused = "h\(try #require(numbers.max()))"
    #expect(byName[refused]?.status.code == .hostKeyUnknown)
    let scanned = hosts.filter { $0.name != "dead" && $0.name != refused }
    #expect(scanned.count >= 6)
    for host in scanned {
      let code: HostStatusCode = host.status.code
      #expect(code == .ok, "\(host.name): \(host.status.description)")
    }

    try checkSituations(scanned)
    try checkNewerValuesInReports(scanned, scan: scanDirectory)
    try checkSARIF(scan: scanDirectory, inventory: fleet.inventory, failed: ["dead", refused])
    // Each host's evidence, compressed, stays small, and reads back as what the host sent.
    let sizes = try TestSupport.run([
      "/usr/bin/sqlite3", "-readonly", scanDirectory.appendingPathComponent("scan.db").path,
      """
      SELECT host.name, length(evidence.stdout) + length(evidence.stderr) + length(evidence.meta)
      FROM evidence JOIN host ON host.id = evidence.host
      """,
    ]).output.split(separator: "\n").reduce(into: [String: Int]()) { sizes, line in
      let fields = line.split(separator: "|")
      if fields.count == 2, let size = Int(fields[1]) { sizes[String(fields[0])] = size }
    }
    for host in scanned {
      let size = try #require(sizes[host.name], "\(host.name) has no evidence")
      #expect(size <= 200_000, "\(host.name): evidence of \(size) bytes")
      let evidence = try Evidence.read(scan: scanDirectory, host: host.name)
      #expect(evidence.output.stdout.count > 100_000, "\(host.name)")
    }

    // Read every host's own answers over OpenSSH (strict host keys, the fleet's known_hosts).
    let results = try await withThrowingTaskGroup(of: (String, Tally, [Mismatch]).self) { group in
      for host in scanned where host.status.code == .ok {
        group.addTask {
          let units = host.services.map(\.id)
          let files = Set(host.services.flatMap { $0.hardening.sources.map(\.1.file) }).sorted()
          let ssh = try run(
            [
              "/usr/bin/ssh", "-i", fleet.key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
              "UserKnownHostsFile=\(fleet.knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null", "-o",
              "LogLevel=ERROR",
              "-F", "/dev/null", "-p", String(host.port ?? 22), "root@\(host.address ?? host.name)", "sh",
              "-s",
            ], input: truthScript(units: units, files: files))
          guard ssh.status == 0 else {
            throw E2EError.failed("\(host.name): ssh exited \(ssh.status): \(ssh.output)")
          }
          let truth = parseTruth(ssh.output)
          // The full capability set: what systemd prints for a unit that restricts nothing.
          let full =
            truth.properties.values.map { words($0["CapabilityBoundingSet"] ?? "") }.max {
              $0.count < $1.count
            }
            ?? []
          var mismatches: [Mismatch] = []
          var tally = Tally()
          for service in host.services {
            compare(
              host: host.name, service: service, truth: truth, fullCapabilities: full,
              systemd: host.identity?.systemdVersion,
              mismatches: &mismatches,
              tally: &tally)
          }
          return (host.name, tally, mismatches)
        }
      }
      var all: [(String, Tally, [Mismatch])] = []
      for try await result in group { all.append(result) }
      return all
    }
    let compared = results.reduce(0) { $0 + $1.1.values }
    let exposures = results.reduce(0) { $0 + $1.1.exposures }
    let sources = results.reduce(0) { $0 + $1.1.sources }
    let mismatches: [Mismatch] = results.flatMap { $0.2 }
    let services = scanned.reduce(0) { $0 + $1.services.count }
    print(
      "end to end: \(services) services on \(results.count) hosts, \(compared) values compared "
        + "(\(exposures) exposures, \(sources) source lines), \(mismatches.count) mismatches")
    // Per systemd version: the values compared and the mismatches on the hosts that run it.
    let versionOf = Dictionary(
      scanned.map { ($0.name, $0.identity?.systemdVersion ?? 0) }, uniquingKeysWith: { first, _ in first })
    var perVersion: [Int: (hosts: Int, values: Int, mismatches: Int)] = [:]
    for (name, tally, found) in results {
      let version = versionOf[name] ?? 0
      perVersion[version, default: (0, 0, 0)].hosts += 1
      perVersion[version, default: (0, 0, 0)].values += tally.values
      perVersion[version, default: (0, 0, 0)].mismatches += found.count
    }
    for (version, figures) in perVersion.sorted(by: { $0.key < $1.key }) {
      print(
        "  systemd \(version): \(figures.hosts) hosts, \(figures.values) values compared, "
          + "\(figures.mismatches) mismatches")
    }
    for mismatch in mismatches.prefix(200) { print("  MISMATCH \(mismatch)") }
    #expect(compared > 5000)
    // Every version the fleet runs is compared in thousands of values.
    for (version, figures) in perVersion {
      #expect(figures.values > 1000, "systemd \(version): only \(figures.values) values compared")
    }
    // Most services get a score; every setting a file assigns is traced to its line.
    #expect(exposures * 10 > services * 9)
    #expect(sources > 1000)
    #expect(
      mismatches.count == 0, "mismatches between unitaudit and systemd (the first ones are printed above)")
  }

  /// Each named value that newer systemd accepts, on the real service that sets it: in the
  /// model, and in every report format against the bundled fedora-40 baseline (which accepts
  /// PrivateTmp=disconnected and PrivateUsers=self, not ProtectControlGroups=private).
  func checkNewerValuesInReports(_ hosts: [HostReport], scan: URL) throws {
    let newer = hosts.filter { $0.groups.contains("newer") && ($0.identity?.systemdVersion ?? 0) >= 257 }
    guard !newer.isEmpty else { return }  // a bookworm-only fleet (FLEET_RELEASES=)
    for host in newer {
      let version = try #require(host.identity?.systemdVersion)
      let nginx = try #require(host.service(named: "nginx.service"), "\(host.name)")
      #expect(nginx.hardening.privateTmp?.variant == "disconnected", "\(host.name)")
      #expect(nginx.hardening.protectControlGroups?.variant == "private", "\(host.name)")
      let chrony = try #require(host.service(named: "chrony.service"), "\(host.name)")
      #expect(chrony.hardening.protectControlGroups?.variant == "strict", "\(host.name)")
      #expect(chrony.hardening.privateUsers?.variant == "self", "\(host.name)")
      #expect(host.service(named: "cron.service")?.hardening.privateUsers?.variant == "identity")
      // PrivatePIDs (257), added to the model as one table entry.
      #expect(host.service(named: "cron.service")?.hardening.privatePIDs?.value == true, "\(host.name)")
      if version >= 258 {
        #expect(nginx.hardening.privateUsers?.variant == "full", "\(host.name)")
        #expect(chrony.hardening.protectHostname?.variant == "private", "\(host.name)")
      }
    }
    let out = scan.appendingPathComponent("newer-report")
    let report = try run([
      try unitauditBinary(), "report", scan.path, "--baseline", "fedora-40", "--require", "core,extended",
      "-o", out.path, "-q",
    ])
    #expect(report.status == 0, "\(report.output)")
    // services.csv: the forms, as the requirement columns show them.
    let csv = try String(contentsOf: out.appendingPathComponent("services.csv"), encoding: .utf8)
    let rows = csv.split(whereSeparator: \.isNewline).map {
      $0.split(separator: ",", omittingEmptySubsequences: false)
    }
    let header = try #require(rows.first).map(String.init)
    func column(_ name: String) throws -> Int { try #require(header.firstIndex(of: name), "\(name) column") }
    let (hostColumn, serviceColumn) = (try column("host"), try column("service"))
    func value(_ host: String, _ service: String, _ directive: String) throws -> String {
      let row = try #require(
        rows.first { $0[hostColumn] == host && $0[serviceColumn] == service }, "\(host) \(service)")
      return String(row[try column(directive)])
    }
    for host in newer {
      #expect(try value(host.name, "nginx.service", "PrivateTmp") == "disconnected")
      #expect(try value(host.name, "nginx.service", "ProtectControlGroups") == "private")
      #expect(try value(host.name, "chrony.service", "ProtectControlGroups") == "strict")
      #expect(try value(host.name, "chrony.service", "PrivateUsers") == "self")
      #expect(try value(host.name, "cron.service", "PrivateUsers") == "identity")
    }
    // checks.csv: a check keeps the name its host's systemd printed and that version, under
    // the field all versions share (247 names the namespace checks by clone flag).
    let checks = try String(contentsOf: out.appendingPathComponent("checks.csv"), encoding: .utf8)
    let checkRows = Set(checks.split(whereSeparator: \.isNewline).map(String.init))
    for host in hosts where host.service(named: "cron.service")?.checks["RestrictNamespaces_user"] != nil {
      let version = try #require(host.identity?.systemdVersion)
      let name = version < 250 ? "RestrictNamespaces=~CLONE_NEWUSER" : "RestrictNamespaces=~user"
      #expect(
        checkRows.contains {
          $0.hasPrefix("\(host.name),cron.service,RestrictNamespaces_user,")
            && $0.hasSuffix(",\(name),\(version)")
        },
        "\(host.name): \(name) \(version)")
    }
    // HTML: the page's service detail carries the form as the value.
    let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("\"disconnected\""))
    // Markdown: the table has the Unsupported column.
    let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
    #expect(markdown.contains("| Missing | Unsupported |"))
    // The coverage state, through the gate: PrivateTmp=disconnected meets fedora-40's core;
    // ProtectControlGroups=private does not (its cgroup tree is writable).
    let check = try run([
      try unitauditBinary(), "check", scan.path, "--baseline", "fedora-40", "--require", "core",
    ])
    #expect(check.status == 1)
    for host in newer {
      #expect(!check.output.contains("\(host.name) nginx.service PrivateTmp:"), "\(host.name)")
      #expect(
        check.output.contains(
          "\(host.name) nginx.service ProtectControlGroups: is private; required: ProtectControlGroups ∈ {yes, strict}"
        ),
        "\(host.name)")
      #expect(!check.output.contains("\(host.name) chrony.service ProtectControlGroups:"), "\(host.name)")
    }
  }

  /// `check --sarif` of the real fleet, with its unreachable and refused hosts, keeps every
  /// rule GitHub code scanning holds an upload to; each failed host's result points at the
  /// inventory line that names it.
  func checkSARIF(scan: URL, inventory: String, failed: [String]) throws {
    let file = scan.appendingPathComponent("check.sarif")
    let check = try run([
      try unitauditBinary(), "check", scan.path, "--baseline", "fedora-40", "--sarif", file.path,
    ])
    #expect(check.status == 1, "\(check.output.suffix(2_000))")
    let data = try Data(contentsOf: file)
    let broken = GitHubSARIFRules.check(data, gzippedBytes: try GitHubSARIFRules.gzippedSize(of: file))
    #expect(broken.isEmpty, "\(broken)")
    let log = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let results = try #require((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])
    let lines = try String(contentsOfFile: inventory, encoding: .utf8).components(separatedBy: "\n")
    for host in failed {
      let result = try #require(
        results.first { ($0["properties"] as? [String: Any])?["hosts"] as? [String] == [host] },
        "\(host) has a result")
      let physical = (result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any]
      let uri = (physical?["artifactLocation"] as? [String: Any])?["uri"] as? String
      let line = try #require((physical?["region"] as? [String: Any])?["startLine"] as? Int)
      #expect(uri == String(inventory.drop { $0 == "/" }), "\(host)")
      #expect(lines.indices.contains(line - 1) && lines[line - 1].contains(host), "\(host): line \(line)")
    }
    print("SARIF of the fleet: \(results.count) results, \(data.count) bytes")
  }

  /// The unit-file situations Scripts/fleet sets up are in the scan, so the comparison covers
  /// them.
  func checkSituations(_ hosts: [HostReport]) throws {
    // Every web host of every release: the scan records hosts in the order they finished.
    let webHosts = hosts.filter { $0.groups.contains("variants") }
    #expect(webHosts.contains { $0.name == "h2" }, "the fleet has bookworm's web+variants host")
    for web in webHosts {
      let nginx = try #require(web.service(named: "nginx.service"), "\(web.name)")
      // Three drop-ins on every release; on trixie and testing a fourth with newer values.
      let names = nginx.dropInPaths.map { URL(fileURLWithPath: $0).lastPathComponent }
      let newer = (web.identity?.systemdVersion ?? 0) >= 257
      #expect(
        names == ["10-first.conf", "20-second.conf", "30-reset.conf"] + (newer ? ["40-newer.conf"] : []),
        "\(web.name): \(names)")
      #expect(nginx.hardening.protectSystem?.value == .strict, "\(web.name)")
      #expect(nginx.hardening.protectSystem?.source?.file.hasSuffix("20-second.conf") == true, "\(web.name)")
      #expect(
        nginx.hardening.systemCallFilter == nil,
        "\(web.name): the empty assignment in 30-reset.conf resets the list")
      let cron = try #require(web.service(named: "cron.service"), "\(web.name)")
      #expect(cron.fragmentPath == "/etc/systemd/system/cron.service", "\(web.name)")
      #expect(cron.files.first?.origin == .admin, "\(web.name)")
      #expect(web.service(named: "rsyslog.service")?.isMasked == true, "\(web.name)")
      let chrony = try #require(web.service(named: "chrony.service"), "\(web.name)")
      #expect(chrony.files.contains { $0.origin == .runtime && $0.isDropIn }, "\(web.name)")
    }
    for host in hosts {
      let user = try #require(host.service(named: "unitaudit-alias.service"), "\(host.name): alias resolves")
      #expect(user.id == "unitaudit-user.service" && user.hardening.user?.value == "nobody")
      let dynamic = try #require(host.service(named: "unitaudit-dynamic.service"))
      #expect(dynamic.hardening.user?.impliedBy == "DynamicUser")
      #expect(host.service(named: "unitaudit-demo@alpha.service") != nil, "\(host.name): template instance")
      // systemd 260 dropped the SysV generator (NEWS): the script is no unit there.
      let version = try #require(host.identity?.systemdVersion, "\(host.name): systemd version")
      if version < 260 {
        let legacy = try #require(host.service(named: "unitaudit-legacy.service"), "\(host.name): SysV unit")
        #expect(legacy.sourcePath == "/etc/init.d/unitaudit-legacy")
        #expect(legacy.files.first?.origin == .generated)
      } else {
        #expect(host.service(named: "unitaudit-legacy.service") == nil, "\(host.name): systemd \(version)")
      }
    }
  }
}
