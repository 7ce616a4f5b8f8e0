import BlockingWork
import Foundation
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// A package's name, version and architecture, as its own header gives them.
public struct PackageInfo: Sendable, Hashable {
  public var name: String
  public var version: String
  public var architecture: String
}

/// What bounds the unpacking of one package.
public struct PackageLimits: Sendable, Hashable {
  /// Bytes of the uncompressed payload read in all; a payload that expands further is refused.
  public var maxPayloadBytes: Int
  /// The longest unpacking may take, in seconds.
  public var deadlineSeconds: Double
  /// The largest unit file kept (as for trees).
  public var maxFileBytes: Int

  public init(
    maxPayloadBytes: Int = 2 << 30, deadlineSeconds: Double = 120,
    maxFileBytes: Int = TreeLimits().maxFileBytes
  ) {
    self.maxPayloadBytes = maxPayloadBytes
    self.deadlineSeconds = deadlineSeconds
    self.maxFileBytes = maxFileBytes
  }
}

/// Why a package could not be read at all.
public struct PackageError: Error, Sendable, Hashable, CustomStringConvertible {
  public var file: String
  public var reason: String
  public var description: String { "\(file): \(reason)" }
}

/// Unpacks the unit files of a `.deb` or `.rpm` into a private directory, inert: the payload
/// comes from the package's own tool (`dpkg-deb --fsys-tarfile`, `rpm2cpio`), which only
/// reads it (no maintainer script runs), and is parsed here as a stream; only the members
/// under the unit directories are written (by `TreeWriter`, never through a link), at most
/// `maxPayloadBytes` are read and nothing runs past the deadline.
public enum PackageUnpacker {
  public enum Format: String, Sendable {
    case deb, rpm

    public init?(file: String) {
      if file.hasSuffix(".deb") || file.hasSuffix(".udeb") {
        self = .deb
      } else if file.hasSuffix(".rpm") {
        self = .rpm
      } else {
        return nil
      }
    }
  }

  /// The directories a package's units may be in (as a tree's search path has them).
  static let unitDirectories = [
    "/etc/systemd/system/", "/usr/lib/systemd/system/", "/lib/systemd/system/",
    "/usr/local/lib/systemd/system/",
  ]

  static func isUnitPath(_ path: String) -> Bool {
    unitDirectories.contains { path.hasPrefix($0) || path + "/" == $0 }
  }

  enum Purpose {
    /// The header: name, version, architecture.
    case info
    /// The files, as one uncompressed stream (tar for a .deb, cpio for an .rpm).
    case payload
  }

  /// The command line that reads `file`'s header or payload with the package's own tools,
  /// which only read it.
  static func command(_ purpose: Purpose, _ format: Format, _ file: String) -> Result<[String], PackageError>
  {
    let (tool, package, arguments): (String, String, [String]) =
      switch (format, purpose) {
      case (.deb, .info):
        (
          "dpkg-deb", "dpkg",
          ["--show", "--showformat=${Package}\\n${Version}\\n${Architecture}\\n", "--", file]
        )
      case (.deb, .payload): ("dpkg-deb", "dpkg", ["--fsys-tarfile", "--", file])
      case (.rpm, .info):
        (
          "rpm", "rpm",
          [
            "-qp", "--nosignature", "--nodigest", "--queryformat",
            "%{NAME}\\n%{VERSION}-%{RELEASE}\\n%{ARCH}\\n", "--", file,
          ]
        )
      case (.rpm, .payload): ("rpm2cpio", "rpm2cpio", [file])
      }
    guard let path = ChildProcess.find(tool) else {
      return .failure(
        PackageError(file: file, reason: "\(tool) is missing (on Debian: apt-get install \(package))"))
    }
    return .success([path] + arguments)
  }

  /// The package's name, version and architecture.
  public static func info(of file: String, format: Format, deadline: Double) -> Result<
    PackageInfo, PackageError
  > {
    let arguments: [String]
    switch command(.info, format, file) {
    case .failure(let error): return .failure(error)
    case .success(let found): arguments = found
    }
    var output: [UInt8] = []
    let exit = ChildProcess.run(arguments, deadlineSeconds: deadline) { chunk in
      output += chunk
      return output.count < 1 << 16
    }
    let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    guard exit.failedToStart == nil, exit.status == 0, lines.count == 3 else {
      let said = String(decoding: exit.stderr, as: UTF8.self).split(separator: "\n").first.map(String.init)
      return .failure(
        PackageError(
          file: file,
          reason: "not a readable \(format.rawValue) package"
            + (exit.failedToStart ?? said.map { " (\($0.prefix(200)))" } ?? "")))
    }
    return .success(PackageInfo(name: lines[0], version: lines[1], architecture: lines[2]))
  }

