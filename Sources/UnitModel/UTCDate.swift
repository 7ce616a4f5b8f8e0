import Foundation

/// Dates as unitaudit prints and reads them, in UTC: days (`2026-11-22`: waivers, `--today`,
/// `--since`) and minutes (`2026-11-22 21:40 UTC`: reports, histories).
public enum UTCDate {
  /// `2026-11-22`.
  public static func day(_ date: Date) -> String { formatter("yyyy-MM-dd").string(from: date) }

  /// The start of the day `text` names (`YYYY-MM-DD`), nil when it names none.
  public static func day(parsing text: String) -> Date? { formatter("yyyy-MM-dd").date(from: text) }

  /// `2026-11-22 21:40 UTC`.
  public static func minute(_ date: Date) -> String { formatter("yyyy-MM-dd HH:mm 'UTC'").string(from: date) }

  private static func formatter(_ format: String) -> DateFormatter {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = format
    return formatter
  }
}
