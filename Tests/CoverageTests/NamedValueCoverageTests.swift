import Coverage
import Foundation
import Testing
import UnitModel

/// Booleans that newer systemd also accepts in named forms (PrivateTmp=disconnected): on in
/// any form meets the plain requirement; a baseline may name the forms it accepts.
@Suite("coverage of named values: PrivateTmp=disconnected and the like")
struct NamedValueCoverageTests {
  func service(_ privateTmp: Setting<Bool>?, users: Setting<Bool>? = nil) -> ServiceRecord {
    Fleet.service("web.service", exposure: 30) {
      $0.privateTmp = privateTmp
      $0.privateUsers = users
    }
  }

  let disconnected = Setting(
    true, source: Provenance(file: "/etc/systemd/system/web.service.d/40.conf", line: 2),
    variant: "disconnected")

  @Test("a plain requirement is met by any form, and shows the form")
  func plainRequirement() {
    let evaluation = Requirement(.privateTmp).evaluate(service(disconnected))
    #expect(evaluation.satisfied)
    #expect(evaluation.value == "disconnected")
    #expect(evaluation.source == .override)
    #expect(Requirement(.privateTmp).evaluate(service(Fleet.on())).value == "yes")
    #expect(!Requirement(.privateTmp).evaluate(service(nil)).satisfied)
  }

  @Test("a baseline names the forms it accepts; an unknown form is an error with its line")
  func acceptedForms() throws {
    let text = """
      name: newer
      title: newer forms
      sets:
        core:
          - PrivateTmp: [disconnected]
          - PrivateUsers: [identity, full]
      services: [web.service]
      """
    let baseline = try BaselineParser.parse(text, file: "newer.yml")
    let requirements = baseline.requirements(in: ["core"])
    let tmp = try #require(requirements.first { $0.directive == .privateTmp })
    #expect(tmp.summary == "PrivateTmp ∈ {disconnected}")
    #expect(tmp.evaluate(service(disconnected)).satisfied)
    #expect(!tmp.evaluate(service(Fleet.on())).satisfied, "plain yes is not the disconnected form")
    let users = try #require(requirements.first { $0.directive == .privateUsers })
    #expect(users.evaluate(service(nil, users: Setting(true, source: nil, variant: "full"))).satisfied)
    #expect(!users.evaluate(service(nil, users: Setting(true, source: nil, variant: "self"))).satisfied)

    let wrong = text.replacingOccurrences(of: "[identity, full]", with: "[sometimes]")
    #expect {
      _ = try BaselineParser.parse(wrong, file: "newer.yml")
    } throws: { error in
      "\(error)".contains("newer.yml:6") && "\(error)".contains("'sometimes' is not a value of PrivateUsers")
    }
  }
}

@Suite("every directive of the table in coverage")
struct DirectiveTableCoverageTests {
  @Test("each directive a baseline may require has its table entry, and the entries' choices are its choices")
  func directives() throws {
    for directive in HardeningDirective.allCases {
      let spec = try #require(
        DirectiveTable.byName[directive.rawValue], "\(directive.rawValue) has no table entry")
      if case .choice(let values) = spec.kind {
        #expect(directive.choices == values, "\(directive.rawValue)")
      }
      if !spec.namedValues.isEmpty {
        #expect(directive.choices == ["yes"] + spec.namedValues.map(\.name), "\(directive.rawValue)")
      }
      // Its evaluation reads the field the table names.
      let settings = HardeningResolverShim.set(spec.name, spec.example)
      let service = Fleet.service("x.service", exposure: 10) { $0 = settings }
      let evaluation = Requirement(directive).evaluate(service)
      #expect(evaluation.source != .default, "\(directive.rawValue): the evaluation does not read its field")
    }
    // IPAddressAllow only loosens IPAddressDeny: no baseline requires it.
    let required = Set(HardeningDirective.allCases.filter { $0.spec.notRequired == nil }.map(\.rawValue))
    #expect(Set(DirectiveTable.all.map(\.name)).subtracting(required) == ["IPAddressAllow"])
  }
}

/// Settings with one directive set from its table example, by decoding the model's JSON (the
/// Coverage tests do not link the resolver).
enum HardeningResolverShim {
  static func set(_ name: String, _ example: String) -> HardeningSettings {
    guard let spec = DirectiveTable.byName[name] else { return HardeningSettings() }
    let value: Any =
      switch spec.kind {
      case .boolean: true
      case .choice(let values): values.last ?? example
      case .user, .umask: example
      case .list: [example]
      case .filter: ["entries": [example], "mode": "allow"]
      }
    let object: [String: Any] = [
      name: ["value": value, "source": ["file": "/etc/x.conf", "line": 1, "origin": "admin"]]
    ]
    guard let data = try? JSONSerialization.data(withJSONObject: object),
      let settings = try? JSONDecoder().decode(HardeningSettings.self, from: data)
    else { return HardeningSettings() }
    return settings
  }
}
