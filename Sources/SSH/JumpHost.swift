/// One hop of a `ProxyJump` chain: `[user@]host[:port]`, with `[host]:port` for IPv6.
public struct JumpHost: Sendable, Hashable, CustomStringConvertible {
  public var host: String
  /// nil: the SSH config's `Port` for the hop, else 22.
  public var port: Int?
  /// nil: the SSH config's `User` for the hop, else the local user (as OpenSSH chooses it).
  public var user: String?

  public init(host: String, port: Int? = nil, user: String? = nil) {
    self.host = host
    self.port = port
    self.user = user
  }

  public var description: String {
    let address = port.map { host.contains(":") ? "[\(host)]:\($0)" : "\(host):\($0)" } ?? host
    return user.map { "\($0)@\(address)" } ?? address
  }

  /// A `ProxyJump` value: hops separated by commas, the first reached first; `none` is no hop.
  public static func chain(_ spec: String) -> Result<[JumpHost], JumpSpecError> {
    let trimmed = spec.trimmingCharacters(in: .whitespaces)
    if trimmed.isEmpty || trimmed.lowercased() == "none" { return .success([]) }
    var hops: [JumpHost] = []
    for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
      guard let hop = hop(String(part).trimmingCharacters(in: .whitespaces)) else {
        return .failure(JumpSpecError(spec: spec, part: String(part)))
      }
      hops.append(hop)
    }
    return .success(hops)
  }

  /// `[user@]host[:port]`, `[user@][v6address]:port`; nil when it is not one.
  static func hop(_ text: String) -> JumpHost? {
    var rest = Substring(text)
    var user: String?
    if let at = rest.lastIndex(of: "@") {
      user = String(rest[..<at])
      rest = rest[rest.index(after: at)...]
      guard user?.isEmpty == false else { return nil }
    }
    var host = String(rest)
    var port: Int?
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { return nil }
      host = String(rest[rest.index(after: rest.startIndex)..<close])
      let after = rest[rest.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else { return nil }
        port = value
      }
    } else if let colon = rest.firstIndex(of: ":"), rest[rest.index(after: colon)...].allSatisfy(\.isNumber) {
      host = String(rest[..<colon])
      guard let value = Int(rest[rest.index(after: colon)...]) else { return nil }
      port = value
    }
    if let port, !(1...65535).contains(port) { return nil }
    guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" || $0 == "@" })
    else {
      return nil
    }
    return JumpHost(host: host, port: port, user: user)
  }

  /// The chain a `ProxyJump` line of an OpenSSH config stands for, read back from the
  /// `ProxyCommand` libssh 0.10 makes of it: `ssh [-l USER] [-p PORT] [-J LATER-HOPS] -W
  /// '[%h]:%p' FIRST-HOP`. Nil for any other command (a `ProxyCommand` of the config's own).
  public static func fromLibsshProxyCommand(_ command: String) -> [JumpHost]? {
    var words = command.split(separator: " ").map(String.init)[...]
    guard words.popFirst() == "ssh", words.count >= 3, let first = words.popLast(),
      words.suffix(2) == ["-W", "'[%h]:%p'"]
    else { return nil }
    words = words.dropLast(2)
    var user: String?
    var port: Int?
    var later: [JumpHost] = []
    while let flag = words.popFirst() {
      guard let value = words.popFirst() else { return nil }
      switch flag {
      case "-l": user = value
      case "-p":
        guard let number = Int(value) else { return nil }
        port = number
      case "-J":
        guard case .success(let hops) = chain(value) else { return nil }
        later = hops
      default: return nil
      }
    }
    guard var hop = hop(first) else { return nil }
    hop.user = user ?? hop.user
    hop.port = port ?? hop.port
    return [hop] + later
  }
}

/// A `ProxyJump` value that is not `[user@]host[:port]` hops separated by commas.
public struct JumpSpecError: Error, CustomStringConvertible, Sendable, Hashable {
  public var spec: String
  public var part: String
  public var description: String {
    "jump host '\(part)' in '\(spec)' is not [user@]host[:port] (IPv6 as [address]:port)"
  }
}
