import Foundation

/// Baselines shipped with unitaudit (compiled into the binary from `Baselines/*.yml`) and
/// baseline files: the I/O edge of the `Coverage` target.
public enum BaselineStore {
  /// The bundled baselines' YAML text by name (`fedora-40`).
  static let bundledTexts: [String: String] = {
    var texts: [String: String] = [:]
    for (path, text) in EmbeddedFiles.texts where path.hasPrefix("Baselines/") && path.hasSuffix(".yml") {
      texts[String(path.dropFirst("Baselines/".count).dropLast(".yml".count))] = text
    }
    return texts
  }()

  /// The names of the bundled baselines (`fedora-40`).
  public static var bundled: [String] { bundledTexts.keys.sorted() }

  /// A bundled baseline by name, or a baseline file by path.
  public static func load(_ nameOrPath: String) throws(BaselineError) -> Baseline {
    if let text = bundledTexts[nameOrPath] {
      return try BaselineParser.parse(text, file: nameOrPath)
    }
    guard FileManager.default.fileExists(atPath: nameOrPath) else {
      let names = bundled.joined(separator: ", ")
      throw BaselineError(
        file: nameOrPath, line: nil,
        "no such baseline file, and no bundled baseline of that name (bundled: \(names))")
    }
    return try parse(nameOrPath, shownAs: nameOrPath)
  }

  static func parse(_ path: String, shownAs name: String) throws(BaselineError) -> Baseline {
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else {
      throw BaselineError(file: name, line: nil, "cannot be read as UTF-8 text")
    }
    return try BaselineParser.parse(text, file: name)
  }
}
