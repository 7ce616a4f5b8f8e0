import UnitModel

/// Where a host is, as the normalizer needs it (inventory name, address, groups).
public struct HostLabel: Sendable, Hashable {
  public var name: String
  public var address: String?
  public var port: Int?
  public var groups: [String]

  public init(name: String, address: String? = nil, port: Int? = nil, groups: [String] = []) {
    self.name = name
    self.address = address
    self.port = port
    self.groups = groups
  }
}

/// Turns a host's raw probe output into its normalized report. Pure: the same evidence
/// always gives the same report, so old scans can be normalized again.
///
/// Nothing a host sends can make this throw or crash: every problem becomes a diagnostic on
/// the host, and the host's status says whether its data is complete. A scan passes one
/// `memo` for all its hosts: the sections a recent host printed byte for byte are not read
/// again (the report is the same either way). The stages, in order:
/// the sections (or why there are none), the damage to the output, the identity, the
/// services `systemctl show` lists with their packages, their unit files and effective
/// settings, their exposure, and the status.
public func normalize(_ evidence: HostEvidence, label: HostLabel, memo: NormalizeMemo? = nil) -> HostReport {
  var report = HostReport(
    name: label.name, address: label.address, port: label.port, groups: label.groups,
    status: HostStatus(.ok))
  let sections = ProbeSections(
    stdout: evidence.output.stdout, stderr: evidence.output.stderr, nonce: evidence.nonce)
  guard sections["probe"] != nil || sections["booted"] != nil else {
    report.status = unreadableStatus(evidence.output)
    if evidence.output.truncated {
      report.diagnostics = [
        Diagnostic(
          .error, code: "probe.truncated-before-sections",
          "the output cap was reached before any section of the probe began")
      ]
    }
    return report
  }
  var findings = Findings()
  findings.noteDamage(evidence.output, sections)
  var identity = readIdentity(sections, &findings)
  if sections["booted"].map({ $0.text.trimmingWhitespace() }) == "no" {
    report.identity = identity
    report.status = HostStatus(
      .noSystemd,
      reason:
        "systemd is not running as PID 1 on this host (no /run/systemd/system), so there are no services to audit"
    )
    report.diagnostics = findings.diagnostics
    return report
  }
  let offline = readOffline(sections, &findings)
  report.offline = offline
  readSystemdVersion(sections, into: &identity, offline: offline, &findings)
  report.identity = identity
  checkListings(sections, offline: offline != nil, &findings)
  var services = readServices(sections)
  readUnitFiles(sections, into: &services, systemd: identity.systemdVersion, memo: memo, &findings)
  if offline != nil {
    readOfflineExposure(sections, into: &services, analysis: identity.securityAnalysis, &findings)
  } else {
    readExposure(sections, into: &services, analysis: identity.securityAnalysis, memo: memo, &findings)
  }
  report.services = services.sorted { $0.id < $1.id }
  report.diagnostics = findings.diagnostics
  if evidence.output.truncated {
    report.status = HostStatus(
      .truncated, reason: "the host sent more than the output cap; the services read before the cut are kept")
  } else if !findings.problems.isEmpty {
    report.status = HostStatus(.partial, reason: sanitizeForReason(findings.problems.joined(separator: "; ")))
  }
  return report
}

/// The host name, kernel and os-release.
private func readIdentity(_ sections: ProbeSections, _ findings: inout Findings) -> HostIdentity {
  var identity = HostIdentity()
  identity.hostname = sections["hostname"].map { String($0.text.trimmingWhitespace()) }
  identity.kernel = sections["uname"].map { String($0.text.trimmingWhitespace()) }
  if let osRelease = sections["os-release"].map({ parseOSRelease($0.text) }) {
    identity.osID = osRelease["ID"]
    identity.osVersionID = osRelease["VERSION_ID"]
    identity.osPrettyName = osRelease["PRETTY_NAME"]
  } else {
    findings.diagnostics.append(
      Diagnostic(.warning, code: "probe.missing-section", "no os-release section", section: "os-release"))
  }
  return identity
}

