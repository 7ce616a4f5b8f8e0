import Foundation
import UnitModel

/// What a fleet host says about its own services, read over OpenSSH by the test (not by
/// unitaudit): `systemctl show` properties, `systemd-analyze security UNIT`'s verdict, and the
/// unit files themselves.
struct HostTruth {
  /// unit id → property → value.
  var properties: [String: [String: String]] = [:]
  /// unit id → the last line of `systemd-analyze security UNIT` (or its error).
  var verdicts: [String: String] = [:]
  /// path → the file's lines.
  var files: [String: [String]] = [:]
  /// unit id → `ProtectHostnameEx`'s mode (systemd 258 and later, for units where it is on;
  /// read with busctl: `systemctl show` cannot print that property).
  var hostnameModes: [String: String] = [:]
}

/// The `systemctl show` properties compared with the normalized hardening settings: every
/// directive of the model (`DirectiveTable`).
let comparedProperties = DirectiveTable.all.map(\.name)

/// The `…Ex` properties that name a boolean directive's variant (systemd 257 and later).
let extendedProperties = DirectiveTable.all.compactMap(\.extended?.property).sorted().joined(separator: ",")

/// The shell script that prints a host's truth for `units` and `files`, framed by markers.
func truthScript(units: [String], files: [String]) -> String {
  let quoted = units.map { "'\($0)'" }.joined(separator: " ")
  var lines = [
    "export LANG=C.UTF-8 SYSTEMD_COLORS=0 SYSTEMD_PAGER=",
    "echo '@@show'",
    "systemctl show -p Id,Names,\(comparedProperties.joined(separator: ",")),\(extendedProperties) -- \(quoted)",
    // ProtectHostnameEx is a (ss) pair that systemctl cannot print: busctl reads it.
    "if [ \"$(systemctl --version | awk 'NR==1{print $2}')\" -ge 258 ]; then",
    "  for u in \(quoted); do",
    "    [ \"$(systemctl show -P ProtectHostname -- \"$u\")\" = yes ] || continue",
    "    path=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 "
      + "org.freedesktop.systemd1.Manager LoadUnit s \"$u\" | cut -d'\"' -f2)",
    "    echo \"@@hostname $u $(busctl get-property org.freedesktop.systemd1 \"$path\" "
      + "org.freedesktop.systemd1.Service ProtectHostnameEx | cut -d'\"' -f2)\"",
    "  done",
    "fi",
  ]
  for unit in units {
    lines.append("echo '@@verdict \(unit)'")
    lines.append("systemd-analyze security --no-pager -- '\(unit)' 2>&1 | tail -n 1")
  }
  for file in files {
    lines.append("echo '@@file \(file)'")
    lines.append("cat -- '\(file)'")
  }
  return lines.joined(separator: "\n") + "\n"
}

func parseTruth(_ text: String) -> HostTruth {
  var truth = HostTruth()
  enum Section { case none, show, verdict(String), file(String) }
  var section = Section.none
  var block: [String: String] = [:]
  func flushBlock() {
    if let id = block["Id"] { truth.properties[id] = block }
    block = [:]
  }
  for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
    if line == "@@show" {
      section = .show
      continue
    }
    if line.hasPrefix("@@hostname ") {
      flushBlock()
      section = .none
      let words = line.dropFirst("@@hostname ".count).split(separator: " ", maxSplits: 1).map(String.init)
      if words.count == 2 { truth.hostnameModes[words[0]] = words[1] }
      continue
    }
    if line.hasPrefix("@@verdict ") {
      flushBlock()
      section = .verdict(String(line.dropFirst("@@verdict ".count)))
      continue
    }
    if line.hasPrefix("@@file ") {
      flushBlock()
      let path = String(line.dropFirst("@@file ".count))
      truth.files[path] = []
      section = .file(path)
      continue
    }
    switch section {
    case .none: break
    case .show:
      if line.isEmpty {
        flushBlock()
      } else if let equals = line.firstIndex(of: "=") {
        block[String(line[..<equals])] = String(line[line.index(after: equals)...])
      }
    case .verdict(let unit):
      if !line.isEmpty { truth.verdicts[unit] = line }
    case .file(let path):
      truth.files[path, default: []].append(line)
    }
  }
  flushBlock()
  return truth
}

