import Testing

@testable import SSH

@Suite("output read into mapped blocks")
struct OutputBufferTests {
  /// Writes `piece` as reads do: into the space handed out, at most `read` bytes at a time.
  static func write(_ piece: [UInt8], into buffer: OutputBuffer, read: Int) throws {
    var offset = 0
    while offset < piece.count {
      let space = try #require(buffer.space())
      #expect(space.count > 0 && space.count <= OutputBuffer.blockSize)
      let size = min(space.count, read, piece.count - offset)
      space.copyBytes(from: piece[offset..<(offset + size)])
      buffer.commit(size)
      offset += size
    }
  }

  @Test("reads of every size join in order into exactly their bytes, across block boundaries")
  func joinsInOrder() throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let buffer = OutputBuffer()
    var expected: [UInt8] = []
    #expect(buffer.joined().isEmpty)
    // Pieces that end exactly at a block's end, just past it, and span several blocks.
    let block = OutputBuffer.blockSize
    for (size, read) in [
      (0, 4096), (1, 4096), (4095, 4096), (block - 4096, 65536), (3, 1), (block + 7, 300_000),
      (2 * block, block),
      (65536, 4096),
    ] {
      // Bytes that differ from place to place (xorshift), so that a piece out of order shows.
      let piece = (0..<size).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 32)
      }
      try Self.write(piece, into: buffer, read: read)
      expected += piece
      #expect(buffer.count == expected.count)
    }
    // A read that was handed space and brought nothing leaves no trace.
    _ = buffer.space()
    buffer.commit(0)
    let joined = buffer.joined()
    #expect(joined.count == expected.count)
    #expect(joined == expected)
    // Joining hands the bytes over: the buffer is empty and can be filled again.
    #expect(buffer.count == 0)
    #expect(buffer.joined().isEmpty)
    try Self.write([1, 2, 3], into: buffer, read: 2)
    #expect(buffer.joined() == [1, 2, 3])
  }

  @Test("a block is filled to its end before the next is mapped")
  func fillsBlocks() throws {
    let buffer = OutputBuffer()
    let first = try #require(buffer.space())
    #expect(first.count == OutputBuffer.blockSize)
    buffer.commit(100)
    let rest = try #require(buffer.space())
    #expect(rest.count == OutputBuffer.blockSize - 100)
    #expect(rest.baseAddress == first.baseAddress.map { $0 + 100 })
    buffer.commit(rest.count)
    let next = try #require(buffer.space())
    #expect(next.count == OutputBuffer.blockSize)
    #expect(buffer.count == OutputBuffer.blockSize)
  }

  @Test("a usual output's blocks go to the next output, which reads back only its own bytes")
  func reusesBlocks() throws {
    let spare = SpareBlocks(limit: 4)
    let first = OutputBuffer(spare: spare)
    try Self.write(Array(repeating: 0xAA, count: OutputBuffer.blockSize + 10), into: first, read: 65536)
    #expect(first.joined().count == OutputBuffer.blockSize + 10)
    #expect(spare.count == 2)
    // The next output is handed a kept block, whose old bytes are not part of it.
    let second = OutputBuffer(spare: spare)
    try Self.write([1, 2, 3], into: second, read: 3)
    #expect(spare.count == 1)
    #expect(second.joined() == [1, 2, 3])
    #expect(spare.count == 2)
  }

  @Test("an output of more than a few blocks, and blocks past the limit, go back to the kernel")
  func largeOutputUnmapped() throws {
    let spare = SpareBlocks(limit: 3)
    let large = OutputBuffer(spare: spare)
    let size = (OutputBuffer.reusedBlocks + 1) * OutputBuffer.blockSize
    try Self.write(Array(repeating: 7, count: size), into: large, read: 1 << 20)
    #expect(large.joined().count == size)
    #expect(spare.count == 0)
    // Usual outputs fill the spare blocks up to the limit and no further.
    let buffers = [OutputBuffer(spare: spare), OutputBuffer(spare: spare)]
    for buffer in buffers {
      try Self.write(Array(repeating: 2, count: OutputBuffer.blockSize + 1), into: buffer, read: 1 << 20)
    }
    for buffer in buffers { #expect(buffer.joined().count == OutputBuffer.blockSize + 1) }
    #expect(spare.count == 3)
  }
}
