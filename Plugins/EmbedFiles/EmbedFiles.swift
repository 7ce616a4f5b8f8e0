import Foundation
import PackagePlugin

/// Compiles a target's data files into it: every `.yml` and `.mustache` file below the
/// target's folder (excluded from the target in Package.swift) becomes an entry of the
/// generated `EmbeddedFiles.texts`, so that the binary needs nothing beside it.
@main
struct EmbedFiles: BuildToolPlugin {
  static let extensions: Set<String> = ["yml", "mustache"]

  func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
    let root = target.directoryURL
    var files: [URL] = []
    if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
      for case let url as URL in walker where Self.extensions.contains(url.pathExtension) {
        files.append(url)
      }
    }
    files.sort { $0.path < $1.path }
    let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
    return [
      .buildCommand(
        displayName: "Embedding \(files.count) file(s) into \(target.name)",
        executable: try context.tool(named: "embed-files").url,
        arguments: [output.path, root.path] + files.map(\.path),
        inputFiles: files,
        outputFiles: [output])
    ]
  }
}
