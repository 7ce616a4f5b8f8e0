import Foundation
import TestSupport
import Testing

/// The Debian package that `Scripts/package` built: `$UNITAUDIT_DEB` names it.
enum BuiltPackage {
  static var path: String? { ProcessInfo.processInfo.environment["UNITAUDIT_DEB"] }
}

/// A fleet host reached over OpenSSH as root with the fleet's key.
struct FleetShell {
  let fleet: Fleet
  let name: String
  let address: String
  let port: Int

  var sshOptions: [String] {
    [
      "-i", fleet.key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
      "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-F", "/dev/null",
    ]
  }

  /// Runs `command` with `sh -c` on the host; returns its exit status and output.
  func run(_ command: String) throws -> (status: Int32, output: String) {
    try TestSupport.run(["/usr/bin/ssh"] + sshOptions + ["-p", String(port), "root@\(address)", command])
  }

  /// Runs `command` and requires exit status 0.
  @discardableResult
  func succeed(_ command: String) throws -> String {
    let result = try run(command)
    guard result.status == 0 else {
      throw E2EError.failed("`\(command)` exited \(result.status) on \(address):\n\(result.output)")
    }
    return result.output
  }

  /// Copies a local file to `remote` (scp's SCP protocol: the hosts have no SFTP server).
  func copy(_ local: String, to remote: String) throws {
    let result = try TestSupport.run(
      ["/usr/bin/scp", "-O"] + sshOptions + ["-P", String(port), local, "root@\(address):\(remote)"])
    guard result.status == 0 else {
      throw E2EError.failed("scp \(local) exited \(result.status): \(result.output)")
    }
  }
}

@Suite("End to end: the Debian package installed on a fleet host", .tags(.e2e), .exclusive)
struct InstallEndToEndTests {
  /// The hosts of the minimal flavour, one per release: their layers carry what the package
  /// depends on (libssh-4) and man-db, and nothing of the build (no Swift toolchain, no sources).
  func minimalHosts(_ fleet: Fleet) throws -> [FleetShell] {
    let listing = try run([try unitauditBinary(), "inventory", "-i", fleet.inventory, "--json"])
    guard listing.status == 0 else { throw E2EError.failed("unitaudit inventory: \(listing.output)") }
    struct Entry: Decodable {
      var name: String
      var address: String?
      var port: Int?
      var groups: [String]
    }
    let hosts = try JSONDecoder().decode([Entry].self, from: Data(listing.output.utf8))
    var seen: Set<String> = []
    let minimal = hosts.filter {
      $0.groups.contains("minimal") && seen.insert($0.groups.first ?? "").inserted
    }
    #expect(!minimal.isEmpty, "the fleet has minimal hosts")
    return minimal.map {
      FleetShell(fleet: fleet, name: $0.name, address: $0.address ?? $0.name, port: $0.port ?? 22)
    }
  }

  /// The oldest C library the package accepts, from its Depends (`libc6 (>= 2.35)`).
  func requiredLibc(_ deb: String) throws -> String {
    let depends = try run(["/usr/bin/dpkg-deb", "-f", deb, "Depends"]).output
    let match = try #require(depends.firstMatch(of: /libc6 \(>= ([0-9.]+)\)/), "Depends: \(depends)")
    return String(match.1)
  }

  @Test(
    "dpkg -i on a booted host; the binary, alone in an empty folder, scans, reports and checks",
    .enabled(
      if: Fleet.configured != nil && BuiltPackage.path != nil,
      "needs a booted fleet (UNITAUDIT_FLEET) and a built package (UNITAUDIT_DEB): Scripts/test sets both"))
  func installedPackageWorks() throws {
    let fleet = try #require(Fleet.configured)
    let deb = try #require(BuiltPackage.path)
    let libc = try requiredLibc(deb)
    var installed = 0
    for host in try minimalHosts(fleet) {
      // A release whose C library is older than the package needs (Debian 11) refuses it.
      let newEnough = try host.run(
        "dpkg --compare-versions \"$(dpkg-query -W -f '${Version}' libc6)\" ge \(libc)")
      if newEnough.status != 0 {
        try host.copy(deb, to: "/root/unitaudit.deb")
        let refused = try host.run(
          "dpkg -i /root/unitaudit.deb; rc=$?; dpkg --purge unitaudit >/dev/null 2>&1; exit $rc")
        #expect(refused.status != 0 && refused.output.contains("libc6"), "\(host.name): \(refused.output)")
        continue
      }
      try installAndRun(on: host, deb: deb)
      installed += 1
    }
    #expect(installed >= 1)
  }

  func installAndRun(on host: FleetShell, deb: String) throws {
    let expectedVersion = try run([try unitauditBinary(), "--version"]).output

    try host.succeed(
      "dpkg --purge unitaudit >/dev/null 2>&1; rm -rf /root/unitaudit-install; mkdir /root/unitaudit-install")
    defer { _ = try? host.run("dpkg --purge unitaudit; rm -rf /root/unitaudit-install /root/unitaudit.deb") }
    // Nothing of the build is on the host.
    #expect(
      try host.run("command -v swift || ls /opt/swift").status != 0, "the host must have no Swift toolchain")

