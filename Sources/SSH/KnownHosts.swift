import Foundation

/// The lines of OpenSSH known_hosts files as OpenSSH reads them (sshd(8), "SSH_KNOWN_HOSTS
/// FILE FORMAT"): an optional marker (`@cert-authority`, `@revoked`), host patterns (`*` and
/// `?` wildcards, `!` negation, `[host]:port`, hashed `|1|salt|hash` names), a key. libssh
/// checks plain keys itself; these are read for what it does not do: certificate authorities,
/// revoked keys, and the plain key inside a certificate.
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

  public init(entries: [Entry] = []) { self.entries = entries }

  /// Reads the files in order; a file that does not exist or cannot be read adds nothing
  /// (libssh and OpenSSH skip it too). Lines that do not parse are skipped, as OpenSSH skips them.
  public init(files: [String]) {
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else { continue }
      entries += Self.parse(String(decoding: data, as: UTF8.self), file: file)
    }
  }

  /// Reads the lines of one file's text; `file` names it in what is reported.
  public init(text: String, file: String) { entries = Self.parse(text, file: file) }

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

  /// The entries whose host field matches `host` at `port`.
  public func matching(host: String, port: Int) -> [Entry] {
    let name = Self.lookupName(host: host, port: port)
    return entries.filter { Self.hostField($0.hosts, matches: name) }
  }

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
