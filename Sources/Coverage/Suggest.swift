import UnitModel

/// A candidate drop-in for one baseline service that is not hardened: the lines that close its
/// gap on the hosts it was made for, each with the requirement it meets, and what was left
/// out and why.
public struct Suggestion: Sendable, Hashable, Codable {
  /// The baseline's name for the service, and the unit the hosts run (an alias resolves).
  public var service: String
  public var unit: String
  public var status: CoverageStatus
  /// The hosts it was made for: those that have the service.
  public var hosts: [String]
  /// The oldest systemd among them: every line is one that version accepts.
  public var oldestSystemd: Int?
  public var lines: [Line]
  public var leftOut: [LeftOut]
  /// Where the unit comes from on those hosts (`FragmentPath`).
  public var fragments: [String]
  /// The packages that own those files, where the hosts' package manager says.
  public var packages: [String]
  /// Per host (as `hosts`), the exposure it reported and the one predicted with the drop-in.
  public var exposures: [PredictedExposure]

  /// The median exposure before and after over the hosts with a prediction; nil when none has.
  public var predictedMedians: (before: Exposure, after: Exposure)? { Self.medians(exposures) }

  /// The median exposure before and after over the entries of `exposures` with a prediction.
  static func medians(_ exposures: [PredictedExposure]) -> (before: Exposure, after: Exposure)? {
    let pairs = exposures.compactMap { entry in entry.before.flatMap { b in entry.after.map { (b, $0) } } }
    guard let before = Spread(pairs.map(\.0)), let after = Spread(pairs.map(\.1)) else { return nil }
    return (before.median, after.median)
  }

  public struct Line: Sendable, Hashable, Codable {
    /// The requirement it meets.
    public var directive: HardeningDirective
    public var requirement: String
    /// `ProtectSystem=full`.
    public var assignment: String
    /// On how many of the hosts the requirement is missing.
    public var missingOn: Int
    /// Why the line may stop the service, and where that is said; nil when nothing is known.
    public var review: String?
  }

  public struct LeftOut: Sendable, Hashable, Codable {
    public var directive: HardeningDirective
    public var reason: String
  }

  /// Where the drop-in goes on a host.
  public var path: String { "/etc/systemd/system/\(unit).d/50-hardening.conf" }
}

