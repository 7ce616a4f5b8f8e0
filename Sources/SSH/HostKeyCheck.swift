import Foundation

/// What the known hosts say of the key a server presented, beyond libssh's check of plain
/// keys: `@revoked` keys and CAs, and host certificates checked as OpenSSH's `ssh` checks them
/// (sshconnect.c): signed by a CA that an `@cert-authority` line for the host names, with a
/// signature that verifies, of host type, valid now, for the name connected to (or for any
/// name when it lists none), with no critical option, signed with an accepted algorithm. A
/// certificate that fails is still accepted when its plain key is a known key of the host, as
/// OpenSSH falls back to it; a revoked one never is.
public enum HostKeyCheck {
  public enum Outcome: Equatable, Sendable {
    /// A plain key, not revoked: libssh checks it against the known hosts.
    case plainKey
    /// A certificate the known hosts' CA vouches for; the text says which.
    case certificateAccepted(String)
    /// A certificate not accepted (the first text, why) whose plain key is a known key of the
    /// host (the second, where), which OpenSSH accepts.
    case certifiedKeyKnown(problem: String, place: String)
    /// The key, the certified key or the CA is `@revoked`.
    case revoked(String)
    /// A certificate refused, and its plain key not known.
    case certificateInvalid(String)
  }

  /// Decides on `presented` (the server's public key blob, or its certificate) for `host` at
  /// `port`, at `now`. `sessionKey`, when given, is the plain key the SSH session proved the
  /// server holds: a certificate must certify exactly that key.
  public static func evaluate(
    presented: [UInt8], sessionKey: [UInt8]? = nil, host: String, port: Int, knownHosts: KnownHosts, now: Date
  ) -> Outcome {
    evaluate(
      presented: presented, sessionKey: sessionKey, host: host, port: port,
      entries: knownHosts.matching(host: host, port: port), now: now)
  }

  /// The same, given the known hosts lines that match the host (`KnownHosts.matching`).
  public static func evaluate(
    presented: [UInt8], sessionKey: [UInt8]? = nil, host: String, port: Int, entries: [KnownHosts.Entry],
    now: Date
  ) -> Outcome {
    let revoked = entries.filter { $0.marker == .revoked }
    var reader = SSHWireReader(presented)
    let type = reader.text() ?? "unknown"
    guard SSHCertificate.isCertificateType(type) else {
      if let line = revoked.first(where: { $0.key == presented }) {
        return .revoked("the host key \(fingerprint(presented)) is marked @revoked at \(line.place)")
      }
      return .plainKey
    }
    guard let certificate = SSHCertificate(blob: presented) else {
      return .certificateInvalid("the host presented a \(type) certificate that unitaudit cannot read")
    }
    if let sessionKey, sessionKey != certificate.plainKey {
      return .certificateInvalid(
        "its certificate certifies \(fingerprint(certificate.plainKey)), not the key \(fingerprint(sessionKey)) it proved it holds: refused as a possible man-in-the-middle attack"
      )
    }
    if let line = revoked.first(where: { $0.key == certificate.plainKey }) {
      return .revoked(
        "its certified key \(fingerprint(certificate.plainKey)) is marked @revoked at \(line.place)")
    }
    if let line = revoked.first(where: { $0.key == certificate.signatureKey }) {
      return .revoked(
        "the CA that signed its certificate (\(fingerprint(certificate.signatureKey))) is marked @revoked at \(line.place)"
      )
    }
    let name = host.lowercased()
    let problem: String
    if let authority = entries.first(where: {
      $0.marker == .certAuthority && $0.key == certificate.signatureKey
    }) {
      do {
        try SignatureCheck.verify(
          signature: certificate.signature, data: certificate.signedBytes, keyBlob: certificate.signatureKey)
      } catch .invalid, .malformed {
        return .certificateInvalid(
          "the certificate's signature does not verify with the CA at \(authority.place): it was altered or forged"
        )
      } catch {
        return .certificateInvalid("certificate refused: \(error)")
      }
      if let why = certificateProblem(certificate, name: name, now: now) {
        problem = why
      } else {
        return .certificateAccepted(
          "host certificate \"\(certificate.keyID)\" (serial \(certificate.serial)) signed by the CA at \(authority.place)"
        )
      }
    } else {
      problem =
        "its certificate is signed by a CA (\(fingerprint(certificate.signatureKey))) that no @cert-authority line for \(KnownHosts.lookupName(host: host, port: port)) names"
    }
    if let known = entries.first(where: { $0.marker == .none && $0.key == certificate.plainKey }) {
      return .certifiedKeyKnown(problem: problem, place: known.place)
    }
    return .certificateInvalid(problem)
  }

