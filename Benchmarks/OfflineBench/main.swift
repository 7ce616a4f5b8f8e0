// unitaudit-bench: the offline stages at fleet scale, timed. Reads a real scan (its hosts and
// evidence), times normalize on the real evidence, builds a synthetic scan of N hosts × S
// services from the real hosts (names, exposures and settings varied), then times coverage
// and every report format, writing them to -o DIR. Prints one line per stage and peak RSS.
//
//   unitaudit-bench --from SCAN --hosts 10000 --services 150 [--load-sample 500] [--keep-sample] -o DIR

import Collector
import Coverage
import Foundation
import Normalize
import Report
import ReportTemplates
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

func argument(_ name: String, default value: String) -> String {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
  return arguments[index + 1]
}

func peakRSSMB() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_maxrss / 1024
}

@discardableResult
func timed<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
  let start = Date()
  let value = try body()
  let seconds = Date().timeIntervalSince(start)
  print(String(format: "%-34@ %8.2f s   (peak RSS so far %d MB)", label as NSString, seconds, peakRSSMB()))
  return value
}

let source = URL(fileURLWithPath: argument("--from", default: "."))
let hostCount = Int(argument("--hosts", default: "10000")) ?? 10_000
let serviceCount = Int(argument("--services", default: "150")) ?? 150
let output = URL(fileURLWithPath: argument("-o", default: "bench-offline"))
try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

let real: LoadedScan
do {
  real = try loadScan(source)
} catch {
  // Benchmarks/run passes the scan it recorded from the real fleet.
  FileHandle.standardError.write(
    Data(
      """
      unitaudit-bench: \(error)
      usage: unitaudit-bench --from SCAN --hosts N --services S [--load-sample N] [--keep-sample] [--profile] -o DIR

      """.utf8))
  exit(2)
}
let templates = real.scan.hosts.filter { $0.status.code.hasData }
guard !templates.isEmpty else {
  print("no scanned hosts in \(source.path)")
  exit(1)
}

// Normalize: every real evidence, repeated to 100 normalizations, then per host.
let evidenceDirectory = source.appendingPathComponent("evidence")
var evidences: [(HostEvidence, HostLabel)] = []
for name in try FileManager.default.contentsOfDirectory(atPath: evidenceDirectory.path).sorted() {
  let folder = evidenceDirectory.appendingPathComponent(name)
  guard let evidence = try? EvidenceFolder.read(folder) else { continue }
  evidences.append((evidence, HostLabel(name: evidence.host)))
}
if CommandLine.arguments.contains("--profile") {
  // Where one host's collection CPU goes: normalize, then encode the hosts.jsonl line.
  var normalizeSeconds = 0.0
  var encodeSeconds = 0.0
  var bytes = 0
  for (evidence, label) in evidences.prefix(6) {
    let a = Date()
    let report = normalize(evidence, label: label)
    let b = Date()
    let line = try HostLineWriter.line(report)
    normalizeSeconds += b.timeIntervalSince(a)
    encodeSeconds += Date().timeIntervalSince(b)
    bytes += line.count
  }
  let n = Double(min(6, evidences.count))
  if let (evidence, label) = evidences.first {
    // The encoder's share of a line: the host without its services.
    let full = normalize(evidence, label: label)
    var shell = full
    shell.services = []
    var start = Date()
    let bytes = try ScanCoding.lineEncoder.encode(shell).count
    print(
      String(
        format: "  encoder on the host without services %.1f ms (%d KB)",
        Date().timeIntervalSince(start) * 1000,
        bytes / 1000))
    start = Date()
    var table = CheckTable()
    var order = HostLineWriter.CheckOrder()
    let checks = full.services.map { HostLineWriter.checks($0.checks, order: &order, table: &table) }
    print(String(format: "  checks %.1f ms", Date().timeIntervalSince(start) * 1000))
    start = Date()
    var out: [UInt8] = []
    for (service, checks) in zip(full.services, checks) {
      HostLineWriter.service(service, checks: checks, into: &out)
    }
    print(
      String(format: "  services %.1f ms (%d KB)", Date().timeIntervalSince(start) * 1000, out.count / 1000))
  }
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
  print(
    String(
      format: "per host: normalize %.1f ms, encode hosts.jsonl line %.1f ms (%.0f KB)",
      normalizeSeconds / n * 1000,
      encodeSeconds / n * 1000, Double(bytes) / n / 1000))
  exit(0)
}
let rounds = 100
let normalizeStart = Date()
var normalizedServices = 0
for index in 0..<rounds where !evidences.isEmpty {
  let (evidence, label) = evidences[index % evidences.count]
  normalizedServices += normalize(evidence, label: label).services.count
}
let perHost = Date().timeIntervalSince(normalizeStart) / Double(rounds)
let megabytes =
  Double(evidences.map { $0.0.output.stdout.count }.reduce(0, +)) / Double(max(1, evidences.count)) / 1e6
print(
  String(
    format: "normalize (real evidence, %.1f MB/host) %8.1f ms/host → %.0f s for %d hosts on one core",
    megabytes, perHost * 1000, perHost * Double(hostCount), hostCount))

