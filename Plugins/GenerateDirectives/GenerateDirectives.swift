import Foundation
import PackagePlugin

/// Generates a target's per-directive Swift code from its `Directives.table` (excluded from
/// the target in Package.swift): the model's fields, `HardeningDirective`, `DirectiveTable.all`
/// and the typed accessors (Tools/generate-directives).
@main
struct GenerateDirectives: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
    let table = target.directoryURL.appending(path: "Directives.table")
    let output = context.pluginWorkDirectoryURL.appending(path: "Directives.swift")
    return [
      .buildCommand(
        displayName: "Generating the directives of \(target.name) from Directives.table",
        executable: try context.tool(named: "generate-directives").url,
        arguments: [table.path, output.path],
        inputFiles: [table],
        outputFiles: [output])
    ]
  }
}
