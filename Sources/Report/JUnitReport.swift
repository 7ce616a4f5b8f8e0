import Coverage
import UnitModel

/// `check --junit FILE`: the check's results as JUnit XML, the form Jenkins, GitLab and most
/// CI systems read (Jenkins' junit-10.xsd). One `testsuite` per host, one `testcase` per
/// baseline service, a `failure` per violation with its reason, `skipped` for a service that
/// is exempt, not installed or met only through waivers; a host that could not be audited
/// is one `testcase` with an `error`. Pure.
public enum JUnitReport {
  public static func xml(_ results: CheckResults, timestamp: String) -> String {
    var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
    var tests = 0
    var failures = 0
    var errors = 0
    var suites = ""
    let baseline = "\(results.baseline) (\(results.required.joined(separator: ", ")))"
    for host in results.hosts {
      var body = "    <properties>\n"
      body +=
        property("baseline", results.baseline) + property("required", results.required.joined(separator: ","))
      if let systemd = host.systemd { body += property("systemd", String(systemd)) }
      if let os = host.os { body += property("os", os) }
      body += "    </properties>\n"
      var counts = (tests: 0, failures: 0, errors: 0, skipped: 0)
      if let error = host.error {
        counts.tests = 1
        counts.errors = 1
        body += "    <testcase classname=\"\(attribute(host.host))\" name=\"scan\">\n"
        body +=
          "      <error type=\"\(error.kind.rawValue)\" message=\"\(attribute(error.reason))\">"
          + "\(attribute(error.description))</error>\n"
        body += "    </testcase>\n"
      }
      for testCase in host.cases {
        counts.tests += 1
        let open =
          "    <testcase classname=\"\(attribute(host.host))\" name=\"\(attribute(testCase.service))\""
        switch testCase.outcome {
        case .passed:
          body += open + "/>\n"
        case .skipped(let why):
          counts.skipped += 1
          body += open + ">\n      <skipped message=\"\(attribute(why))\"/>\n    </testcase>\n"
        case .failed(let violations):
          counts.failures += 1
          body += open + ">\n"
          for violation in violations {
            body +=
              "      <failure type=\"\(violation.kind.rawValue)\" message=\"\(attribute(message(violation)))\">"
              + "\(attribute(violation.description))</failure>\n"
          }
          body += "    </testcase>\n"
        }
      }
      suites +=
        "  <testsuite name=\"\(attribute(host.host))\" hostname=\"\(attribute(host.host))\" "
        + "tests=\"\(counts.tests)\" failures=\"\(counts.failures)\" errors=\"\(counts.errors)\" "
        + "skipped=\"\(counts.skipped)\" time=\"0\" timestamp=\"\(attribute(timestamp))\">\n" + body
        + "  </testsuite>\n"
      tests += counts.tests
      failures += counts.failures
      errors += counts.errors
    }
    if !results.general.isEmpty {
      var body = ""
      for violation in results.general {
        let name = [violation.service, violation.directive?.rawValue].compactMap { $0 }.joined(separator: " ")
        body += "    <testcase classname=\"waivers\" name=\"\(attribute(name.isEmpty ? "waiver" : name))\">\n"
        body +=
          "      <failure type=\"\(violation.kind.rawValue)\" message=\"\(attribute(violation.reason))\">"
          + "\(attribute(violation.description))</failure>\n    </testcase>\n"
      }
      suites +=
        "  <testsuite name=\"waivers\" tests=\"\(results.general.count)\" failures=\"\(results.general.count)\" "
        + "errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"\(attribute(timestamp))\">\n" + body
        + "  </testsuite>\n"
      tests += results.general.count
      failures += results.general.count
    }
    out +=
      "<testsuites name=\"unitaudit check \(attribute(baseline))\" tests=\"\(tests)\" failures=\"\(failures)\" "
      + "errors=\"\(errors)\" time=\"0\">\n" + suites + "</testsuites>\n"
    return out
  }

  /// A failure's one-line message: the directive (when there is one) and the reason.
  static func message(_ violation: Violation) -> String {
    [violation.directive?.rawValue, violation.reason].compactMap { $0 }.joined(separator: ": ")
  }

  static func property(_ name: String, _ value: String) -> String {
    "      <property name=\"\(attribute(name))\" value=\"\(attribute(value))\"/>\n"
  }

  /// Text for an attribute or an element (`Inert.xml`: escaped, controls made visible).
  public static func attribute(_ value: String) -> String { Inert.xml(value) }
}
