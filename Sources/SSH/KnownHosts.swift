import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The lines of OpenSSH known_hosts files as OpenSSH reads them (sshd(8), "SSH_KNOWN_HOSTS
/// FILE FORMAT"): an optional marker (`@cert-authority`, `@revoked`), host patterns (`*` and
/// `?` wildcards, `!` negation, `[host]:port`, hashed `|1|salt|hash` names), a key.
///
/// Indexed for lookups by host: a line that names hosts plainly is found by name at once;
/// only lines with patterns or hashed names are tried one by one for each host (hashed names
/// cost one HMAC each, as in OpenSSH). A scan's hosts share one parse of each file
/// (`cached(file:)`), so a known_hosts of 10,000 lines costs the same per host as one of 10.
public struct KnownHosts: Sendable {
  public enum Marker: Sendable, Hashable {
    case none
    case certAuthority
    case revoked
  }

  public struct Entry: Sendable, Hashable {
    public var marker: Marker
    public var hosts: String
    /// The public key blob (the base64 field decoded).
    public var key: [UInt8]
    public var file: String
    public var line: Int
    public var place: String { "\(file):\(line)" }
  }

  public private(set) var entries: [Entry] = []
  /// Entries by the one name they give (lowercased), as indices into `entries`.
  private var byName: [String: [Int]] = [:]
  /// Entries whose host field has patterns, negations or a hashed name.
  private var patterned: [Int] = []

  public init(entries: [Entry] = []) {
    for entry in entries { append(entry) }
  }

  /// Reads the lines of one file's text; `file` names it in what is reported. Lines that do
  /// not parse are skipped, as OpenSSH skips them.
  public init(text: String, file: String) {
    for entry in Self.parse(text, file: file) { append(entry) }
  }

  /// Adds a line, indexed.
  public mutating func append(_ entry: Entry) {
    let index = entries.count
    entries.append(entry)
    let field = entry.hosts
    if field.hasPrefix("|") || field.contains(where: { $0 == "*" || $0 == "?" || $0 == "!" }) {
      patterned.append(index)
    } else {
      for name in Set(field.lowercased().split(separator: ",").map(String.init)) {
        byName[name, default: []].append(index)
      }
    }
  }

  static func parse(_ text: String, file: String) -> [Entry] {
    var entries: [Entry] = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      var fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })[...]
      guard let first = fields.first, !first.hasPrefix("#") else { continue }
      var marker = Marker.none
      if first.hasPrefix("@") {
        switch first {
        case "@cert-authority": marker = .certAuthority
        case "@revoked": marker = .revoked
        default: continue
        }
        fields = fields.dropFirst()
      }
      guard fields.count >= 3 else { continue }
      let hosts = fields[fields.startIndex]
      let encoded = fields[fields.startIndex + 2]
      guard let decoded = Data(base64Encoded: String(encoded)), !decoded.isEmpty else { continue }
      entries.append(
        Entry(marker: marker, hosts: String(hosts), key: Array(decoded), file: file, line: index + 1))
    }
    return entries
  }

  /// The name OpenSSH looks up for a host and port: `host`, or `[host]:port` off port 22.
  public static func lookupName(host: String, port: Int) -> String {
    let lower = host.lowercased()
    return port == 22 ? lower : "[\(lower)]:\(port)"
  }

  /// The entries whose host field matches `host` at `port`, in file order.
  public func matching(host: String, port: Int) -> [Entry] {
    let name = Self.lookupName(host: host, port: port)
    let found = (byName[name] ?? []) + patterned.filter { Self.hostField(entries[$0].hosts, matches: name) }
    return found.sorted().map { entries[$0] }
  }

  /// A file's lines, parsed once for as long as the file stays the same (device, inode,
  /// size, modification time): the hosts of a scan share them. A file that does not exist or
  /// cannot be read has none (libssh and OpenSSH skip it too).
  public static func cached(file: String) -> KnownHosts {
    var status = stat()
    guard stat(file, &status) == 0 else { return KnownHosts() }
    let identity = FileIdentity(status)
    if let hit = cache.withLock({ $0[file] }), hit.identity == identity { return hit.hosts }
    guard let data = FileManager.default.contents(atPath: file) else { return KnownHosts() }
    let hosts = KnownHosts(text: String(decoding: data, as: UTF8.self), file: file)
    cache.withLock { $0[file] = (identity, hosts) }
    return hosts
  }

  /// Appends `line` (`NAME TYPE BASE64`) to `file`, and to its cached lines when the cache
  /// holds the file as it was just before: trusting keys on first use then costs no parse of
  /// the whole file per host. Callers serialize writes to one file.
  public static func append(line: String, to file: String) throws(KnownHostsWriteError) {
    var before = stat()
    let existed = stat(file, &before) == 0
    let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw KnownHostsWriteError(file: file, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    // A file that does not end with a newline gets one first, or the line would join the last.
    var prefix = ""
    if existed, before.st_size > 0, let handle = FileHandle(forReadingAtPath: file) {
      try? handle.seek(toOffset: UInt64(before.st_size - 1))
      if handle.readData(ofLength: 1) != Data("\n".utf8) { prefix = "\n" }
      try? handle.close()
    }
    let bytes = Array((prefix + line + "\n").utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else {
      throw KnownHostsWriteError(file: file, reason: String(cString: strerror(errno)))
    }
    var after = stat()
    guard fstat(fd, &after) == 0 else { return }
    let parsed = Self.parse(line, file: file)
    cache.withLock { cache in
      guard existed, var hit = cache[file], hit.identity == FileIdentity(before) else {
        cache[file] = nil
        return
      }
      let lineNumber = (hit.hosts.entries.last?.line ?? 0) + 1
      for var entry in parsed {
        entry.line = lineNumber
        hit.hosts.append(entry)
      }
      hit.identity = FileIdentity(after)
      cache[file] = hit
    }
  }

  /// What tells one version of a file from another.
  struct FileIdentity: Equatable {
    var device: UInt
    var inode: UInt
    var size: Int
    var modified: timespec

    init(_ status: stat) {
      device = UInt(status.st_dev)
      inode = UInt(status.st_ino)
      size = Int(status.st_size)
      modified = status.st_mtim
    }

    static func == (a: Self, b: Self) -> Bool {
      a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified.tv_sec == b.modified.tv_sec
        && a.modified.tv_nsec == b.modified.tv_nsec
    }
  }

  private static let cache = Mutex<[String: (identity: FileIdentity, hosts: KnownHosts)]>([:])

  /// Whether a known_hosts host field matches a looked-up name: a hashed name equals it, or
  /// one of its comma-separated patterns matches and no negated one does.
  static func hostField(_ field: String, matches name: String) -> Bool {
    if field.hasPrefix("|1|") {
      let parts = field.dropFirst(3).split(separator: "|", omittingEmptySubsequences: false)
      guard parts.count == 2, let salt = Data(base64Encoded: String(parts[0])),
        let hash = Data(base64Encoded: String(parts[1]))
      else { return false }
      return hmacSHA1(key: Array(salt), data: Array(name.utf8)) == Array(hash)
    }
    var matched = false
    for pattern in field.lowercased().split(separator: ",") {
      if pattern.hasPrefix("!") {
        if wildcard(Array(pattern.dropFirst().utf8)[...], Array(name.utf8)[...]) { return false }
      } else if wildcard(Array(pattern.utf8)[...], Array(name.utf8)[...]) {
        matched = true
      }
    }
    return matched
  }

  /// `*` matches any run of characters, `?` any one; everything else itself.
  static func wildcard(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
    var p = pattern.startIndex
    var t = text.startIndex
    var star: (pattern: Int, text: Int)?
    while t < text.endIndex {
      if p < pattern.endIndex, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
        p += 1
        t += 1
      } else if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
        star = (p, t)
        p += 1
      } else if let last = star {
        p = last.pattern + 1
        t = last.text + 1
        star = (last.pattern, last.text + 1)
      } else {
        return false
      }
    }
    while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
    return p == pattern.endIndex
  }
}

/// A known_hosts file that could not be written (`--accept-new-host-keys`).
public struct KnownHostsWriteError: Error, CustomStringConvertible, Sendable {
  public var file: String
  public var reason: String
  public var description: String { "cannot write \(file): \(reason)" }
}

/// The known hosts files a session checks, each as `KnownHosts.cached(file:)` has it.
public struct KnownHostsFiles: Sendable {
  public var files: [KnownHosts]

  public init(_ files: [KnownHosts]) { self.files = files }

  public static func cached(_ paths: [String]) -> KnownHostsFiles {
    KnownHostsFiles(paths.map { KnownHosts.cached(file: $0) })
  }

  /// The lines of every file that match `host` at `port`, the files in order.
  public func matching(host: String, port: Int) -> [KnownHosts.Entry] {
    files.flatMap { $0.matching(host: host, port: port) }
  }
}