/// systemd's version and features, and which form of `systemd-analyze security` it has.
private func readSystemdVersion(
  _ sections: ProbeSections, into identity: inout HostIdentity, offline: OfflineSource?,
  _ findings: inout Findings
) {
  if let offline {
    // A tree's units are graded by this machine's systemd-analyze, whatever the tree's own
    // systemd is; its version (from its package database) still decides what its units mean.
    let analyzer = offline.analyzer.flatMap(parseSystemdVersion)?.major ?? 0
    identity.securityAnalysis = analyzer >= 250 ? .json : .none
    if let version = sections["systemd-version"].flatMap({ parseSystemdVersion($0.text) }) {
      identity.systemdVersion = version.major
      identity.systemdVersionString = version.full
    } else {
      findings.diagnostics.append(
        Diagnostic(
          .warning, code: "offline.systemd-version-unknown",
          "the \(offline.kind.rawValue) has no systemd package in a database unitaudit reads (dpkg, rpm): every directive is taken as its systemd accepts it"
        ))
    }
    if analyzer < 250 {
      findings.diagnostics.append(
        Diagnostic(
          .warning, code: "offline.no-analyzer",
          offline.analyzer.map {
            "this machine's systemd-analyze (\($0)) is older than 250 and cannot analyze a tree offline: no exposure scored"
          } ?? "this machine has no systemd-analyze: no exposure scored"))
    }
    return
  }
  guard let version = sections["systemd-version"].flatMap({ parseSystemdVersion($0.text) }) else {
    findings.problem(
      "systemd version unreadable",
      Diagnostic(
        .error, code: "probe.missing-section", "systemctl --version printed nothing readable",
        section: "systemd-version"))
    return
  }
  identity.systemdVersion = version.major
  identity.systemdVersionString = version.full
  identity.systemdFeatures = version.features
  identity.securityAnalysis = version.major >= 250 ? .json : version.major >= 240 ? .text : .none
}

/// The listings every host must give: present, and exited 0.
private func checkListings(_ sections: ProbeSections, offline: Bool, _ findings: inout Findings) {
  for required in offline ? ["show"] : ["list-units", "list-unit-files", "show"] {
    guard let section = sections[required] else {
      findings.problem(
        "section '\(required)' missing",
        Diagnostic(
          .error, code: "probe.missing-section", "the probe printed no '\(required)' section",
          section: required))
      continue
    }
    if let status = section.exitStatus, status != 0 {
      findings.problem(
        "'\(required)' exited with \(status)",
        Diagnostic(
          .error, code: "probe.command-failed",
          "exit status \(status): \(section.errorText.trimmingWhitespace().prefix(200))", section: required))
    }
  }
}

/// The services `systemctl show` lists, once each (an alias shows its canonical unit), with
/// the package that owns each unit file (`dpkg-query -S`; merged-/usr twins mapped back).
private func readServices(_ sections: ProbeSections) -> [ServiceRecord] {
  var services: [ServiceRecord] = []
  var seen: Set<String> = []
  for block in parseShowBlocks(sections["show"]?.text ?? "") {
    guard let id = block["Id"], !id.isEmpty, let load = block["LoadState"], load != "not-found",
      seen.insert(id).inserted
    else { continue }
    services.append(serviceRecord(id: id, show: block))
  }
  let owners = parseDpkgOwners(sections["owners"]?.text ?? "").merging(
    parseDpkgOwners(sections["owners-twins"]?.text ?? "").map { (mergedUsrTwin(of: $0.key), $0.value) },
    uniquingKeysWith: { first, _ in first })
  // `PACKAGE VERSION` lines: what an offline scan can tell of the owners' versions.
  var versions: [String: String] = [:]
  for line in (sections["owner-versions"]?.text ?? "").split(separator: "\n") {
    let words = line.split(separator: " ", maxSplits: 1)
    if words.count == 2 { versions[String(words[0])] = String(words[1]) }
  }
  for index in services.indices {
    services[index].package = services[index].fragmentPath.flatMap { owners[$0] }
    services[index].packageVersion = services[index].package.flatMap { versions[$0] }
  }
  return services
}

/// Each service's unit files from `systemctl cat`, their directives with file and line, and
/// the effective settings those give on this host's systemd.
private func readUnitFiles(
  _ sections: ProbeSections, into services: inout [ServiceRecord], systemd: Int?, memo: NormalizeMemo?,
  _ findings: inout Findings
) {
  guard let cat = sections["cat"] else {
    if services.contains(where: { $0.loadState == "loaded" }) {
      findings.problem(
        "section 'cat' missing",
        Diagnostic(
          .error, code: "probe.missing-section", "the probe printed no 'cat' section", section: "cat"))
    }
    return
  }
  let key = NormalizeMemo.UnitFilesKey(
    cat: SectionBytes(bytes: cat.stdout), ids: services.map(\.id),
    expected: services.filter { $0.loadState == "loaded" || $0.isMasked }.map {
      ExpectedUnitFiles(unit: $0.id, masked: $0.isMasked, paths: $0.files.map(\.path))
    }, systemd: systemd)
  let reading =
    memo?.unitFiles.value(for: key) { readUnitFileSection(key) } ?? readUnitFileSection(key)
  findings.diagnostics += reading.diagnostics
  for (index, unit) in zip(services.indices, reading.units) {
    services[index].directives = unit.directives
    services[index].hardening = unit.hardening
  }
}

