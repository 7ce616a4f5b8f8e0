import Foundation

/// Writes `.deb` files by hand (an `ar` archive of `debian-binary`, `control.tar` and
/// `data.tar[.gz]`), so that a test can put in them what no packaging tool would: `..` in
/// paths, links among parents, device nodes, members larger than any limit.
enum DebBuilder {
  struct Entry {
    enum Kind {
      case file([UInt8])
      case directory
      case symlink(String)
      case hardLink(String)
      case characterDevice
      /// A regular file of this size, all zeros (its bytes written as they are needed).
      case zeros(Int)
    }

    var name: String
    var kind: Kind

    static func file(_ name: String, _ text: String) -> Entry {
      Entry(name: name, kind: .file(Array(text.utf8)))
    }
  }

  /// The tar stream of `entries` (ustar headers, GNU end of two zero blocks).
  static func tar(_ entries: [Entry]) -> [UInt8] {
    var out: [UInt8] = []
    for entry in entries {
      var header = [UInt8](repeating: 0, count: 512)
      func put(_ text: String, at offset: Int, width: Int) {
        for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
      }
      func octal(_ value: Int, at offset: Int, width: Int) {
        put(String(value, radix: 8).leftPad(width - 1), at: offset, width: width - 1)
      }
      put(entry.name, at: 0, width: 100)
      var size = 0
      var type: UInt8 = UInt8(ascii: "0")
      var mode = 0o644
      switch entry.kind {
      case .file(let bytes): size = bytes.count
      case .zeros(let count): size = count
      case .directory:
        type = UInt8(ascii: "5")
        mode = 0o755
      case .symlink(let target):
        type = UInt8(ascii: "2")
        put(target, at: 157, width: 100)
      case .hardLink(let target):
        type = UInt8(ascii: "1")
        put(target, at: 157, width: 100)
      case .characterDevice: type = UInt8(ascii: "3")
      }
      octal(mode, at: 100, width: 8)
      octal(0, at: 108, width: 8)
      octal(0, at: 116, width: 8)
      octal(size, at: 124, width: 12)
      octal(1_700_000_000, at: 136, width: 12)
      header[156] = type
      put("ustar", at: 257, width: 6)
      put("00", at: 263, width: 2)
      for index in 148..<156 { header[index] = UInt8(ascii: " ") }
      let sum = header.reduce(0) { $0 + Int($1) }
      put(String(sum, radix: 8).leftPad(6), at: 148, width: 6)
      header[154] = 0
      out += header
      switch entry.kind {
      case .file(let bytes): out += bytes
      case .zeros(let count): out += [UInt8](repeating: 0, count: count)
      default: break
      }
      out += [UInt8](repeating: 0, count: (512 - size % 512) % 512)
    }
    out += [UInt8](repeating: 0, count: 1024)
    return out
  }

  /// An `ar` archive of named members.
  static func ar(_ members: [(String, [UInt8])]) -> [UInt8] {
    var out = Array("!<arch>\n".utf8)
    for (name, bytes) in members {
      var header = (name + "/").padding(toLength: 16, withPad: " ", startingAt: 0)
      header += "0".padding(toLength: 12, withPad: " ", startingAt: 0)
      header += "0".padding(toLength: 6, withPad: " ", startingAt: 0)
      header += "0".padding(toLength: 6, withPad: " ", startingAt: 0)
      header += "100644".padding(toLength: 8, withPad: " ", startingAt: 0)
      header += String(bytes.count).padding(toLength: 10, withPad: " ", startingAt: 0)
      header += "`\n"
      out += Array(header.utf8) + bytes
      if bytes.count % 2 == 1 { out.append(UInt8(ascii: "\n")) }
    }
    return out
  }

  /// A `.deb` of package `name` whose data holds `entries`; gzip-compressed when `gzip`.
  static func deb(_ name: String, _ entries: [Entry], gzip: Bool = false, in folder: URL) throws -> URL {
    let control = tar([
      .file(
        "./control",
        "Package: \(name)\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: test\n"
      )
    ])
    var data = tar(entries)
    var dataName = "data.tar"
    if gzip {
      data = try gzipped(data, in: folder)
      dataName = "data.tar.gz"
    }
    let url = folder.appendingPathComponent("\(name)_1.0-1_all.deb")
    try Data(ar([("debian-binary", Array("2.0\n".utf8)), ("control.tar", control), (dataName, data)])).write(
      to: url)
    return url
  }

  static func gzipped(_ bytes: [UInt8], in folder: URL) throws -> [UInt8] {
    let plain = folder.appendingPathComponent("payload-\(UUID().uuidString)")
    try Data(bytes).write(to: plain)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-9", "-n", plain.path]
    try process.run()
    process.waitUntilExit()
    let packed = URL(fileURLWithPath: plain.path + ".gz")
    defer { try? FileManager.default.removeItem(at: packed) }
    return Array(try Data(contentsOf: packed))
  }
}

extension String {
  func leftPad(_ width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
