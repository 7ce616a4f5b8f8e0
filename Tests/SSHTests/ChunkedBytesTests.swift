import Testing

@testable import SSH

@Suite("output read in pieces")
struct ChunkedBytesTests {
  @Test("the pieces join in order into exactly their bytes, empty pieces and all")
  func joinsInOrder() {
    var generator = SystemRandomNumberGenerator()
    var bytes = ChunkedBytes()
    var expected: [UInt8] = []
    #expect(bytes.joined().isEmpty)
    for size in [0, 1, 4096, 0, 65536, 7, 32768] {
      let piece = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
      // A slice that does not start at 0, as a read into the scratch buffer is.
      let padded = [0xAA] + piece
      bytes.append(padded[1...])
      expected += piece
      #expect(bytes.count == expected.count)
    }
    let joined = bytes.joined()
    #expect(joined == expected)
  }
}
