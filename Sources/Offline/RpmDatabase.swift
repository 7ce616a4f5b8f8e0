import BlockingWork
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What a tree's own rpm database says: the owners of unit files with their versions, and the
/// tree's systemd. The database's files are copied out of the tree first (regular files only,
/// through `TreeReader`), so that `rpm` reads nothing a link in the tree points at; `rpm
/// --dbpath COPY -qa` then lists every package's files.
public struct RpmDatabase: Sendable {
  /// The owning package of each file under a `systemd/system/` directory.
  public var owners: [String: String]
  /// Installed packages' versions, by name (`systemd` → `255.4-1.fc40`).
  public var versions: [String: String]

  /// Where rpm keeps its database in a tree: Fedora 36 on, then the older place.
  static let locations = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"]

  /// Nil when the tree has no rpm database or this machine no `rpm`.
  public init?(tree: TreeReader, deadline: Double = 60) {
    guard let rpm = ChildProcess.find("rpm"),
      let location = Self.locations.first(where: { location in
        guard let resolved = try? tree.resolve(location), case .directory = tree.kind(resolved.path),
          let names = tree.list(resolved.path)?.names
        else { return false }
        return names.contains { $0.hasPrefix("rpmdb.sqlite") || $0 == "Packages" || $0 == "Packages.db" }
      }),
      let resolved = try? tree.resolve(location)
    else { return nil }
    let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-rpmdb-\(UUID().uuidString)")
    guard (try? FileManager.default.createDirectory(at: copy, withIntermediateDirectories: false)) != nil
    else {
      return nil
    }
    defer { try? FileManager.default.removeItem(at: copy) }
    let large = TreeReader(
      root: tree.root, limits: TreeLimits(maxFileBytes: 1 << 30, maxDirectoryEntries: 1000, maxSymlinkHops: 0)
    )
    for name in tree.list(resolved.path)?.names ?? [] {
      guard case .file = tree.kind(resolved.path + "/" + name),
        let bytes = try? large.read(resolved.path + "/" + name)
      else { continue }
      try? Data(bytes).write(to: copy.appendingPathComponent(name))
    }
    var owners: [String: String] = [:]
    var versions: [String: String] = [:]
    var pending: [UInt8] = []
    var current: String?
    // `-\tNAME\tVERSION-RELEASE` for each package, then each of its files on a line.
    func take(_ line: Substring) {
      if line.hasPrefix("-\t") {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count == 3 else { return }
        current = String(fields[1])
        versions[String(fields[1])] = String(fields[2])
      } else if let current, line.contains("/systemd/system/"), owners[String(line)] == nil {
        owners[String(line)] = current
      }
    }
    let exit = ChildProcess.run(
      [
        rpm, "--dbpath", copy.path, "-qa", "--queryformat",
        "-\\t%{NAME}\\t%{VERSION}-%{RELEASE}\\n[%{FILENAMES}\\n]",
      ],
      deadlineSeconds: deadline
    ) { chunk in
      pending += chunk
      guard let last = pending.lastIndex(of: UInt8(ascii: "\n")) else { return true }
      for line in String(decoding: pending[...last], as: UTF8.self).split(separator: "\n") { take(line) }
      pending.removeSubrange(...last)
      return true
    }
    guard exit.status == 0, !versions.isEmpty else { return nil }
    self.owners = owners
    self.versions = versions
  }

  /// Each of `paths` (or its merged-/usr twin) with its owner, as `dpkg-query -S` prints them.
  public func owners(of paths: Set<String>) -> String {
    paths.sorted().compactMap { path -> String? in
      let twin =
        path.hasPrefix("/lib/")
        ? "/usr" + path : path.hasPrefix("/usr/lib/") ? String(path.dropFirst(4)) : path
      return (owners[path] ?? owners[twin]).map { "\($0): \(path)" }
    }.joined(separator: "\n")
  }
}
