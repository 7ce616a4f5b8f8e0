import Foundation
import TestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Builds an OS tree in a scratch folder for a test: files, links, FIFOs, sparse files.
struct TreeBuilder {
  let root: URL

  init(_ name: String) throws {
    root = try temporaryDirectory(name).appendingPathComponent("tree")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  /// A tree at a short path (a socket's path must fit in 108 bytes).
  init(shortPath: Void) throws {
    root = URL(fileURLWithPath: "/tmp/ua-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  func url(_ path: String) -> URL { root.appendingPathComponent(String(path.drop { $0 == "/" })) }

  private func parent(_ path: String) throws {
    try FileManager.default.createDirectory(
      at: url(path).deletingLastPathComponent(), withIntermediateDirectories: true)
  }

  @discardableResult
  func file(_ path: String, _ text: String) throws -> TreeBuilder {
    try bytes(path, Array(text.utf8))
  }

  @discardableResult
  func bytes(_ path: String, _ bytes: [UInt8]) throws -> TreeBuilder {
    try parent(path)
    try Data(bytes).write(to: url(path))
    return self
  }

  @discardableResult
  func link(_ path: String, to target: String) throws -> TreeBuilder {
    try parent(path)
    try FileManager.default.createSymbolicLink(atPath: url(path).path, withDestinationPath: target)
    return self
  }

  @discardableResult
  func directory(_ path: String) throws -> TreeBuilder {
    try FileManager.default.createDirectory(at: url(path), withIntermediateDirectories: true)
    return self
  }

  @discardableResult
  func fifo(_ path: String) throws -> TreeBuilder {
    try parent(path)
    guard mkfifo(url(path).path, 0o644) == 0 else { throw CocoaError(.fileWriteUnknown) }
    return self
  }

  /// A file of `size` bytes that takes no room on disk.
  @discardableResult
  func sparse(_ path: String, size: Int) throws -> TreeBuilder {
    try parent(path)
    guard FileManager.default.createFile(atPath: url(path).path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown)
    }
    guard truncate(url(path).path, off_t(size)) == 0 else { throw CocoaError(.fileWriteUnknown) }
    return self
  }
}
