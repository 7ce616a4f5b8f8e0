import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Asks an SSH server for its host certificate: the opening of a key exchange, in the clear,
/// up to the server's reply, which carries its host key — here the certificate, as only
/// certificate algorithms are offered. Nothing is authenticated and the exchange is never
/// finished; the connection is closed as soon as the reply arrives.
///
/// libssh 0.10 takes no certificate as a host key (its client removes the certificate
/// algorithms from what it offers), so its session negotiates the plain key and proves the
/// server holds it; the certificate asked for here is trusted only when it certifies that very
/// key (`HostKeyCheck`). A certificate is public: where it comes from does not matter once its
/// CA signature and the key it certifies are checked.
enum CertificateFetch {
  enum Failure: Error, Equatable, CustomStringConvertible {
    /// The server negotiated no certificate for that key type: it has none.
    case noCertificate(String)
    case failed(String)

    var description: String {
      switch self {
      case .noCertificate(let text), .failed(let text): text
      }
    }
  }

  /// The certificate algorithms for a plain key type: what is offered.
  static func certificateAlgorithms(for plainType: String) -> String? {
    switch plainType {
    case "ssh-ed25519": "ssh-ed25519-cert-v01@openssh.com"
    case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
      plainType + "-cert-v01@openssh.com"
    case "ssh-rsa": "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com"
    default: nil
    }
  }

  /// Connects to `host`:`port` (or uses `connected`, a socket already connected to it, which
  /// it closes) and returns the certificate blob the server presents for its `plainType` key,
  /// within `timeout` seconds.
  static func fetch(host: String, port: Int, plainType: String, timeout: Double, connected: Int32? = nil)
    throws(Failure) -> [UInt8]
  {
    guard let algorithms = certificateAlgorithms(for: plainType) else {
      if let connected { close(connected) }
      throw .noCertificate("unitaudit asks for no certificate of a \(plainType) key")
    }
    let deadline = Date().addingTimeInterval(timeout)
    let fd: Int32
    if let connected {
      fd = connected
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    } else {
      fd = try connect(host: host, port: port, deadline: deadline)
    }
    defer { close(fd) }
    var stream = PacketStream(fd: fd, deadline: deadline)
    try stream.write(Array("SSH-2.0-unitaudit\r\n".utf8))
    try stream.readVersion()
    var kexinit = SSHWireWriter()
    kexinit.byte(20)
    kexinit.raw((0..<16).map { _ in UInt8.random(in: 0...255) })
    for list in [
      "curve25519-sha256,curve25519-sha256@libssh.org", algorithms,
      "aes128-ctr,aes256-ctr,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
      "aes128-ctr,aes256-ctr,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
      "hmac-sha2-256,hmac-sha2-512", "hmac-sha2-256,hmac-sha2-512", "none", "none", "", "",
    ] {
      kexinit.text(list)
    }
    kexinit.byte(0)
    kexinit.raw([0, 0, 0, 0])
    try stream.send(kexinit.bytes)
    _ = try stream.receive(type: 20, plainType: plainType)
    var ecdhInit = SSHWireWriter()
    ecdhInit.byte(30)
    ecdhInit.string((0..<32).map { _ in UInt8.random(in: 0...255) })
    try stream.send(ecdhInit.bytes)
    var reply = SSHWireReader(try stream.receive(type: 31, plainType: plainType))
    _ = reply.byte()
    guard let hostKey = reply.string() else { throw .failed("the server's key exchange reply is malformed") }
    return hostKey
  }

  private static func connect(host: String, port: Int, deadline: Date) throws(Failure) -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &list) == 0, let list else {
      throw .failed("cannot resolve \(host)")
    }
    defer { freeaddrinfo(list) }
    var last = "no address"
    var entry: UnsafeMutablePointer<addrinfo>? = list
    while let current = entry {
      entry = current.pointee.ai_next
      let fd = socket(
        current.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard fd >= 0 else { continue }
      let flags = fcntl(fd, F_GETFL)
      _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
      if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0
        || (errno == EINPROGRESS && PacketStream.wait(fd, events: Int16(POLLOUT), deadline: deadline)
          && socketError(fd) == 0)
      {
        return fd
      }
      last = String(cString: strerror(errno))
      close(fd)
    }
    throw .failed("cannot connect to \(host) port \(port) for its certificate: \(last)")
  }

  private static func socketError(_ fd: Int32) -> Int32 {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
    errno = value
    return value
  }
}