/// What the `cat` section says of each service of `key.ids`, in that order: its directives,
/// with file and line, and the effective settings they give on the host's systemd; and the
/// diagnostics, in the order they were found.
struct UnitFilesReading: Sendable {
  struct Unit: Sendable {
    var directives: [Directive]
    var hardening: HardeningSettings
  }
  var diagnostics: [Diagnostic] = []
  var units: [Unit] = []
}

private func readUnitFileSection(_ key: NormalizeMemo.UnitFilesKey) -> UnitFilesReading {
  let split = splitCatOutput(String(decoding: key.cat.bytes, as: UTF8.self), expected: key.expected)
  var reading = UnitFilesReading(diagnostics: split.diagnostics)
  reading.units.reserveCapacity(key.ids.count)
  for id in key.ids {
    var directives: [Directive] = []
    for file in split.files[id] ?? [] {
      let parsed = parseUnitFile(file, unit: id)
      directives += parsed.directives
      reading.diagnostics += parsed.diagnostics
    }
    let resolved = HardeningResolver.resolve(directives, unit: id, systemd: key.systemd)
    reading.diagnostics += resolved.diagnostics
    reading.units.append(UnitFilesReading.Unit(directives: directives, hardening: resolved.settings))
  }
  return reading
}

/// Each service's exposure and checks from `systemd-analyze security` (JSON from systemd 250,
/// the text table from 240).
private func readExposure(
  _ sections: ProbeSections, into services: inout [ServiceRecord], analysis kind: SecurityAnalysisSupport,
  memo: NormalizeMemo?, _ findings: inout Findings
) {
  let analysis: SecurityAnalysis
  if let json = sections["security"] {
    let key = NormalizeMemo.SecurityKey(
      json: true, stdout: SectionBytes(bytes: json.stdout), stderr: SectionBytes(bytes: json.stderr))
    let read = { parseSecurityJSON(stdout: json.stdout, stderr: json.errorText) }
    analysis = memo?.security.value(for: key, make: read) ?? read()
  } else if let text = sections["security-text"] {
    let key = NormalizeMemo.SecurityKey(
      json: false, stdout: SectionBytes(bytes: text.stdout), stderr: SectionBytes(bytes: text.stderr))
    let read = { parseSecurityText(stdout: text.text, stderr: text.errorText) }
    analysis = memo?.security.value(for: key, make: read) ?? read()
  } else {
    if kind != .none, services.contains(where: { $0.loadState == "loaded" }) {
      findings.problem(
        "section 'security' missing",
        Diagnostic(
          .error, code: "probe.missing-section", "the probe printed no 'security' section",
          section: "security"))
    }
    return
  }
  findings.diagnostics += analysis.diagnostics
  if analysis.diagnostics.contains(where: { $0.severity == .error }) {
    findings.problems.append("security output damaged")
  }
  // An empty table for loaded services (seen on a recent systemd: valtzu/rpi-mkosi#35) is
  // no verdict: the host is partial, never ok without exposures.
  let loaded = services.filter { $0.loadState == "loaded" }.count
  if analysis.units.isEmpty && loaded > 0 {
    findings.problem(
      "systemd-analyze security assessed no unit",
      Diagnostic(
        .error, code: "security.empty",
        "systemd-analyze security printed no assessment for any of the \(loaded) loaded services",
        section: sections["security"] != nil ? "security" : "security-text"))
  }
  for index in services.indices {
    guard let result = services[index].names.lazy.compactMap({ analysis.units[$0] }).first else { continue }
    services[index].overall = result.overall
    services[index].checks = result.checks
  }
}

