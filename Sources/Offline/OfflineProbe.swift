import Foundation
import Normalize
import UnitModel

/// What grades a tree's units: this machine's `systemd-analyze security --offline=yes
/// --root=TREE`, one unit per run (offline mode prints no summary that would name the units of
/// a batch). The collector provides it (it runs a child process); tests may replay one.
public struct OfflineAnalyzer: Sendable {
  /// `systemd-analyze --version`'s first line on this machine, nil when there is none.
  public var version: String?
  /// The major version (`252`), nil when unknown.
  public var major: Int? { version.flatMap { parseSystemdVersion($0)?.major } }
  /// Runs the analysis of one unit of the tree at `root` (this machine's path), for at most
  /// `seconds`.
  public var analyze: @Sendable (_ unit: String, _ root: String, _ seconds: Double) -> Run

  /// One run's output, as a probe section holds it.
  public struct Run: Sendable {
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var exitStatus: Int32?

    public init(stdout: [UInt8], stderr: [UInt8], exitStatus: Int32?) {
      self.stdout = stdout
      self.stderr = stderr
      self.exitStatus = exitStatus
    }
  }

  public init(
    version: String?, analyze: @escaping @Sendable (_ unit: String, _ root: String, _ seconds: Double) -> Run
  ) {
    self.version = version
    self.analyze = analyze
  }

  /// The oldest systemd whose `systemd-analyze security` has `--offline=` and `--root=`.
  public static let minimumVersion = 250
}

/// Builds a tree's evidence: the probe's sections, framed with the scan's nonce as the probe
/// frames them on a host, made from the tree's files instead of a running manager. `normalize`
/// reads it as it reads any host (the `offline` section tells it what the tree cannot say).
///
/// Sections: `probe`, `hostname` (the name given), `os-release` (the tree's), `offline` (what
/// was scanned, and with which analyzer), `systemd-version` (from the tree's package
/// database), `show` (the properties a tree can tell), `owners` (the tree's dpkg database),
/// `cat` (the unit files as `systemctl cat` prints them), `security-units`, and `security.N`
/// for the N-th unit there.
public enum OfflineProbe {
  public static func evidence(
    tree: TreeReader, name: String, source: OfflineSource, nonce: String, analyzer: OfflineAnalyzer,
    owner: String? = nil, splitUsr: Bool? = nil, extraDiagnostics: [Diagnostic] = [],
    deadline: Date = .distantFuture
  ) -> ProbeOutput {
    var out = SectionWriter(nonce: nonce)
    out.section("probe", text: "\(Probe.version)")
    out.section("hostname", text: name)
    if let osRelease = (try? tree.read("/etc/os-release")) ?? (try? tree.read("/usr/lib/os-release")) {
      out.section("os-release", bytes: osRelease)
    }
    out.section("offline", text: source.sectionText(analyzer: analyzer.version))
    let dpkg = DpkgDatabase(tree: tree)
    let rpm = dpkg == nil && owner == nil ? RpmDatabase(tree: tree) : nil
    var systemd: Int?
    if let version = dpkg?.versions["systemd"] ?? rpm?.versions["systemd"],
      let major = version.split(whereSeparator: { !$0.isNumber }).first
    {
      out.section("systemd-version", text: "systemd \(major) (\(version))")
      systemd = Int(major)
    }
    var loader = UnitLoader(
      tree: tree,
      searchPath: .of(splitUsr: splitUsr ?? dpkg?.systemdIsSplitUsr ?? Self.hasSplitUsrLayout(tree)),
      systemd: systemd, deadline: deadline)
    let loaded = loader.load()
    out.section("show", text: loaded.units.map(showBlock).joined(separator: "\n\n"))
    var diagnostics = extraDiagnostics + loaded.diagnostics
    diagnostics.append(
      Diagnostic(
        .note, code: "offline.runtime-unknown",
        "read offline: active states, units that generators and instances make at boot, and what /run gets at run time are a running manager's, and not given"
      ))
    if source.kind == .package && loaded.units.isEmpty {
      diagnostics.append(
        Diagnostic(.note, code: "offline.no-service", "the package ships no service unit"))
    }
    out.section("offline-diagnostics", text: diagnostics.map(\.sectionLine).joined(separator: "\n"))
    let fragments = Set(loaded.units.compactMap(\.fragmentPath)).subtracting(["/dev/null"])
    if let owner {
      out.section("owners", text: fragments.sorted().map { "\(owner): \($0)" }.joined(separator: "\n"))
      if let version = source.version { out.section("owner-versions", text: "\(owner) \(version)") }
    } else if dpkg != nil || rpm != nil {
      let owners = dpkg?.owners(of: fragments) ?? rpm?.owners(of: fragments) ?? ""
      let versions = dpkg?.versions ?? rpm?.versions ?? [:]
      out.section("owners", text: owners)
      // `PACKAGE VERSION` for each package that owns a unit, from the tree's database.
      let names = Set(parseOwnerNames(owners))
      out.section(
        "owner-versions",
        text: names.sorted().compactMap { name in versions[name].map { "\(name) \($0)" } }.joined(
          separator: "\n"))
    }
    out.section("cat", bytes: catOutput(loaded.units))
    let analysed = loaded.units.filter { $0.loadState == "loaded" }.map(\.id)
    guard let major = analyzer.major, major >= OfflineAnalyzer.minimumVersion, !analysed.isEmpty else {
      return out.output
    }
    out.section("security-units", text: analysed.joined(separator: "\n"))
    let blocking = Set(loaded.units.filter(\.hasSpecialFile).map(\.id))
    for (index, unit) in analysed.enumerated() {
      let name = "security.\(index + 1)"
      if blocking.contains(unit) {
        out.section(
          name, stdout: [],
          stderr: Array(
            "not analysed: a FIFO, socket or device node stands among its drop-ins, and reading it would block\n"
              .utf8),
          status: nil)
        continue
      }
      let remaining = deadline.timeIntervalSinceNow
      guard remaining > 0 else {
        out.section(name, stdout: [], stderr: Array("not analysed: the deadline passed\n".utf8), status: nil)
        continue
      }
      let run = analyzer.analyze(unit, tree.root.isEmpty ? "/" : tree.root, min(remaining, 10))
      out.section(name, stdout: run.stdout, stderr: run.stderr, status: run.exitStatus)
    }
    return out.output
  }

