import Testing
import UnitModel

@testable import Normalize

/// Directives and values that only some systemd versions accept: what each version takes
/// effect with, from real probe output (trixie-web: systemd 257; testing-web: 262, recorded
/// from the fleet with Scripts/record-probe) and from directives.
@Suite("systemd versions: named values, newer directives, what an older systemd ignores")
struct SystemdVersionTests {
  /// `Key=Value` lines of a `[Service]` section (or `[Unit]`, as `Unit:Key=Value`).
  func resolve(_ lines: [String], systemd: Int?, unit: String = "a.service") -> (
    settings: HardeningSettings, diagnostics: [Diagnostic]
  ) {
    let directives = lines.enumerated().map { index, line in
      var text = Substring(line)
      var section = "Service"
      if text.hasPrefix("Unit:") {
        section = "Unit"
        text = text.dropFirst("Unit:".count)
      }
      let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      return Directive(
        section: section, key: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "",
        source: Provenance(file: "/etc/systemd/system/\(unit).d/50.conf", line: index + 1))
    }
    return HardeningResolver.resolve(directives, unit: unit, systemd: systemd)
  }

  @Test("named values turn the setting on with their name, from the version that added them")
  func namedValues() {
    let lines = [
      "PrivateTmp=disconnected", "PrivateUsers=identity", "ProtectControlGroups=strict",
      "ProtectHostname=private:box",
    ]
    let new = resolve(lines, systemd: 262)
    #expect(new.diagnostics.isEmpty, "\(new.diagnostics)")
    #expect(new.settings.privateTmp?.value == true && new.settings.privateTmp?.variant == "disconnected")
    #expect(new.settings.privateUsers?.variant == "identity")
    #expect(new.settings.protectControlGroups?.variant == "strict")
    #expect(new.settings.protectHostname?.value == true && new.settings.protectHostname?.variant == "private")
    #expect(new.settings.protectHostname?.source?.line == 4)

    // systemd 257 knows all but ProtectHostname=private (258).
    let trixie = resolve(lines, systemd: 257)
    #expect(trixie.settings.privateTmp?.variant == "disconnected")
    #expect(trixie.settings.protectHostname == nil)
    #expect(trixie.diagnostics.map(\.code) == ["unit.unsupported"])
    #expect(
      trixie.diagnostics.first?.message.contains("systemd 257 does not accept ProtectHostname=private")
        == true)
    #expect(trixie.diagnostics.first?.line == 4)

