import Foundation
import PackagePlugin

/// Generates `BuildInfo.swift` for a target before every build: the version from the
/// package's `VERSION` file and the git commit the tree was built from (Scripts/build-info),
/// for `unitaudit --version`.
@main
struct BuildInfo: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
    let package = context.package.directoryURL
    let output = context.pluginWorkDirectoryURL.appending(path: "generated")
    return [
      .prebuildCommand(
        displayName: "Recording the version and commit of \(target.name)",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [package.appending(path: "Scripts/build-info").path, package.path, output.path],
        outputFilesDirectory: output)
    ]
  }
}
