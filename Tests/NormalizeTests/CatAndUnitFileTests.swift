import Testing
import UnitModel

@testable import Normalize

@Suite("systemctl cat and unit files")
struct CatAndUnitFileTests {
  @Test("h1 cups.service: ProtectSystem=strict from the admin drop-in, at its real line")
  func cupsDropIn() throws {
    let (out, _) = try Fixture.sample("cat_cups_dropin")
    let split = splitCatOutput(
      out,
      expected: [
        ExpectedUnitFiles(
          unit: "cups.service", masked: false,
          paths: ["/lib/systemd/system/cups.service", "/etc/systemd/system/cups.service.d/50-harden.conf"])
      ])
    let files = try #require(split.files["cups.service"])
    #expect(
      files.map(\.path) == [
        "/lib/systemd/system/cups.service", "/etc/systemd/system/cups.service.d/50-harden.conf",
      ])
    #expect(split.diagnostics.isEmpty)
    let directives = files.flatMap { parseUnitFile($0).directives }
    let settings = HardeningResolver.resolve(directives).settings
    let protect = try #require(settings.protectSystem)
    #expect(protect.value == .strict)
    #expect(protect.source == Provenance(file: "/etc/systemd/system/cups.service.d/50-harden.conf", line: 2))
    #expect(protect.source?.origin == .admin)
    #expect(settings.protectHome?.value == .yes)
    #expect(
      settings.systemCallFilter?.value == FilterList(mode: .allow, entries: ["@default", "@system-service"]))
    #expect(
      settings.restrictAddressFamilies?.value
        == FilterList(mode: .allow, entries: ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"]))
    #expect(settings.capabilityBoundingSet?.value.count == 9)
    #expect(settings.privateDevices?.value == false)
    // The vendor fragment's ExecStart is line 8 of its own file.
    let execStart = try #require(directives.first { $0.key == "ExecStart" })
    #expect(execStart.source == Provenance(file: "/lib/systemd/system/cups.service", line: 8))
    #expect(execStart.source.origin == .vendor)
  }

  @Test("an alias prints its target's file; three units, one missing")
  func aliasAndMissing() throws {
    let alias = try Fixture.sample("cat_alias_sshd").stdout
    let split = splitCatOutput(
      alias,
      expected: [
        ExpectedUnitFiles(unit: "ssh.service", masked: false, paths: ["/lib/systemd/system/ssh.service"])
      ])
    let ssh = try #require(split.files["ssh.service"]?.first)
    let directives = parseUnitFile(ssh).directives
    #expect(directives.first { $0.key == "Alias" }?.value == "sshd.service")
    #expect(
      directives.filter { $0.key == "ExecReload" }.map(\.value) == [
        "/usr/sbin/sshd -t", "/bin/kill -HUP $MAINPID",
      ])

    let (three, errors) = try Fixture.sample("cat_ssh_cups_missing")
    #expect(errors.contains("No files found for missing.service."))
    let both = splitCatOutput(
      three,
      expected: [
        ExpectedUnitFiles(unit: "ssh.service", masked: false, paths: ["/lib/systemd/system/ssh.service"]),
        ExpectedUnitFiles(
          unit: "cups.service", masked: false,
          paths: ["/lib/systemd/system/cups.service", "/etc/systemd/system/cups.service.d/50-harden.conf"]),
      ])
    #expect(both.files["ssh.service"]?.count == 1)
    #expect(both.files["cups.service"]?.count == 2)
    // The ssh file ends before the cups header: no cups line leaks into ssh.
    #expect(both.files["ssh.service"]?.first?.lines.contains { $0.contains("CUPS") } == false)
    #expect(both.diagnostics.isEmpty)

    let nothing = splitCatOutput(try Fixture.sample("cat_missing").stdout, expected: [])
    #expect(nothing.files.isEmpty)
  }

  @Test("a masked unit prints one line and no file")
  func masked() throws {
    let split = splitCatOutput(
      try Fixture.sample("cat_masked_runtime").stdout,
      expected: [ExpectedUnitFiles(unit: "cron.service", masked: true, paths: [])])
    #expect(split.masked == ["cron.service"])
    #expect(split.files.isEmpty)
    #expect(split.diagnostics.isEmpty)
  }

  @Test("an instance shows its template; specifiers stay verbatim")
  func instanceAndTemplate() throws {
    let split = splitCatOutput(
      try Fixture.sample("cat_instance_pg").stdout,
      expected: [
        ExpectedUnitFiles(
          unit: "postgresql@15-main.service", masked: false,
          paths: ["/lib/systemd/system/postgresql@.service"])
      ])
    let file = try #require(split.files["postgresql@15-main.service"]?.first)
    let directives = parseUnitFile(file).directives
    #expect(
      directives.first { $0.key == "ExecStart" }?.value
        == "-/usr/bin/pg_ctlcluster --skip-systemctl-redirect %i start")
    #expect(directives.first { $0.key == "PIDFile" }?.source.line == 26)
    // Commented-out assignments are not directives.
    #expect(!directives.contains { $0.key == "Restart" })

    let getty = splitCatOutput(
      try Fixture.sample("cat_instance_getty_tty1").stdout,
      expected: [
        ExpectedUnitFiles(
          unit: "getty@tty1.service", masked: false, paths: ["/lib/systemd/system/getty@.service"])
      ])
    #expect(getty.files["getty@tty1.service"]?.count == 1)
    let template = parseUnitFile(
      Fixture.unitFile("/lib/systemd/system/getty@.service", try Fixture.sample("cat_template_getty").stdout))
    #expect(template.directives.contains { $0.key == "ExecStart" && $0.value.hasPrefix("-/sbin/agetty") })
  }

  @Test("two units in one cat: mariadb's continuation lines and comments")
  func twoUnitsWithContinuations() throws {
    let split = splitCatOutput(
      try Fixture.sample("cat_sysv_generated").stdout,
      expected: [
        ExpectedUnitFiles(
          unit: "mariadb.service", masked: false, paths: ["/lib/systemd/system/mariadb.service"]),
        ExpectedUnitFiles(
          unit: "postgresql.service", masked: false, paths: ["/lib/systemd/system/postgresql.service"]),
      ])
    let mariadb = parseUnitFile(try #require(split.files["mariadb.service"]?.first))
    let execStart = try #require(mariadb.directives.first { $0.key == "ExecStart" })
    #expect(execStart.value.hasPrefix("/bin/sh -c \"set -f;"))
    #expect(execStart.value.hasSuffix("$_WSREP_NEW_CLUSTER $VAR\""))
    #expect(!execStart.value.contains("\\"))
    let settings = HardeningResolver.resolve(mariadb.directives).settings
    #expect(settings.protectSystem?.value == .full)
    #expect(settings.protectHome?.value == .yes)
    #expect(settings.privateNetwork?.value == false)
    #expect(settings.privateTmp?.value == false)
    #expect(settings.user?.value == "mysql")
    #expect(settings.ambientCapabilities?.value == ["CAP_IPC_LOCK"])
    #expect(settings.umask?.value == "0007")
    #expect(settings.noNewPrivileges == nil, "NoNewPrivileges is only in a comment")
    let postgres = parseUnitFile(try #require(split.files["postgresql.service"]?.first))
    #expect(postgres.directives.first { $0.key == "Type" }?.value == "oneshot")
  }

  @Test("systemd's syntax: comments, continuations, empty values, bad lines")
  func syntax() {
    let file = Fixture.unitFile(
      "/etc/systemd/system/x.service.d/override.conf",
      """
      ; a comment
      Orphan=1
      [Service]
        PrivateTmp = yes
      ExecStart=/bin/echo one \\
      # a comment inside a continuation is skipped
        two
      Environment="A=b c" 'D=e'
      Garbage line
      CapabilityBoundingSet=
      ProtectSystem=full
      [Service
      ProtectHome=yes
      [Service]
      ProtectSystem=strict\\\\
      """)
    let parsed = parseUnitFile(file)
    let keys = parsed.directives.map(\.key)
    #expect(
      keys == [
        "PrivateTmp", "ExecStart", "Environment", "CapabilityBoundingSet", "ProtectSystem", "ProtectSystem",
      ])
    #expect(parsed.directives[0].value == "yes")
    #expect(parsed.directives[0].source.line == 4)
    #expect(parsed.directives[1].value == "/bin/echo one    two")
    #expect(parsed.directives[1].source.line == 5)
    #expect(parsed.directives[2].value == "\"A=b c\" 'D=e'")
    #expect(parsed.directives[3].value == "")
    #expect(parsed.directives.last?.value == "strict\\\\")
    let codes = parsed.diagnostics.map(\.code)
    #expect(
      codes == ["unit.outside-section", "unit.missing-equals", "unit.bad-section", "unit.outside-section"])
    #expect(parsed.diagnostics[1].line == 9)
    #expect(parsed.diagnostics.allSatisfy { $0.file == file.path })
  }

  @Test("file origins follow systemd's directories")
  func origins() {
    #expect(FileOrigin(path: "/lib/systemd/system/a.service") == .vendor)
    #expect(FileOrigin(path: "/usr/lib/systemd/system/a.service.d/b.conf") == .vendor)
    #expect(FileOrigin(path: "/etc/systemd/system/a.service") == .admin)
    #expect(FileOrigin(path: "/run/systemd/system/a.service.d/x.conf") == .runtime)
    #expect(FileOrigin(path: "/run/systemd/transient/a.service") == .runtime)
    #expect(FileOrigin(path: "/run/systemd/generator.late/a.service") == .generated)
    #expect(FileOrigin(path: "/home/me/a.service") == .unknown)
  }

  @Test("lines split on bytes: every line end form, empty lines, non-ASCII text")
  func lineSplitting() {
    // What the lines must be: split on "\n", one "\r" before it dropped.
    func reference(_ text: String) -> [String] {
      text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { bytes in
        String(decoding: bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes[...], as: UTF8.self)
      }
    }
    let texts = [
      "", "\n", "\n\n", "a", "a\n", "a\r\n", "\r", "\r\r\n", "é\r\nb", "a\nb\r\nc\rd\n", "x\u{301}\ny",
      "🇩🇪\r\n\r\n…", String(repeating: "Key=value\n", count: 1000),
    ]
    for text in texts {
      #expect(textLines(text).map(String.init) == reference(text), "\(text.debugDescription)")
    }
  }

  @Test("unit files are read byte by byte, as systemd reads them: a combining mark does not hide '=' or '#'")
  func combiningMarks() {
    let file = UnitFileText(
      path: "/etc/systemd/system/m.service",
      lines: ["[Service]", "#\u{301} a comment", "User=\u{301}x", "Group\u{301}=y", "[\u{301}]", "Z=1"])
    let parsed = parseUnitFile(file)
    #expect(parsed.directives.map(\.key) == ["User", "Group\u{301}", "Z"])
    #expect(parsed.directives.map(\.value) == ["\u{301}x", "y", "1"])
    #expect(parsed.directives.map(\.section) == ["Service", "Service", "\u{301}"])
    #expect(parsed.diagnostics.isEmpty)
  }

  @Test("a unit file with CRLF line ends reads as systemd reads it; so does show")
  func crlfLineEnds() throws {
    let out = "# /etc/systemd/system/win.service\r\n[Service]\r\nProtectSystem=strict\r\nUser=wéb\r\n"
    let split = splitCatOutput(
      out,
      expected: [
        ExpectedUnitFiles(unit: "win.service", masked: false, paths: ["/etc/systemd/system/win.service"])
      ])
    let file = try #require(split.files["win.service"]?.first)
    #expect(file.lines == ["[Service]", "ProtectSystem=strict", "User=wéb"])
    let directives = parseUnitFile(file).directives
    #expect(directives.map(\.value) == ["strict", "wéb"])
    #expect(directives.map(\.source.line) == [2, 3])
    #expect(
      parseShowBlocks("Id=a.service\r\nUser=wéb\r\n\r\nId=b.service\n") == [
        ["Id": "a.service", "User": "wéb"], ["Id": "b.service"],
      ])
  }
}
