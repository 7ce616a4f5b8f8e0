/// A problem in an inventory, named by file and line so it can be fixed: thrown as an error,
/// or reported as a warning when the inventory is still usable.
public struct InventoryError: Error, CustomStringConvertible, Sendable, Hashable {
  /// The file (or `--hosts` for hosts given on the command line).
  public var file: String
  /// 1-based; nil when the problem is not tied to one line.
  public var line: Int?
  public var message: String

  public init(file: String, line: Int? = nil, _ message: String) {
    self.file = file
    self.line = line
    self.message = message
  }

  public var description: String {
    if let line { return "\(file):\(line): \(message)" }
    return "\(file): \(message)"
  }
}

/// Something in an inventory that was understood but deserves a look.
public typealias InventoryWarning = InventoryError