  /// What the plain lines for a host say of a plain key, as libssh and OpenSSH judge it.
  public enum PlainKeyVerdict: Equatable, Sendable {
    /// The key is listed for the host (where).
    case known(String)
    /// Another key of the same type is listed for the host (where).
    case changed(String)
    /// Only keys of other types are listed for the host.
    case otherTypes
    case unknown
  }

  public static func plainKey(_ presented: [UInt8], among entries: [KnownHosts.Entry]) -> PlainKeyVerdict {
    let plain = entries.filter { $0.marker == .none }
    if let line = plain.first(where: { $0.key == presented }) { return .known(line.place) }
    let type = keyType(presented)
    if let line = plain.first(where: { keyType($0.key) == type }) { return .changed(line.place) }
    return plain.isEmpty ? .unknown : .otherTypes
  }

  /// A key blob's type name (`ssh-ed25519`).
  static func keyType(_ blob: [UInt8]) -> String? {
    var reader = SSHWireReader(blob)
    return reader.text()
  }

  /// The host key algorithms to offer for a host: those of its known plain keys first, as
  /// libssh and OpenSSH order them, then the rest of `algorithms`.
  public static func algorithmOrder(for entries: [KnownHosts.Entry], algorithms: [String]) -> [String] {
    var first: [String] = []
    for entry in entries where entry.marker == .none {
      switch keyType(entry.key) {
      case "ssh-rsa": first += ["rsa-sha2-512", "rsa-sha2-256"]
      case let type?: first.append(type)
      case nil: break
      }
    }
    var seen = Set<String>()
    return (first.filter { algorithms.contains($0) } + algorithms).filter { seen.insert($0).inserted }
  }

  /// Why a certificate signed by a trusted CA is not valid for `name` at `now`, if it is not.
  static func certificateProblem(_ certificate: SSHCertificate, name: String, now: Date) -> String? {
    guard certificate.kind == .host else {
      return certificate.kind == .user
        ? "it presented a user certificate (\"\(certificate.keyID)\") as its host key"
        : "its certificate has type \(certificate.kindValue), neither host nor user"
    }
    let seconds = UInt64(max(0, now.timeIntervalSince1970))
    if seconds < certificate.validAfter {
      return
        "its certificate \"\(certificate.keyID)\" is not yet valid (from \(timestamp(certificate.validAfter)))"
    }
    if seconds >= certificate.validBefore {
      return "its certificate \"\(certificate.keyID)\" expired at \(timestamp(certificate.validBefore))"
    }
    if !certificate.principals.isEmpty, !certificate.principals.contains(where: { $0.lowercased() == name }) {
      return
        "its certificate \"\(certificate.keyID)\" is for \(certificate.principals.joined(separator: ", ")), not \(name)"
    }
    if !certificate.criticalOptions.isEmpty {
      return
        "its certificate \"\(certificate.keyID)\" carries critical options (\(certificate.criticalOptions.joined(separator: ", "))), which a host certificate may not"
    }
    return nil
  }

  private static func timestamp(_ seconds: UInt64) -> String {
    seconds >= UInt64(Int64.max)
      ? "forever" : ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(seconds)))
  }

  /// `TYPE SHA256:…` as ssh-keygen -l prints it.
  static func fingerprint(_ blob: [UInt8]) -> String {
    var reader = SSHWireReader(blob)
    let type = reader.text() ?? "key"
    return "\(type) SHA256:\(sha256Base64(blob))"
  }
}
