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
/// the host, and the host's status says whether its data is complete.
public func normalize(_ evidence: HostEvidence, label: HostLabel) -> HostReport {
  var report = HostReport(
    name: label.name, address: label.address, port: label.port, groups: label.groups,
    status: HostStatus(.ok))
  let sections = ProbeSections(
    stdout: evidence.output.stdout, stderr: evidence.output.stderr, nonce: evidence.nonce)
  var diagnostics: [Diagnostic] = []
  var problems: [String] = []

  guard sections["probe"] != nil || sections["booted"] != nil else {
    let preview = String(decoding: evidence.output.stdout.prefix(120), as: UTF8.self)
    let errPreview = String(decoding: evidence.output.stderr.prefix(200), as: UTF8.self)
    // The output cap hit before the first marker: the host is `truncated`, as whenever the
    // cap is hit, with nothing kept to read.
    if evidence.output.truncated {
      let cap = evidence.output.stdout.count + evidence.output.stderr.count
      report.status = HostStatus(
        .truncated,
        reason: "the host sent more than the output cap (\(cap) bytes kept) before the probe's first section "
          + "marker; nothing could be read")
      report.diagnostics = [
        Diagnostic(
          .error, code: "probe.truncated-before-sections",
          "the output cap was reached before any section of the probe began")
      ]
      return report
    }
    var reason = "the probe's output has none of its section markers"
    if let lost = evidence.output.connectionLost {
      reason = "the connection broke before the probe's output began (\(lost))"
    }
    if let status = evidence.output.exitStatus { reason += " (exit status \(status))" }
    if !errPreview.isEmpty {
      reason += "; stderr: \(errPreview.trimmingWhitespace())"
    } else if !preview.isEmpty {
      reason += "; stdout begins: \(preview.trimmingWhitespace())"
    }
    report.status = HostStatus(.probeFailed, reason: sanitizeForReason(reason))
    return report
  }

  if let lost = evidence.output.connectionLost {
    problems.append("the connection broke before the probe finished (\(lost)); what arrived before is kept")
    diagnostics.append(
      Diagnostic(
        .error, code: "probe.connection-lost",
        "the connection broke before the probe's exit status arrived: \(lost)"))
  }
  for section in sections.ordered where !section.isComplete {
    problems.append("section '\(section.name)' was cut short")
    diagnostics.append(
      Diagnostic(
        .error, code: "probe.truncated-section", "the section has no end marker: output cut short",
        section: section.name))
  }
  for section in sections.ordered where section.hasInvalidUTF8 {
    diagnostics.append(
      Diagnostic(
        .warning, code: "probe.invalid-utf8", "invalid UTF-8 replaced by U+FFFD", section: section.name))
  }

  // Identity.
  var identity = HostIdentity()
  identity.hostname = sections["hostname"].map { String($0.text.trimmingWhitespace()) }
  identity.kernel = sections["uname"].map { String($0.text.trimmingWhitespace()) }
  if let osRelease = sections["os-release"].map({ parseOSRelease($0.text) }) {
    identity.osID = osRelease["ID"]
    identity.osVersionID = osRelease["VERSION_ID"]
    identity.osPrettyName = osRelease["PRETTY_NAME"]
  } else {
    diagnostics.append(
      Diagnostic(.warning, code: "probe.missing-section", "no os-release section", section: "os-release"))
  }

  if sections["booted"].map({ $0.text.trimmingWhitespace() }) == "no" {
    report.identity = identity
    report.status = HostStatus(
      .noSystemd,
      reason:
        "systemd is not running as PID 1 on this host (no /run/systemd/system), so there are no services to audit"
    )
    report.diagnostics = diagnostics
    return report
  }

  if let version = sections["systemd-version"].flatMap({ parseSystemdVersion($0.text) }) {
    identity.systemdVersion = version.major
    identity.systemdVersionString = version.full
    identity.systemdFeatures = version.features
    identity.securityAnalysis = version.major >= 250 ? .json : version.major >= 240 ? .text : .none
  } else {
    problems.append("systemd version unreadable")
    diagnostics.append(
      Diagnostic(
        .error, code: "probe.missing-section", "systemctl --version printed nothing readable",
        section: "systemd-version"))
  }
  report.identity = identity

  for required in ["list-units", "list-unit-files", "show"] {
    guard let section = sections[required] else {
      problems.append("section '\(required)' missing")
      diagnostics.append(
        Diagnostic(
          .error, code: "probe.missing-section", "the probe printed no '\(required)' section",
          section: required))
      continue
    }
    if let status = section.exitStatus, status != 0 {
      problems.append("'\(required)' exited with \(status)")
      diagnostics.append(
        Diagnostic(
          .error, code: "probe.command-failed",
          "exit status \(status): \(section.errorText.trimmingWhitespace().prefix(200))", section: required))
    }
  }

  // Services from systemctl show, de-duplicated by id (an alias shows its canonical unit).
  var services: [ServiceRecord] = []
  var seen: Set<String> = []
  for block in parseShowBlocks(sections["show"]?.text ?? "") {
    guard let id = block["Id"], !id.isEmpty, let load = block["LoadState"], load != "not-found",
      seen.insert(id).inserted
    else { continue }
    services.append(serviceRecord(id: id, show: block))
  }

  // The packages that own the unit files (dpkg-query -S), the merged-/usr twins mapped back.
  let owners = parseDpkgOwners(sections["owners"]?.text ?? "").merging(
    parseDpkgOwners(sections["owners-twins"]?.text ?? "").map { (mergedUsrTwin(of: $0.key), $0.value) },
    uniquingKeysWith: { first, _ in first })
  for index in services.indices {
    services[index].package = services[index].fragmentPath.flatMap { owners[$0] }
  }

  // Unit files from systemctl cat.
  if let cat = sections["cat"] {
    let expected = services.filter { $0.loadState == "loaded" || $0.isMasked }.map {
      ExpectedUnitFiles(unit: $0.id, masked: $0.isMasked, paths: $0.files.map(\.path))
    }
    let split = splitCatOutput(cat.text, expected: expected)
    diagnostics += split.diagnostics
    for index in services.indices {
      let files = split.files[services[index].id] ?? []
      var directives: [Directive] = []
      for file in files {
        let parsed = parseUnitFile(file, unit: services[index].id)
        directives += parsed.directives
        diagnostics += parsed.diagnostics
      }
      services[index].directives = directives
      let resolved = HardeningResolver.resolve(
        directives, unit: services[index].id, systemd: identity.systemdVersion)
      services[index].hardening = resolved.settings
      diagnostics += resolved.diagnostics
    }
  } else if services.contains(where: { $0.loadState == "loaded" }) {
    problems.append("section 'cat' missing")
    diagnostics.append(
      Diagnostic(.error, code: "probe.missing-section", "the probe printed no 'cat' section", section: "cat"))
  }

  // Exposure from systemd-analyze security.
  let analysis: SecurityAnalysis?
  if let json = sections["security"] {
    analysis = parseSecurityJSON(stdout: json.stdout, stderr: json.errorText)
  } else if let text = sections["security-text"] {
    analysis = parseSecurityText(stdout: text.text, stderr: text.errorText)
  } else {
    analysis = nil
    if identity.securityAnalysis != .none, services.contains(where: { $0.loadState == "loaded" }) {
      problems.append("section 'security' missing")
      diagnostics.append(
        Diagnostic(
          .error, code: "probe.missing-section", "the probe printed no 'security' section",
          section: "security"))
    }
  }
  if let analysis {
    diagnostics += analysis.diagnostics
    if analysis.diagnostics.contains(where: { $0.severity == .error }) {
      problems.append("security output damaged")
    }
    // An empty table for loaded services (seen on a recent systemd: valtzu/rpi-mkosi#35) is
    // no verdict: the host is partial, never ok without exposures.
    let loaded = services.filter { $0.loadState == "loaded" }.count
    if analysis.units.isEmpty && loaded > 0 {
      problems.append("systemd-analyze security assessed no unit")
      diagnostics.append(
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

  report.services = services.sorted { $0.id < $1.id }
  report.diagnostics = diagnostics
  if evidence.output.truncated {
    report.status = HostStatus(
      .truncated, reason: "the host sent more than the output cap; the services read before the cut are kept")
  } else if !problems.isEmpty {
    report.status = HostStatus(.partial, reason: sanitizeForReason(problems.joined(separator: "; ")))
  }
  return report
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
