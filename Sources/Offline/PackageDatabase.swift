import UnitModel

/// What a tree's own dpkg database says: which package owns a file, and which systemd the
/// tree has. Read from `var/lib/dpkg` as files (no dpkg runs): `status` for versions,
/// `info/PACKAGE.list` for files.
public struct DpkgDatabase: Sendable {
  /// Installed packages' versions, by name (`systemd` → `252.39-1~deb12u2`).
  public var versions: [String: String]
  let tree: TreeReader

  /// Nil when the tree has no dpkg database.
  public init?(tree: TreeReader) {
    guard let bytes = try? tree.read("/var/lib/dpkg/status") else { return nil }
    self.tree = tree
    self.versions = Self.installedVersions(String(decoding: bytes, as: UTF8.self))
  }

  /// `Package:`/`Status:`/`Version:` of each stanza whose status is `install ok installed`
  /// (an architecture qualifier, `libfoo:amd64`, is not part of the name).
  static func installedVersions(_ text: String) -> [String: String] {
    var versions: [String: String] = [:]
    for stanza in text.split(separator: "\n\n", omittingEmptySubsequences: true) {
      var package: Substring?
      var version: Substring?
      var installed = false
      for line in stanza.split(separator: "\n") {
        if line.hasPrefix("Package: ") {
          package = line.dropFirst("Package: ".count)
        } else if line.hasPrefix("Version: ") {
          version = line.dropFirst("Version: ".count)
        } else if line.hasPrefix("Status: ") {
          installed = line.hasSuffix(" installed")
        }
      }
      if installed, let package, let version { versions[String(package)] = String(version) }
    }
    return versions
  }

  /// Each of `paths` (and its merged-/usr twin) with the packages whose file lists hold it,
  /// as `dpkg-query -S` prints them (`pkg: /path`, `a, b: /path`).
  public func owners(of paths: Set<String>) -> String {
    guard !paths.isEmpty, let listing = tree.list("/var/lib/dpkg/info") else { return "" }
    var wanted: [String: String] = [:]
    for path in paths {
      wanted[path] = path
      if path.hasPrefix("/lib/") { wanted["/usr" + path] = path }
      if path.hasPrefix("/usr/lib/") { wanted[String(path.dropFirst(4))] = path }
    }
    var owners: [String: [String]] = [:]
    for file in listing.names where file.hasSuffix(".list") {
      guard let bytes = try? tree.read("/var/lib/dpkg/info/" + file) else { continue }
      var package = String(file.dropLast(".list".count))
      if let colon = package.firstIndex(of: ":") { package = String(package[..<colon]) }
      for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        if let path = wanted[String(line)], !(owners[path] ?? []).contains(package) {
          owners[path, default: []].append(package)
        }
      }
    }
    return owners.keys.sorted().map { "\(owners[$0, default: []].sorted().joined(separator: ", ")): \($0)" }
      .joined(separator: "\n")
  }

  /// True when the tree's systemd package installs its units under `/lib` (a split-/usr
  /// build, which searches `/lib/systemd/system` before `/usr/lib/systemd/system`).
  public var systemdIsSplitUsr: Bool {
    guard let bytes = try? tree.read("/var/lib/dpkg/info/systemd.list") else { return false }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains {
      $0.hasPrefix("/lib/systemd/system/")
    }
  }
}
