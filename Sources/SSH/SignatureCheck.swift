import CLibCrypto
import Foundation

/// Checks an SSH signature (a CA's over a certificate) with OpenSSL's libcrypto: the SSH key
/// blob is turned into the DER SubjectPublicKeyInfo libcrypto reads, the signature into what
/// libcrypto verifies. The algorithms are OpenSSH's default `CASignatureAlgorithms` but for the
/// security-key ones: Ed25519, ECDSA on the three NIST curves, RSA with SHA-256 or SHA-512.
/// `ssh-rsa` (SHA-1) is refused, as OpenSSH refuses it.
enum SignatureCheck {
  enum Failure: Error, Equatable, CustomStringConvertible {
    case unsupportedKey(String)
    case unsupportedAlgorithm(String)
    case mismatch(key: String, algorithm: String)
    case malformed
    case invalid

    var description: String {
      switch self {
      case .unsupportedKey(let type): "a CA key of type \(type), which unitaudit does not check"
      case .unsupportedAlgorithm(let name):
        name == "ssh-rsa"
          ? "the CA signed with ssh-rsa (RSA with SHA-1), which OpenSSH no longer accepts for certificates"
          : "the CA signed with \(name), which unitaudit does not accept"
      case .mismatch(let key, let algorithm): "a \(algorithm) signature made with a \(key) key"
      case .malformed: "the CA's signature is malformed"
      case .invalid:
        "the CA's signature does not verify: the certificate was altered or not signed by that CA"
      }
    }
  }

  /// Verifies `signature` (an SSH signature blob) over `data` with the public key `keyBlob`.
  static func verify(signature: [UInt8], data: [UInt8], keyBlob: [UInt8]) throws(Failure) {
    var key = SSHWireReader(keyBlob)
    var sig = SSHWireReader(signature)
    guard let keyType = key.text() else { throw .malformed }
    guard let algorithm = sig.text(), let raw = sig.string(), sig.isAtEnd else { throw .malformed }
    let spki: [UInt8]
    let digest: OpaquePointer?
    var signatureBytes = raw
    switch keyType {
    case "ssh-ed25519":
      guard algorithm == "ssh-ed25519" else { throw Self.refusal(keyType, algorithm) }
      guard let point = key.string(), point.count == 32, raw.count == 64 else { throw .malformed }
      spki = DER.sequence(DER.sequence(DER.ed25519) + DER.bitString(point))
      digest = nil
    case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
      guard algorithm == keyType else { throw Self.refusal(keyType, algorithm) }
      guard let curveName = key.text(), let point = key.string(), let curve = DER.curves[curveName],
        keyType.hasSuffix(curveName)
      else { throw .malformed }
      var pair = SSHWireReader(raw)
      guard let r = pair.string(), let s = pair.string(), pair.isAtEnd else { throw .malformed }
      spki = DER.sequence(DER.sequence(DER.ecPublicKey + curve.oid) + DER.bitString(point))
      signatureBytes = DER.sequence(DER.integer(r) + DER.integer(s))
      digest = curve.digestBits == 256 ? EVP_sha256() : curve.digestBits == 384 ? EVP_sha384() : EVP_sha512()
    case "ssh-rsa":
      guard let e = key.string(), let n = key.string() else { throw .malformed }
      switch algorithm {
      case "rsa-sha2-256": digest = EVP_sha256()
      case "rsa-sha2-512": digest = EVP_sha512()
      default: throw Self.refusal(keyType, algorithm)
      }
      spki = DER.sequence(
        DER.sequence(DER.rsaEncryption) + DER.bitString(DER.sequence(DER.integer(n) + DER.integer(e))))
    default:
      throw .unsupportedKey(keyType)
    }
    guard key.isAtEnd else { throw .malformed }
    let verified = spki.withUnsafeBufferPointer { buffer -> Int32 in
      var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
      guard let publicKey = d2i_PUBKEY(nil, &cursor, buffer.count) else { return -1 }
      defer { EVP_PKEY_free(publicKey) }
      guard let context = EVP_MD_CTX_new() else { return -1 }
      defer { EVP_MD_CTX_free(context) }
      guard EVP_DigestVerifyInit(context, nil, digest, nil, publicKey) == 1 else { return -1 }
      return EVP_DigestVerify(context, signatureBytes, signatureBytes.count, data, data.count)
    }
    guard verified == 1 else { throw verified < 0 ? .malformed : .invalid }
  }

  private static func refusal(_ keyType: String, _ algorithm: String) -> Failure {
    let accepted = [
      "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-256",
      "rsa-sha2-512",
    ]
    return accepted.contains(algorithm)
      ? .mismatch(key: keyType, algorithm: algorithm) : .unsupportedAlgorithm(algorithm)
  }
}

/// The few DER encodings a SubjectPublicKeyInfo and an ECDSA signature need.
private enum DER {
  static let ed25519: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]
  static let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
  static let rsaEncryption: [UInt8] = [
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
  ]
  /// Each curve's OID and the SHA-2 size its SSH signatures hash with (RFC 5656).
  static let curves: [String: (oid: [UInt8], digestBits: Int)] = [
    "nistp256": ([0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07], 256),
    "nistp384": ([0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22], 384),
    "nistp521": ([0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23], 512),
  ]

  static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
    let count = content.count
    let length: [UInt8] =
      count < 0x80
      ? [UInt8(count)]
      : count < 0x100 ? [0x81, UInt8(count)] : [0x82, UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
    return [tag] + length + content
  }

  static func sequence(_ content: [UInt8]) -> [UInt8] { element(0x30, content) }

  static func bitString(_ content: [UInt8]) -> [UInt8] { element(0x03, [0] + content) }

  /// An SSH mpint is already a minimal two's-complement big-endian integer, as DER wants;
  /// zero is the one empty mpint.
  static func integer(_ mpint: [UInt8]) -> [UInt8] { element(0x02, mpint.isEmpty ? [0] : mpint) }
}

/// HMAC-SHA1, as hashed known_hosts names (`|1|salt|hash`) are made.
func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
  var output = [UInt8](repeating: 0, count: 20)
  var length: UInt32 = 0
  guard HMAC(EVP_sha1(), key, Int32(key.count), data, data.count, &output, &length) != nil else { return [] }
  return Array(output.prefix(Int(length)))
}

/// The SHA-256 of `bytes` in base64 without padding: the form of OpenSSH's fingerprints.
func sha256Base64(_ bytes: [UInt8]) -> String {
  var digest = [UInt8](repeating: 0, count: 32)
  var length: UInt32 = 0
  guard EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha256(), nil) == 1 else { return "?" }
  var text = Data(digest.prefix(Int(length))).base64EncodedString()
  while text.hasSuffix("=") { text.removeLast() }
  return text
}
