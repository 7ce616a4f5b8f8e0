/// FNV-1a, 64 bits: a fast, stable hash of bytes, for names and look-ups that must be the same
/// in every process (a baseline's identity, a host's shard). Not a defence against collisions made on purpose: where that matters, the bytes
/// are compared too.
public struct FNV1a: Sendable {
  public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  public init() {}

  public mutating func combine(_ byte: UInt8) {
    value ^= UInt64(byte)
    value = value &* 0x100_0000_01b3
  }

  public mutating func combine(_ bytes: some Sequence<UInt8>) {
    for byte in bytes { combine(byte) }
  }

  public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hasher = FNV1a()
    hasher.combine(bytes)
    return hasher.value
  }
}