/// Candidate drop-ins from a scan and a baseline. Pure.
///
/// Per service, each required directive that some host lacks becomes a line, unless the
/// baseline calls it not applicable, a waiver covers it on one of the hosts (a drop-in reaches
/// every host), or the oldest host's systemd does not know it. The value is the weakest the
/// baseline accepts (`hardened:` in `Directives.table` orders them as systemd grades them),
/// never weaker than one a host already sets from a file, and one the oldest host accepts.
public enum Suggest {
  /// The suggestions for `baseline`'s `required` sets on `hosts`, in baseline order; only
  /// `services` (baseline names) when given.
  public static func suggestions(
    hosts: [HostReport], baseline: Baseline, required: [String], services: Set<String>? = nil, today: String
  ) -> [Suggestion] {
    let requirements = baseline.requirements(in: required)
    let scanned = hosts.filter { $0.status.code.hasData }
    return baseline.services.compactMap { entry -> Suggestion? in
      guard entry.exempt == nil, services?.contains(entry.name) ?? true else { return nil }
      let present = scanned.compactMap { host in host.service(named: entry.name).map { (host, $0) } }
      guard !present.isEmpty else { return nil }
      let judged = present.map { host, service in
        CoverageCalculator.judge(
          service, host: host.name, entry: entry, requirements: requirements, baseline: baseline,
          today: today,
          systemd: host.identity?.systemdVersion)
      }
      guard judged.contains(where: { $0.status != .hardened }) else { return nil }
      let versions = present.compactMap { $0.0.identity?.systemdVersion }
      let oldest = versions.min()
      var lines: [Suggestion.Line] = []
      var leftOut: [Suggestion.LeftOut] = []
      for (index, requirement) in requirements.enumerated() {
        let directive = requirement.directive
        if let reason = entry.notApplicable[directive] {
          leftOut.append(.init(directive: directive, reason: "not applicable: \(reason)"))
          continue
        }
        let outcomes = judged.map { $0.outcomes[index] }
        let missing = outcomes.filter { $0.state == .missing }.count
        let unsupported = outcomes.compactMap { outcome -> Int? in
          if case .unsupported(let needs) = outcome.state { return needs } else { return nil }
        }
        guard missing > 0 || !unsupported.isEmpty else { continue }
        if let waived = outcomes.first(where: { $0.state == .waived })?.waivers.first(where: {
          !$0.isExpired(today: today)
        }) {
          leftOut.append(
            .init(
              directive: directive,
              reason:
                "waived on some hosts (\(waived.reason); \(waived.owner)): a drop-in reaches every host, "
                + "so make one for the others with --host"))
          continue
        }
        if let needs = requirement.minimumSystemd, let oldest, oldest < needs {
          leftOut.append(
            .init(directive: directive, reason: "needs systemd \(needs); the oldest host runs \(oldest)"))
          continue
        }
        switch assignment(for: requirement, present: present.map(\.1), oldest: oldest) {
        case .success(let line):
          lines.append(
            .init(
              directive: directive, requirement: requirement.summary, assignment: line, missingOn: missing,
              review: DirectiveTable.all[directive.index].review))
        case .failure(let reason):
          leftOut.append(.init(directive: directive, reason: reason.text))
        }
      }
      let exposures = predicted(present, adding: lines.map(\.assignment))
      let units = Dictionary(grouping: present.map(\.1.id), by: { $0 }).mapValues(\.count)
      let unit = units.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? entry.name
      return Suggestion(
        service: entry.name, unit: unit,
        status: judged.allSatisfy { $0.status == .notStarted } ? .notStarted : .partial,
        hosts: present.map(\.0.name), oldestSystemd: oldest, lines: lines, leftOut: leftOut,
        fragments: Array(Set(present.compactMap(\.1.fragmentPath))).sorted(),
        packages: Array(Set(present.compactMap(\.1.package))).sorted(), exposures: exposures)
    }
  }

  struct NoLine: Error {
    var text: String
  }

  /// The line that meets `requirement` on services like `present`, for systemd `oldest`.
  static func assignment(
    for requirement: Requirement, present: [ServiceRecord], oldest: Int?
  ) -> Result<String, NoLine> {
    let row = DirectiveTable.all[requirement.directive.index]
    if let why = row.noSuggestion { return .failure(NoLine(text: why)) }
    // A filter line merges into the one a host's file sets (an allow entry removes a system
    // call or family from a deny list, and widens an allow list): it would weaken it there.
    if row.kind == .filter,
      present.contains(where: { service in
        let evaluation = requirement.evaluate(service)
        return evaluation.satisfied && evaluation.provenance != nil
      })
    {
      return .failure(
        NoLine(
          text:
            "some hosts' unit files set \(row.name)= already, and a drop-in line would merge into "
            + "that list and widen it; make one for the other hosts with --host"))
    }
    if let line = row.suggest { return .success(line) }
    // The words a host's systemd accepts: a named form only from its version on.
    func accepts(_ word: String) -> Bool {
      guard let oldest, let named = row.namedValues.first(where: { $0.name == word }) else { return true }
      return named.since <= oldest
    }
    // Weakest first: by the table's order of hardened words, a word it does not list last.
    func rank(_ word: String) -> Int { row.hardened.firstIndex(of: word) ?? row.hardened.count }
    var candidates =
      (requirement.accepted.isEmpty ? (row.hardened.isEmpty ? ["yes"] : row.hardened) : requirement.accepted)
      .filter { $0 != "no" && accepts($0) }
    if row.kind == .boolean {
      // `yes` first; then the named forms as the baseline lists them.
      candidates.sort { ($0 == "yes" ? 0 : 1) < ($1 == "yes" ? 0 : 1) }
    } else {
      candidates.sort { rank($0) < rank($1) }
    }
    guard var word = candidates.first else {
      return .failure(
        NoLine(text: "no value the baseline accepts is known to systemd \(oldest.map(String.init) ?? "")"))
    }
    // Never weaker than what a file already sets on one of the hosts (the drop-in would win).
    let evaluations = present.map { requirement.evaluate($0) }
    for evaluation in evaluations where evaluation.satisfied && evaluation.provenance != nil {
      let set = evaluation.value
      guard candidates.contains(set) else { continue }
      if row.kind == .boolean ? (set != "yes" && word == "yes") : rank(set) > rank(word) { word = set }
    }
    return .success("\(row.name)=\(word)")
  }