    try host.copy(deb, to: "/root/unitaudit.deb")
    let install = try host.run("dpkg -i /root/unitaudit.deb")
    #expect(install.status == 0, "dpkg -i: \(install.output)")
    #expect(try host.succeed("dpkg-query -W -f '${Status}' unitaudit") == "install ok installed")
    // The binary is alone: no resource bundles beside it.
    #expect(try host.succeed("ls /usr/bin | grep -i unitaudit") == "unitaudit\n")
    #expect(try host.succeed("unitaudit --version") == expectedVersion)
    #expect(
      expectedVersion.range(
        of: #"^\d+\.\d+\.\d+ \(commit [0-9a-f]{7,}(-dirty)?\)\n$"#, options: .regularExpression) != nil)

    // The man page and the completions, from the command definitions.
    #expect(try host.succeed("man -w unitaudit") == "/usr/share/man/man1/unitaudit.1.gz\n")
    let manual = try host.succeed("MANPAGER=cat MANWIDTH=100 man unitaudit 2>&1")
    for word in ["UNITAUDIT(1)", "scan", "coverage", "check", "report", "baseline", "--version"] {
      #expect(manual.contains(word), "man unitaudit lacks \(word)")
    }
    let bash = try host.succeed(
      "bash -c '. /usr/share/bash-completion/completions/unitaudit; COMP_WORDS=(unitaudit ba); COMP_CWORD=1; "
        + "COMP_LINE=\"unitaudit ba\"; COMP_POINT=12; _unitaudit; printf \"%s\\n\" \"${COMPREPLY[@]}\"'")
    #expect(bash.split(separator: "\n").contains("baseline"), "bash completion of `unitaudit ba`: \(bash)")
    try host.succeed(
      "test -s /usr/share/zsh/vendor-completions/_unitaudit && test -s /usr/share/fish/vendor_completions.d/unitaudit.fish"
    )

    // A copy of the installed binary alone in an empty folder runs every command; its files
    // are all it leaves there.
    let folder = "/root/unitaudit-install"
    try host.succeed("cp /usr/bin/unitaudit \(folder)/unitaudit")
    let inFolder = "cd \(folder) && ./unitaudit"
    let scan = try host.run("\(inFolder) scan --local -o scan --report")
    #expect(scan.status == 0, "scan --local --report: \(scan.output)")
    let files = try host.succeed("cd \(folder) && ls -A . scan scan/report")
    for name in [
      "scan.db", "report", "report.html", "report.md", "report.json",
      "services.csv",
      "hosts.csv", "checks.csv", "owners.csv",
    ] {
      #expect(files.split(separator: "\n").contains(Substring(name)), "\(name) missing from:\n\(files)")
    }
    #expect(try host.succeed("ls -A \(folder)") == "scan\nunitaudit\n")
    // Every report file holds the host and its services.
    let hostName = try host.succeed("hostname").trimmingCharacters(in: .whitespacesAndNewlines)
    for file in ["report.html", "report.json", "hosts.csv"] {
      let text = try host.succeed("cat \(folder)/scan/report/\(file)")
      #expect(text.contains(hostName), "\(file) does not name \(hostName)")
    }
    // The Markdown report is per service: sshd is in the baseline and on the host.
    let markdown = try host.succeed("cat \(folder)/scan/report/report.md")
    #expect(markdown.contains("| sshd.service |"), "report.md lacks sshd.service")
    let services = try host.succeed("cat \(folder)/scan/report/services.csv")
    #expect(services.contains("systemd-journald.service"), "services.csv lacks journald")
    let html = try host.succeed("head -c 200 \(folder)/scan/report/report.html")
    #expect(html.lowercased().contains("<!doctype html>"))

    let coverage = try host.run("\(inFolder) coverage scan")
    #expect(coverage.status == 0, "coverage: \(coverage.output)")
    #expect(coverage.output.contains("fedora-40"))
    // The minimal host is not hardened: the gate finds violations (exit 1), it does not crash.
    let check = try host.run("\(inFolder) check scan --require core")
    #expect(check.status == 1, "check: \(check.output)")
    #expect(check.output.contains("systemd-journald.service") || check.output.contains("violation"))
    let report = try host.run("\(inFolder) report scan -o again --format md,csv")
    #expect(report.status == 0, "report: \(report.output)")
    #expect(
      try host.succeed("ls \(folder)/again")
        == "checks.csv\nhosts.csv\nowners.csv\npackages.csv\nreport.md\nservices.csv\n"
    )
    // Offline, the installed binary audits the host's own tree as a tree (its dpkg and
    // systemd-analyze are the host's).
    let offline = try host.run("\(inFolder) scan --root self=/ -q -o offline")
    #expect(offline.status == 0, "scan --root: \(offline.output)")
    let exported = try host.succeed("\(inFolder) export offline --jsonl")
    #expect(exported.contains("\"kind\":\"tree\"") && exported.contains("\"systemd-journald.service\""))
    let list = try host.succeed("\(inFolder) baseline list")
    #expect(list.contains("fedora-40"))
    let show = try host.succeed("\(inFolder) baseline show fedora-40")
    #expect(show.contains("set core:") && show.contains("PrivateTmp"))
  }
}