/// What an offline scan read (the `offline` section), and the diagnostics its reader left
/// (`offline-diagnostics`: `severity code unit: message` a line).
private func readOffline(_ sections: ProbeSections, _ findings: inout Findings) -> OfflineSource? {
  guard let section = sections["offline"] else { return nil }
  guard let value = JSONValue.parse(section.text),
    let kind = value["kind"]?.string.flatMap(OfflineSource.Kind.init),
    let path = value["path"]?.string
  else {
    findings.problem(
      "the offline section is unreadable",
      Diagnostic(
        .error, code: "offline.unreadable-section", "the offline section is not what unitaudit writes"))
    return nil
  }
  for line in (sections["offline-diagnostics"]?.text ?? "").split(separator: "\n") {
    let words = line.split(separator: " ", maxSplits: 2)
    guard words.count == 3, let severity = Diagnostic.Severity(rawValue: String(words[0])),
      let colon = words[2].range(of: ": ")
    else { continue }
    let unit = String(words[2][..<colon.lowerBound])
    findings.diagnostics.append(
      Diagnostic(
        severity, code: String(words[1]), String(words[2][colon.upperBound...]),
        unit: unit == "-" ? nil : unit))
  }
  return OfflineSource(
    kind: kind, path: path, package: value["package"]?.string, version: value["version"]?.string,
    analyzer: value["analyzer"]?.string)
}

/// A tree's exposures: `security-units` names the units, `security.N` is the N-th one's own
/// `systemd-analyze security --offline=yes` run (one check array; the overall exposure is
/// systemd's sum over the checks' grades).
private func readOfflineExposure(
  _ sections: ProbeSections, into services: inout [ServiceRecord], analysis kind: SecurityAnalysisSupport,
  _ findings: inout Findings
) {
  guard kind == .json, let list = sections["security-units"] else { return }
  let units = list.text.split(separator: "\n").map(String.init)
  var results: [String: SecurityAnalysis.UnitResult] = [:]
  for (index, unit) in units.enumerated() {
    let name = "security.\(index + 1)"
    guard let section = sections[name] else {
      findings.problem(
        "section '\(name)' missing",
        Diagnostic(.error, code: "probe.missing-section", "no analysis of \(unit)", section: name, unit: unit)
      )
      continue
    }
    let parsed = parseOfflineSecurityJSON(
      stdout: section.stdout, stderr: section.errorText, unit: unit, section: name)
    findings.diagnostics += parsed.diagnostics
    if let result = parsed.result { results[unit] = result }
  }
  for index in services.indices {
    guard let result = results[services[index].id] else { continue }
    services[index].overall = result.overall
    services[index].checks = result.checks
  }
}

private func serviceRecord(id: String, show: [String: String]) -> ServiceRecord {
  func value(_ key: String) -> String? {
    guard let text = show[key], !text.isEmpty else { return nil }
    return text
  }
  let names = (show["Names"] ?? id).split(separator: " ").map(String.init)
  let fragment = value("FragmentPath")
  let dropIns = (show["DropInPaths"] ?? "").split(separator: " ").map(String.init)
  var files: [UnitFileRef] = []
  if let fragment { files.append(UnitFileRef(path: fragment, isDropIn: false)) }
  files += dropIns.map { UnitFileRef(path: $0, isDropIn: true) }
  return ServiceRecord(
    id: id, aliases: names.filter { $0 != id }.sorted(), description: value("Description"),
    loadState: show["LoadState"] ?? "", activeState: value("ActiveState"), subState: value("SubState"),
    unitFileState: value("UnitFileState"), type: value("Type"), fragmentPath: fragment, dropInPaths: dropIns,
    sourcePath: value("SourcePath"), files: files)
}

/// `dpkg-query -S PATH…` output: path → owning package(s) (`pkg: /path`, `a, b: /path`,
/// `libx:amd64: /path`); diversion lines and anything else are skipped.
func parseDpkgOwners(_ text: String) -> [String: String] {
  var owners: [String: String] = [:]
  for line in text.split(separator: "\n") where !line.hasPrefix("diversion by ") {
    guard let separator = line.range(of: ": /") else { continue }
    let package = String(line[..<separator.lowerBound].trimmingWhitespace())
    let path = String(line[line.index(after: separator.lowerBound)...].trimmingWhitespace())
    // Package names have no spaces; several are joined by ", ".
    guard !package.isEmpty, !package.replacingOccurrences(of: ", ", with: "").contains(" ") else { continue }
    if owners[path] == nil { owners[path] = package }
  }
  return owners
}

/// `/lib/x` for `/usr/lib/x` and the other way round: where merged /usr puts one file twice.
func mergedUsrTwin(of path: String) -> String {
  path.hasPrefix("/usr/lib/") ? String(path.dropFirst(4)) : path.hasPrefix("/lib/") ? "/usr" + path : path
}

/// Keeps a reason to one printable line: control characters become spaces.
func sanitizeForReason(_ text: String) -> String {
  String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
}
