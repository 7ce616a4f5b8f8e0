/// One member of an archive, as a stream parser hands it over.
struct ArchiveMember: Hashable {
  enum Kind: Hashable {
    case file
    case directory
    case symlink(target: String)
    case hardLink(target: String)
    /// A device node, FIFO or socket: never made.
    case special(String)
  }

  var name: String
  var kind: Kind
  /// The file's data when it was wanted and within the size limit; nil otherwise.
  var data: [UInt8]?
  /// The data's size as the header gives it.
  var size: Int
}

/// What went wrong reading an archive stream as a whole.
enum ArchiveStreamError: Error, Hashable, CustomStringConvertible {
  case badHeader(offset: Int)
  case truncated
  case tooLarge(limit: Int)

  var description: String {
    switch self {
    case .badHeader(let offset): "the archive is damaged (an unreadable header at byte \(offset))"
    case .truncated: "the archive ends in the middle of a member"
    case .tooLarge(let limit): "the archive expands to more than \(limit) bytes: read no further"
    }
  }
}

/// Parses an archive handed over in chunks (tar or cpio `newc`), keeping only the data of
/// the members `wants` names and at most `fileLimit` bytes of each; the rest is skipped as it
/// passes, so memory stays bounded whatever the archive's size. `totalLimit` bounds the bytes
/// read in all.
struct ArchiveStream {
  enum Format {
    case tar
    case cpio
  }

  let format: Format
  let wants: (String) -> Bool
  let fileLimit: Int
  let totalLimit: Int
  private var buffer: [UInt8] = []
  private var start = 0
  private(set) var consumed = 0
  private(set) var finished = false
  /// The member whose data is being read, how much of it is left, and the padding after it.
  private var current: (member: ArchiveMember, remaining: Int, keep: Bool, padding: Int)?
  /// A GNU long name or link, or a pax path/linkpath, for the next header.
  private var longName: String?
  private var longLink: String?

  init(format: Format, fileLimit: Int, totalLimit: Int, wants: @escaping (String) -> Bool) {
    self.format = format
    self.fileLimit = fileLimit
    self.totalLimit = totalLimit
    self.wants = wants
  }

  /// Why the stream stopped before its end, when it did: nothing is read after it.
  private(set) var failure: ArchiveStreamError?

  /// Feeds a chunk; returns the members it completed, those before a damaged part of it too
  /// (which `failure` then names), so that what is read does not depend on how the bytes
  /// arrive.
  mutating func feed(_ chunk: [UInt8]) -> [ArchiveMember] {
    guard failure == nil, !finished else { return [] }
    var members: [ArchiveMember] = []
    do {
      try read(chunk, into: &members)
    } catch {
      failure = error
    }
    return members
  }

  private mutating func read(_ chunk: [UInt8], into members: inout [ArchiveMember]) throws(ArchiveStreamError)
  {
    consumed += chunk.count
    guard consumed <= totalLimit else { throw .tooLarge(limit: totalLimit) }
    if start > 0 && start >= buffer.count / 2 {
      buffer.removeFirst(start)
      start = 0
    }
    buffer += chunk
    while !finished {
      if var reading = current {
        let available = buffer.count - start
        if reading.remaining > 0 {
          let take = min(available, reading.remaining)
          if take == 0 { break }
          if reading.keep { reading.member.data?.append(contentsOf: buffer[start..<start + take]) }
          start += take
          reading.remaining -= take
          current = reading
          if reading.remaining > 0 { break }
        }
        guard buffer.count - start >= reading.padding else { break }
        start += reading.padding
        current = nil
        if let member = finish(reading.member) { members.append(member) }
        continue
      }
      let parsed: Bool
      switch format {
      case .tar: parsed = try tarHeader()
      case .cpio: parsed = try cpioHeader()
      }
      if !parsed { break }
    }
  }

  /// A member whose data has all arrived: long names and pax records are taken in, the rest
  /// handed over.
  private mutating func finish(_ member: ArchiveMember) -> ArchiveMember? {
    switch member.name {
    case "\u{0}gnu-longname":
      longName = member.data.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      return nil
    case "\u{0}gnu-longlink":
      longLink = member.data.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      return nil
    case "\u{0}pax":
      for (key, value) in Self.paxRecords(member.data ?? []) {
        if key == "path" { longName = value }
        if key == "linkpath" { longLink = value }
      }
      return nil
    default:
      return member
    }
  }

