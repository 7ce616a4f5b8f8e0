import Foundation

/// Where a report's text goes: a string (tests) or a file, written in large chunks so that a
/// 10,000-host CSV never sits in memory whole.
public protocol ReportSink {
  mutating func write(_ text: String)
}

public struct StringSink: ReportSink {
  public var text = ""
  public init() {}
  public mutating func write(_ text: String) { self.text += text }
}

/// Buffers writes and appends them to a file 1 MiB at a time.
public final class FileSink: ReportSink {
  private let handle: FileHandle
  private var buffer: [UInt8] = []
  public private(set) var bytes = 0

  public init(_ url: URL) throws {
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
    }
    handle = try FileHandle(forWritingTo: url)
    buffer.reserveCapacity(1 << 20)
  }

  public func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    bytes += text.utf8.count
    if buffer.count >= 1 << 20 { flush() }
  }

  func flush() {
    handle.write(Data(buffer))
    buffer.removeAll(keepingCapacity: true)
  }

  public func close() throws {
    flush()
    try handle.close()
  }
}
