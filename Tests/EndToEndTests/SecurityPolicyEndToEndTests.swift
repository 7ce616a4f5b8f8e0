import Coverage
import Foundation
import Normalize
import TestSupport
import Testing
import UnitModel

/// `unitaudit baseline export-policy` read by the real `systemd-analyze security
/// --security-policy` on every release of the fleet.
@Suite("End to end: the baseline as systemd's security policy", .tags(.e2e), .exclusive)
struct SecurityPolicyEndToEndTests {
  /// One service on one host: unitaudit's judgement and systemd's exposure under the policy.
  struct Verdict {
    var host: String
    var systemd: Int
    var unit: String
    var status: CoverageStatus
    var exposure: Double
    /// Whether every check the policy weighs was at zero badness in the host's own
    /// assessment (each check's exposure 0 or not applicable), as the scan recorded it.
    var weighedClean: Bool
  }

  /// Runs `baseline`'s exported policy on every host that has data; returns each baseline
  /// service's verdicts and the hosts whose systemd refused the option.
  func assess(
    _ baseline: Baseline, file: String, hosts: [HostReport], fleet: Fleet, work: URL
  ) async throws -> (verdicts: [Verdict], refused: [String]) {
    let policyFile = work.appendingPathComponent("\(baseline.name).json").path
    let exported = try run([try unitauditBinary(), "baseline", "export-policy", file, "-o", policyFile])
    #expect(exported.status == 0, "\(exported.output)")
    let policy = try String(contentsOfFile: policyFile, encoding: .utf8)
    let weighed = SecurityPolicy(
      baseline: baseline, required: [baseline.sets[0].name], checks: knownSecurityChecks.keys
    )
    .weighed
    let requirements = baseline.requirements(in: [baseline.sets[0].name])
    return try await withThrowingTaskGroup(of: ([Verdict], String?).self) { group in
      for host in hosts {
        group.addTask {
          let version = try #require(host.identity?.systemdVersion)
          var judged: [String: (CoverageStatus, Bool)] = [:]
          for entry in baseline.services where entry.exempt == nil {
            guard let service = host.service(named: entry.name) else { continue }
            let status = CoverageCalculator.judge(
              service, host: host.name, entry: entry, requirements: requirements, baseline: baseline,
              today: "2026-12-02", systemd: version
            ).status
            let clean = weighed.allSatisfy { (service.checks[$0]?.exposure?.tenths ?? 0) == 0 }
            judged[service.id] = (status, clean)
          }
          let units = judged.keys.sorted()
          // The script comes on stdin (`fleet.ssh`): the policy is a here-document of it.
          let script = """
            f=$(mktemp); cat > "$f" <<'UNITAUDIT_POLICY_END'
            \(policy)
            UNITAUDIT_POLICY_END
            systemd-analyze security --no-pager --security-policy="$f" \(units.joined(separator: " ")) 2>&1
            echo "exit $?"; rm -f "$f"
            """
          let ssh = try fleet.ssh(host, script)
          if version < 250 {
            // The option came with systemd 250.
            #expect(
              ssh.output.contains("unrecognized option '--security-policy"), "\(host.name): \(ssh.output)")
            return ([], host.name)
          }
          #expect(ssh.output.contains("exit 0"), "\(host.name): \(ssh.output)")
          var verdicts: [Verdict] = []
          for line in ssh.output.split(separator: "\n") where line.contains("Overall exposure level for ") {
            // → Overall exposure level for UNIT: 4.9 OK :-)
            let parts = (line.split(separator: "Overall exposure level for ").last ?? "").split(
              separator: " ")
            guard parts.count >= 2, let exposure = Double(parts[1]) else { continue }
            let unit = String(parts[0].dropLast())
            if let (status, clean) = judged[unit] {
              verdicts.append(
                Verdict(
                  host: host.name, systemd: version, unit: unit, status: status, exposure: exposure,
                  weighedClean: clean))
            }
          }
          #expect(verdicts.count == units.count, "\(host.name): \(ssh.output)")
          return (verdicts, nil)
        }
      }
      var all: ([Verdict], [String]) = ([], [])
      for try await (verdicts, refused) in group {
        all.0 += verdicts
        if let refused { all.1.append(refused) }
      }
      return all
    }
  }

  func summary(_ title: String, _ verdicts: [Verdict]) {
    print("\(title) on \(Set(verdicts.map(\.host)).count) hosts:")
    let byStatus = Dictionary(grouping: verdicts, by: \.status)
    for status in [CoverageStatus.hardened, .partial, .notStarted] {
      let values = (byStatus[status] ?? []).map(\.exposure).sorted()
      guard let low = values.first, let high = values.last else { continue }
      print(
        "  \(status.rawValue): \(values.count) services, exposure \(low)–\(high), median \(values[(values.count - 1) / 2])"
      )
    }
  }

  @Test(
    "systemd 250+ accepts the exported policy and its exposure follows the baseline; older refuse the option",
    .enabled(if: Fleet.configured != nil, "needs a booted fleet: Scripts/fleet up, then UNITAUDIT_FLEET=DIR"))
  func policyOnTheFleet() async throws {
    let fleet = try #require(Fleet.configured)
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
      "e2e-policy-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let scanDirectory = work.appendingPathComponent("scan")
    let hosts = try fleet.scan(into: scanDirectory)
    #expect(hosts.count >= 6)

    // The bundled baseline: exposure 0.0 exactly when every weighed check was clean on the
    // host; the services with none of the required directives at 8.0 or more.
    let fedora = try BaselineStore.load("fedora-40")
    let (verdicts, refused) = try await assess(
      fedora, file: "fedora-40", hosts: hosts, fleet: fleet, work: work)
    summary("systemd-analyze security --security-policy (fedora-40 core)", verdicts)
    print("  refused the option (systemd < 250): \(refused.sorted().joined(separator: ", "))")
    #expect(Set(verdicts.map(\.systemd)).count >= 2, "every release from 250 on")
    #expect(
      Set(refused) == Set(hosts.filter { ($0.identity?.systemdVersion ?? 0) < 250 }.map(\.name)),
      "exactly the hosts older than 250 refuse")
    for verdict in verdicts {
      #expect(
        (verdict.exposure == 0) == verdict.weighedClean,
        "\(verdict.host) \(verdict.unit): \(verdict.exposure)")
    }
    for verdict in verdicts where verdict.status == .notStarted {
      #expect(verdict.exposure >= 8.0, "\(verdict.host) \(verdict.unit): \(verdict.exposure)")
    }
    #expect(verdicts.filter { $0.status == .partial }.count > 10)

    // A baseline of two booleans, which many of the fleet's services meet: each service
    // unitaudit calls hardened scores 0.0 under its policy.
    let file = work.appendingPathComponent("two.yml").path
    try """
    name: two
    title: Two booleans
    sets:
      core: [NoNewPrivileges, ProtectKernelModules]
    services: [\(fedora.services.map(\.name).joined(separator: ", "))]
    """.write(toFile: file, atomically: true, encoding: .utf8)
    let two = try BaselineStore.load(file)
    let (booleans, _) = try await assess(two, file: file, hosts: hosts, fleet: fleet, work: work)
    summary("systemd-analyze security --security-policy (NoNewPrivileges, ProtectKernelModules)", booleans)
    #expect(booleans.filter { $0.status == .hardened }.count >= 10)
    for verdict in booleans where verdict.status == .hardened {
      #expect(verdict.exposure == 0, "\(verdict.host) \(verdict.unit): \(verdict.exposure)")
    }
    for verdict in booleans where verdict.status == .notStarted {
      #expect(verdict.exposure == 10, "\(verdict.host) \(verdict.unit): \(verdict.exposure)")
    }
  }
}
