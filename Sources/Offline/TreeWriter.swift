import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Writes an archive's members into a private directory, inert: every path is checked (no
/// `..`, no empty or absolute part), each parent is walked with `openat(O_NOFOLLOW)` from the
/// root (a link among the parents, even one an earlier member made, refuses the member), files
/// are created new (`O_EXCL`, mode 0644) and links are made as links, never followed. Device
/// nodes, FIFOs and sockets are never made; hard links are copies of a file already written.
struct TreeWriter {
  /// The directory members go under; made by the caller, 0700.
  let root: String
  /// Files written (tree path → bytes), for hard links to copy.
  private var written: [String: Int] = [:]
  private(set) var files = 0

  init(root: String) {
    self.root = root
  }

  /// The member name as a tree path (`/usr/lib/…`), or why it is refused.
  static func treePath(_ name: String) -> Result<String, ArchiveRefusal> {
    var parts: [Substring] = []
    for part in name.split(separator: "/", omittingEmptySubsequences: true) {
      if part == "." { continue }
      if part == ".." { return .failure(.parentReference) }
      if part.utf8.contains(0) { return .failure(.nulInName) }
      parts.append(part)
    }
    guard !parts.isEmpty else { return .failure(.emptyName) }
    return .success("/" + parts.joined(separator: "/"))
  }

  /// Opens (making them when missing) the parent directories of `path`, never through a link.
  private func parent(of path: String) -> Result<Int32, ArchiveRefusal> {
    var parts = path.split(separator: "/").map(String.init)
    parts.removeLast()
    var descriptor = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard descriptor >= 0 else { return .failure(.cannotWrite(String(cString: strerror(errno)))) }
    for part in parts {
      var next = openat(descriptor, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if next < 0 && errno == ENOENT {
        mkdirat(descriptor, part, 0o755)
        next = openat(descriptor, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      }
      let failure = errno
      close(descriptor)
      guard next >= 0 else {
        return .failure(
          failure == ELOOP || failure == ENOTDIR
            ? .throughLink : .cannotWrite(String(cString: strerror(failure))))
      }
      descriptor = next
    }
    return .success(descriptor)
  }

  private static func lastPart(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }

  mutating func directory(_ path: String) -> ArchiveRefusal? {
    switch parent(of: path) {
    case .failure(let refusal): return refusal
    case .success(let descriptor):
      defer { close(descriptor) }
      if mkdirat(descriptor, Self.lastPart(path), 0o755) != 0 && errno != EEXIST {
        return .cannotWrite(String(cString: strerror(errno)))
      }
      return nil
    }
  }

  /// Calls `make` with the opened parent directory of `path` and its last part, which is
  /// removed first (a later member of a name replaces an earlier one, as tar does; `unlinkat`
  /// removes a link itself, never what it points at).
  private func replacing(_ path: String, _ make: (Int32, String) -> ArchiveRefusal?) -> ArchiveRefusal? {
    switch parent(of: path) {
    case .failure(let refusal): return refusal
    case .success(let directory):
      defer { close(directory) }
      let name = Self.lastPart(path)
      unlinkat(directory, name, 0)
      return make(directory, name)
    }
  }

  mutating func file(_ path: String, bytes: [UInt8]) -> ArchiveRefusal? {
    let refusal = replacing(path) { directory, name in
      let descriptor = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
      guard descriptor >= 0 else { return .cannotWrite(String(cString: strerror(errno))) }
      defer { close(descriptor) }
      var offset = 0
      while offset < bytes.count {
        let count = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return .cannotWrite(String(cString: strerror(errno))) }
        offset += count
      }
      return nil
    }
    if refusal == nil {
      written[path] = bytes.count
      files += 1
    }
    return refusal
  }

  mutating func symlink(_ path: String, target: String) -> ArchiveRefusal? {
    guard !target.utf8.contains(0), !target.isEmpty else { return .nulInName }
    let refusal = replacing(path) { directory, name in
      symlinkat(target, directory, name) == 0 ? nil : .cannotWrite(String(cString: strerror(errno)))
    }
    if refusal == nil { files += 1 }
    return refusal
  }

  /// A hard link: a copy of a file written before, read back through the tree reader.
  mutating func hardLink(_ path: String, to target: String, reader: TreeReader) -> ArchiveRefusal? {
    guard written[target] != nil, let bytes = try? reader.read(target) else { return .hardLinkOutside }
    return file(path, bytes: bytes)
  }
}

/// Why an archive member was not written.
enum ArchiveRefusal: Error, Hashable, CustomStringConvertible {
  case parentReference
  case nulInName
  case emptyName
  case throughLink
  case special(String)
  case tooLarge(Int)
  case hardLinkOutside
  case cannotWrite(String)

  var description: String {
    switch self {
    case .parentReference: "its path climbs with '..': not written"
    case .nulInName: "its name or link target holds a NUL byte or is empty: not written"
    case .emptyName: "it has an empty name: not written"
    case .throughLink: "a link stands among its parent directories: not written through it"
    case .special(let kind): "a \(kind): not made"
    case .tooLarge(let limit): "larger than \(limit) bytes: not written"
    case .hardLinkOutside: "a hard link to a file not written before: not written"
    case .cannotWrite(let why): "cannot be written: \(why)"
    }
  }
}
