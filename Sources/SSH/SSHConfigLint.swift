/// A problem in an OpenSSH client config, by file and line.
public struct SSHConfigProblem: Sendable, Hashable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var message: String
  public var description: String { "\(file):\(line): \(message)" }
}

/// Finds lines of an OpenSSH client config that neither OpenSSH nor libssh would read as
/// meant: unknown keywords (typos), keywords without a value, unbalanced quotes. libssh skips
/// such lines silently; unitaudit reports them once per scan instead. It also names every
/// line that would weaken host-key checking: unitaudit overrides them for its own
/// connections (jump hosts included: `ProxyJump` is carried by unitaudit), but an OpenSSH
/// `ssh` that a `ProxyCommand` runs obeys them. Pure.
public enum SSHConfigLint {
  public static func check(_ text: String, file: String) -> [SSHConfigProblem] {
    var problems: [SSHConfigProblem] = []
    var weakening: [(line: Int, text: String)] = []
    var proxied = false
    var ignored: [String] = []
    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let number = offset + 1
      let line = raw.drop { $0 == " " || $0 == "\t" }.reversed().drop { " \t\r".contains($0) }.reversed()
      let body = String(line)
      guard !body.isEmpty, !body.hasPrefix("#") else { continue }
      let keywordEnd = body.firstIndex { $0 == " " || $0 == "\t" || $0 == "=" } ?? body.endIndex
      let keyword = String(body[..<keywordEnd])
      var value = body[keywordEnd...].drop { $0 == " " || $0 == "\t" }
      if value.first == "=" { value = value.dropFirst().drop { $0 == " " || $0 == "\t" } }
      let lower = keyword.lowercased()
      if lower == "ignoreunknown" {
        ignored += value.split(separator: ",").map { $0.lowercased() }
      }
      if !known.contains(lower) {
        if !ignored.contains(where: { globMatches(Array($0), Array(lower)) }) {
          problems.append(SSHConfigProblem(file: file, line: number, message: "unknown keyword '\(keyword)'"))
        }
        continue
      }
      let setting = String(value.lowercased().filter { $0 != "\"" })
      if lower == "proxycommand", setting != "none" { proxied = true }
      if (lower == "stricthostkeychecking" && ["no", "off", "accept-new"].contains(setting))
        || (lower == "userknownhostsfile" && setting == "/dev/null")
        || lower == "knownhostscommand"
      {
        weakening.append((number, body))
      }
      if value.isEmpty {
        problems.append(SSHConfigProblem(file: file, line: number, message: "'\(keyword)' has no value"))
      } else if value.filter({ $0 == "\"" }).count % 2 == 1 {
        problems.append(
          SSHConfigProblem(file: file, line: number, message: "unbalanced quote in '\(keyword)'"))
      }
    }
    for (number, line) in weakening {
      let message =
        proxied
        ? "'\(line)' weakens host-key checking: unitaudit ignores it for its own connections, but the "
          + "OpenSSH ssh that a ProxyCommand runs obeys it; remove it, keep it out of the Host blocks "
          + "that command connects to, or use ProxyJump (which unitaudit carries itself)"
        : "'\(line)' weakens host-key checking: unitaudit ignores it (checking stays strict)"
      problems.append(SSHConfigProblem(file: file, line: number, message: message))
    }
    return problems.sorted { $0.line < $1.line }
  }

  static func globMatches(_ pattern: [Character], _ text: [Character]) -> Bool {
    guard let first = pattern.first else { return text.isEmpty }
    if first == "*" {
      return (0...text.count).contains { globMatches(Array(pattern.dropFirst()), Array(text.dropFirst($0))) }
    }
    guard let head = text.first, first == "?" || first == head else { return false }
    return globMatches(Array(pattern.dropFirst()), Array(text.dropFirst()))
  }

  /// ssh_config(5) keywords of OpenSSH 9 (lowercased), old spellings included.
  static let known: Set<String> = [
    "host", "match", "addkeystoagent", "addressfamily", "batchmode", "bindaddress", "bindinterface",
    "canonicaldomains", "canonicalizefallbacklocal", "canonicalizehostname", "canonicalizemaxdots",
    "canonicalizepermittedcnames", "casignaturealgorithms", "certificatefile", "checkhostip", "ciphers",
    "cipher",
    "clearallforwardings", "compression", "compressionlevel", "connectionattempts", "connecttimeout",
    "controlmaster", "controlpath", "controlpersist", "dynamicforward", "enableescapecommandline",
    "enablesshkeysign", "escapechar", "exitonforwardfailure", "fingerprinthash", "forkafterauthentication",
    "forwardagent", "forwardx11", "forwardx11timeout", "forwardx11trusted", "gatewayports",
    "globalknownhostsfile",
    "gssapiauthentication", "gssapidelegatecredentials", "gssapikeyexchange", "gssapiclientidentity",
    "gssapiserveridentity", "gssapirenewalforcesrekey", "gssapitrustdns", "gssapikexalgorithms",
    "hashknownhosts",
    "hostbasedacceptedalgorithms", "hostbasedauthentication", "hostbasedkeytypes", "hostkeyalgorithms",
    "hostkeyalias", "hostname", "identitiesonly", "identityagent", "identityfile", "ignoreunknown", "include",
    "ipqos", "kbdinteractiveauthentication", "kbdinteractivedevices", "kexalgorithms", "knownhostscommand",
    "localcommand", "localforward", "loglevel", "logverbose", "macs", "nohostauthenticationforlocalhost",
    "numberofpasswordprompts", "passwordauthentication", "permitlocalcommand", "permitremoteopen",
    "pkcs11provider", "port", "preferredauthentications", "protocol", "proxycommand", "proxyjump",
    "proxyusefdpass", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes", "pubkeyauthentication",
    "rekeylimit",
    "remotecommand", "remoteforward", "requesttty", "requiredrsasize", "revokedhostkeys",
    "securitykeyprovider",
    "sendenv", "serveralivecountmax", "serveraliveinterval", "sessiontype", "setenv", "stdinnull",
    "streamlocalbindmask", "streamlocalbindunlink", "stricthostkeychecking", "syslogfacility", "tcpkeepalive",
    "tunnel", "tunneldevice", "updatehostkeys", "usekeychain", "user", "userknownhostsfile",
    "verifyhostkeydns",
    "visualhostkey", "xauthlocation", "challengeresponseauthentication", "useroaming", "rsaauthentication",
    "rhostsrsaauthentication", "useprivilegedport", "keepalive", "idletimeout", "fallbacktorsh", "usersh",
    "smartcarddevice", "dsaauthentication", "gssapienablek5users", "obscurekeystroketiming", "channeltimeout",
    "tag", "refuseconnection", "warnweakcrypto", "versionaddendum",
  ]
}
