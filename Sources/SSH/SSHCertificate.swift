/// An OpenSSH certificate (OpenSSH's PROTOCOL.certkeys), read from its wire blob: what it
/// certifies, for whom, when, and the CA's signature over it.
public struct SSHCertificate: Sendable, Hashable {
  public enum Kind: UInt32, Sendable {
    case user = 1
    case host = 2
  }

  /// The certificate's key type (`ssh-ed25519-cert-v01@openssh.com`).
  public var type: String
  /// The certified key as a plain public key blob (`ssh-ed25519` …): what a known_hosts line
  /// of the host would hold.
  public var plainKey: [UInt8]
  public var serial: UInt64
  /// The type field as sent: 1 user, 2 host; other values are kept to be refused by name.
  public var kindValue: UInt32
  public var keyID: String
  /// Names the certificate is valid for; empty means any (OpenSSH's reading for hosts).
  public var principals: [String]
  /// Seconds since the epoch; `validBefore` of `UInt64.max` is "forever".
  public var validAfter: UInt64
  public var validBefore: UInt64
  public var criticalOptions: [String]
  public var extensions: [String]
  /// The CA's public key blob.
  public var signatureKey: [UInt8]
  /// The CA's signature blob (`string algorithm`, `string signature`).
  public var signature: [UInt8]
  /// The bytes the signature covers: the blob up to the signature.
  public var signedBytes: [UInt8]

  public var kind: Kind? { Kind(rawValue: kindValue) }

  /// The plain key type each certificate type certifies, and how many key fields follow the
  /// nonce.
  private static let certifiedTypes: [String: (plain: String, fields: Int)] = [
    "ssh-ed25519-cert-v01@openssh.com": ("ssh-ed25519", 1),
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": ("ecdsa-sha2-nistp256", 2),
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": ("ecdsa-sha2-nistp384", 2),
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": ("ecdsa-sha2-nistp521", 2),
    "ssh-rsa-cert-v01@openssh.com": ("ssh-rsa", 2),
  ]

  /// True for the key types that are certificates.
  public static func isCertificateType(_ type: String) -> Bool { type.hasSuffix("-cert-v01@openssh.com") }

  /// Reads a certificate blob. Nil when it is not one of the certificate types unitaudit
  /// checks (ed25519, ECDSA, RSA) or is malformed.
  public init?(blob: [UInt8]) {
    var reader = SSHWireReader(blob)
    guard let type = reader.text(), let certified = Self.certifiedTypes[type], reader.string() != nil
    else { return nil }
    var plain = SSHWireWriter()
    plain.text(certified.plain)
    for _ in 0..<certified.fields {
      guard let field = reader.string() else { return nil }
      plain.string(field)
    }
    guard let serial = reader.uint64(), let kindValue = reader.uint32(), let keyID = reader.text(),
      let principals = reader.stringList(), let validAfter = reader.uint64(),
      let validBefore = reader.uint64(), let critical = reader.optionNames(),
      let extensions = reader.optionNames(), reader.string() != nil, let signatureKey = reader.string()
    else { return nil }
    let signedEnd = reader.offset
    guard let signature = reader.string(), reader.isAtEnd else { return nil }
    self.type = type
    self.plainKey = plain.bytes
    self.serial = serial
    self.kindValue = kindValue
    self.keyID = keyID
    self.principals = principals
    self.validAfter = validAfter
    self.validBefore = validBefore
    self.criticalOptions = critical
    self.extensions = extensions
    self.signatureKey = signatureKey
    self.signature = signature
    self.signedBytes = Array(blob[..<signedEnd])
  }
}
