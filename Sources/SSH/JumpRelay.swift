import CLibSSH
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The jump hosts of a scan: one connection to each bastion (per chain of hops leading to
/// it), shared by every host behind it. Each is made on first use and kept until `shutdown`.
public final class JumpRelayPool: Sendable {
  private let relays = Mutex<[RelayKey: JumpRelay]>([:])

  public init() {}

  struct RelayKey: Hashable {
    var chain: [JumpHost]
    var options: SSHOptions
  }

  /// A socket connected, through the chain of jump hosts, to `host`:`port`: one end of a
  /// pair whose other end the last hop's relay carries over a `direct-tcpip` channel.
  /// Throws the error of the hop that failed, named with the hop.
  func tunnel(through chain: [JumpHost], to host: String, port: Int, options: SSHOptions, deadline: Date)
    throws(SSHError) -> Int32
  {
    var template = options
    template.host = ""
    template.port = nil
    template.user = nil
    template.jumpHosts = nil
    let key = RelayKey(chain: chain, options: template)
    let relay = relays.withLock { relays in
      if let relay = relays[key], !relay.isClosed { return relay }
      let relay = JumpRelay(chain: chain, template: template, pool: self)
      relays[key] = relay
      return relay
    }
    return try relay.tunnel(to: host, port: port, deadline: deadline)
  }

  /// The most channels each jump host's connection had open or opening at once, by jump host.
  public var peakChannels: [JumpHost: Int] {
    relays.withLock { relays in
      var peaks: [JumpHost: Int] = [:]
      for relay in relays.values { peaks[relay.hop] = max(peaks[relay.hop] ?? 0, relay.peak.withLock { $0 }) }
      return peaks
    }
  }

  /// Closes every bastion connection (its open tunnels with it).
  public func shutdown() {
    let all = relays.withLock { relays in
      defer { relays = [:] }
      return Array(relays.values)
    }
    for relay in all { relay.close() }
  }

  deinit { shutdown() }
}

/// One jump host's connection and the tunnels through it. The libssh session is made,
/// checked and authenticated like any host's, then driven by one thread of its own that
/// carries bytes between `direct-tcpip` channels and socket pairs; other threads ask it for
/// tunnels through a queue.
// @unchecked Sendable: the session and tunnels are touched by the relay's thread only; the rest is behind Mutexes.
final class JumpRelay: @unchecked Sendable {
  let chain: [JumpHost]
  let template: SSHOptions
  private let pool: JumpRelayPool

  private enum State {
    case starting
    case ready
    case failed(SSHError)
    case closed
  }
  private let state = Mutex<State>(.starting)
  private let requests = Mutex<[Request]>([])
  private let started = DispatchSemaphore(value: 0)
  /// The most channels open or opening at once on this connection.
  let peak = Mutex(0)
  /// Signalled when the relay's thread has freed its session and is about to end: OpenSSL's
  /// exit handlers race with threads still using it, so `close` waits for this.
  private let exited = DispatchSemaphore(value: 0)
  /// Written to wake the relay's thread: a request or a close.
  private let wakeRead: Int32
  private let wakeWrite: Int32

  /// A tunnel asked for and not yet open.
  // @unchecked Sendable: written by the relay's thread before `done` is signalled, read after.
  final class Request: @unchecked Sendable {
    let host: String
    let port: Int
    let deadline: Date
    let done = DispatchSemaphore(value: 0)
    var result: Result<Int32, SSHError>?
    var channel: ssh_channel?

    init(host: String, port: Int, deadline: Date) {
      self.host = host
      self.port = port
      self.deadline = deadline
    }
  }

  init(chain: [JumpHost], template: SSHOptions, pool: JumpRelayPool) {
    self.chain = chain
    self.template = template
    self.pool = pool
    var pipeEnds: [Int32] = [-1, -1]
    if pipe(&pipeEnds) == 0 {
      for end in pipeEnds {
        _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
      }
    }
    wakeRead = pipeEnds[0]
    wakeWrite = pipeEnds[1]
    let thread = Thread { [self] in self.main() }
    thread.name = "unitaudit-jump"
    thread.start()
  }

  var hop: JumpHost { chain[chain.count - 1] }

  /// How the hop is named in errors: the hop, and its place in a longer chain.
  var label: String {
    chain.count == 1 ? "jump host \(hop)" : "jump host \(hop) (hop \(chain.count) of the chain)"
  }

  var isClosed: Bool {
    state.withLock { if case .closed = $0 { true } else { false } }
  }

  /// Closes the connection and its tunnels, and waits for the relay's thread to be done.
  func close() {
    state.withLock { $0 = .closed }
    wake()
    exited.wait()
    exited.signal()
  }

  private func wake() {
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
  }

  func tunnel(to host: String, port: Int, deadline: Date) throws(SSHError) -> Int32 {
    // Every caller waits for the connection to be made once, then for its own channel.
    started.wait()
    started.signal()
    switch state.withLock({ $0 }) {
    case .failed(let error): throw error
    case .closed: throw .unreachable("\(label): its connection was closed")
    case .starting, .ready: break
    }
    let request = Request(host: host, port: port, deadline: deadline)
    requests.withLock { $0.append(request) }
    wake()
    // The relay may have ended after the state was read: then nothing takes the request.
    if isClosed, requests.withLock({ queue in queue.contains { $0 === request } }) {
      throw .unreachable("\(label): \(closedReasonForCallers)")
    }
    let wait = max(0, deadline.timeIntervalSinceNow) + 2
    if request.done.wait(timeout: .now() + wait) == .timedOut {
      throw .timeout("\(label): no channel to \(host):\(port) before the host's deadline")
    }
    guard let result = request.result else { throw .failed("\(label): the tunnel was abandoned") }
    return try result.get()
  }

  // MARK: - The relay's thread

  private func main() {
    serve()
    exited.signal()
  }

  deinit {
    Glibc.close(wakeRead)
    Glibc.close(wakeWrite)
  }

  private func serve() {
    let session: SSHSession
    do throws(SSHError) {
      var options = template
      options.host = hop.host
      options.port = hop.port
      options.user = hop.user
      options.jumpHosts = Array(chain.dropLast())
      options.isJumpHop = true
      // The connection lives for the whole scan: the host deadline bounds its making only.
      session = try SSHSession.establish(options: options, relays: pool)
    } catch {
      state.withLock { $0 = .failed(Self.named(error, label)) }
      started.signal()
      return
    }
    guard let raw = session.session else {
      state.withLock { $0 = .failed(.failed("\(label): no session")) }
      started.signal()
      return
    }
    state.withLock { if case .starting = $0 { $0 = .ready } }
    started.signal()
    ssh_set_blocking(raw, 0)
    run(raw)
    // Closed before the queue is emptied: a request made from now on sees it and does not wait.
    state.withLock { if case .ready = $0 { $0 = .closed } }
    for tunnel in tunnels { tunnel.finish() }
    tunnels = []
    for request in pending
      + requests.withLock({ taken in
        defer { taken = [] }; return taken
      })
    {
      if let channel = request.channel { ssh_channel_free(channel) }
      request.result = .failure(.unreachable("\(label): \(closedReason)"))
      request.done.signal()
    }
    pending = []
    withExtendedLifetime(session) {}
  }

  /// The error of a hop, named: the same kind (an unknown key stays an unknown key), its text
  /// prefixed with which hop said it.
  static func named(_ error: SSHError, _ label: String) -> SSHError {
    let text = "\(label): \(error.description)"
    switch error {
    case .unreachable, .dropped: return .unreachable(text)
    case .timeout: return .timeout(text)
    case .hostKeyUnknown: return .hostKeyUnknown(text)
    case .hostKeyChanged: return .hostKeyChanged(text)
    case .hostKeyRevoked: return .hostKeyRevoked(text)
    case .hostCertificateInvalid: return .hostCertificateInvalid(text)
    case .authFailed: return .authFailed(text)
    case .probeFailed, .failed: return .failed(text)
    }
  }

  private var tunnels: [Tunnel] = []
  private var pending: [Request] = []
  private var closedReason = "the jump host closed the connection" {
    didSet { closedReasonText.withLock { $0 = closedReason } }
  }
  private let closedReasonText = Mutex("the jump host closed the connection")
  private var closedReasonForCallers: String { closedReasonText.withLock { $0 } }

  private func run(_ session: ssh_session) {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      if case .closed = state.withLock({ $0 }) {
        closedReason = "the scan closed its connection"
        return
      }
      var drained: UInt8 = 0
      while read(wakeRead, &drained, 1) > 0 {}
      pending += requests.withLock { taken in
        defer { taken = [] }
        return taken
      }
      var progress = openChannels(session)
      for tunnel in tunnels { progress = tunnel.pump(&buffer) || progress }
      tunnels.removeAll { tunnel in
        guard tunnel.isDone else { return false }
        tunnel.finish()
        return true
      }
      if ssh_is_connected(session) == 0 {
        let text = ssh_get_error(UnsafeMutableRawPointer(session)).map { String(cString: $0) } ?? ""
        closedReason = "the jump host closed the connection" + (text.isEmpty ? "" : " (\(text))")
        return
      }
      if progress { continue }
      // Idle: wait for the bastion, a tunnel's socket or a request.
      var fds = [
        pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        pollfd(fd: ssh_get_fd(session), events: Int16(POLLIN), revents: 0),
      ]
      // A socket with nothing to wait for is left out: poll reports a closed peer at once,
      // whatever is asked.
      for tunnel in tunnels where tunnel.pollEvents != 0 {
        fds.append(pollfd(fd: tunnel.fd, events: tunnel.pollEvents, revents: 0))
      }
      // Short while a channel is opening or a window is closed: libssh moves those on only
      // when called.
      let waiting = !pending.isEmpty || tunnels.contains { $0.isBlockedOnChannel }
      _ = poll(&fds, nfds_t(fds.count), waiting ? 5 : 200)
    }
  }

  /// Moves the channel openings on, within the channel limit; true when one ended.
  private func openChannels(_ session: ssh_session) -> Bool {
    var progress = false
    var stillPending: [Request] = []
    // Channels open or opening: what the limit counts.
    var inUse = tunnels.count + pending.filter { $0.channel != nil }.count
    for request in pending {
      if request.deadline < Date() {
        if let channel = request.channel {
          ssh_channel_free(channel)
          inUse -= 1
        }
        complete(
          request, .failure(.timeout("\(label): no channel to \(request.host):\(request.port) in time")))
        progress = true
        continue
      }
      if request.channel == nil {
        guard inUse < max(1, template.jumpChannels) else {
          stillPending.append(request)
          continue
        }
        request.channel = ssh_channel_new(session)
        inUse += 1
        peak.withLock { $0 = max($0, inUse) }
      }
      guard let channel = request.channel else {
        inUse -= 1
        complete(request, .failure(.failed("\(label): libssh could not make a channel")))
        continue
      }
      let opened = ssh_channel_open_forward(channel, request.host, Int32(request.port), "127.0.0.1", 0)
      if opened == SSH_AGAIN {
        stillPending.append(request)
        continue
      }
      progress = true
      guard opened == SSH_OK else {
        let text = ssh_get_error(UnsafeMutableRawPointer(session)).map { String(cString: $0) } ?? "refused"
        ssh_channel_free(channel)
        request.channel = nil
        inUse -= 1
        complete(
          request,
          .failure(
            .unreachable("\(label) could not open a channel to \(request.host):\(request.port): \(text)")))
        continue
      }
      var pair: [Int32] = [-1, -1]
      guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0
      else {
        ssh_channel_free(channel)
        request.channel = nil
        inUse -= 1
        complete(request, .failure(.failed("\(label): no socket pair: \(String(cString: strerror(errno)))")))
        continue
      }
      _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
      tunnels.append(Tunnel(channel: channel, fd: pair[0]))
      request.channel = nil
      complete(request, .success(pair[1]))
    }
    pending = stillPending
    return progress
  }

  private func complete(_ request: Request, _ result: Result<Int32, SSHError>) {
    request.result = result
    request.done.signal()
  }
}