/// The value `systemctl show` would print for a setting, from unitaudit's normalized model:
/// booleans, choices, the user and the umask, with the table's value for an unset one. nil:
/// this property is compared another way (see `compare`).
func expectedShow(_ property: String, _ h: HardeningSettings) -> String? {
  guard let spec = DirectiveTable.byName[property], let unset = spec.unsetShow else { return nil }
  switch spec.field.read(h.fields)?.value {
  case .bool(let flag)?: return flag ? "yes" : "no"
  case .word(let word)?: return word
  case nil: return unset
  case .words?, .filter?: return nil
  }
}

/// Words of a list property as a set.
func words(_ text: String) -> Set<String> { Set(text.split(separator: " ").map(String.init)) }

/// `IPAddressDeny=`/`IPAddressAllow=` entries as systemd prints them: symbolic names expanded,
/// plain addresses with their full prefix length.
func ipPrefixes(_ entries: [String]) -> Set<String> {
  var result: Set<String> = []
  for entry in entries {
    switch entry {
    case "any": result.formUnion(["0.0.0.0/0", "::/0"])
    case "localhost": result.formUnion(["127.0.0.0/8", "::1/128"])
    case "link-local": result.formUnion(["169.254.0.0/16", "fe80::/64"])
    case "multicast": result.formUnion(["224.0.0.0/4", "ff00::/8"])
    default:
      if entry.contains("/") {
        result.insert(entry)
      } else {
        result.insert(entry + (entry.contains(":") ? "/128" : "/32"))
      }
    }
  }
  return result
}

/// How many values of each kind were compared.
struct Tally {
  var values = 0
  var exposures = 0
  var sources = 0
}

struct Mismatch: CustomStringConvertible {
  var host: String
  var unit: String
  var field: String
  var expected: String
  var got: String
  var description: String { "\(host) \(unit) \(field): systemd says '\(expected)', unitaudit says '\(got)'" }
}