  /// Per host, the exposure it reported for its service and the one predicted with
  /// `assignments` added.
  static func predicted(_ present: [(HostReport, ServiceRecord)], adding assignments: [String])
    -> [PredictedExposure]
  {
    present.map { host, service in
      switch ExposurePrediction.predict(service, adding: assignments) {
      case .success(let after):
        PredictedExposure(host: host.name, before: service.overall?.exposure, after: after, unpredicted: nil)
      case .failure(let why):
        PredictedExposure(
          host: host.name, before: service.overall?.exposure, after: nil, unpredicted: why.reason)
      }
    }
  }

  /// The drop-in's text: a comment header (what it is for, the oldest systemd it was made
  /// for, where the unit comes from), `[Service]`, each line under its requirement, the lines
  /// to review flagged, and what was left out.
  public static func dropIn(_ suggestion: Suggestion, baseline: String, required: [String]) -> String {
    var text = "# \(suggestion.path)\n"
    text += "# Suggested by unitaudit for \(suggestion.service) against \(baseline) "
    text += "(\(required.joined(separator: ", "))), made for \(suggestion.hosts.count) host"
    text += suggestion.hosts.count == 1 ? ".\n" : "s.\n"
    if let oldest = suggestion.oldestSystemd {
      text += "# Every line is one that systemd \(oldest) accepts (the oldest of those hosts).\n"
    }
    for fragment in suggestion.fragments { text += "# Unit file: \(fragment)\n" }
    if !suggestion.packages.isEmpty {
      text += "# Package: \(suggestion.packages.joined(separator: ", "))\n"
    }
    if let medians = suggestion.predictedMedians {
      let predicted = suggestion.exposures.filter { $0.after != nil }.count
      text += "# Exposure (systemd-analyze security): \(medians.before) -> \(medians.after) predicted"
      text +=
        suggestion.hosts.count == 1
        ? ".\n" : " (median of \(predicted) of \(suggestion.hosts.count) hosts).\n"
    }
    if suggestion.lines.contains(where: { $0.review != nil }) {
      text += "# Lines marked REVIEW may stop the service: test them before shipping.\n"
    }
    text += "[Service]\n"
    for line in suggestion.lines {
      text += "# \(line.requirement); missing on \(line.missingOn) of \(suggestion.hosts.count)\n"
      if let review = line.review { text += "# REVIEW: \(review)\n" }
      text += line.assignment + "\n"
    }
    if !suggestion.leftOut.isEmpty {
      text += "# Left out:\n"
      for left in suggestion.leftOut { text += "#   \(left.directive.rawValue): \(left.reason)\n" }
    }
    return text
  }
}

/// The predicted effect of a set of suggestions over the fleet: every host × service they
/// were made for, the mean exposure before and after over those with a prediction.
public struct PredictedEffect: Sendable, Hashable, Codable {
  public var pairs: Int
  public var predicted: Int
  public var meanBefore: Double?
  public var meanAfter: Double?
  /// Host × service pairs predicted at systemd's MEDIUM (5.0) or better, before and after.
  public var mediumOrBetterBefore: Int
  public var mediumOrBetterAfter: Int

  public init(_ suggestions: [Suggestion]) {
    let all = suggestions.flatMap(\.exposures)
    let pairs = all.compactMap { entry in entry.before.flatMap { b in entry.after.map { (b, $0) } } }
    self.pairs = all.count
    predicted = pairs.count
    func mean(_ values: [Exposure]) -> Double? {
      values.isEmpty ? nil : Double(values.map(\.tenths).reduce(0, +)) / Double(values.count) / 10
    }
    meanBefore = mean(pairs.map(\.0))
    meanAfter = mean(pairs.map(\.1))
    mediumOrBetterBefore = pairs.filter { $0.0.tenths <= 74 }.count
    mediumOrBetterAfter = pairs.filter { $0.1.tenths <= 74 }.count
  }
}
