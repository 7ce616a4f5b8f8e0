import Foundation
import ToolSupport

// embed-files OUTPUT ROOT FILE...
//
// Writes OUTPUT, a Swift source file that holds the text of each FILE (a path below ROOT) as a
// string literal, keyed by its path relative to ROOT. The EmbedFiles build plugin runs it so
// that unitaudit's baselines and report templates are compiled into the binary and nothing
// has to sit beside it. A file that is not UTF-8 text stops the build with its name.

struct EmbedError: Error, CustomStringConvertible {
  var description: String
}

func embed(output: String, root: String, files: [String]) throws {
  let rootURL = URL(fileURLWithPath: root).standardizedFileURL
  var entries: [(key: String, text: String)] = []
  for file in files {
    let url = URL(fileURLWithPath: file).standardizedFileURL
    guard url.path.hasPrefix(rootURL.path + "/") else {
      throw EmbedError(description: "\(file): not below \(root)")
    }
    let key = String(url.path.dropFirst(rootURL.path.count + 1))
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw EmbedError(description: "\(file): cannot be read")
    }
    guard let text = String(validating: data, as: UTF8.self) else {
      throw EmbedError(description: "\(file): not UTF-8 text")
    }
    entries.append((key, text))
  }
  entries.sort { $0.key < $1.key }
  var source = """
    // Generated at build time by the EmbedFiles plugin (Tools/embed-files) from the files named
    // below. Edit those files, not this one.

    enum EmbeddedFiles {
      /// Each embedded file's text, by its path relative to the target's folder.
      static let texts: [String: String] = [

    """
  if entries.isEmpty { source += "    :\n" }
  for entry in entries {
    source += "    \(swiftLiteral(entry.key)):\n      \(swiftLiteral(entry.text)),\n"
  }
  source += "  ]\n}\n"
  // Written only when it changed, so that an unchanged file does not recompile its module.
  if let old = FileManager.default.contents(atPath: output), old == Data(source.utf8) { return }
  try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2, let output = arguments.first else {
  FileHandle.standardError.write(Data("usage: embed-files OUTPUT ROOT FILE...\n".utf8))
  exit(2)
}
do {
  try embed(output: output, root: arguments[arguments.startIndex + 1], files: Array(arguments.dropFirst(2)))
} catch {
  FileHandle.standardError.write(Data("embed-files: error: \(error)\n".utf8))
  exit(1)
}
