import Foundation
import Testing
import UnitModel

/// The directive table describes every directive of the model once; the stages that read it
/// are tested against it in their own targets (resolver, writer, coverage).
@Suite("the directive table")
struct DirectiveTableTests {
  @Test("one entry per field of the model, sorted, with unique names and labels")
  func oneEntryPerField() throws {
    let names = DirectiveTable.all.map(\.name)
    #expect(names == names.sorted())
    #expect(Set(names).count == names.count)
    #expect(Set(DirectiveTable.all.map(\.label)).count == names.count)
    // Every stored property of the model has an entry: encode a value with each field set
    // and compare its keys.
    let fields = Mirror(reflecting: HardeningSettings.Fields()).children.compactMap(\.label)
    #expect(
      fields.count == names.count,
      "HardeningSettings.Fields has \(fields.count) fields, the table \(names.count)")
    #expect(HardeningSettings.directiveNames == names)
  }

  @Test("versions: named values come after their directive, on booleans only")
  func versions() {
    for spec in DirectiveTable.all {
      if let since = spec.since { #expect(since > DirectiveSupport.oldestVersion, "\(spec.name)") }
      for named in spec.namedValues {
        #expect(spec.kind == .boolean, "\(spec.name)")
        #expect(named.since > (spec.since ?? DirectiveSupport.oldestVersion), "\(spec.name)=\(named.name)")
      }
      if spec.extended != nil { #expect(spec.kind == .boolean && !spec.namedValues.isEmpty, "\(spec.name)") }
      if case .choice(let values) = spec.kind, let unset = spec.unsetShow {
        #expect(values.contains(unset), "\(spec.name): unset \(unset)")
      }
    }
    #expect(DirectiveTable.byName["PrivateIPC"]?.since == 248)
    #expect(DirectiveTable.byName["PrivateTmp"]?.namedValues.map(\.name) == ["disconnected"])
    #expect(
      !DirectiveSupport.knows("PrivateIPC", systemd: 247)
        && DirectiveSupport.knows("PrivateIPC", systemd: 248))
  }
}
