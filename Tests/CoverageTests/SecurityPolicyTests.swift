import Coverage
import Foundation
import Testing
import UnitModel

@Suite("A baseline as systemd-analyze's security policy")
struct SecurityPolicyTests {
  @Test(
    "required directives keep systemd's weights (prefixes included), the rest weigh 0; unassessed ones named")
  func policy() throws {
    let baseline = try BaselineParser.parse(
      """
      name: p
      title: p
      sets:
        core: [PrivateTmp, User, CapabilityBoundingSet, PrivateIPC]
        extended: [SystemCallFilter]
      services: [a.service]
      """, file: "p.yml")
    let checks = [
      "PrivateTmp", "UserOrDynamicUser", "CapabilityBoundingSet_CAP_SYS_ADMIN",
      "CapabilityBoundingSet_CAP_NET_BIND_SERVICE_BROADCAST_RAW)", "SystemCallFilter_swap", "PrivateDevices",
      "PrivateTmp",
    ]
    let policy = SecurityPolicy(baseline: baseline, required: ["core"], checks: checks)
    #expect(
      policy.weighed == [
        "CapabilityBoundingSet_CAP_NET_BIND_SERVICE_BROADCAST_RAW)", "CapabilityBoundingSet_CAP_SYS_ADMIN",
        "PrivateTmp", "UserOrDynamicUser",
      ])
    #expect(policy.ignored == ["PrivateDevices", "SystemCallFilter_swap"])
    #expect(policy.unassessed == [.privateIPC])
    // The file systemd reads: one object per check, weight 0 for those ignored.
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(policy.json.utf8)) as? [String: [String: Int]])
    #expect(object.count == 6)
    #expect(object["PrivateDevices"] == ["weight": 0] && object["PrivateTmp"] == [:])
    let both = SecurityPolicy(baseline: baseline, required: ["core", "extended"], checks: checks)
    #expect(both.weighed.contains("SystemCallFilter_swap") && both.ignored == ["PrivateDevices"])
  }

  @Test("every directive a baseline may require is mapped to systemd's checks, or known to have none")
  func mapping() {
    // systemd-analyze security assesses neither of these (systemd 252–262).
    let unassessed: Set<HardeningDirective> = [.privateIPC, .privatePIDs]
    for row in DirectiveTable.all where row.notRequired == nil {
      #expect(row.checks.isEmpty == unassessed.contains(row.directive), "\(row.name)")
    }
  }
}
