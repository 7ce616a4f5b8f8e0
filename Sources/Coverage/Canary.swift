import UnitModel

/// What one trial of a drop-in showed on a canary host: the service restarted with `lines`
/// applied at runtime, and systemd's verdict on it. Pure data; `CanaryRun` (Collector) makes
/// them.
public struct CanaryTrial: Sendable, Hashable, Codable {
  /// The drop-in's assignments applied in this trial (empty: the restart without a drop-in
  /// that the others are compared with).
  public var lines: [String]
  public var passed: Bool
  /// Why it failed, in words: `inactive (failed)`, `restarted 5 times`, `2 new error lines`,
  /// `health command failed (exit 7)`, `restart timed out`.
  public var reason: String?
  /// The unit's error-level journal lines of this restart that the restart without a drop-in
  /// did not print.
  public var journal: [String]
  /// Failed for its new journal lines alone (active, not restarting, healthy).
  public var failedOnJournal: Bool

  public init(
    lines: [String], passed: Bool, reason: String? = nil, journal: [String] = [],
    failedOnJournal: Bool = false
  ) {
    self.lines = lines
    self.passed = passed
    self.reason = reason
    self.journal = journal
    self.failedOnJournal = failedOnJournal
  }

  /// The reason given for `count` new error lines.
  public static func journalReason(_ count: Int) -> String {
    "\(count) error line(s) in its journal that a restart without the drop-in does not print"
  }

  /// This trial judged again against a larger `reference` (a later restart without the
  /// drop-in): a trial that failed for its journal alone passes when none of its lines is new
  /// any more.
  public func rejudged(reference: Set<String>) -> CanaryTrial {
    guard failedOnJournal else { return self }
    let still = Self.newLines(journal, reference: reference)
    if still.isEmpty { return CanaryTrial(lines: lines, passed: true) }
    return CanaryTrial(
      lines: lines, passed: false, reason: Self.journalReason(still.count), journal: still,
      failedOnJournal: true)
  }
}

extension CanaryTrial {
  /// A journal line with each run of digits replaced by `#`: lines of the same shape are the
  /// same message about other ids (a PID, a session, a job), so a restart that prints
  /// `User of session c17 not known.` where the plain restart printed `… c13 …` says nothing
  /// new.
  public static func shape(_ line: String) -> String {
    var shaped = String.UnicodeScalarView()
    var inDigits = false
    for scalar in line.unicodeScalars {
      if ("0"..."9").contains(scalar) {
        if !inDigits { shaped.append("#") }
        inDigits = true
      } else {
        shaped.append(scalar)
        inDigits = false
      }
    }
    return String(shaped)
  }

  /// The lines of `journal` whose shape no line of `reference` has, in order.
  public static func newLines(_ journal: [String], reference: Set<String>) -> [String] {
    let known = Set(reference.map(shape))
    return journal.filter { !known.contains(shape($0)) }
  }
}

/// One service's canary run on one host: the lines kept (the largest set found that leaves
/// the service working), the lines that broke it with the trial that showed it, and whether
/// the host was left as it was. On a confirming host (`--confirm`), the one trial of the lines
/// the canaries kept.
public struct CanaryResult: Sendable, Hashable, Codable {
  public struct Dropped: Sendable, Hashable, Codable {
    public var line: String
    public var trial: CanaryTrial

    public init(line: String, trial: CanaryTrial) {
      self.line = line
      self.trial = trial
    }
  }

  /// `canary`: the lines were searched on this host. `confirm`: the lines the canaries kept
  /// were applied here as they are, once, to show they hold on a host that did not choose
  /// them.
  public enum Role: String, Sendable, Hashable, Codable { case canary, confirm }

  public var role: Role
  public var host: String
  public var systemd: Int?
  public var unit: String
  /// Set when the service was not tried: why (not running there, the plain restart already
  /// fails, the connection broke).
  public var skipped: String?
  public var kept: [String]
  public var dropped: [Dropped]
  /// Restarts of the unit, the ones without a drop-in included.
  public var trials: Int
  /// Set when the service did not come back as it was after the drop-in was removed: its state.
  public var restoreProblem: String?
  /// On a confirming host: the trial of the canaries' lines (`kept` holds them when it passed).
  public var check: CanaryTrial?

