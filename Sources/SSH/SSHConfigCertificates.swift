import Foundation

/// The `CertificateFile` lines of an OpenSSH client config that apply to a host, which libssh
/// 0.10 does not read: the config's lines in order, each in the `Host` block (patterns with
/// `*`, `?` and `!`, matched against the name given, as ssh matches them) or `Match` block
/// (`all`, `host`, `originalhost`) that applies; every matching line counts, as in ssh.
/// `~`, `%d`, `%u`, `%h`, `%r` and `%%` are expanded. Pure.
public enum SSHConfigCertificates {
  public struct Found: Sendable, Hashable {
    /// The certificate files, in the config's order.
    public var files: [String] = []
    /// Lines in blocks unitaudit cannot evaluate (other `Match` criteria, `Include`).
    public var skipped: [String] = []
  }

  /// `host` is the name given (the inventory's address), `hostName` the config's `HostName`
  /// for it (libssh's), `remoteUser` the user logged in as; `home` and `localUser` expand
  /// `~`, `%d` and `%u`.
  public static func find(
    in text: String, file: String, host: String, hostName: String, remoteUser: String, home: String,
    localUser: String
  ) -> Found {
    var found = Found()
    var applies = true
    var evaluable = true
    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      guard !line.isEmpty, !line.hasPrefix("#") else { continue }
      let keywordEnd = line.firstIndex { $0 == " " || $0 == "\t" || $0 == "=" } ?? line.endIndex
      let keyword = line[..<keywordEnd].lowercased()
      var value = line[keywordEnd...].drop { $0 == " " || $0 == "\t" }
      if value.first == "=" { value = value.dropFirst().drop { $0 == " " || $0 == "\t" } }
      let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0) }
      switch keyword {
      case "host":
        evaluable = true
        applies = hostPatterns(words, match: host)
      case "match":
        let criteria = words.map { $0.lowercased() }
        if criteria == ["all"] {
          evaluable = true
          applies = true
        } else if criteria.count == 2, criteria[0] == "host" || criteria[0] == "originalhost" {
          evaluable = true
          let name = criteria[0] == "host" ? hostName : host
          applies = hostPatterns(words[1].split(separator: ",").map(String.init), match: name)
        } else {
          evaluable = false
          applies = false
        }
      case "include":
        found.skipped.append("\(file):\(offset + 1): Include is not followed for CertificateFile")
      case "certificatefile":
        if !evaluable {
          found.skipped.append(
            "\(file):\(offset + 1): CertificateFile in a Match block unitaudit does not evaluate")
        } else if applies, let path = words.first {
          found.files.append(
            expand(
              path.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), home: home, localUser: localUser,
              hostName: hostName, remoteUser: remoteUser))
        }
      default:
        break
      }
    }
    return found
  }

  /// A `Host` line's patterns against a name: any positive pattern matches and no negated
  /// one does.
  static func hostPatterns(_ patterns: [String], match name: String) -> Bool {
    let lower = Array(name.lowercased().utf8)[...]
    var matched = false
    for pattern in patterns.map({ $0.lowercased() }) {
      if pattern.hasPrefix("!") {
        if KnownHosts.wildcard(Array(pattern.dropFirst().utf8)[...], lower) { return false }
      } else if KnownHosts.wildcard(Array(pattern.utf8)[...], lower) {
        matched = true
      }
    }
    return matched
  }

  static func expand(_ path: String, home: String, localUser: String, hostName: String, remoteUser: String)
    -> String
  {
    var result = ""
    var characters = path[...]
    if characters.hasPrefix("~/") {
      result = home
      characters = characters.dropFirst()
    }
    while let character = characters.popFirst() {
      guard character == "%", let token = characters.popFirst() else {
        result.append(character)
        continue
      }
      switch token {
      case "d": result += home
      case "u": result += localUser
      case "h": result += hostName
      case "r": result += remoteUser
      case "%": result += "%"
      default: result += "%\(token)"
      }
    }
    return result
  }
}
