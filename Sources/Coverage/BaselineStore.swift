import Foundation

/// Baselines shipped with unitaudit (package resources) and baseline files: the I/O edge of
/// the `Coverage` target.
public enum BaselineStore {
  /// The names of the bundled baselines (`fedora-40`).
  public static var bundled: [String] {
    guard let directory = Bundle.module.url(forResource: "Baselines", withExtension: nil),
      let files = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
    else { return [] }
    return files.filter { $0.hasSuffix(".yml") }.map { String($0.dropLast(4)) }.sorted()
  }

  /// A bundled baseline by name, or a baseline file by path.
  public static func load(_ nameOrPath: String) throws(BaselineError) -> Baseline {
    if bundled.contains(nameOrPath),
      let url = Bundle.module.url(forResource: "Baselines/\(nameOrPath)", withExtension: "yml")
    {
      return try parse(url.path, shownAs: nameOrPath)
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
