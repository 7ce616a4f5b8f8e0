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
  public var hasInvalidUTF8: Bool { !isValidUTF8(stdout) }
}

/// True when `bytes` are valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
/// U+10FFFF), checked in place. Runs of ASCII, nearly all of systemd's output, go eight bytes
/// at a time; `String(validating:)` would copy the megabyte of a security section to check it.
func isValidUTF8(_ bytes: [UInt8]) -> Bool {
  bytes.withUnsafeBytes { raw in
    let count = raw.count
    var i = 0
    func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
      offset < count && range.contains(raw[offset])
    }
    while i < count {
      if i + 8 <= count, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
        i += 8
        continue
      }
      let lead = raw[i]
      let length: Int
      switch lead {
      case 0x00...0x7F: length = 1
      case 0xC2...0xDF: length = continuation(i + 1) ? 2 : 0
      case 0xE0: length = continuation(i + 1, 0xA0...0xBF) && continuation(i + 2) ? 3 : 0
      case 0xED: length = continuation(i + 1, 0x80...0x9F) && continuation(i + 2) ? 3 : 0
      case 0xE1...0xEF: length = continuation(i + 1) && continuation(i + 2) ? 3 : 0
      case 0xF0:
        length = continuation(i + 1, 0x90...0xBF) && continuation(i + 2) && continuation(i + 3) ? 4 : 0
      case 0xF4:
        length = continuation(i + 1, 0x80...0x8F) && continuation(i + 2) && continuation(i + 3) ? 4 : 0
      case 0xF1...0xF3: length = continuation(i + 1) && continuation(i + 2) && continuation(i + 3) ? 4 : 0
      default: length = 0
      }
      guard length > 0 else { return false }
      i += length
    }
    return true
  }
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