  public init(
    role: Role = .canary, host: String, systemd: Int?, unit: String, skipped: String? = nil,
    kept: [String] = [], dropped: [Dropped] = [], trials: Int = 0, restoreProblem: String? = nil,
    check: CanaryTrial? = nil
  ) {
    self.role = role
    self.host = host
    self.systemd = systemd
    self.unit = unit
    self.skipped = skipped
    self.kept = kept
    self.dropped = dropped
    self.trials = trials
    self.restoreProblem = restoreProblem
    self.check = check
  }
}

/// The search for the lines of a drop-in that leave a service working. Pure: the trials are
/// the caller's.
public enum LineSearch {
  /// The lines of `review` and `rest` that pass `trial` together, found group by group: the
  /// whole drop-in first; when it fails, the unflagged lines (`rest`), then the `review`
  /// lines, each group added to the lines kept so far if it passes, else halved down to the
  /// single lines that fail, which are dropped with the trial that showed it. Assumes a line
  /// that breaks the service breaks it whatever else is applied. Kept lines come back as
  /// `rest` then `review`, each in the order given.
  public static func search(
    review: [String], rest: [String], trial: ([String]) throws -> CanaryTrial
  ) rethrows -> (kept: [String], dropped: [CanaryResult.Dropped], trials: Int) {
    var trials = 0
    // A set of lines already tried is not tried again (the whole drop-in, when the
    // unflagged lines pass and the REVIEW lines are added back to them).
    var tried: [Set<String>: CanaryTrial] = [:]
    func run(_ lines: [String]) throws -> CanaryTrial {
      if let known = tried[Set(lines)] { return known }
      trials += 1
      let result = try trial(lines)
      tried[Set(lines)] = result
      return result
    }
    let all = rest + review
    if all.isEmpty { return ([], [], 0) }
    if try run(all).passed { return (all, [], trials) }
    var kept: [String] = []
    var dropped: [CanaryResult.Dropped] = []
    func add(_ group: ArraySlice<String>) throws {
      guard !group.isEmpty else { return }
      let result = try run(kept + group)
      if result.passed {
        kept += group
      } else if group.count == 1, let line = group.first {
        dropped.append(CanaryResult.Dropped(line: line, trial: result))
      } else {
        let middle = group.startIndex + group.count / 2
        try add(group[..<middle])
        try add(group[middle...])
      }
    }
    try add(rest[...])
    try add(review[...])
    return (order(kept, like: all), dropped, trials)
  }

  private static func order(_ lines: [String], like reference: [String]) -> [String] {
    let wanted = Set(lines)
    return reference.filter { wanted.contains($0) }
  }
}

extension Suggest {
  /// The lines of `suggestion` that every canary which tried it kept; nil when no canary
  /// tried it. What a confirming host applies and what the verified drop-in sets.
  public static func verifiedLines(_ suggestion: Suggestion, results: [CanaryResult]) -> [String]? {
    let tried = results.filter { $0.unit == suggestion.unit && $0.role == .canary && $0.skipped == nil }
    guard !tried.isEmpty else { return nil }
    let broke = Set(tried.flatMap { $0.dropped.map(\.line) })
    return suggestion.lines.map(\.assignment).filter { !broke.contains($0) }
  }