// The synthetic scan: real hosts cloned with new names, exactly `serviceCount` services each,
// exposures shifted so the hosts differ. Unchanged values share storage (copy on write).
let hosts: [HostReport] = timed("synthesize \(hostCount) hosts × \(serviceCount)") {
  (0..<hostCount).map { index in
    var host = templates[index % templates.count]
    host.name = "host\(index).example.com"
    host.address = "10.\(index / 65536 % 256).\(index / 256 % 256).\(index % 256)"
    host.groups = ["rack\(index % 40)", index % 2 == 0 ? "prod" : "staging"]
    var services: [ServiceRecord] = []
    var round = 0
    while services.count < serviceCount {
      for var service in host.services where services.count < serviceCount {
        if round > 0 { service.id = "extra\(round)-" + service.id }
        if var overall = service.overall {
          overall.exposure = Exposure(tenths: (overall.exposure.tenths + index % 7) % 101)
          service.overall = overall
        }
        services.append(service)
      }
      round += 1
    }
    host.services = services
    return host
  }
}

// Reading a scan back (what `unitaudit report SCAN` does first): a sample of the synthetic
// hosts written to hosts.jsonl as the collector writes them, then loaded, per host.
let sampleCount = min(hostCount, Int(argument("--load-sample", default: "500")) ?? 500)
if sampleCount > 0 {
  let sampleDirectory = output.appendingPathComponent("scan-sample")
  try? FileManager.default.removeItem(at: sampleDirectory)
  let sampleMetadata = ScanMetadata(
    id: "bench-sample", toolVersion: "bench", probeVersion: Probe.version, mode: .ssh, startedAt: Date(),
    targets: [], plannedHosts: hosts.prefix(sampleCount).map(\.name))
  let store = try ScanStore.create(at: sampleDirectory, metadata: sampleMetadata)
  let writeStart = Date()
  for host in hosts.prefix(sampleCount) { _ = try await store.append(host, evidence: nil) }
  await store.close()
  let writeSeconds = Date().timeIntervalSince(writeStart)
  let loadStart = Date()
  let loaded = try loadScan(sampleDirectory)
  let loadSeconds = Date().timeIntervalSince(loadStart)
  let bytes =
    (try? FileManager.default.attributesOfItem(
      atPath: sampleDirectory.appendingPathComponent(ScanStore.hostsFile).path)[.size] as? Int) ?? 0
  print(
    String(
      format: "hosts.jsonl (%d-host sample, %.2f MB/host): write %.1f ms/host, load %.1f ms/host "
        + "→ load %.0f s for %d hosts",
      loaded.scan.hosts.count, Double(bytes) / Double(max(1, sampleCount)) / 1e6,
      writeSeconds / Double(sampleCount) * 1000, loadSeconds / Double(sampleCount) * 1000,
      loadSeconds / Double(sampleCount) * Double(hostCount), hostCount))
  // --keep-sample: left for Benchmarks/run to time `unitaudit report` on it.
  if !CommandLine.arguments.contains("--keep-sample") {
    try? FileManager.default.removeItem(at: sampleDirectory)
  }
}

let baseline = try BaselineStore.load("fedora-40")
let required = [baseline.sets[0].name]
let coverageStart = Date()
let coverage = timed("coverage (fedora-40, core)") {
  CoverageCalculator.compute(hosts: hosts, baseline: baseline, required: required, today: "2026-11-22")
}
let coverageSeconds = Date().timeIntervalSince(coverageStart)
let metadata = ScanMetadata(
  id: "bench", toolVersion: "bench", probeVersion: Probe.version, mode: .ssh, state: .complete,
  startedAt: Date(),
  targets: [], plannedHosts: hosts.map(\.name))
let input = ReportInput(
  metadata: metadata, hosts: hosts, baseline: baseline, required: required, coverage: coverage,
  generatedAt: "bench")
let renderer = try ReportRenderer(templates: BundledTemplates.all())
var total = coverageSeconds
// HTML and Markdown share one view (as `unitaudit report` does); CSV and JSON stream to disk.
for formats in [[ReportFormat.html, .md], [.csv], [.json]] {
  let start = Date()
  let files = try ReportWriter(renderer: renderer).write(formats, input, to: output)
  let seconds = Date().timeIntervalSince(start)
  total += seconds
  let sizes = try files.map { url -> String in
    let bytes = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    return "\(url.lastPathComponent) \(bytes / 1_000_000) MB"
  }.sorted().joined(separator: ", ")
  let label = "report " + formats.map(\.rawValue).joined(separator: " + ")
  print(
    String(
      format: "%-34@ %8.2f s   (%@; peak RSS so far %d MB)", label as NSString, seconds, sizes as NSString,
      peakRSSMB()))
}
print(String(format: "coverage + each format on its own: %.2f s; peak RSS %d MB", total, peakRSSMB()))
// What `unitaudit report` does: every format in one call, its files written at the same time.
let together = Date()
_ = try ReportWriter(renderer: renderer).write([.html, .md, .csv, .json], input, to: output)
let togetherSeconds = Date().timeIntervalSince(together)
print(
  String(
    format:
      "report html + md + csv + json at once %8.2f s; coverage + every report format: %.2f s; peak RSS %d MB",
    togetherSeconds, coverageSeconds + togetherSeconds, peakRSSMB()))