  /// What unpacking left: the diagnostics of what was refused, and whether the package
  /// installs units under `/lib` (a split-/usr era package: Debian up to bookworm).
  public struct Unpacked: Sendable {
    public var diagnostics: [Diagnostic]
    public var splitUsr: Bool
  }

  /// Unpacks `file`'s unit files under `root` (a new, private directory) as on a merged-/usr
  /// system, where the package manager installs `/lib/…` through the `/lib → usr/lib` link:
  /// they are written under `/usr/lib`, and `/lib` is made that link.
  public static func unpack(
    _ file: String, format: Format, into root: String, limits: PackageLimits
  ) -> Result<Unpacked, PackageError> {
    let arguments: [String]
    switch command(.payload, format, file) {
    case .failure(let error): return .failure(error)
    case .success(let found): arguments = found
    }
    var stream = ArchiveStream(
      format: format == .deb ? .tar : .cpio, fileLimit: limits.maxFileBytes,
      totalLimit: limits.maxPayloadBytes
    ) { name in
      if case .success(let path) = TreeWriter.treePath(name) { return isUnitPath(path) }
      return false
    }
    var writer = TreeWriter(root: root)
    let reader = TreeReader(root: root)
    var diagnostics: [Diagnostic] = []
    var splitUsr = false
    func refuse(_ name: String, _ why: String) {
      guard diagnostics.count < 200 else { return }
      diagnostics.append(
        Diagnostic(.warning, code: "offline.member-refused", "\(name.prefix(300)): \(why)"))
    }
    let exit = ChildProcess.run(arguments, deadlineSeconds: limits.deadlineSeconds) { chunk in
      for member in stream.feed(chunk) {
        var path: String
        switch TreeWriter.treePath(member.name) {
        case .failure(let refusal):
          refuse(member.name, refusal.description)
          continue
        case .success(let found): path = found
        }
        guard isUnitPath(path) else { continue }
        if path.hasPrefix("/lib/") {
          splitUsr = true
          path = "/usr" + path
        }
        var refusal: ArchiveRefusal?
        switch member.resolvedKind {
        case .directory: refusal = writer.directory(path)
        case .file:
          guard let data = member.data else {
            refusal = .tooLarge(limits.maxFileBytes)
            break
          }
          refusal = writer.file(path, bytes: data)
        case .symlink(let target): refusal = writer.symlink(path, target: target)
        case .hardLink(let target):
          switch TreeWriter.treePath(target) {
          case .success(let targetPath):
            let merged = targetPath.hasPrefix("/lib/") ? "/usr" + targetPath : targetPath
            refusal = writer.hardLink(path, to: merged, reader: reader)
          case .failure(let why): refusal = why
          }
        case .special(let kind): refusal = .special(kind)
        }
        if let refusal { refuse(member.name, refusal.description) }
      }
      return !stream.finished && stream.failure == nil
    }
    if let why = exit.failedToStart { return .failure(PackageError(file: file, reason: why)) }
    if exit.timedOut {
      return .failure(
        PackageError(file: file, reason: "unpacking did not finish within \(Int(limits.deadlineSeconds)) s"))
    }
    if let failure = stream.failure { return .failure(PackageError(file: file, reason: failure.description)) }
    if !stream.finished && exit.status != 0 {
      let said =
        String(decoding: exit.stderr, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
      return .failure(PackageError(file: file, reason: "its payload cannot be read: \(said.prefix(200))"))
    }
    if splitUsr && symlink("usr/lib", root + "/lib") != 0 {
      diagnostics.append(
        Diagnostic(
          .warning, code: "offline.member-refused",
          "cannot link /lib to usr/lib: \(String(cString: strerror(errno)))"))
    }
    return .success(Unpacked(diagnostics: diagnostics, splitUsr: splitUsr))
  }
}