  /// A tree without a dpkg database whose `/lib` is a directory of its own (not a link to
  /// `usr/lib`) keeps units there: its systemd searches it.
  static func hasSplitUsrLayout(_ tree: TreeReader) -> Bool {
    if case .directory = tree.kind("/lib") { return true }
    return false
  }

  /// `systemctl show -p …` of one unit, for the properties a tree can tell.
  static func showBlock(_ unit: OfflineUnit) -> String {
    [
      "Type=\(unit.type ?? "")", "User=\(unit.user ?? "")", "DynamicUser=\(unit.dynamicUser ? "yes" : "no")",
      "Id=\(unit.id)", "Names=\(unit.names.joined(separator: " "))", "Description=\(unit.description ?? "")",
      "LoadState=\(unit.loadState)", "FragmentPath=\(unit.fragmentPath ?? "")", "SourcePath=",
      "DropInPaths=\(unit.dropInPaths.joined(separator: " "))", "UnitFileState=\(unit.unitFileState ?? "")",
    ].joined(separator: "\n")
  }

  /// `systemctl cat` of every loaded or masked unit: `# PATH` and the file, one empty line
  /// between files; `# Unit NAME is masked.` for a masked one.
  static func catOutput(_ units: [OfflineUnit]) -> [UInt8] {
    var bytes: [UInt8] = []
    for unit in units where unit.loadState == "loaded" || unit.loadState == "masked" {
      if unit.loadState == "masked" {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: "\n")) }
        bytes += Array("# Unit \(unit.id) is masked.\n".utf8)
        continue
      }
      for file in unit.files {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: "\n")) }
        bytes += Array("# \(file.path)\n".utf8)
        bytes += file.bytes
        if file.bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
      }
    }
    return bytes
  }
}

/// The package names of `dpkg-query -S` lines (`a, b: /path`).
func parseOwnerNames(_ text: String) -> [String] {
  text.split(separator: "\n").flatMap { line -> [String] in
    guard let colon = line.range(of: ": /") else { return [] }
    return line[..<colon.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
  }
}

/// Writes sections framed as the probe frames them: a begin marker on stdout and stderr,
/// the command's output, a newline of the frame's own, an end marker with the exit status.
struct SectionWriter {
  let nonce: String
  var stdout: [UInt8] = []
  var stderr: [UInt8] = []

  init(nonce: String) { self.nonce = nonce }

  var output: ProbeOutput { ProbeOutput(stdout: stdout, stderr: stderr, exitStatus: 0) }

  mutating func section(_ name: String, text: String) { section(name, bytes: Array(text.utf8)) }

  mutating func section(_ name: String, bytes: [UInt8]) {
    section(name, stdout: bytes, stderr: [], status: 0)
  }

  mutating func section(_ name: String, stdout body: [UInt8], stderr errorBody: [UInt8], status: Int32?) {
    let begin = Array("@@unitaudit-\(nonce) begin \(name) -\n".utf8)
    let end = Array("@@unitaudit-\(nonce) end \(name) \(status.map(String.init) ?? "-")\n".utf8)
    stdout += begin
    stdout += body
    stdout += [UInt8(ascii: "\n")]
    stdout += end
    stderr += begin
    stderr += errorBody
    stderr += [UInt8(ascii: "\n")]
    stderr += end
  }
}

extension OfflineSource {
  /// The `offline` section: this source as JSON, with the analyzer that graded it.
  func sectionText(analyzer: String?) -> String {
    var source = self
    source.analyzer = analyzer
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return (try? encoder.encode(source)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }
}

extension Diagnostic {
  /// One line of the `offline-diagnostics` section: `severity code unit|-: message`.
  var sectionLine: String {
    "\(severity.rawValue) \(code) \(unit ?? "-"): \(message.replacingOccurrences(of: "\n", with: " "))"
  }
}
