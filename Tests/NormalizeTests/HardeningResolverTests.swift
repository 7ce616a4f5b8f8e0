import Testing
import UnitModel

@testable import Normalize

@Suite("effective hardening settings")
struct HardeningResolverTests {
  /// Directives from a fragment and drop-ins, each `path|Key=Value`.
  func resolve(_ lines: [String]) -> (settings: HardeningSettings, diagnostics: [Diagnostic]) {
    var directives: [Directive] = []
    for (index, line) in lines.enumerated() {
      let parts = line.split(separator: "|", maxSplits: 1)
      let assignment = parts[1].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      directives.append(
        Directive(
          section: "Service", key: String(assignment[0]),
          value: assignment.count > 1 ? String(assignment[1]) : "",
          source: Provenance(file: String(parts[0]), line: index + 1)))
    }
    return HardeningResolver.resolve(directives)
  }

  let vendor = "/lib/systemd/system/a.service"
  let admin = "/etc/systemd/system/a.service.d/10.conf"
  let runtime = "/run/systemd/system/a.service.d/20.conf"

  @Test("the last assignment wins, and says where it came from")
  func lastWins() {
    let result = resolve([
      "\(vendor)|ProtectSystem=full", "\(admin)|ProtectSystem=strict", "\(runtime)|PrivateTmp=on",
    ])
    #expect(result.settings.protectSystem == Setting(.strict, source: Provenance(file: admin, line: 2)))
    #expect(result.settings.privateTmp?.value == true)
    #expect(result.settings.privateTmp?.source?.origin == .runtime)
    #expect(resolve(["\(vendor)|ProtectSystem=yes"]).settings.protectSystem?.value == .yes)
    #expect(resolve(["\(vendor)|ProtectHome=true"]).settings.protectHome?.value == .yes)
    #expect(
      resolve(["\(vendor)|ProtectSystem=full", "\(admin)|ProtectSystem="]).settings.protectSystem == nil)
  }

  @Test("a bad value is ignored, as systemd ignores it, with a diagnostic")
  func badValues() {
    let result = resolve([
      "\(vendor)|PrivateTmp=yes", "\(admin)|PrivateTmp=maybe", "\(admin)|ProtectSystem=sometimes",
    ])
    #expect(result.settings.privateTmp?.value == true)
    #expect(result.settings.protectSystem == nil)
    #expect(result.diagnostics.map(\.code) == ["unit.bad-value", "unit.bad-value"])
    #expect(result.diagnostics.first?.line == 2)
  }

  @Test("capability sets: replace when empty or initial, merge otherwise, ~ inverts")
  func capabilities() {
    #expect(
      resolve(["\(vendor)|CapabilityBoundingSet=CAP_NET_ADMIN cap_chown"]).settings.capabilityBoundingSet?
        .value
        == ["CAP_CHOWN", "CAP_NET_ADMIN"])
    #expect(
      resolve(["\(vendor)|CapabilityBoundingSet=CAP_CHOWN", "\(admin)|CapabilityBoundingSet=CAP_KILL"])
        .settings.capabilityBoundingSet?.value == ["CAP_CHOWN", "CAP_KILL"])
    #expect(
      resolve(["\(vendor)|CapabilityBoundingSet=CAP_CHOWN", "\(admin)|CapabilityBoundingSet="])
        .settings.capabilityBoundingSet?.value == [])
    let inverted = resolve(["\(vendor)|CapabilityBoundingSet=~CAP_SYS_ADMIN CAP_SYS_PTRACE"]).settings
    #expect(inverted.capabilityBoundingSet?.value.count == allCapabilities.count - 2)
    #expect(inverted.capabilityBoundingSet?.value.contains("CAP_SYS_ADMIN") == false)
    let narrowed = resolve([
      "\(vendor)|CapabilityBoundingSet=CAP_CHOWN CAP_KILL", "\(admin)|CapabilityBoundingSet=~CAP_KILL",
    ]).settings
    #expect(narrowed.capabilityBoundingSet?.value == ["CAP_CHOWN"])
    #expect(
      resolve(["\(vendor)|AmbientCapabilities=CAP_NET_BIND_SERVICE"]).settings.ambientCapabilities?.value
        == ["CAP_NET_BIND_SERVICE"])
    let unknown = resolve(["\(vendor)|CapabilityBoundingSet=CAP_CHOWN CAP_FLYING"])
    #expect(unknown.settings.capabilityBoundingSet?.value == ["CAP_CHOWN"])
    #expect(unknown.diagnostics.count == 1)
  }

  @Test("address families: allow or deny list by the first assignment, none, reset")
  func addressFamilies() {
    #expect(
      resolve([
        "\(vendor)|RestrictAddressFamilies=AF_UNIX AF_INET", "\(admin)|RestrictAddressFamilies=AF_INET6",
      ])
      .settings.restrictAddressFamilies?.value
        == FilterList(mode: .allow, entries: ["AF_INET", "AF_INET6", "AF_UNIX"]))
    #expect(
      resolve([
        "\(vendor)|RestrictAddressFamilies=AF_UNIX AF_INET", "\(admin)|RestrictAddressFamilies=~AF_INET",
      ])
      .settings.restrictAddressFamilies?.value == FilterList(mode: .allow, entries: ["AF_UNIX"]))
    #expect(
      resolve(["\(vendor)|RestrictAddressFamilies=~AF_PACKET"]).settings.restrictAddressFamilies?.value
        == FilterList(mode: .deny, entries: ["AF_PACKET"]))
    #expect(
      resolve(["\(vendor)|RestrictAddressFamilies=none"]).settings.restrictAddressFamilies?.value
        == FilterList(mode: .allow, entries: []))
    // One family under two names (fprintd's unit on bookworm): systemd prints AF_UNIX once.
    #expect(
      resolve(["\(vendor)|RestrictAddressFamilies=AF_UNIX AF_LOCAL AF_NETLINK AF_ROUTE"]).settings
        .restrictAddressFamilies?.value == FilterList(mode: .allow, entries: ["AF_NETLINK", "AF_UNIX"]))
    #expect(
      resolve([
        "\(vendor)|RestrictAddressFamilies=AF_UNIX AF_INET", "\(admin)|RestrictAddressFamilies=~AF_LOCAL",
      ])
      .settings.restrictAddressFamilies?.value == FilterList(mode: .allow, entries: ["AF_INET"]))
    #expect(
      resolve(["\(vendor)|RestrictAddressFamilies=AF_UNIX", "\(admin)|RestrictAddressFamilies="])
        .settings.restrictAddressFamilies == nil)
  }

  @Test("system call filter: an allow list starts from @default; errno suffixes dropped")
  func syscalls() {
    #expect(
      resolve([
        "\(vendor)|SystemCallFilter=@system-service",
        "\(admin)|SystemCallFilter=~@privileged @resources:EPERM",
      ])
      .settings.systemCallFilter?.value == FilterList(mode: .allow, entries: ["@default", "@system-service"]))
    #expect(
      resolve(["\(vendor)|SystemCallFilter=~@mount", "\(admin)|SystemCallFilter=~@swap"])
        .settings.systemCallFilter?.value == FilterList(mode: .deny, entries: ["@mount", "@swap"]))
    #expect(
      resolve(["\(vendor)|SystemCallArchitectures=native"]).settings.systemCallArchitectures?.value == [
        "native"
      ])
  }

  @Test("namespaces: booleans, lists, inversion and merging")
  func namespaces() {
    #expect(resolve(["\(vendor)|RestrictNamespaces=yes"]).settings.restrictNamespaces?.value == [])
    #expect(
      resolve(["\(vendor)|RestrictNamespaces=no"]).settings.restrictNamespaces?.value
        == allNamespaceTypes.sorted())
    #expect(
      resolve(["\(vendor)|RestrictNamespaces=net mnt"]).settings.restrictNamespaces?.value == ["mnt", "net"])
    #expect(
      resolve(["\(vendor)|RestrictNamespaces=~user"]).settings.restrictNamespaces?.value
        == ["cgroup", "ipc", "mnt", "net", "pid", "uts"])
    #expect(
      resolve(["\(vendor)|RestrictNamespaces=net", "\(admin)|RestrictNamespaces=uts"]).settings
        .restrictNamespaces?.value
        == ["net", "uts"])
  }

  @Test("DynamicUser=yes implies a sandbox, even over explicit values")
  func dynamicUser() {
    let settings = resolve([
      "\(vendor)|PrivateTmp=no", "\(vendor)|DynamicUser=yes", "\(vendor)|ProtectHome=tmpfs",
    ]).settings
    #expect(settings.privateTmp == Setting(true, source: nil, impliedBy: "DynamicUser"))
    #expect(settings.protectSystem?.value == .strict)
    #expect(settings.protectHome?.value == .tmpfs)
    #expect(settings.protectHome?.source?.line == 3)
    #expect(settings.noNewPrivileges?.impliedBy == "DynamicUser")
    #expect(settings.restrictSUIDSGID?.value == true)
    #expect(settings.removeIPC?.value == true)
    #expect(resolve(["\(vendor)|DynamicUser=yes"]).settings.protectHome?.value == .readOnly)
  }

  @Test("lists, umask, user, enums")
  func others() {
    let settings = resolve([
      "\(vendor)|IPAddressDeny=any", "\(admin)|IPAddressAllow=localhost 10.0.0.0/8", "\(vendor)|UMask=0077",
      "\(vendor)|User=nobody", "\(admin)|User=", "\(vendor)|KeyringMode=private",
      "\(vendor)|DevicePolicy=closed",
      "\(vendor)|ProtectProc=invisible", "\(vendor)|ProcSubset=pid",
    ]).settings
    #expect(settings.ipAddressDeny?.value == ["any"])
    #expect(settings.ipAddressAllow?.value == ["localhost", "10.0.0.0/8"])
    #expect(settings.umask?.value == "0077")
    #expect(settings.user == nil)
    #expect(settings.keyringMode?.value == .private)
    #expect(settings.devicePolicy?.value == .closed)
    #expect(settings.protectProc?.value == .invisible)
    #expect(settings.procSubset?.value == .pid)
  }

  @Test("only the [Service] section counts")
  func onlyService() {
    let directive = Directive(
      section: "Unit", key: "PrivateTmp", value: "yes", source: Provenance(file: vendor, line: 1))
    #expect(HardeningResolver.resolve([directive]).settings.privateTmp == nil)
  }

  /// Resolves with a unit name, for settings that depend on it.
  func resolve(_ lines: [String], unit: String) -> HardeningSettings {
    let directives = lines.enumerated().map { index, line in
      let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      return Directive(
        section: "Service", key: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "",
        source: Provenance(file: vendor, line: index + 1))
    }
    return HardeningResolver.resolve(directives, unit: unit).settings
  }

  @Test("sandboxing options narrow the bounding set and close the device policy, as systemd shows them")
  func loadTimeImplications() {
    let devices = resolve(["PrivateDevices=yes"], unit: "a.service")
    let bounding = Set(devices.capabilityBoundingSet?.value ?? [])
    #expect(bounding.count == allCapabilities.count - 2)
    #expect(!bounding.contains("CAP_MKNOD") && !bounding.contains("CAP_SYS_RAWIO"))
    #expect(devices.capabilityBoundingSet?.impliedBy == "PrivateDevices")
    #expect(devices.devicePolicy == Setting(.closed, source: nil, impliedBy: "PrivateDevices"))
    #expect(
      resolve(["PrivateDevices=yes", "DevicePolicy=strict"], unit: "a.service").devicePolicy?.value == .strict
    )

    let narrowed = resolve(
      [
        "CapabilityBoundingSet=CAP_SYSLOG CAP_SYS_TIME CAP_CHOWN", "ProtectKernelLogs=yes",
        "ProtectClock=yes",
      ],
      unit: "a.service")
    #expect(narrowed.capabilityBoundingSet?.value == ["CAP_CHOWN"])
    #expect(narrowed.capabilityBoundingSet?.source?.line == 1)
    #expect(narrowed.capabilityBoundingSet?.impliedBy == "ProtectKernelLogs, ProtectClock")
    // Nothing to take away: the setting stays as the file wrote it.
    let untouched = resolve(
      ["CapabilityBoundingSet=CAP_CHOWN", "ProtectKernelModules=yes"], unit: "a.service")
    #expect(
      untouched.capabilityBoundingSet == Setting(["CAP_CHOWN"], source: Provenance(file: vendor, line: 1)))
  }

  @Test("DynamicUser= without User= runs as the unit's name; User=%i names the instance")
  func derivedUsers() {
    #expect(resolve(["DynamicUser=yes"], unit: "chrony-wait.service").user?.value == "chrony-wait")
    #expect(resolve(["DynamicUser=yes"], unit: "foo@bar.service").user?.value == "foo")
    #expect(resolve(["DynamicUser=yes"], unit: "9lives.service").user == nil)
    #expect(resolve(["DynamicUser=yes", "User=svc"], unit: "x.service").user?.value == "svc")
    #expect(resolve(["User=%i"], unit: "user@1000.service").user?.value == "1000")
    #expect(resolve(["User=%p-%i"], unit: "app@blue.service").user?.value == "app-blue")
    #expect(resolve(["User=%u"], unit: "app@blue.service").user?.value == "%u")
  }
}
