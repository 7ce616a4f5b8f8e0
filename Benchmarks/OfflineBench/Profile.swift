import Foundation
import Normalize
import Storage
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

/// `--profile`: where one host's collection CPU goes, on the real evidence of the scan read:
/// normalizing (the whole, then its stages on the first host, then each host's security
/// section), the JSON of the stored parts by Foundation and by the store's writer, and
/// recording every host with its evidence in a new scan database.
func profile(_ evidences: [(HostEvidence, HostLabel)], output: URL) async throws {
  // Where one host's collection CPU goes: normalize, then record the host in a scan database.
  var normalizeSeconds = 0.0
  var recordSeconds = 0.0
  let profileDirectory = output.appendingPathComponent("profile-scan")
  try? FileManager.default.removeItem(at: profileDirectory)
  let profileStore = try ScanStore.create(
    at: profileDirectory,
    metadata: ScanMetadata(
      id: "profile", toolVersion: "bench", probeVersion: Probe.version, mode: .ssh, startedAt: Date(),
      targets: [], plannedHosts: []))
  for (evidence, label) in evidences.prefix(6) {
    let a = Date()
    let report = normalize(evidence, label: label)
    let b = Date()
    try await profileStore.append(report, evidence: nil)
    normalizeSeconds += b.timeIntervalSince(a)
    recordSeconds += Date().timeIntervalSince(b)
  }
  try await profileStore.close()
  try? FileManager.default.removeItem(at: profileDirectory)
  let n = Double(min(6, evidences.count))
  // The stages of normalize, on the first host.
  if let (evidence, _) = evidences.first {
    var t = Date()
    func lap(_ label: String) {
      print(String(format: "  %@ %.1f ms", label, Date().timeIntervalSince(t) * 1000))
      t = Date()
    }
    let sections = ProbeSections(
      stdout: evidence.output.stdout, stderr: evidence.output.stderr, nonce: evidence.nonce)
    lap("sections")
    let show = parseShowBlocks(sections["show"]?.text ?? "")
    lap("show (\(show.count) blocks)")
    let catText = sections["cat"]?.text ?? ""
    lap("cat text")
    let split = splitCatOutput(catText, expected: [])
    _ = split
    lap("cat split")
    if let json = sections["security"] {
      // The fastest of 30 runs: this machine's speed varies from run to run.
      var fastest = Double.infinity
      var units = 0
      for _ in 0..<30 {
        let start = Date()
        units = parseSecurityJSON(stdout: json.stdout, stderr: json.errorText).units.count
        fastest = min(fastest, Date().timeIntervalSince(start))
      }
      print(String(format: "  security parse (%d units, fastest of 30) %.1f ms", units, fastest * 1000))
      t = Date()
    }
  }
  // Each host's security section, the fastest of 10 parses: JSON (systemd ≥ 250) or the
  // text table (240–249).
  for (evidence, label) in evidences {
    let sections = ProbeSections(
      stdout: evidence.output.stdout, stderr: evidence.output.stderr, nonce: evidence.nonce)
    var fastest = (parse: Double.infinity, normalize: Double.infinity)
    var form = "none"
    for _ in 0..<10 {
      let start = Date()
      if let json = sections["security"] {
        form = "json"
        _ = parseSecurityJSON(stdout: json.stdout, stderr: json.errorText)
      } else if let text = sections["security-text"] {
        form = "text"
        _ = parseSecurityText(stdout: text.text, stderr: text.errorText)
      }
      let parsed = Date()
      _ = normalize(evidence, label: label)
      fastest = (
        min(fastest.parse, parsed.timeIntervalSince(start)),
        min(fastest.normalize, Date().timeIntervalSince(parsed))
      )
    }
    print(
      String(
        format: "  %@: security (%@) %.1f ms, whole normalize %.1f ms (fastest of 10)", label.name, form,
        fastest.parse * 1000, fastest.normalize * 1000))
  }
  // The JSON of every service's parts and checks, by Foundation and by the store's writer:
  // thread CPU time, the fastest of 5.
  func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }
  let services = evidences.flatMap { normalize($0.0, label: $0.1).services }
  let foundation = ScanCoding.lineEncoder
  for (label, write) in [
    ("Foundation", { (value: any Encodable) in _ = try foundation.encode(value) }),
    ("StoredJSON", { (value: any Encodable) in _ = try StoredJSON.encode(value) }),
  ] as [(String, (any Encodable) throws -> Void)] {
    var fastest = Double.infinity
    for _ in 0..<5 {
      let start = cpuSeconds()
      for service in services {
        try write(service)
        try write(service.directives)
        try write(service.hardening)
        for check in service.checks.values { try write(check) }
      }
      fastest = min(fastest, cpuSeconds() - start)
    }
    print(
      String(format: "  parts JSON by %@: %.1f ms per host", label, fastest * 1000 / Double(evidences.count)))
  }
  print(
    String(
      format: "per host: normalize %.1f ms, record in the scan database %.1f ms",
      normalizeSeconds / n * 1000, recordSeconds / n * 1000))
  func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }
  // Recording every host in a new scan database, as a scan does: the fastest of 5 rounds, each
  // in a database of its own (process CPU time, the store's thread included).
  let reports = evidences.map { normalize($0.0, label: $0.1) }
  var fastestRecord = Double.infinity
  for round in 0..<5 {
    let directory = output.appendingPathComponent("profile-record-\(round)")
    try? FileManager.default.removeItem(at: directory)
    let store = try ScanStore.create(
      at: directory,
      metadata: ScanMetadata(
        id: "profile-\(round)", toolVersion: "bench", probeVersion: Probe.version, mode: .ssh,
        startedAt: Date(), targets: [], plannedHosts: []))
    let before = processCPUSeconds()
    for (report, (evidence, _)) in zip(reports, evidences) {
      try await store.append(report, evidence: evidence)
    }
    try await store.close()
    fastestRecord = min(fastestRecord, processCPUSeconds() - before)
    try? FileManager.default.removeItem(at: directory)
  }
  print(
    String(
      format: "record every host with its evidence in a new scan database: %.1f ms per host (fastest of 5)",
      fastestRecord * 1000 / Double(reports.count)))
}