  /// The drop-in after a canary run: each line that was tried says on which hosts (and
  /// systemd versions) it left the service working; a line that broke it on some host is
  /// left out, commented with why and the journal lines that show it.
  /// `hosts`: the scan's, for the exposure predicted with the verified lines.
  public static func verifiedDropIn(
    _ suggestion: Suggestion, baseline: String, required: [String], results: [CanaryResult],
    hosts: [HostReport] = []
  ) -> String {
    let tried = results.filter { $0.unit == suggestion.unit && $0.role == .canary && $0.skipped == nil }
    let confirming = results.filter { $0.unit == suggestion.unit && $0.role == .confirm && $0.skipped == nil }
    guard !tried.isEmpty else {
      var text = dropIn(suggestion, baseline: baseline, required: required)
      let reasons = results.filter { $0.unit == suggestion.unit && $0.role == .canary }.compactMap { r in
        r.skipped.map { "\(r.host): \($0)" }
      }
      text +=
        "# Not verified on a canary" + (reasons.isEmpty ? ".\n" : ": \(reasons.joined(separator: "; "))\n")
      return text
    }
    func named(_ results: [CanaryResult]) -> String {
      results.map { "\($0.host)" + ($0.systemd.map { " (systemd \($0))" } ?? "") }.joined(separator: ", ")
    }
    var text = "# \(suggestion.path)\n"
    text += "# Suggested by unitaudit for \(suggestion.service) against \(baseline) "
    text += "(\(required.joined(separator: ", "))), verified on \(tried.count) canary host"
    text += tried.count == 1 ? ": " : "s: "
    text += named(tried) + ".\n"
    let confirmed = confirming.filter { $0.check?.passed == true }
    if !confirmed.isEmpty {
      text += "# Confirmed as it is (one restart, every line below applied) on \(named(confirmed)).\n"
    }
    for failed in confirming where failed.check?.passed != true {
      text += "# FAILED as it is on \(named([failed])): \(failed.check?.reason ?? "not judged")\n"
      for journal in (failed.check?.journal ?? []).prefix(5) { text += "#   journal: \(journal)\n" }
    }
    for fragment in suggestion.fragments { text += "# Unit file: \(fragment)\n" }
    let present = hosts.filter { suggestion.hosts.contains($0.name) }.compactMap { host in
      host.service(named: suggestion.service).map { (host, $0) }
    }
    let verified = predicted(present, adding: verifiedLines(suggestion, results: results) ?? [])
    if let medians = Suggestion.medians(verified) {
      let count = verified.filter { $0.after != nil }.count
      text +=
        "# Exposure (systemd-analyze security): \(medians.before) -> \(medians.after) predicted with the "
      text += "verified lines"
      if let full = suggestion.predictedMedians { text += " (\(full.after) with every suggested line)" }
      text +=
        suggestion.hosts.count == 1 ? ".\n" : "; median of \(count) of \(suggestion.hosts.count) hosts.\n"
    }
    text += "[Service]\n"
    for line in suggestion.lines {
      text += "# \(line.requirement); missing on \(line.missingOn) of \(suggestion.hosts.count)\n"
      let broke = tried.compactMap { result in
        result.dropped.first { $0.line == line.assignment }.map { (result, $0.trial) }
      }
      if broke.isEmpty {
        text += "# verified on \(named(tried))\n"
        text += line.assignment + "\n"
      } else {
        for (result, trial) in broke {
          text +=
            "# LEFT OUT: it broke \(suggestion.unit) on \(named([result])): \(trial.reason ?? "failed")\n"
          for journal in trial.journal.prefix(5) { text += "#   journal: \(journal)\n" }
        }
        text += "# " + line.assignment + "\n"
      }
    }
    return text
  }
}

extension CanaryResult {
  /// The exposure `hosts` says this host reported for the unit, and the one predicted with the
  /// lines kept; nil when either is unknown.
  public func exposure(in hosts: [HostReport]) -> (before: Exposure, after: Exposure)? {
    guard let service = hosts.first(where: { $0.name == host })?.services.first(where: { $0.id == unit }),
      let before = service.overall?.exposure,
      let after = try? ExposurePrediction.predict(service, adding: kept).get()
    else { return nil }
    return (before, after)
  }
}

/// A canary run's figures over the host × service pairs it tried: the mean exposure systemd
/// would report (predicted from each host's own grading of its checks) before, with the full
/// suggestion, with its unflagged lines only, and with the lines the canaries kept; and how
/// many services each closes the whole gap of (every suggested line applied). Pure.
public struct CanaryFigures: Sendable, Hashable, Codable {
  public var pairs: Int
  public var predicted: Int
  public var meanBefore: Double?
  public var meanFull: Double?
  public var meanUnflagged: Double?
  public var meanVerified: Double?
  /// Pairs whose whole suggestion the canary kept; whose suggestion has no REVIEW line.
  public var wholeVerified: Int
  public var wholeUnflagged: Int

