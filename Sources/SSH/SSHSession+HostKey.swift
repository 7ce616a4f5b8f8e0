import CLibSSH
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The host-key check of a session, against the known hosts lines for the host
/// (`HostKeyCheck`): plain keys as libssh and OpenSSH check them, host certificates,
/// revoked keys and CAs.
extension SSHSession {
  /// The server's key as `TYPE SHA256:…`.
  private func serverKeyDescription() -> String {
    guard let session else { return "unknown key" }
    var key: ssh_key?
    guard ssh_get_server_publickey(session, &key) == SSH_OK, let key else { return "unknown key" }
    defer { ssh_key_free(key) }
    let type = ssh_key_type_to_char(ssh_key_type(key)).map { String(cString: $0) } ?? "unknown"
    var hash: UnsafeMutablePointer<UInt8>?
    var length = 0
    guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == 0, let digest = hash
    else {
      return type
    }
    defer { ssh_clean_pubkey_hash(&hash) }
    guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, digest, length) else { return type }
    defer { ssh_string_free_char(text) }
    return "\(type) \(String(cString: text))"
  }

  var endpoint: String {
    let port = options.port ?? 22
    return port == 22 ? options.host : "[\(options.host)]:\(port)"
  }

  /// The system-wide known hosts file the session checks, when it checks one.
  var globalKnownHostsFile: String? {
    guard options.globalKnownHosts, let session else { return nil }
    var value: UnsafeMutablePointer<CChar>?
    guard ssh_options_get(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, &value) == SSH_OK, let value else {
      return Self.defaultGlobalKnownHostsFile
    }
    defer { ssh_string_free_char(value) }
    return String(cString: value)
  }

  /// Where OpenSSH and libssh look for the system-wide known hosts.
  public static let defaultGlobalKnownHostsFile = "/etc/ssh/ssh_known_hosts"

  /// The name and port the known hosts are looked up with: the config's HostName and Port
  /// when it gives them, as libssh and OpenSSH look them up.
  var effectiveHostAndPort: (String, Int) {
    var port: UInt32 = 22
    guard let session else { return (options.host, options.port ?? 22) }
    if ssh_options_get_port(session, &port) != SSH_OK { port = UInt32(options.port ?? 22) }
    var value: UnsafeMutablePointer<CChar>?
    guard ssh_options_get(session, SSH_OPTIONS_HOST, &value) == SSH_OK, let value else {
      return (options.host, Int(port))
    }
    defer { ssh_string_free_char(value) }
    return (String(cString: value), Int(port))
  }

  /// The server's public key blob: a plain key, or a certificate.
  private func serverKeyBlob() -> [UInt8]? {
    guard let session else { return nil }
    var key: ssh_key?
    guard ssh_get_server_publickey(session, &key) == SSH_OK, let key else { return nil }
    defer { ssh_key_free(key) }
    var text: UnsafeMutablePointer<CChar>?
    guard ssh_pki_export_pubkey_base64(key, &text) == SSH_OK, let text else { return nil }
    defer { ssh_string_free_char(text) }
    return Data(base64Encoded: String(cString: text)).map { Array($0) }
  }

  /// The host's certificate for its `plainKey`, from a second connection (`CertificateFetch`).
  private func fetchCertificate(host: String, port: Int, plainKey: [UInt8]) -> Result<
    [UInt8], CertificateFetch.Failure
  > {
    guard let session else { return .failure(.failed("no session")) }
    var proxy: UnsafeMutablePointer<CChar>?
    if ssh_options_get(session, SSH_OPTIONS_PROXYCOMMAND, &proxy) == SSH_OK, let proxy {
      ssh_string_free_char(proxy)
      return .failure(.failed("host certificates are not asked for through a ProxyCommand"))
    }
    var reader = SSHWireReader(plainKey)
    let type = reader.text() ?? ""
    let connected: Int32?
    do throws(SSHError) {
      connected = try tunnelForCertificate(host: host, port: port)
    } catch {
      return .failure(.failed("no second tunnel for the certificate: \(error)"))
    }
    return Result { () throws(CertificateFetch.Failure) in
      try CertificateFetch.fetch(
        host: host, port: port, plainType: type,
        timeout: max(1, min(Double(options.connectTimeout), remaining)),
        connected: connected)
    }
  }

  func verifyHostKey() throws(SSHError) {
    let key = serverKeyDescription()
    let (host, port) = effectiveHostAndPort
    guard let blob = serverKeyBlob() else { throw .failed("libssh did not hand over the server's host key") }
    let lines = knownHostLines
    var presented = blob
    var certificateMissing: String?
    if case .plainKey = HostKeyCheck.evaluate(
      presented: blob, host: host, port: port, entries: lines, now: Date()),
      lines.contains(where: { $0.marker == .certAuthority })
    {
      // A CA line names the host: its certificate is asked for on a second connection, and
      // trusted only if it certifies the key this session proved.
      switch fetchCertificate(host: host, port: port, plainKey: blob) {
      case .success(let certificate): presented = certificate
      case .failure(let why): certificateMissing = why.description
      }
    }
    let outcome = HostKeyCheck.evaluate(
      presented: presented, sessionKey: blob, host: host, port: port, entries: lines, now: Date())
    switch outcome {
    case .plainKey:
      if let certificateMissing { warnings.append("no host certificate checked: \(certificateMissing)") }
    case .certificateAccepted:
      return
    case .certifiedKeyKnown(let problem, let place):
      warnings.append(
        "the host certificate was not accepted (\(problem)); its plain key is a known key of the host (\(place)), which OpenSSH accepts too"
      )
      return
    case .revoked(let why):
      throw .hostKeyRevoked(
        "REVOKED HOST KEY: \(endpoint) offered \(key): \(why). Nothing was run. The key or its CA was withdrawn; "
          + "do not trust this host until it presents a key or certificate that is not revoked.")
    case .certificateInvalid(let why):
      throw .hostCertificateInvalid(
        "HOST CERTIFICATE REFUSED: \(endpoint) offered \(key): \(why). Nothing was run. This can mean a "
          + "man-in-the-middle attack, or a certificate that needs renewing or reissuing for this name.")
    }
    let global = globalFile
    let file = options.knownHostsFile + (global.map { " (or the system-wide \($0))" } ?? "")
    switch HostKeyCheck.plainKey(blob, among: lines) {
    case .known:
      return
    case .changed(let place):
      throw .hostKeyChanged(
        "REMOTE HOST KEY HAS CHANGED: \(endpoint) offered \(key), which differs from the key at \(place) (known hosts: \(file)). "
          + "This can mean a man-in-the-middle attack, or that the host was reinstalled. Nothing was run. "
          + "If the change is expected, remove the old entry (ssh-keygen -R '\(endpoint)' -f FILE) and verify the new key."
      )
    case .otherTypes:
      throw .hostKeyChanged(
        "\(endpoint) offered \(key), but \(file) lists only keys of other types for this host; "
          + "refused as a possible man-in-the-middle attack. Nothing was run.")
    case .unknown:
      if options.acceptNewHostKeys {
        guard let type = HostKeyCheck.keyType(blob) else { throw .failed("the host key has no type") }
        let line =
          "\(KnownHosts.lookupName(host: host, port: port)) \(type) \(Data(blob).base64EncodedString())"
        Self.knownHostsLock.lock()
        defer { Self.knownHostsLock.unlock() }
        do throws(KnownHostsWriteError) {
          try KnownHosts.append(line: line, to: options.knownHostsFile)
        } catch {
          throw .hostKeyUnknown("could not record the new host key \(key): \(error)")
        }
        acceptedHostKey = "\(endpoint) \(key)"
        return
      }
      let fileExists =
        access(options.knownHostsFile, R_OK) == 0 || global.map { access($0, R_OK) == 0 } == true
      let missing =
        fileExists
        ? ""
        : global == nil
          ? " (the file does not exist or is not readable)" : " (neither file exists or is readable)"
      let noCertificate = certificateMissing.map {
        " A @cert-authority line names this host, but no certificate of it was checked: \($0)."
      }
      throw .hostKeyUnknown(
        "unknown host key: \(endpoint) offered \(key), which is not in \(file)\(missing).\(noCertificate ?? "") Nothing was run. "
          + "Verify the fingerprint out of band, then add it (ssh-keyscan -p \(options.port ?? 22) \(options.host) >> \(options.knownHostsFile)) "
          + "or rerun with --accept-new-host-keys to trust keys on first use.")
    }
  }
}
