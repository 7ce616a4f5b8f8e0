import Foundation

/// One section of the probe's output: what one command printed on stdout and stderr.
public struct ProbeSection: Sendable, Hashable {
  public var name: String
  public var stdout: [UInt8]
  public var stderr: [UInt8]
  /// The command's exit status; nil when the end marker never came (output cut short).
  public var exitStatus: Int32?

  public var isComplete: Bool { exitStatus != nil }

  /// stdout as text; invalid UTF-8 is replaced by U+FFFD (see `hasInvalidUTF8`).
  public var text: String { String(decoding: stdout, as: UTF8.self) }
  public var errorText: String { String(decoding: stderr, as: UTF8.self) }
  public var hasInvalidUTF8: Bool { String(validating: stdout, as: UTF8.self) == nil }
}

/// The probe's output split back into its sections.
public struct ProbeSections: Sendable {
  public var sections: [String: ProbeSection]
  /// Section names in the order they began on stdout.
  public var order: [String]
  /// Bytes on stdout outside any section (a login banner, a shell's noise).
  public var strayBytes: Int

  public subscript(name: String) -> ProbeSection? { sections[name] }

  /// The sections in the order they began, each once: what reports list, so that the same
  /// output always gives the same report (a dictionary's order differs from run to run).
  public var ordered: [ProbeSection] {
    var seen = Set<String>()
    return order.compactMap { seen.insert($0).inserted ? sections[$0] : nil }
  }

  /// Splits stdout and stderr at the marker lines that carry `nonce`.
  public init(stdout: [UInt8], stderr: [UInt8], nonce: String) {
    let prefix = Array("@@unitaudit-\(nonce) ".utf8)
    let out = Self.frames(stdout, prefix: prefix)
    let err = Self.frames(stderr, prefix: prefix)
    var sections: [String: ProbeSection] = [:]
    for frame in out.frames where sections[frame.name] == nil {
      let errFrame = err.frames.first { $0.name == frame.name }
      sections[frame.name] = ProbeSection(
        name: frame.name, stdout: frame.body, stderr: errFrame?.body ?? [],
        exitStatus: frame.exitStatus)
    }
    self.sections = sections
    self.order = out.frames.map(\.name)
    self.strayBytes = out.stray
  }

  private struct Frame {
    var name: String
    var body: [UInt8]
    var exitStatus: Int32?
  }

  /// Walks the lines of one stream; a marker counts only at the start of a line.
  private static func frames(_ bytes: [UInt8], prefix: [UInt8]) -> (frames: [Frame], stray: Int) {
    var frames: [Frame] = []
    var open: (name: String, start: Int)?
    var stray = 0
    var lineStart = 0
    let newline = UInt8(ascii: "\n")
    while lineStart < bytes.count {
      let lineEnd = nextNewline(in: bytes, from: lineStart)
      if bytes[lineStart] == prefix.first,
        let marker = parseMarker(bytes[lineStart..<lineEnd], prefix: prefix)
      {
        switch (marker.kind, open) {
        case ("begin", let current?):
          // A begin inside an open section: the previous one was cut short.
          frames.append(Frame(name: current.name, body: Array(bytes[current.start..<lineStart])))
          open = (marker.name, min(lineEnd + 1, bytes.count))
        case ("begin", nil):
          open = (marker.name, min(lineEnd + 1, bytes.count))
        case ("end", let current?) where current.name == marker.name:
          // The probe prints one newline of its own before each end marker.
          var bodyEnd = lineStart
          if bodyEnd > current.start && bytes[bodyEnd - 1] == newline { bodyEnd -= 1 }
          frames.append(
            Frame(
              name: current.name, body: Array(bytes[current.start..<bodyEnd]),
              exitStatus: marker.status ?? -1))
          open = nil
        default:
          break
        }
      } else if open == nil {
        stray += lineEnd - lineStart
      }
      lineStart = lineEnd + 1
    }
    if let current = open {
      frames.append(Frame(name: current.name, body: Array(bytes[current.start...])))
    }
    return (frames, stray)
  }

  /// The index of the first "\n" at or after `start`, or `bytes.count`.
  private static func nextNewline(in bytes: [UInt8], from start: Int) -> Int {
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress,
        let found = memchr(base + start, Int32(UInt8(ascii: "\n")), buffer.count - start)
      else { return buffer.count }
      return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
  }

  private static func parseMarker(_ line: ArraySlice<UInt8>, prefix: [UInt8]) -> (
    kind: String, name: String, status: Int32?
  )? {
    guard line.count > prefix.count, line.starts(with: prefix), line.count < prefix.count + 200 else {
      return nil
    }
    let rest = String(decoding: line.dropFirst(prefix.count), as: UTF8.self)
    let words = rest.split(separator: " ", omittingEmptySubsequences: false)
    guard words.count == 3, words[0] == "begin" || words[0] == "end" else { return nil }
    return (String(words[0]), String(words[1]), Int32(words[2]))
  }
}