/// The SSH binary packet protocol before any key is agreed: no encryption, no MAC.
private struct PacketStream {
  let fd: Int32
  let deadline: Date
  private var buffer: [UInt8] = []
  /// Packets larger than this are refused (RFC 4253 asks for 35,000 at least).
  static let maxPacket = 256 * 1024

  init(fd: Int32, deadline: Date) {
    self.fd = fd
    self.deadline = deadline
  }

  static func wait(_ fd: Int32, events: Int16, deadline: Date) -> Bool {
    var entry = pollfd(fd: fd, events: events, revents: 0)
    while true {
      let left = deadline.timeIntervalSinceNow
      guard left > 0 else { return false }
      let ready = poll(&entry, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
      if ready > 0 { return true }
      if ready < 0 && errno != EINTR { return false }
    }
  }

  func write(_ bytes: [UInt8]) throws(CertificateFetch.Failure) {
    var offset = 0
    while offset < bytes.count {
      guard Self.wait(fd, events: Int16(POLLOUT), deadline: deadline) else {
        throw .failed("timed out sending to the server")
      }
      let sent = bytes[offset...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      guard sent > 0 || errno == EAGAIN || errno == EINTR else {
        throw .failed("the server closed the connection: \(String(cString: strerror(errno)))")
      }
      offset += max(0, sent)
    }
  }

  /// Reads until `buffer` holds at least `count` bytes.
  private mutating func fill(_ count: Int) throws(CertificateFetch.Failure) {
    var chunk = [UInt8](repeating: 0, count: 16384)
    while buffer.count < count {
      guard Self.wait(fd, events: Int16(POLLIN), deadline: deadline) else {
        throw .failed("timed out waiting for the server")
      }
      let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if got == 0 { throw .failed("the server closed the connection") }
      if got < 0 {
        if errno == EAGAIN || errno == EINTR { continue }
        throw .failed("reading from the server: \(String(cString: strerror(errno)))")
      }
      buffer += chunk[..<got]
    }
  }

  /// Skips the lines a server may send before its version, then reads the version line.
  mutating func readVersion() throws(CertificateFetch.Failure) {
    for _ in 0..<64 {
      var line: [UInt8] = []
      while line.last != UInt8(ascii: "\n") {
        try fill(1)
        line.append(buffer.removeFirst())
        guard line.count <= 1024 else { throw .failed("the server's greeting is too long") }
      }
      if line.starts(with: Array("SSH-2.0-".utf8)) || line.starts(with: Array("SSH-1.99-".utf8)) { return }
    }
    throw .failed("the server sent no SSH version line")
  }

  func send(_ payload: [UInt8]) throws(CertificateFetch.Failure) {
    var padding = 8 - (payload.count + 5) % 8
    if padding < 4 { padding += 8 }
    let length = UInt32(1 + payload.count + padding)
    var packet = [
      UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
    ]
    packet.append(UInt8(padding))
    packet += payload
    packet += (0..<padding).map { _ in UInt8.random(in: 0...255) }
    try write(packet)
  }

  /// The next packet's payload of message `type`, skipping ignore, debug and unimplemented
  /// messages; a disconnect says why.
  mutating func receive(type: UInt8, plainType: String) throws(CertificateFetch.Failure) -> [UInt8] {
    while true {
      try fill(5)
      let length = Int(buffer[0..<4].reduce(0) { $0 << 8 | UInt32($1) })
      let padding = Int(buffer[4])
      guard length >= 1 + padding + 1, length <= Self.maxPacket else {
        throw .failed("the server sent a malformed packet")
      }
      try fill(4 + length)
      let payload = Array(buffer[5..<(4 + length - padding)])
      buffer.removeFirst(4 + length)
      switch payload.first {
      case type: return payload
      case 2, 3, 4: continue
      case 1:
        var reader = SSHWireReader(Array(payload.dropFirst()))
        _ = reader.uint32()
        let why = reader.text() ?? ""
        if why.contains("host key") {
          throw .noCertificate("the server has no certificate for its \(plainType) key (\(why))")
        }
        throw .failed("the server disconnected: \(why)")
      default:
        throw .failed("the server sent message \(payload.first ?? 0) during the key exchange")
      }
    }
  }
}
