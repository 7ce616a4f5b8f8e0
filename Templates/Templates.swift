import Foundation

/// The report templates shipped with unitaudit (this folder's `*.mustache` files, bundled as
/// resources). `unitaudit report --templates DIR` overrides any of them by name.
public enum BundledTemplates {
  /// Template text by name (`report.html`, `report.md`).
  public static func all() -> [String: String] {
    var result: [String: String] = [:]
    for name in ["report.html", "report.md"] {
      if let url = Bundle.module.url(forResource: name, withExtension: "mustache"),
        let text = try? String(contentsOf: url, encoding: .utf8)
      {
        result[name] = text
      }
    }
    return result
  }
}