  /// `LENGTH KEY=VALUE\n` records.
  static func paxRecords(_ bytes: [UInt8]) -> [(String, String)] {
    var records: [(String, String)] = []
    var index = 0
    while index < bytes.count {
      // The length counts its own digits, the space and the closing newline: a record
      // shorter than that, or longer than what is left, ends the reading.
      guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
        let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)),
        length >= space - index + 2, length <= bytes.count - index
      else { break }
      let record = bytes[(space + 1)..<(index + length - 1)]
      if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
        records.append(
          (
            String(decoding: record[record.startIndex..<equals], as: UTF8.self),
            String(decoding: record[(equals + 1)...], as: UTF8.self)
          ))
      }
      index += length
    }
    return records
  }

  private func field(_ header: ArraySlice<UInt8>, _ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
    let base = header.startIndex + offset
    return header[base..<base + length]
  }

  private static func text(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
  }

  /// An octal number field (or GNU base-256 for large sizes); nil when unreadable.
  private static func octal(_ bytes: ArraySlice<UInt8>) -> Int? {
    if let first = bytes.first, first & 0x80 != 0 {
      var value = 0
      for (position, byte) in bytes.enumerated() {
        let digit = position == 0 ? Int(byte & 0x7F) : Int(byte)
        guard value <= (Int.max >> 8) else { return nil }
        value = value << 8 | digit
      }
      return value
    }
    let digits = bytes.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
    if digits.isEmpty { return 0 }
    var value = 0
    for digit in digits {
      guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(digit), value <= (Int.max >> 3) else {
        return nil
      }
      value = value << 3 | Int(digit - UInt8(ascii: "0"))
    }
    return value
  }

  private mutating func tarHeader() throws(ArchiveStreamError) -> Bool {
    guard buffer.count - start >= 512 else { return false }
    let header = buffer[start..<start + 512]
    if header.allSatisfy({ $0 == 0 }) {
      finished = true
      return false
    }
    let checksum = header.enumerated().reduce(0) { sum, pair in
      sum + ((148..<156).contains(pair.offset) ? Int(UInt8(ascii: " ")) : Int(pair.element))
    }
    guard let size = Self.octal(field(header, 124, 12)), size >= 0,
      Self.octal(field(header, 148, 8)) == checksum
    else { throw .badHeader(offset: consumed - (buffer.count - start)) }
    let type = header[header.startIndex + 156]
    var name = Self.text(field(header, 0, 100))
    if Self.text(field(header, 257, 5)) == "ustar" {
      let prefix = Self.text(field(header, 345, 155))
      if !prefix.isEmpty { name = prefix + "/" + name }
    }
    var link = Self.text(field(header, 157, 100))
    start += 512
    let padding = (512 - size % 512) % 512
    let kind: ArchiveMember.Kind
    switch type {
    case UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"):
      let special =
        type == UInt8(ascii: "L")
        ? "\u{0}gnu-longname" : type == UInt8(ascii: "K") ? "\u{0}gnu-longlink" : "\u{0}pax"
      let keep = size <= 1 << 20
      current = (
        ArchiveMember(name: special, kind: .file, data: keep ? [] : nil, size: size), size, keep, padding
      )
      return true
    case UInt8(ascii: "g"):
      current = (ArchiveMember(name: "\u{0}global", kind: .file, data: nil, size: size), size, false, padding)
      return true
    default: break
    }
    if let longName {
      name = longName
      self.longName = nil
    }
    if let longLink {
      link = longLink
      self.longLink = nil
    }
    switch type {
    case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
    case UInt8(ascii: "1"): kind = .hardLink(target: link)
    case UInt8(ascii: "2"): kind = .symlink(target: link)
    case UInt8(ascii: "3"): kind = .special("character device")
    case UInt8(ascii: "4"): kind = .special("block device")
    case UInt8(ascii: "5"): kind = .directory
    case UInt8(ascii: "6"): kind = .special("FIFO")
    default: kind = .special("member of type '\(Character(Unicode.Scalar(type)))'")
    }
    let keep = kind == .file && wants(name) && size <= fileLimit
    current = (ArchiveMember(name: name, kind: kind, data: keep ? [] : nil, size: size), size, keep, padding)
    return true
  }

  private mutating func cpioHeader() throws(ArchiveStreamError) -> Bool {
    guard buffer.count - start >= 110 else { return false }
    let header = buffer[start..<start + 110]
    let magic = Self.text(field(header, 0, 6))
    guard magic == "070701" || magic == "070702" else {
      throw .badHeader(offset: consumed - (buffer.count - start))
    }
    // Eight hexadecimal digits each: no sign, no blank (Int(_:radix:) takes a sign).
    func hex(_ index: Int) -> Int? {
      let digits = field(header, 6 + index * 8, 8)
      guard digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else { return nil }
      return Int(String(decoding: digits, as: UTF8.self), radix: 16)
    }
    guard let mode = hex(1), let size = hex(6), let nameSize = hex(11), nameSize > 0, nameSize <= 4096 else {
      throw .badHeader(offset: consumed - (buffer.count - start))
    }
    let namePadding = (4 - (110 + nameSize) % 4) % 4
    guard buffer.count - start >= 110 + nameSize + namePadding else { return false }
    let name = Self.text(buffer[(start + 110)..<(start + 110 + nameSize)])
    start += 110 + nameSize + namePadding
    if name == "TRAILER!!!" {
      finished = true
      return false
    }
    let padding = (4 - size % 4) % 4
    let kind: ArchiveMember.Kind
    switch mode & 0o170000 {
    case 0o100000: kind = .file
    case 0o040000: kind = .directory
    case 0o120000: kind = .symlink(target: "")
    case 0o020000: kind = .special("character device")
    case 0o060000: kind = .special("block device")
    case 0o010000: kind = .special("FIFO")
    case 0o140000: kind = .special("socket")
    default: kind = .special("member of mode \(String(mode, radix: 8))")
    }
    // A symlink's target is its data.
    let isLink = kind == .symlink(target: "")
    let keep = (kind == .file && wants(name) && size <= fileLimit) || (isLink && size <= 4096)
    current = (ArchiveMember(name: name, kind: kind, data: keep ? [] : nil, size: size), size, keep, padding)
    return true
  }
}

