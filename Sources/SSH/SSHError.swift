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
  case authFailed(String)
  case probeFailed(String)
  case failed(String)
  /// The server accepted the connection and closed it before its greeting; `run` dials again.
  case dropped(String)

  public var description: String {
    switch self {
    case .unreachable(let text), .timeout(let text), .hostKeyUnknown(let text), .hostKeyChanged(let text),
      .authFailed(let text), .probeFailed(let text), .failed(let text), .dropped(let text):
      text
    }
  }
}