  public init(hosts: [HostReport], suggestions: [Suggestion], results: [CanaryResult]) {
    var before: [Double] = []
    var full: [Double] = []
    var unflagged: [Double] = []
    var verified: [Double] = []
    pairs = 0
    wholeVerified = 0
    wholeUnflagged = 0
    for result in results where result.skipped == nil && result.role == .canary {
      guard let suggestion = suggestions.first(where: { $0.unit == result.unit }),
        let service = hosts.first(where: { $0.name == result.host })?.services.first(where: {
          $0.id == result.unit
        })
      else { continue }
      pairs += 1
      if result.dropped.isEmpty { wholeVerified += 1 }
      if !suggestion.lines.contains(where: { $0.review != nil }) { wholeUnflagged += 1 }
      let variants = [
        suggestion.lines.map(\.assignment), suggestion.lines.filter { $0.review == nil }.map(\.assignment),
        result.kept,
      ]
      let predictions = variants.map { try? ExposurePrediction.predict(service, adding: $0).get() }
      guard let reported = service.overall?.exposure, predictions.allSatisfy({ $0 != nil }) else { continue }
      before.append(Double(reported.tenths) / 10)
      full.append(Double(predictions[0]?.tenths ?? 0) / 10)
      unflagged.append(Double(predictions[1]?.tenths ?? 0) / 10)
      verified.append(Double(predictions[2]?.tenths ?? 0) / 10)
    }
    predicted = before.count
    func mean(_ values: [Double]) -> Double? {
      values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
    meanBefore = mean(before)
    meanFull = mean(full)
    meanUnflagged = mean(unflagged)
    meanVerified = mean(verified)
  }
}

/// What the canary runs of a scan say about one unit, for the reports (the change owners'
/// view): on which hosts the lines were searched and kept, on which the kept lines were
/// confirmed as they are or failed, and how many lines were kept of those suggested. Pure.
public struct CanaryVerdict: Sendable, Hashable, Codable {
  public var unit: String
  /// The canaries that tried the unit.
  public var canaries: [String]
  /// Confirming hosts where the kept lines, applied as they are, left the unit working.
  public var confirmed: [String]
  /// Confirming hosts where they did not, with why.
  public var failed: [String: String]
  /// Lines every canary kept, and lines tried.
  public var kept: Int
  public var tried: Int

  /// The hosts the lines were shown to work on: the canaries and the confirming hosts.
  public var verifiedOn: Int { canaries.count + confirmed.count }

  /// The verdicts of `results`, one per unit that some host tried.
  public static func verdicts(_ results: [CanaryResult]) -> [String: CanaryVerdict] {
    var verdicts: [String: CanaryVerdict] = [:]
    for (unit, runs) in Dictionary(grouping: results.filter { $0.skipped == nil }, by: \.unit) {
      let canaries = runs.filter { $0.role == .canary }
      guard !canaries.isEmpty else { continue }
      let lines = Set(canaries.flatMap { $0.kept + $0.dropped.map(\.line) })
      let broke = Set(canaries.flatMap { $0.dropped.map(\.line) })
      let confirming = runs.filter { $0.role == .confirm }
      verdicts[unit] = CanaryVerdict(
        unit: unit, canaries: canaries.map(\.host).sorted(),
        confirmed: confirming.filter { $0.check?.passed == true }.map(\.host).sorted(),
        failed: Dictionary(
          confirming.filter { $0.check?.passed != true }.map { ($0.host, $0.check?.reason ?? "not judged") },
          uniquingKeysWith: { first, _ in first }),
        kept: lines.subtracting(broke).count, tried: lines.count)
    }
    return verdicts
  }

  /// In words, for a report's cell: `12/14 lines verified on 3 hosts` (and where it failed).
  public var summary: String {
    var text = "\(kept)/\(tried) lines verified on \(verifiedOn) host\(verifiedOn == 1 ? "" : "s")"
    if !failed.isEmpty {
      text +=
        "; failed on " + failed.keys.sorted().map { "\($0) (\(failed[$0] ?? ""))" }.joined(separator: ", ")
    }
    return text
  }
}