/// One `direct-tcpip` channel and the socket the session behind it reads and writes.
private final class Tunnel {
  let channel: ssh_channel
  let fd: Int32
  private var toSocket: [UInt8] = []
  private var toChannel: [UInt8] = []
  private var socketEOF = false
  private var channelEOFSent = false
  private var socketShut = false
  private var broken = false

  init(channel: ssh_channel, fd: Int32) {
    self.channel = channel
    self.fd = fd
  }

  var isBlockedOnChannel: Bool { !toChannel.isEmpty }

  var pollEvents: Int16 {
    var events: Int16 = 0
    if toChannel.isEmpty && !socketEOF { events |= Int16(POLLIN) }
    if !toSocket.isEmpty { events |= Int16(POLLOUT) }
    return events
  }

  var isDone: Bool {
    broken || ssh_channel_is_closed(channel) != 0
      || (socketShut && socketEOF && toChannel.isEmpty)
  }

  /// Moves what is ready in both directions; true when a byte moved.
  func pump(_ buffer: inout [UInt8]) -> Bool {
    var moved = false
    // Lets libssh take in what arrived for the channel (its end, its close) also when
    // nothing more is read from it.
    if ssh_channel_poll(channel, 0) == SSH_ERROR {
      broken = true
      return true
    }
    // Channel to socket.
    if toSocket.isEmpty && !socketShut {
      let count = buffer.withUnsafeMutableBytes {
        ssh_channel_read_nonblocking(channel, $0.baseAddress, UInt32($0.count), 0)
      }
      if count > 0 {
        toSocket = Array(buffer[..<Int(count)])
      } else if count == SSH_ERROR {
        broken = true
        return true
      }
    }
    if !toSocket.isEmpty {
      let sent = toSocket.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if sent > 0 {
        toSocket.removeFirst(sent)
        moved = true
      } else if sent < 0 && errno != EAGAIN && errno != EINTR {
        broken = true
        return true
      }
    }
    if toSocket.isEmpty && !socketShut && ssh_channel_is_eof(channel) != 0 {
      shutdown(fd, Int32(SHUT_WR))
      socketShut = true
      moved = true
    }
    // Socket to channel.
    if toChannel.isEmpty && !socketEOF {
      let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if count > 0 {
        toChannel = Array(buffer[..<count])
      } else if count == 0 {
        socketEOF = true
        moved = true
      } else if errno != EAGAIN && errno != EINTR {
        broken = true
        return true
      }
    }
    if !toChannel.isEmpty {
      let written = toChannel.withUnsafeBytes { ssh_channel_write(channel, $0.baseAddress, UInt32($0.count)) }
      if written > 0 {
        toChannel.removeFirst(Int(written))
        moved = true
      } else if written == SSH_ERROR {
        broken = true
        return true
      }
    }
    if socketEOF && toChannel.isEmpty && !channelEOFSent {
      ssh_channel_send_eof(channel)
      channelEOFSent = true
      moved = true
    }
    return moved
  }

  func finish() {
    Glibc.close(fd)
    ssh_channel_close(channel)
    ssh_channel_free(channel)
  }
}