    // systemd 252 ignores every one of them, as it says in its log.
    let bookworm = resolve(lines, systemd: 252)
    #expect(bookworm.settings.privateTmp == nil && bookworm.settings.privateUsers == nil)
    #expect(bookworm.settings.protectControlGroups == nil && bookworm.settings.protectHostname == nil)
    #expect(
      bookworm.diagnostics.count == 4 && bookworm.diagnostics.allSatisfy { $0.code == "unit.unsupported" })

    // A plain boolean has no variant; an unknown word is a bad value on every version.
    let plain = resolve(["PrivateTmp=yes", "PrivateUsers=sometimes"], systemd: 262)
    #expect(plain.settings.privateTmp?.variant == nil && plain.settings.privateTmp?.value == true)
    #expect(plain.settings.privateUsers == nil)
    #expect(plain.diagnostics.map(\.code) == ["unit.bad-value"])
    #expect(plain.diagnostics.first?.message.contains("one of self, identity, full, managed") == true)
  }

  @Test("a directive newer than the host's systemd is ignored, with the version that added it")
  func newerDirectives() {
    let old = resolve(["PrivateIPC=yes", "ProtectClock=yes", "ProtectProc=invisible"], systemd: 247)
    #expect(old.settings.privateIPC == nil)
    #expect(old.settings.protectClock?.value == true)
    #expect(old.settings.protectProc?.value == .invisible)
    #expect(old.diagnostics.count == 1)
    #expect(
      old.diagnostics.first?.message.contains("systemd 247 does not know PrivateIPC= (systemd 248 added it)")
        == true)
    // systemd 239 (RHEL 8) knows none of ProtectClock, ProtectProc and PrivateIPC.
    #expect(
      resolve(["PrivateIPC=yes", "ProtectClock=yes", "ProtectProc=invisible"], systemd: 239).diagnostics.count
        == 3)
    // An unknown version takes every directive and value as accepted.
    let unknown = resolve(["PrivateIPC=yes", "PrivateUsers=full"], systemd: nil)
    #expect(unknown.diagnostics.isEmpty && unknown.settings.privateUsers?.variant == "full")
  }

  @Test("DynamicUser implies a disconnected /tmp from 257 on, unless a file set PrivateTmp=yes")
  func dynamicUserTmp() {
    #expect(resolve(["DynamicUser=yes"], systemd: 257).settings.privateTmp?.variant == "disconnected")
    #expect(resolve(["DynamicUser=yes"], systemd: 252).settings.privateTmp?.variant == nil)
    let explicit = resolve(["DynamicUser=yes", "PrivateTmp=yes"], systemd: 262).settings.privateTmp
    #expect(explicit?.variant == nil && explicit?.source?.line == 2)
    #expect(
      resolve(["DynamicUser=yes", "PrivateTmp=no"], systemd: 262).settings.privateTmp?.variant
        == "disconnected")
  }

  @Test("from 260 on, PrivateTmp=yes without default dependencies or a /tmp mount is disconnected")
  func earlyBootTmp() {
    let early = ["Unit:DefaultDependencies=no", "PrivateTmp=yes"]
    #expect(resolve(early, systemd: 262).settings.privateTmp?.variant == "disconnected")
    #expect(resolve(early, systemd: 257).settings.privateTmp?.variant == nil)
    #expect(
      resolve(early + ["Unit:RequiresMountsFor=/tmp"], systemd: 262).settings.privateTmp?.variant == nil)
    #expect(resolve(["PrivateTmp=yes"], systemd: 262).settings.privateTmp?.variant == nil)
  }

  @Test(
    "recorded hosts: each newer value on a real service, exposures as systemd printed them",
    arguments: [("trixie-web", 257), ("testing-web", 262)])
  func recordedHosts(host: String, version: Int) throws {
    let report = normalize(try Fixture.probe(host), label: HostLabel(name: host))
    #expect(report.status == HostStatus(.ok))
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    #expect(report.identity?.systemdVersion == version)
    for entry in try Fixture.analyzeListing(host) {
      let service = try #require(report.service(named: entry.unit), "\(host) \(entry.unit)")
      #expect(service.overall?.exposure.description == entry.exposure, "\(host) \(entry.unit)")
    }
    func hardening(_ unit: String) throws -> HardeningSettings {
      try #require(report.service(named: unit), "\(host) \(unit)").hardening
    }
    let nginx = try hardening("nginx.service")
    #expect(nginx.privateTmp?.variant == "disconnected")
    #expect(nginx.privateTmp?.source?.file == "/etc/systemd/system/nginx.service.d/40-newer.conf")
    #expect(nginx.protectControlGroups?.variant == "private")
    let chrony = try hardening("chrony.service")
    #expect(chrony.protectControlGroups?.variant == "strict")
    #expect(chrony.privateUsers?.variant == "self")
    #expect(try hardening("cron.service").privateUsers?.variant == "identity")
    #expect(try hardening("unitaudit-dynamic.service").privateTmp?.variant == "disconnected")
    if version >= 258 {
      #expect(nginx.privateUsers?.variant == "full")
      #expect(chrony.protectHostname?.variant == "private")
      #expect(try hardening("systemd-hostnamed.service").privateTmp?.variant == "disconnected")
    } else {
      #expect(nginx.privateUsers == nil)
      #expect(chrony.protectHostname?.variant == nil)
    }
  }
}

@Suite("every directive of the table through the resolver")
struct DirectiveTableResolverTests {
  @Test("each entry's example sets its field; a systemd older than the entry ignores it")
  func everyEntry() {
    for spec in DirectiveTable.all {
      let directive = Directive(
        section: "Service", key: spec.name, value: spec.example,
        source: Provenance(file: "/etc/systemd/system/a.service", line: 3))
      let resolved = HardeningResolver.resolve([directive], unit: "a.service", systemd: nil)
      #expect(resolved.diagnostics.isEmpty, "\(spec.name)=\(spec.example): \(resolved.diagnostics)")
      let setting = spec.field.read(resolved.settings.fields)
      #expect(setting?.source?.line == 3, "\(spec.name)=\(spec.example) sets no field")
      if let since = spec.since {
        let old = HardeningResolver.resolve([directive], unit: "a.service", systemd: since - 1)
        #expect(spec.field.read(old.settings.fields) == nil, "\(spec.name) on systemd \(since - 1)")
        #expect(old.diagnostics.map(\.code) == ["unit.unsupported"])
      }
      for named in spec.namedValues {
        var value = directive
        value.value = named.name
        let on = HardeningResolver.resolve([value], unit: "a.service", systemd: named.since)
        #expect(spec.field.read(on.settings.fields)?.variant == named.name, "\(spec.name)=\(named.name)")
      }
    }
  }
}
