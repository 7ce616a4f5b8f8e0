import CLibSSH
import Foundation

/// Jump hosts carried inside unitaudit: the session's socket is a tunnel through the jump
/// hosts' shared connections (`JumpRelayPool`) instead of an `ssh -W` process per host.
extension SSHSession {
  /// The `ProxyCommand` libssh took from the config, if any.
  var proxyCommand: String? {
    guard let session else { return nil }
    var value: UnsafeMutablePointer<CChar>?
    guard ssh_options_get(session, SSH_OPTIONS_PROXYCOMMAND, &value) == SSH_OK, let value else { return nil }
    defer { ssh_string_free_char(value) }
    return String(cString: value)
  }

  /// Connects the session's socket through the options' jump hosts, or the config's
  /// `ProxyJump` for the host (which libssh 0.10 turns into an `ssh -W` command, read back
  /// here and never run). A jump host's own `ProxyJump` is not followed: its hops are the
  /// chain that leads to it. A config's other `ProxyCommand` stays libssh's to run.
  func connectThroughJumpHosts() throws(SSHError) {
    var chain = options.jumpHosts ?? []
    if let command = proxyCommand, let hops = JumpHost.fromLibsshProxyCommand(command) {
      set(SSH_OPTIONS_PROXYCOMMAND, "none")
      if options.jumpHosts == nil && !options.isJumpHop { chain = hops }
    }
    guard !chain.isEmpty, let session else { return }
    set(SSH_OPTIONS_PROXYCOMMAND, "none")
    guard let relays else { throw .failed("jump hosts need a relay pool") }
    let (host, port) = effectiveHostAndPort
    var fd = try relays.tunnel(
      through: chain, to: host, port: port, options: options,
      deadline: started.addingTimeInterval(options.deadline))
    jumps = chain
    tunnelSocket = fd
    guard ssh_options_set(session, SSH_OPTIONS_FD, &fd) == SSH_OK else {
      throw .failed("libssh did not take the tunnel's socket")
    }
  }

  /// A second tunnel to the host, through the same jump hosts, for `CertificateFetch`.
  func tunnelForCertificate(host: String, port: Int) throws(SSHError) -> Int32? {
    guard !jumps.isEmpty, let relays else { return nil }
    return try relays.tunnel(
      through: jumps, to: host, port: port, options: options,
      deadline: started.addingTimeInterval(options.deadline))
  }
}
