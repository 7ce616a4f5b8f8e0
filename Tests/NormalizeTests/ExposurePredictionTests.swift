import Testing
import UnitModel

@testable import Coverage
@testable import Normalize

/// Predicted exposure against systemd's own answer, on outputs recorded on the fleet: a
/// unit's files and its `systemd-analyze security` (with SYSTEMD_ANALYZE_DEBUG=1) before and
/// after the drop-in `unitaudit suggest` made for it was applied (samples/INDEX.tsv).
@Suite("Predicted exposure")
struct ExposurePredictionTests {
  /// The service as a scan holds it: the unit's directives and the host's checks before.
  static func service(_ name: String, unit: String, text: Bool) throws -> ServiceRecord {
    let (cat, _) = try Fixture.sample("\(name)_cat")
    let paths = cat.split(separator: "\n").filter { $0.hasPrefix("# /") }.map { String($0.dropFirst(2)) }
    let split = splitCatOutput(cat, expected: [ExpectedUnitFiles(unit: unit, masked: false, paths: paths)])
    let files = try #require(split.files[unit])
    let directives = files.flatMap { parseUnitFile($0).directives }
    let result = try #require(analysis(name + "_before", text: text).units[unit])
    return ServiceRecord(
      id: unit, loadState: "loaded", directives: directives,
      hardening: HardeningResolver.resolve(directives).settings, overall: result.overall,
      checks: result.checks)
  }

  static func analysis(_ name: String, text: Bool) throws -> SecurityAnalysis {
    let (out, err) = try Fixture.sample(name)
    return text ? parseSecurityText(stdout: out, stderr: err) : parseSecurityJSON(stdout: out, stderr: err)
  }

  /// The assignments of a recorded drop-in.
  static func assignments(_ name: String) throws -> [String] {
    let text = try Fixture.text("samples/\(name)_dropin.conf")
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("[") && $0.contains("=") }
      .map(String.init)
  }

  @Test(
    "the prediction is systemd's exposure after the drop-in, check by check",
    arguments: [
      ("grade_ssh_247", "ssh.service", true), ("grade_cups_252", "cups.service", false),
      ("grade_cups_252_ext", "cups.service", false), ("grade_nginx_262", "nginx.service", false),
    ])
  func matchesSystemd(name: String, unit: String, text: Bool) throws {
    let before = try Self.service(name, unit: unit, text: text)
    let lines = try Self.assignments(name)
    #expect(lines.count >= 4)
    let after = try #require(try Self.analysis(name + "_after", text: text).units[unit])
    let grades = try ExposurePrediction.predictGrades(before, adding: lines).get()
    for (field, check) in after.checks {
      #expect(grades[field]?.badness == check.grade?.badness, "\(name) \(field)")
    }
    let predicted = try ExposurePrediction.predict(before, adding: lines).get()
    #expect(predicted == after.overall?.exposure)
    #expect(predicted < (before.overall?.exposure ?? Exposure(tenths: 0)))
  }

  @Test("every check carries systemd's weight, range and badness; n/a is a nil badness")
  func gradesParsed() throws {
    for (name, text) in [("grade_ssh_247_before", true), ("grade_cups_252_before", false)] {
      let result = try #require(try Self.analysis(name, text: text).units.values.first)
      #expect(result.checks.count > 70)
      #expect(result.checks.values.allSatisfy { $0.grade != nil }, "\(name)")
      // The sum of the grades is the overall exposure systemd printed.
      #expect(
        ExposurePrediction.exposure(of: result.checks.values.compactMap(\.grade)) == result.overall?.exposure)
      let user = try #require(result.checks["UserOrDynamicUser"]?.grade)
      #expect(user.weight == 2000 && user.range == 10)
    }
    let text = try #require(try Self.analysis("grade_ssh_247_before", text: true).units["ssh.service"])
    #expect(text.checks["SupplementaryGroups"]?.grade?.badness == nil)
    #expect(text.checks["SupplementaryGroups"]?.grade?.weight == 200)
    #expect(text.checks["PrivateNetwork"]?.description == "Service has access to the host's network")
  }

  @Test("a scan without grades, or whose grades do not add up, is not predicted")
  func unpredictable() throws {
    var service = try Self.service("grade_cups_252", unit: "cups.service", text: false)
    var graded = service
    service.checks = service.checks.mapValues { check in
      var old = check
      old.grade = nil
      return old
    }
    #expect(throws: ExposurePrediction.Unpredictable.self) {
      try ExposurePrediction.predict(service, adding: ["PrivateTmp=yes"]).get()
    }
    graded.overall = OverallExposure(exposure: Exposure(tenths: 99), predicate: "UNSAFE")
    let failure = ExposurePrediction.predict(graded, adding: ["PrivateTmp=yes"])
    guard case .failure(let why) = failure else {
      Issue.record("predicted against an exposure the checks do not add up to")
      return
    }
    #expect(why.reason.contains("not the 9.9"))
  }

  @Test("grades out of bounds are refused with a warning")
  func badGrades() {
    #expect(securityGrade(weight: "2000", range: "10", badness: "11") == nil)
    #expect(securityGrade(weight: "-1", range: "1", badness: "0") == nil)
    #expect(securityGrade(weight: "100", range: "0", badness: "0") == nil)
    #expect(securityGrade(weight: "200", range: "1", badness: "18446744073709551615")?.badness == nil)
    #expect(securityGrade(weight: "200", range: "1", badness: "18446744073709551615")?.weight == 200)
    let json =
      #"[{"set":false,"name":"PrivateTmp=","json_field":"PrivateTmp","description":"x","weight":1000,"badness":7,"range":1,"exposure":"0.2"}]"#
    let summary = #"[{"unit":"a.service","exposure":"0.2","predicate":"SAFE"}]"#
    let parsed = parseSecurityJSON(stdout: json + "\n" + summary, stderr: "")
    #expect(parsed.diagnostics.contains { $0.code == "security.bad-grade" })
    // The check is kept, without a grade.
    #expect(parsed.units["a.service"]?.checks["PrivateTmp"]?.set == false)
    #expect(parsed.units["a.service"]?.checks["PrivateTmp"]?.grade == nil)
  }
}

