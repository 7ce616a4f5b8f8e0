import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What an OS tree may hold before it is refused part by part: the bounds that keep a hostile
/// tree from costing more memory or time than a host may.
public struct TreeLimits: Sendable, Hashable {
  /// The largest unit file, drop-in or database file read; a larger one is refused.
  public var maxFileBytes: Int
  /// Entries read from one directory; the rest are left out with a diagnostic.
  public var maxDirectoryEntries: Int
  /// Symbolic links followed while resolving one path (systemd's chase() allows 32).
  public var maxSymlinkHops: Int
  /// Bytes of unit files read from one tree in all (a host's output cap, by default); the
  /// units past it are left out, and the tree says so.
  public var maxTotalBytes: Int

  public init(
    maxFileBytes: Int = 4 << 20, maxDirectoryEntries: Int = 50_000, maxSymlinkHops: Int = 32,
    maxTotalBytes: Int = 64 << 20
  ) {
    self.maxFileBytes = maxFileBytes
    self.maxDirectoryEntries = maxDirectoryEntries
    self.maxSymlinkHops = maxSymlinkHops
    self.maxTotalBytes = maxTotalBytes
  }
}

/// Why a path of a tree cannot be read.
public enum TreeReadError: Error, Sendable, Hashable, CustomStringConvertible {
  case missing
  case notRegular(kind: String)
  case tooLarge(bytes: Int, limit: Int)
  case symlinkLoop
  case unreadable(String)

  public var description: String {
    switch self {
    case .missing: "no such file"
    case .notRegular(let kind): "a \(kind), not a regular file: not read"
    case .tooLarge(let bytes, let limit): "\(bytes) bytes, over the \(limit)-byte limit: not read"
    case .symlinkLoop: "too many symbolic links (a loop?): not followed"
    case .unreadable(let why): why
    }
  }
}

/// Reads an OS tree inert: every path is resolved inside the tree as systemd's `--root=`
/// resolves it (an absolute link target starts again at the tree's root, `..` stops at it),
/// so no link leads out of the tree; only regular files are opened, never followed through a
/// last link, never blocking on a FIFO, and never past `TreeLimits`. Nothing is written.
///
/// The tree is taken as standing still while it is read: a tree that another process
/// rewrites during the scan is not one this reader defends against.
public struct TreeReader: Sendable {
  /// The tree's directory on this machine, absolute, without a trailing slash.
  public let root: String
  public let limits: TreeLimits

  /// A path of the tree resolved inside it, and whether a `..` or a link tried to go above
  /// the tree's root on the way (systemd stays at the root then, and so does this reader).
  public struct Resolved: Sendable, Hashable {
    /// Absolute inside the tree: `/usr/lib/systemd/system/ssh.service`.
    public var path: String
    public var climbedAboveRoot: Bool
  }

  /// What a resolved path is, without following it.
  public enum Kind: Sendable, Hashable {
    case missing
    case file(size: Int)
    case directory
    case symlink(target: String)
    /// A device node, FIFO or socket: never opened.
    case special(String)
  }

  public init(root: String, limits: TreeLimits = TreeLimits()) {
    var root = root
    while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
    self.root = root == "/" ? "" : root
    self.limits = limits
  }

  /// This machine's path of a path inside the tree (not resolved: callers pass resolved paths).
  public func hostPath(_ treePath: String) -> String { root + treePath }

  /// What `treePath` is, its last component not followed.
  public func kind(_ treePath: String) -> Kind {
    var info = stat()
    guard lstat(hostPath(treePath), &info) == 0 else { return .missing }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return .file(size: Int(info.st_size))
    case S_IFDIR: return .directory
    case S_IFLNK: return readLink(treePath).map { .symlink(target: $0) } ?? .special("unreadable link")
    case S_IFCHR: return .special("character device")
    case S_IFBLK: return .special("block device")
    case S_IFIFO: return .special("FIFO")
    case S_IFSOCK: return .special("socket")
    default: return .special("file of unknown type")
    }
  }

  /// The target of the link at `treePath`, as written.
  public func readLink(_ treePath: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4097)
    let count = readlink(hostPath(treePath), &buffer, 4096)
    guard count >= 0 else { return nil }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Resolves `path` inside the tree, following every link (the last one too when `followLast`).
  public func resolve(_ path: String, followLast: Bool = true) throws(TreeReadError) -> Resolved {
    var pending = Self.components(path).reversed() as [Substring]
    var current: [Substring] = []
    var hops = 0
    var climbed = false
    while let component = pending.popLast() {
      if component == "." { continue }
      if component == ".." {
        if current.isEmpty { climbed = true } else { current.removeLast() }
        continue
      }
      let candidate = "/" + (current + [component]).joined(separator: "/")
      if !followLast && pending.isEmpty {
        current.append(component)
        break
      }
      guard case .symlink(let target) = kind(candidate) else {
        current.append(component)
        continue
      }
      hops += 1
      guard hops <= limits.maxSymlinkHops else { throw .symlinkLoop }
      if target.hasPrefix("/") { current = [] }
      pending.append(contentsOf: Self.components(target).reversed())
    }
    return Resolved(path: "/" + current.joined(separator: "/"), climbedAboveRoot: climbed)
  }

  /// The names in the directory at `treePath` (resolved), sorted, at most
  /// `limits.maxDirectoryEntries` of them (and whether some were left out). Nil when it is not
  /// a directory.
  public func list(_ treePath: String) -> (names: [String], truncated: Bool)? {
    let descriptor = open(hostPath(treePath), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    guard let directory = fdopendir(descriptor) else {
      close(descriptor)
      return nil
    }
    defer { closedir(directory) }
    var names: [String] = []
    var truncated = false
    while let entry = readdir(directory) {
      let name = withUnsafePointer(to: entry.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name == "." || name == ".." { continue }
      guard names.count < limits.maxDirectoryEntries else {
        truncated = true
        break
      }
      names.append(name)
    }
    return (names.sorted(), truncated)
  }

  /// The bytes of the regular file at `treePath` (resolved inside the tree first).
  public func read(_ treePath: String) throws(TreeReadError) -> [UInt8] {
    let resolved = try resolve(treePath)
    switch kind(resolved.path) {
    case .missing: throw .missing
    case .directory: throw .notRegular(kind: "directory")
    case .special(let what): throw .notRegular(kind: what)
    case .symlink: throw .symlinkLoop
    case .file(let size):
      guard size <= limits.maxFileBytes else { throw .tooLarge(bytes: size, limit: limits.maxFileBytes) }
    }
    // O_NOFOLLOW: a link put in place since the check is not followed; O_NONBLOCK: a FIFO
    // put in place does not hang the scan (it is refused by the fstat below).
    let descriptor = open(hostPath(resolved.path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
    guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      throw .notRegular(kind: "file that changed while it was read")
    }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw .unreadable(String(cString: strerror(errno)))
      }
      if count == 0 { break }
      bytes += buffer[0..<count]
      guard bytes.count <= limits.maxFileBytes else {
        throw .tooLarge(bytes: bytes.count, limit: limits.maxFileBytes)
      }
    }
    return bytes
  }

  /// The text of a file as a unit file reader takes it: bytes read, invalid UTF-8 replaced.
  public func readText(_ treePath: String) throws(TreeReadError) -> String {
    String(decoding: try read(treePath), as: UTF8.self)
  }

  static func components(_ path: String) -> [Substring] {
    path.split(separator: "/", omittingEmptySubsequences: true)
  }
}
