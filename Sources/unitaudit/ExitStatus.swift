import ArgumentParser
import BoundedYAML
import Coverage
import Foundation
import Inventory
import Report
import ReportTemplates
import Storage

/// The exit statuses of every command (the help's "Exit status" says the same), and which
/// errors end a command with which: the one place that decides it.
enum ExitStatus {
  static let success: Int32 = 0
  /// Findings: hosts that could not be audited, violations, overdue waivers; and a write that
  /// failed midway (a disk, a history server).
  static let findings: Int32 = 1
  /// A usage error, or input that cannot be used: a file, scan or history that cannot be
  /// read, an output that cannot be written.
  static let unusableInput: Int32 = 2
  static let interrupted: Int32 = 130

  /// The status an error that a command lets through ends it with.
  static func of(_ error: any Error) -> Int32 {
    switch error {
    case let error as StorageError:
      if case .cannotWrite = error { return findings }
      return unusableInput
    case is CommandError, is InventoryError, is HostPatternError, is BaselineError, is ReportError,
      is TemplateFileError, is BoundedYAML.TooManyNodes, is CocoaError, is POSIXError:
      return unusableInput
    default:
      return findings
    }
  }
}

/// An error of a command itself (not of a library it calls), in words a user can act on.
enum CommandError: Error, CustomStringConvertible {
  case cannotWrite(String, String)
  case unreadableSSHConfig(String)

  var description: String {
    switch self {
    case .cannotWrite(let path, let why): "cannot write \(path): \(why)"
    case .unreadableSSHConfig(let path): "cannot read the SSH config \(path)"
    }
  }
}