extension ArchiveMember {
  /// A cpio link's target is its data; tar gives it in the header.
  var resolvedKind: Kind {
    if case .symlink(let target) = kind, target.isEmpty, let data {
      return .symlink(target: String(decoding: data, as: UTF8.self))
    }
    return kind
  }
}

/// A package payload read whole from memory, as `PackageUnpacker` reads it from a pipe: its
/// members (name, size, the bytes kept of a wanted file) and the error that stopped it, if
/// any. For the fuzz target (`Tests/FuzzTargets`): a `newc` cpio when the bytes start with
/// `0707`, a tar otherwise, handed over in chunks of `chunk` bytes.
public struct ArchiveListing: Sendable, Hashable {
  public struct Member: Sendable, Hashable {
    public var name: String
    public var size: Int
    public var kept: Int?
    /// The member's path in a tree, or nil when `TreeWriter` refuses it.
    public var treePath: String?
  }

  public var members: [Member]
  public var error: String?
  public var consumed: Int

  public init(_ bytes: [UInt8], chunk: Int, fileLimit: Int, totalLimit: Int) {
    let format: ArchiveStream.Format = bytes.starts(with: Array("0707".utf8)) ? .cpio : .tar
    var stream = ArchiveStream(format: format, fileLimit: fileLimit, totalLimit: totalLimit) { _ in true }
    var members: [Member] = []
    var stopped: String?
    var offset = 0
    while offset < bytes.count && !stream.finished {
      let end = min(bytes.count, offset + max(1, chunk))
      for member in stream.feed(Array(bytes[offset..<end])) {
        let path = try? TreeWriter.treePath(member.name).get()
        members.append(Member(name: member.name, size: member.size, kept: member.data?.count, treePath: path))
      }
      if let failure = stream.failure {
        stopped = failure.description
        break
      }
      offset = end
    }
    self.members = members
    self.error = stopped
    self.consumed = stream.consumed
  }
}