/// Compares one service with its host's truth; returns how many values were compared.
func compare(
  host: String, service: ServiceRecord, truth: HostTruth, fullCapabilities: Set<String>, systemd: Int?,
  mismatches: inout [Mismatch], tally: inout Tally
) {
  guard let shown = truth.properties[service.id] else {
    mismatches.append(
      Mismatch(host: host, unit: service.id, field: "Id", expected: "(no such unit)", got: service.id))
    tally.values += 1
    return
  }
  func check(_ field: String, _ expected: String, _ got: String) {
    tally.values += 1
    if expected != got {
      mismatches.append(Mismatch(host: host, unit: service.id, field: field, expected: expected, got: got))
    }
  }
  let h = service.hardening
  for property in comparedProperties {
    let actual = shown[property] ?? "(missing)"
    // A directive this systemd does not know: it prints no such property, and the model has
    // no setting for it.
    if !DirectiveSupport.knows(property, systemd: systemd) {
      let ours = h.sources.contains { $0.0 == property } ? "(set)" : "(missing)"
      check(property, actual, ours)
      continue
    }
    if let expected = expectedShow(property, h) {
      check(property, actual, expected)
      continue
    }
    switch property {
    case "CapabilityBoundingSet", "AmbientCapabilities":
      let setting = property == "CapabilityBoundingSet" ? h.capabilityBoundingSet : h.ambientCapabilities
      let ours: Set<String> =
        setting.map { Set($0.value.map { $0.lowercased() }) }
        ?? (property == "CapabilityBoundingSet" ? fullCapabilities : [])
      check(property, words(actual).sorted().joined(separator: " "), ours.sorted().joined(separator: " "))
    case "RestrictAddressFamilies":
      let ours: String
      if let list = h.restrictAddressFamilies?.value {
        if list.mode == .allow && list.entries.isEmpty {
          ours = "none"
        } else {
          ours = (list.mode == .deny ? "~" : "") + Set(list.entries).sorted().joined(separator: " ")
        }
      } else {
        ours = ""
      }
      // systemd prints an unset list as an empty deny list: `~`.
      let deny = actual.hasPrefix("~")
      let theirs =
        actual == "~"
        ? ""
        : actual == "none"
          ? "none"
          : (deny ? "~" : "") + words(String(actual.drop { $0 == "~" })).sorted().joined(separator: " ")
      check(property, theirs, ours)
    case "SystemCallFilter":
      // systemd prints the expanded syscall list; compare whether a filter applies and its kind.
      let ours =
        h.systemCallFilter.map {
          $0.value.entries.isEmpty && $0.value.mode == .deny ? "none" : $0.value.mode.rawValue
        } ?? "none"
      let theirs = actual.isEmpty || actual == "~" ? "none" : actual.hasPrefix("~") ? "deny" : "allow"
      check("SystemCallFilter (kind)", theirs, ours)
    case "SystemCallArchitectures":
      check(
        property, words(actual).sorted().joined(separator: " "),
        Set(h.systemCallArchitectures?.value ?? []).sorted().joined(separator: " "))
    case "RestrictNamespaces":
      let ours: String
      if let allowed = h.restrictNamespaces?.value {
        ours = allowed.isEmpty ? "yes" : Set(allowed).sorted().joined(separator: " ")
      } else {
        ours = "no"
      }
      let theirs = ["yes", "no"].contains(actual) ? actual : words(actual).sorted().joined(separator: " ")
      check(property, theirs, ours)
    case "IPAddressDeny", "IPAddressAllow":
      let setting = property == "IPAddressDeny" ? h.ipAddressDeny : h.ipAddressAllow
      check(
        property, words(actual).sorted().joined(separator: " "),
        ipPrefixes(setting?.value ?? []).sorted().joined(separator: " "))
    default:
      break
    }
  }
  // The variants of boolean directives, where systemd reports them.
  if let systemd, systemd >= 257 {
    for spec in DirectiveTable.all {
      guard let ex = spec.extended else { continue }
      let setting = spec.field.read(h.fields)
      let ours = setting?.value == .bool(true) ? setting?.variant ?? ex.yes : "no"
      check(ex.property, shown[ex.property] ?? "(missing)", ours)
    }
  }
  if let systemd, systemd >= 258, h.protectHostname?.value == true {
    check(
      "ProtectHostnameEx", truth.hostnameModes[service.id] ?? "(missing)", h.protectHostname?.variant ?? "yes"
    )
  }
  // Names: the id and its aliases.
  check(
    "Names", words(shown["Names"] ?? "").sorted().joined(separator: " "),
    Set(service.names).sorted().joined(separator: " "))
  // The overall exposure and predicate, as `systemd-analyze security UNIT` prints them.
  let verdict = truth.verdicts[service.id] ?? ""
  let ours = service.overall.map { "\($0.exposure) \($0.predicate)" } ?? "(none)"
  if let range = verdict.range(of: "Overall exposure level for \(service.id): ") {
    let words = verdict[range.upperBound...].split(separator: " ").prefix(2).joined(separator: " ")
    check("exposure", words, ours)
    tally.exposures += 1
  } else {
    check("exposure", "(none: \(verdict))", ours == "(none)" ? "(none: \(verdict))" : ours)
  }
  // Provenance: the line named as a setting's source holds that setting's winning assignment.
  for (key, source) in h.sources {
    guard let lines = truth.files[source.file] else {
      check("\(key) source", "(file \(source.file) unreadable)", "\(source.file):\(source.line)")
      continue
    }
    let text =
      source.line >= 1 && source.line <= lines.count ? lines[source.line - 1] : "(no line \(source.line))"
    let assigned = text.drop { $0 == " " || $0 == "\t" }
    let holds = assigned.hasPrefix("\(key)=") || assigned.hasPrefix("\(key) =")
    tally.sources += 1
    let winner = service.directives.last { $0.key == key }
    let sameDirective = winner.map { $0.source.file == source.file && $0.source.line == source.line } ?? false
    check(
      "\(key) source", holds && sameDirective ? "ok" : "\(source.file):\(source.line) holds '\(text)'", "ok")
  }
}

extension HardeningSettings {
  /// Every setting that a unit file assigned (not implied), by directive name.
  var sources: [(String, Provenance)] {
    DirectiveTable.all.compactMap { spec in fields.source(of: spec.directive).map { (spec.name, $0) } }
  }
}
