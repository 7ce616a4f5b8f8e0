import CLibSSH
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Why a host could not be probed over SSH, with the message a user acts on.
public enum SSHError: Error, CustomStringConvertible, Sendable, Hashable {
  case unreachable(String)
  case timeout(String)
  case hostKeyUnknown(String)
  case hostKeyChanged(String)
  /// The host key, its certificate's key or the CA that signed it is `@revoked`.
  case hostKeyRevoked(String)
  /// The host presented a certificate that no CA of the known hosts vouches for, or one that
  /// is not valid for it now, and its plain key is not known.
  case hostCertificateInvalid(String)
  case authFailed(String)
  case probeFailed(String)
  case failed(String)
  /// The server accepted the connection and closed it before its greeting; `run` dials again.
  case dropped(String)

  public var description: String {
    switch self {
    case .unreachable(let text), .timeout(let text), .hostKeyUnknown(let text), .hostKeyChanged(let text),
      .hostKeyRevoked(let text), .hostCertificateInvalid(let text),
      .authFailed(let text), .probeFailed(let text), .failed(let text), .dropped(let text):
      text
    }
  }
}
