import Testing
import UnitModel

@testable import Normalize

@Suite("systemd-analyze security")
struct SecurityParserTests {
  @Test("two units: each check array pairs with its summary entry")
  func pairsChecksWithSummary() throws {
    let (out, err) = try Fixture.sample("sec_ssh_cups_short")
    let analysis = parseSecurityJSON(stdout: out, stderr: err)
    #expect(analysis.diagnostics.isEmpty)
    let ssh = try #require(analysis.units["ssh.service"])
    let cups = try #require(analysis.units["cups.service"])
    #expect(ssh.overall == OverallExposure(exposure: Exposure(tenths: 96), predicate: "UNSAFE"))
    #expect(cups.overall == OverallExposure(exposure: Exposure(tenths: 32), predicate: "OK"))
    #expect(ssh.checks.count == 81)
    #expect(cups.checks.count == 81)
    #expect(
      ssh.checks["UserOrDynamicUser"]
        == SecurityCheck(
          name: "User=/DynamicUser=", description: "Service runs as root user", set: false,
          exposure: Exposure(tenths: 4)))
    #expect(ssh.checks["ProtectSystem"]?.set == false)
    #expect(cups.checks["ProtectSystem"]?.set == true)
    #expect(cups.checks["ProtectSystem"]?.exposure == nil)
    #expect(ssh.checks["SupplementaryGroups"]?.set == nil)
  }

  @Test("units with the same fields share one sorted array of them; other fields get their own")
  func sharedFieldOrder() throws {
    let (out, err) = try Fixture.sample("sec_ssh_cups_short")
    let analysis = parseSecurityJSON(stdout: out, stderr: err)
    let ssh = try #require(analysis.units["ssh.service"]).checks
    let cups = try #require(analysis.units["cups.service"]).checks
    #expect(ssh.keys == ssh.keys.sorted())
    #expect(
      ssh.keys.withUnsafeBufferPointer { $0.baseAddress }
        == cups.keys.withUnsafeBufferPointer { $0.baseAddress })
    // Three units in a row: the same fields in a different order, then another set with a
    // field twice (the later one wins, as systemd's last word).
    func check(_ field: String, _ exposure: String) -> String {
      #"{"set":false,"name":"\#(field)=","json_field":"\#(field)","description":"d","exposure":"\#(exposure)"}"#
    }
    let units = ["a", "b", "c"].map { #"{"unit":"\#($0).service","exposure":"1.0","predicate":"OK"}"# }
    let text = """
      [\(check("PrivateTmp", "0.1")),\(check("NoNewPrivileges", "0.2"))]
      [\(check("NoNewPrivileges", "0.3")),\(check("PrivateTmp", "0.4"))]
      [\(check("ProtectHome", "0.5")),\(check("Delegate", "0.6")),\(check("ProtectHome", "0.7"))]
      [\(units.joined(separator: ","))]
      """
    let three = parseSecurityJSON(stdout: text, stderr: "").units
    func exposures(_ unit: String) -> [String: Int] {
      (three[unit]?.checks ?? [:]).reduce(into: [:]) { $0[$1.key] = $1.value.exposure?.tenths }
    }
    #expect(three["a.service"]?.checks.keys == ["NoNewPrivileges", "PrivateTmp"])
    #expect(exposures("a.service") == ["NoNewPrivileges": 2, "PrivateTmp": 1])
    #expect(exposures("b.service") == ["NoNewPrivileges": 3, "PrivateTmp": 4])
    #expect(three["c.service"]?.checks.keys == ["Delegate", "ProtectHome"])
    #expect(exposures("c.service") == ["Delegate": 6, "ProtectHome": 7])
  }

  @Test("missing units are named on stderr; exit status 1 still has good data")
  func missingUnits() throws {
    for name in ["sec_ssh_missing_short", "sec_missing_ssh_short"] {
      let (out, err) = try Fixture.sample(name)
      let analysis = parseSecurityJSON(stdout: out, stderr: err)
      #expect(analysis.diagnostics.isEmpty, "\(name)")
      #expect(analysis.units.keys.sorted() == ["ssh.service"], "\(name)")
      #expect(analysis.units["ssh.service"]?.overall?.exposure == Exposure(tenths: 96))
      #expect(analysis.units["ssh.service"]?.checks.count == 81)
      #expect(analysis.refused == ["missing.service": "not found"])
    }
    let (out, err) = try Fixture.sample("sec_two_missing_short")
    let none = parseSecurityJSON(stdout: out, stderr: err)
    #expect(none.units.isEmpty)
    #expect(none.diagnostics.isEmpty)
    #expect(none.refused == ["missing.service": "not found", "nothere.service": "not found"])
  }

  @Test("masked and non-service units are refused by name")
  func refusals() throws {
    #expect(
      parseSecurityRefusals(try Fixture.sample("sec_masked_short").stderr) == ["cron.service": "masked"])
    #expect(
      parseSecurityRefusals(try Fixture.sample("sec_socket_short").stderr)
        == ["avahi-daemon.socket": "not a service unit"])
  }

  @Test("a unit passed twice gives one result")
  func duplicate() throws {
    let (out, err) = try Fixture.sample("sec_dup_ssh_short")
    let analysis = parseSecurityJSON(stdout: out, stderr: err)
    #expect(analysis.units.count == 1)
    #expect(analysis.units["ssh.service"]?.overall?.predicate == "UNSAFE")
  }

  @Test("the text table (systemd 240–249, LANG=C too) gives the same checks as JSON")
  func textMatchesJSON() throws {
    let json = parseSecurityJSON(stdout: try Fixture.sample("sec_ssh_cups_short").stdout, stderr: "")
    for name in ["sec_ssh_text", "sec_ssh_text_LANG_C", "sec_ssh_cups_text", "sec_ssh_text_utf8"] {
      let text = parseSecurityText(stdout: try Fixture.sample(name).stdout, stderr: "")
      #expect(text.diagnostics.isEmpty, "\(name): \(text.diagnostics)")
      let ssh = try #require(text.units["ssh.service"], "\(name)")
      #expect(ssh.overall == OverallExposure(exposure: Exposure(tenths: 96), predicate: "UNSAFE"))
      let expected = try #require(json.units["ssh.service"]).checks
      #expect(ssh.checks.count == expected.count, "\(name)")
      for (field, check) in expected {
        #expect(ssh.checks[field]?.set == check.set, "\(name) \(field)")
        #expect(ssh.checks[field]?.exposure == check.exposure, "\(name) \(field)")
      }
    }
    let cups = parseSecurityText(stdout: try Fixture.sample("sec_ssh_cups_text").stdout, stderr: "")
    #expect(cups.units["cups.service"]?.overall?.exposure == Exposure(tenths: 32))
  }

  @Test("a text table with CRLF line ends reads as with LF, and repeated rows read once read the same")
  func textLineEnds() throws {
    let plain = try Fixture.sample("sec_ssh_cups_text").stdout
    let expected = parseSecurityText(stdout: plain, stderr: "")
    #expect(expected.units.count == 2)
    #expect(
      parseSecurityText(stdout: plain.replacingOccurrences(of: "\n", with: "\r\n"), stderr: "") == expected)
    // The same tables twice over: the rows seen in the first are taken as read, the units equal.
    let twice = parseSecurityText(stdout: plain + plain, stderr: "")
    #expect(twice.units == expected.units)
  }

  @Test("systemd 247's namespace checks (by clone flag) are the same checks as 252's, named as printed")
  func olderCheckNames() throws {
    let text = parseSecurityText(stdout: try Fixture.sample("sec_cron_text_247").stdout, stderr: "")
    #expect(text.diagnostics.isEmpty, "\(text.diagnostics)")
    let cron = try #require(text.units["cron.service"])
    let fields = [
      "cgroup": "CLONE_NEWCGROUP", "ipc": "CLONE_NEWIPC", "mnt": "CLONE_NEWNS", "net": "CLONE_NEWNET",
      "pid": "CLONE_NEWPID", "user": "CLONE_NEWUSER", "uts": "CLONE_NEWUTS",
    ]
    for (namespace, flag) in fields {
      let check = try #require(cron.checks["RestrictNamespaces_\(namespace)"], "\(namespace)")
      #expect(check.name == "RestrictNamespaces=~\(flag)")
      #expect(check.set == false)
    }
    // Every row of the table is a known check.
    #expect(cron.checks.keys.allSatisfy { knownSecurityChecks[$0] != nil })
  }

  @Test("exposure strings parse exactly; predicates follow systemd's table")
  func exposures() {
    #expect(Exposure(parsing: "9.6")?.tenths == 96)
    #expect(Exposure(parsing: "3")?.tenths == 30)
    for bad in ["", ".5", "5.", "1.23", "11", "010", "-1", "1,5", "9.6 "] {
      #expect(Exposure(parsing: bad) == nil, "\(bad)")
    }
    #expect(Exposure(parsing: "10.0")?.tenths == 100)
    #expect(Exposure(parsing: "0.0")?.predicate == "PERFECT")
    #expect(Exposure(parsing: "4.9")?.predicate == "OK")
    #expect(Exposure(parsing: "7.5")?.predicate == "EXPOSED")
    #expect(Exposure(parsing: "11.0") == nil)
    #expect(Exposure(parsing: "9.66") == nil)
    #expect(Exposure(parsing: "") == nil)
    #expect(Exposure(parsing: "x") == nil)
  }

  @Test("a stream of JSON documents splits on top-level values, strings respected")
  func streamSplitter() {
    let split = splitJSONDocuments("\n[{\"a\":\"]\\\"[\"}]\n\n[]\n[1")
    #expect(split.documents == ["[{\"a\":\"]\\\"[\"}]", "[]"])
    #expect(split.trailing == 2)
  }

  @Test("documents in a row read in one pass equal the split ones; one broken document fails the pass")
  func sequenceMatchesSplit() throws {
    let bytes = Array(try Fixture.sample("sec_ssh_cups_short").stdout.utf8)
    let split = splitJSONDocuments(bytes)
    let sequence = try #require(JSONValue.parseSequence(bytes))
    #expect(sequence.count == 3)
    #expect(sequence == split.ranges.map { JSONValue.parse(bytes, in: $0) })
    #expect(JSONValue.parseSequence(Array("[1]\n[tru]\n[2]".utf8)) == nil)
    #expect(JSONValue.parseSequence(Array("[1]\n[2".utf8)) == nil)
    #expect(JSONValue.parseSequence(Array(" \n".utf8)) == [])
  }

  @Test("checks decoded once per distinct object equal the general parser's, unit by unit")
  func sharedObjectsMatchGeneralParse() throws {
    let (out, err) = try Fixture.sample("sec_ssh_cups_short")
    #expect(SecurityDocumentReader.read(Array(out.utf8))?.documents.count == 3)
    let shared = parseSecurityJSON(stdout: out, stderr: err)
    // An unfinished document at the end sends the whole output through the general parser.
    let general = parseSecurityJSON(stdout: out + "\n[{\"set\":tr", stderr: err)
    #expect(general.diagnostics.map(\.code) == ["security.truncated-json"])
    #expect(shared.units.count == 2)
    #expect(shared.units == general.units)
  }

  @Test("a repeated check object keeps escapes and gives each unit its own notes")
  func repeatedObjectsKeepNotesPerUnit() {
    let check =
      #"{"set":false,"name":"Future=","json_field":"FutureThing","description":"quote \" brace } slash \\ end","exposure":"0.2"}"#
    let out = """
      [\(check)]
      [\(check)]
      [{"unit":"a.service","exposure":"0.2","predicate":"SAFE"},{"unit":"b.service","exposure":"0.2","predicate":"SAFE"}]
      """
    let analysis = parseSecurityJSON(stdout: out, stderr: "")
    for unit in ["a.service", "b.service"] {
      let future = analysis.units[unit]?.checks["FutureThing"]
      #expect(future?.description == #"quote " brace } slash \ end"#)
      #expect(future?.exposure == Exposure(tenths: 2))
    }
    #expect(
      analysis.diagnostics.filter { $0.code == "security.unknown-field" }.compactMap(\.unit).sorted()
        == ["a.service", "b.service"])
  }
}
