import Foundation

/// A template file that cannot be used, named by its path.
public struct TemplateFileError: Error, CustomStringConvertible, Sendable {
  public var file: String
  public var reason: String

  public init(file: String, reason: String) {
    self.file = file
    self.reason = reason
  }

  public var description: String { "\(file): \(reason)" }
}

/// The report templates shipped with unitaudit: this folder's `*.mustache` files, compiled
/// into the binary by the EmbedFiles plugin. `unitaudit report --templates DIR` overrides any
/// of them by name.
public enum BundledTemplates {
  /// The file name of the template `name` (`report.html` → `report.html.mustache`).
  public static func fileName(_ name: String) -> String { name + ".mustache" }

  /// Template text by name (`report.html`, `report.md`).
  public static func all() -> [String: String] {
    var result: [String: String] = [:]
    for (path, text) in EmbeddedFiles.texts where path.hasSuffix(".mustache") {
      result[String(path.dropLast(".mustache".count))] = text
    }
    return result
  }

  /// The templates of a `--templates` folder: every `*.mustache` file in it, by name, with the
  /// path it was read from. A folder that cannot be listed, or a file that cannot be read or is
  /// not UTF-8 text, is an error that names it.
  public static func overrides(in directory: String) throws(TemplateFileError) -> [String: (
    text: String, file: String
  )] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
      throw TemplateFileError(file: directory, reason: "no such templates folder")
    }
    guard isDirectory.boolValue else {
      throw TemplateFileError(
        file: directory, reason: "not a folder (--templates takes a folder of *.mustache files)")
    }
    let files: [String]
    do { files = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
      throw TemplateFileError(file: directory, reason: "cannot be listed (\(error.localizedDescription))")
    }
    var result: [String: (text: String, file: String)] = [:]
    for file in files.sorted() where file.hasSuffix(".mustache") {
      let path = URL(fileURLWithPath: directory).appendingPathComponent(file).path
      guard let data = FileManager.default.contents(atPath: path) else {
        throw TemplateFileError(file: path, reason: "cannot be read (a folder, or no permission)")
      }
      guard let text = String(validating: data, as: UTF8.self) else {
        throw TemplateFileError(file: path, reason: "is not UTF-8 text")
      }
      result[String(file.dropLast(".mustache".count))] = (text, path)
    }
    return result
  }
}
