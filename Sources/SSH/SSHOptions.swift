import CLibSSH
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// How to reach one host and what to trust.
public struct SSHOptions: Sendable, Hashable {
  /// What to connect to; also the name `Host` blocks of an OpenSSH config match.
  public var host: String
  /// nil: the config's `Port`, else 22.
  public var port: Int?
  /// nil: the config's `User`, else the local user.
  public var user: String?
  /// Private keys to offer, in order. Empty: the agent, then the config's and default identities.
  public var identityFiles: [String]
  /// An OpenSSH user certificate to present with the identity it certifies (`--certificate`);
  /// nil: `KEY-cert.pub` beside each identity `KEY`, when there is one.
  public var certificateFile: String?
  /// An ssh-agent socket; nil: `$SSH_AUTH_SOCK`.
  public var agentSocket: String?
  /// An OpenSSH client config to read (`~/.ssh/config` by default); nil reads none.
  public var configFile: String?
  /// The known_hosts file checked strictly (`~/.ssh/known_hosts` by default).
  public var knownHostsFile: String
  /// Whether the system-wide known hosts are checked too, as OpenSSH checks them: the
  /// config's `GlobalKnownHostsFile`, else `/etc/ssh/ssh_known_hosts`. False: only
  /// `knownHostsFile` (what `--known-hosts FILE` asks for).
  public var globalKnownHosts: Bool
  /// Adds unknown host keys to `knownHostsFile` instead of refusing them (trust on first use).
  public var acceptNewHostKeys: Bool
  /// Seconds for the TCP connection, banner and key exchange, and for each later round trip.
  public var connectTimeout: Int
  /// Seconds for the whole host: connection, authentication and command.
  public var deadline: Double
  /// Bytes of stdout + stderr kept; past it the command is stopped and the output marked truncated.
  public var maxOutputBytes: Int
  /// Jump hosts to go through, first reached first (`ProxyJump`); empty: none (`none`); nil:
  /// the SSH config's `ProxyJump` for the host, if any.
  public var jumpHosts: [JumpHost]?
  /// Channels open at once through one jump host's connection.
  public var jumpChannels: Int = 10
  /// True for the connection to a jump host itself: the config's `ProxyJump` for it is not
  /// followed (its hops come from the chain that leads to it).
  public var isJumpHop = false

  public init(
    host: String, port: Int? = nil, user: String? = nil, identityFiles: [String] = [],
    certificateFile: String? = nil,
    agentSocket: String? = nil, configFile: String? = nil, knownHostsFile: String,
    globalKnownHosts: Bool = false,
    acceptNewHostKeys: Bool = false, connectTimeout: Int, deadline: Double, maxOutputBytes: Int
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.identityFiles = identityFiles
    self.certificateFile = certificateFile
    self.agentSocket = agentSocket
    self.configFile = configFile
    self.knownHostsFile = knownHostsFile
    self.globalKnownHosts = globalKnownHosts
    self.acceptNewHostKeys = acceptNewHostKeys
    self.connectTimeout = connectTimeout
    self.deadline = deadline
    self.maxOutputBytes = maxOutputBytes
  }
}

/// What one command printed, and how it ended.
public struct SSHCommandResult: Sendable, Hashable {
  public var stdout: [UInt8]
  public var stderr: [UInt8]
  /// nil when the server sent no exit status (killed by a signal, or the channel closed early).
  public var exitStatus: Int32?
  public var truncated: Bool
  /// Why the connection broke before the command ended, when it did; the output is what
  /// arrived before.
  public var connectionLost: String?
  /// How many times the server dropped the connection before its greeting and was dialled again.
  public var redials = 0
  /// Host keys accepted into known_hosts on this connection (with --accept-new-host-keys).
  public var acceptedHostKey: String?
  /// Problems that did not stop the connection (an unparsable config file).
  public var warnings: [String]
}
