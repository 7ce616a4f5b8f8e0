import Foundation
import Inventory
import Offline
import UnitModel

/// Why the trees or packages of an offline scan cannot be scanned.
public struct OfflineTargetError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String
}

extension NewScan {
  /// An offline scan of OS trees (`[NAME=]DIR`, named after the directory when no name is
  /// given) and package files (`.deb`, `.rpm`, named after the file), one "host" each.
  public static func offline(
    trees: [String], packages: [String], directory: URL, overrides: ScanOptions.Overrides, toolVersion: String
  ) throws(OfflineTargetError) -> NewScan {
    var hosts: [FleetHost] = []
    var targets: [String] = []
    for given in trees {
      var name: String?
      var path = given
      if let equals = given.firstIndex(of: "="), !given[..<equals].contains("/") {
        name = String(given[..<equals])
        path = String(given[given.index(after: equals)...])
      }
      let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue
      else {
        throw OfflineTargetError(description: "--root \(given): \(absolute) is not a directory")
      }
      let treeName = name ?? URL(fileURLWithPath: absolute).lastPathComponent
      guard !treeName.isEmpty, treeName != "/" else {
        throw OfflineTargetError(description: "--root \(given): give the tree a name (NAME=DIR)")
      }
      hosts.append(.offline(name: treeName, path: absolute, kind: .tree))
      targets.append("tree \(absolute)")
    }
    for file in packages {
      let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
      guard PackageUnpacker.Format(file: absolute) != nil else {
        throw OfflineTargetError(description: "--package \(file): not a .deb or .rpm file")
      }
      guard FileManager.default.isReadableFile(atPath: absolute) else {
        throw OfflineTargetError(description: "--package \(file): no such readable file")
      }
      let stem = URL(fileURLWithPath: absolute).deletingPathExtension().lastPathComponent
      hosts.append(.offline(name: stem, path: absolute, kind: .package))
      targets.append("package \(absolute)")
    }
    var seen: Set<String> = []
    for host in hosts where !seen.insert(host.name).inserted {
      throw OfflineTargetError(
        description: "two trees or packages are named \(host.name): name trees with NAME=DIR")
    }
    return NewScan(
      directory: directory, hosts: hosts, mode: .offline, options: ScanOptions.offline.applying(overrides),
      targets: targets, toolVersion: toolVersion)
  }
}

extension ScanOptions {
  /// An offline scan's defaults: as many trees or packages at once as there are cores (the
  /// work is this machine's CPU and disk), no SSH.
  public static var offline: ScanOptions {
    ScanOptions(concurrency: ProcessInfo.processInfo.activeProcessorCount, sshConfig: nil, knownHostsFile: "")
  }
}