@Suite("Predicted exposure of a verified drop-in")
struct VerifiedExposureTests {
  @Test("the verified drop-in's header predicts the exposure with the lines the canaries kept")
  func verifiedHeader() throws {
    let service = try ExposurePredictionTests.service("grade_nginx_262", unit: "nginx.service", text: false)
    let lines = try ExposurePredictionTests.assignments("grade_nginx_262")
    let host = HostReport(name: "web1", status: HostStatus(.ok), services: [service])
    let suggestion = Suggestion(
      service: "nginx.service", unit: "nginx.service", status: .notStarted, hosts: ["web1"],
      oldestSystemd: 262,
      lines: lines.map {
        Suggestion.Line(
          directive: .privateTmp, requirement: String($0.prefix { $0 != "=" }), assignment: $0, missingOn: 1,
          review: nil)
      }, leftOut: [], fragments: [], packages: [],
      exposures: [
        PredictedExposure(
          host: "web1", before: service.overall?.exposure,
          after: try ExposurePrediction.predict(service, adding: lines).get(), unpredicted: nil)
      ])
    let dropped = try #require(lines.last)
    let kept = Array(lines.dropLast())
    let result = CanaryResult(
      host: "web1", systemd: 262, unit: "nginx.service", kept: kept,
      dropped: [
        CanaryResult.Dropped(
          line: dropped, trial: CanaryTrial(lines: [dropped], passed: false, reason: "inactive"))
      ], trials: 3)
    let before = try #require(service.overall?.exposure)
    let verified = try ExposurePrediction.predict(service, adding: kept).get()
    let full = try ExposurePrediction.predict(service, adding: lines).get()
    let text = Suggest.verifiedDropIn(
      suggestion, baseline: "s", required: ["core"], results: [result], hosts: [host])
    #expect(
      text.contains(
        "# Exposure (systemd-analyze security): \(before) -> \(verified) predicted with the verified lines (\(full) with every suggested line).\n"
      ), "\(text)")
    #expect(result.exposure(in: [host])?.after == verified)
    #expect(verified >= full && verified < before)
  }
}
