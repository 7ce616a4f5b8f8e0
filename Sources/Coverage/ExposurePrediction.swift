import UnitModel

/// The exposure `systemd-analyze security` would report for a service on one host once a
/// drop-in is applied, beside the one it reported.
public struct PredictedExposure: Sendable, Hashable, Codable {
  public var host: String
  /// What the host reported.
  public var before: Exposure?
  /// The prediction; nil when it cannot be made (`unpredicted` says why).
  public var after: Exposure?
  public var unpredicted: String?

  public init(host: String, before: Exposure?, after: Exposure?, unpredicted: String?) {
    self.host = host
    self.before = before
    self.after = after
    self.unpredicted = unpredicted
  }
}

/// Predicts a service's exposure with some assignments added, from the host's own grading of
/// each check (`SecurityCheck.Grade`: weight, range, badness, as that host's systemd gives
/// them) and what each assignment does to the checks (`effect:` and `implies:` in
/// `Directives.table`). systemd's overall exposure is
/// ⌈100 · Σ⌈badness · weight / range⌉ / Σ weight⌉ tenths over the checks that apply
/// (analyze-security.c, `assess()`): the prediction changes the badness of the checks the
/// assignments reach and sums again. Pure.
public enum ExposurePrediction {
  public struct Unpredictable: Error, Sendable, Hashable {
    public var reason: String
  }

  /// The exposure from checks' grades; nil when none applies.
  public static func exposure(of grades: [SecurityCheck.Grade]) -> Exposure? { Exposure(grades: grades) }

  /// The exposure of `service` with `assignments` (`ProtectSystem=yes`, …) added in a drop-in.
  public static func predict(_ service: ServiceRecord, adding assignments: [String]) -> Result<
    Exposure, Unpredictable
  > {
    predictGrades(service, adding: assignments).flatMap { grades in
      exposure(of: Array(grades.values)).map { .success($0) } ?? .failure(.init(reason: "no check applies"))
    }
  }

  /// Each check's grade (by `json_field`) with `assignments` added.
  public static func predictGrades(_ service: ServiceRecord, adding assignments: [String]) -> Result<
    [String: SecurityCheck.Grade], Unpredictable
  > {
    guard let reported = service.overall?.exposure else {
      return .failure(.init(reason: "the host reported no exposure for it"))
    }
    var grades: [String: SecurityCheck.Grade] = [:]
    for (field, check) in service.checks { grades[field] = check.grade }
    guard !grades.isEmpty, grades.count == service.checks.count else {
      return .failure(
        .init(reason: "the scan has no check weights (made by an older probe): scan again to predict"))
    }
    var predicted = grades
    guard let before = exposure(of: Array(grades.values)) else {
      return .failure(.init(reason: "no check applies"))
    }
    guard before == reported else {
      return .failure(
        .init(reason: "the host's checks add up to \(before), not the \(reported) it reported"))
    }

    // The assignments, then what systemd turns on with them.
    var settings: [(name: String, value: String, line: String)] = []
    for line in assignments {
      guard let equals = line.firstIndex(of: "=") else { continue }
      settings.append((String(line[..<equals]), String(line[line.index(after: equals)...]), line))
    }
    for setting in settings {
      guard let row = spec(named: setting.name) else { continue }
      for implied in row.implies where implied.word == setting.value {
        for extra in implied.settings {
          settings.append((extra.name, extra.value, "\(extra.name)=\(extra.value)"))
        }
      }
    }
    let directives = serviceDirectives(service)
    let user = directives.last { $0.key == "User" }?.value ?? ""

    func lower(_ field: String, to badness: Int) {
      let fields = field.hasSuffix("*") ? predicted.keys.filter { $0.hasPrefix(field.dropLast()) } : [field]
      for field in fields {
        guard var grade = predicted[field], let old = grade.badness else { continue }
        grade.badness = min(old, min(badness, grade.range))
        predicted[field] = grade
      }
    }

    var devicePolicyClosed = false
    var dynamicUser = false
    for setting in settings {
      guard let row = spec(named: setting.name) else {
        return .failure(.init(reason: "\(setting.line): not a directive unitaudit knows"))
      }
      if row.name == "DevicePolicy" {
        devicePolicyClosed = devicePolicyClosed || ["closed", "strict"].contains(setting.value)
        continue
      }
      if row.name == "DynamicUser", setting.value == "yes" {
        // A DynamicUser= service with User=root still runs as root; nobody is graded 9.
        guard !["root", "0"].contains(user) else { continue }
        dynamicUser = true
        if user == "nobody" {
          lower("UserOrDynamicUser", to: 9)
          continue
        }
      }
      let effect =
        row.effects.first { $0.word == setting.value }
        ?? row.effects.first { $0.word == nil && setting.line == row.suggest }
      if let effect {
        for check in effect.checks { lower(check.field, to: check.badness) }
      } else if case .boolean = row.kind, setting.value != "no" {
        for field in row.checks { lower(field, to: 0) }
      } else if !row.checks.isEmpty {
        return .failure(.init(reason: "what \(setting.line) does to systemd's checks is not known"))
      }
    }

    // A service that no longer runs as root is graded on SupplementaryGroups= and RemoveIPC=
    // (analyze-security.c, security_info_runs_privileged); DynamicUser= implies RemoveIPC=yes.
    if dynamicUser {
      if var grade = predicted["SupplementaryGroups"], grade.badness == nil {
        grade.badness = effectiveList("SupplementaryGroups", directives).isEmpty ? 0 : 1
        predicted["SupplementaryGroups"] = grade
      }
      if var grade = predicted["RemoveIPC"], grade.badness == nil {
        grade.badness = 0
        predicted["RemoveIPC"] = grade
      }
    }
    // A closed device policy is graded 0 with an empty DeviceAllow= list and 5 with entries;
    // ProtectClock=yes adds char-rtc to the list (unit_patch_contexts), which makes a minimal
    // list worse: the one check a drop-in can raise. The policy is closed when the drop-in
    // closes it, or when the host already graded the check below its range.
    if var grade = predicted["DeviceAllow"], let old = grade.badness {
      if devicePolicyClosed || old < grade.range {
        let protectClock =
          grades["ProtectClock"]?.badness == 0
          || settings.contains { $0.name == "ProtectClock" && $0.value == "yes" }
        let listed = !effectiveList("DeviceAllow", directives).isEmpty || protectClock || old == 5
        grade.badness = min(grade.range, listed ? 5 : 0)
        predicted["DeviceAllow"] = grade
      }
    }
    return .success(predicted)
  }

  static func spec(named name: String) -> DirectiveSpec? {
    DirectiveTable.byName[name]
  }

  /// The `[Service]` assignments of the unit's files, in order.
  static func serviceDirectives(_ service: ServiceRecord) -> [Directive] {
    service.directives.filter { $0.section == "Service" }
  }

  /// A list directive's entries after its assignments in order (an empty one resets it).
  static func effectiveList(_ key: String, _ directives: [Directive]) -> [String] {
    var entries: [String] = []
    for directive in directives where directive.key == key {
      let words = directive.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      if words.isEmpty { entries = [] } else { entries += words }
    }
    return entries
  }
}
