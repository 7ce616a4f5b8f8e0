// unitaudit-bench: the offline stages at fleet scale, timed. Reads a real scan (its hosts and
// evidence), times normalize on the real evidence, builds a synthetic scan of N hosts × S
// services from I host images made of the real hosts (every host an image's copy, with a few
// services of its own), then times the scan database, coverage and every report format,
// writing them to -o DIR. Prints one line per stage and peak RSS.
//
//   unitaudit-bench --from SCAN --hosts 10000 --services 150 [--images 20] [--load-sample 500]
//                   [--keep-sample] [--write-scan DIR] [--failed-every N]
//                   [--write-history FILE --scans N] -o DIR
//
// --write-scan DIR writes the whole synthetic scan as a scan directory (scan.db).
// --failed-every N makes every Nth host one that could not be audited (each failed status in
// turn, with its reason), as real fleets have.

import Coverage
import Foundation
import Normalize
import Report
import ReportTemplates
import Storage
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

// --load SCAN: read a scan directory back (what every command does first), timed, and stop.
if let path = CommandLine.arguments.firstIndex(of: "--load").map({ CommandLine.arguments[$0 + 1] }) {
  let loaded = try timed("load \(path)") { try readScan(URL(fileURLWithPath: path)) }
  let services = loaded.hosts.reduce(0) { $0 + $1.services.count }
  print(
    "\(loaded.hosts.count) hosts, \(services) services; a service record takes "
      + "\(MemoryLayout<ServiceRecord>.stride) bytes in its host's array")
  exit(0)
}

let source = URL(fileURLWithPath: argument("--from", default: "."))
let hostCount = Int(argument("--hosts", default: "10000")) ?? 10_000
let serviceCount = Int(argument("--services", default: "150")) ?? 150
let output = URL(fileURLWithPath: argument("-o", default: "bench-offline"))
try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

let real: Scan
do {
  real = try readScan(source)
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
let templates = real.hosts.filter { $0.status.code.hasData }
guard !templates.isEmpty else {
  print("no scanned hosts in \(source.path)")
  exit(1)
}

// Normalize: every real evidence, repeated to 100 normalizations, then per host.
var evidences: [(HostEvidence, HostLabel)] = []
for host in real.hosts.map(\.name).sorted() {
  guard let evidence = try? Evidence.read(scan: source, host: host) else { continue }
  evidences.append((evidence, HostLabel(name: evidence.host)))
}
if CommandLine.arguments.contains("--profile") {
  try await profile(evidences, output: output)
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

// The synthetic scan. An image is a real host with exactly `serviceCount` services; images
// past the real hosts are copies with every service's description and exposure changed, so
// no two images share a configuration. A host is an image's copy with a name and address of
// its own, and a few services of its own: one in another state (failed) and two with a
// drop-in line that only it has. Unchanged values share storage (copy on write).
let imageCount = max(1, Int(argument("--images", default: "20")) ?? 20)
let images: [HostReport] = (0..<imageCount).map { image in
  var host = templates[image % templates.count]
  let variant = image / templates.count
  var services: [ServiceRecord] = []
  var round = 0
  while services.count < serviceCount {
    for var service in host.services where services.count < serviceCount {
      if round > 0 { service.id = "extra\(round)-" + service.id }
      if variant > 0 {
        service.description = (service.description ?? "") + " (image \(image))"
        if var overall = service.overall {
          overall.exposure = Exposure(tenths: (overall.exposure.tenths + variant) % 101)
          service.overall = overall
        }
      }
      services.append(service)
    }
    round += 1
  }
  host.services = services
  return host
}
let failedEvery = max(0, Int(argument("--failed-every", default: "0")) ?? 0)
let failedCodes = HostStatusCode.allCases.filter { !$0.hasData }
let hosts: [HostReport] = timed("synthesize \(hostCount) hosts × \(serviceCount) from \(imageCount) images") {
  (0..<hostCount).map { index in
    if failedEvery > 0 && index % failedEvery == failedEvery - 1 {
      let code = failedCodes[index / failedEvery % failedCodes.count]
      return HostReport(
        name: "host\(index).example.com",
        address: "10.\(index / 65536 % 256).\(index / 256 % 256).\(index % 256)",
        groups: ["rack\(index % 40)"], status: HostStatus(code, reason: "synthetic: \(code.rawValue)"))
    }
    var host = images[index % imageCount]
    host.name = "host\(index).example.com"
    host.address = "10.\(index / 65536 % 256).\(index / 256 % 256).\(index % 256)"
    host.groups = ["rack\(index % 40)", index % 2 == 0 ? "prod" : "staging"]
    let count = host.services.count
    if count > 0 {
      host.services[index % count].activeState = "failed"
      host.services[index % count].subState = "failed"
      for offset in [7, 61] {
        let position = (index + offset) % count
        if let source = host.services[position].directives.last?.source {
          host.services[position].directives.append(
            Directive(section: "Service", key: "Environment", value: "HOST_ID=\(index)", source: source))
        }
      }
    }
    return host
  }
}

/// A synthetic scan's metadata.
func syntheticMetadata(_ id: String, _ hosts: ArraySlice<HostReport>) -> ScanMetadata {
  ScanMetadata(
    id: id, toolVersion: "bench", probeVersion: Probe.version, mode: .ssh, state: .complete,
    startedAt: Date(timeIntervalSince1970: 1_796_000_000), targets: [], plannedHosts: hosts.map(\.name))
}

func fileMB(_ url: URL) -> Double {
  Double((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0) / 1e6
}

// The scan database: a sample written host by host as the collector writes it (a transaction
// each), read back; the same hosts as JSON lines (`export --jsonl`), to compare sizes.
let sampleCount = min(hostCount, Int(argument("--load-sample", default: "500")) ?? 500)
if sampleCount > 0 {
  let sample = hosts.prefix(sampleCount)
  let sampleDirectory = output.appendingPathComponent("scan-sample")
  try? FileManager.default.removeItem(at: sampleDirectory)
  let store = try ScanStore.create(at: sampleDirectory, metadata: syntheticMetadata("bench-sample", sample))
  let writeStart = Date()
  for host in sample { _ = try await store.append(host, evidence: nil) }
  try await store.close()
  let writeSeconds = Date().timeIntervalSince(writeStart)
  let loadStart = Date()
  let loaded = try readScan(sampleDirectory)
  let loadSeconds = Date().timeIntervalSince(loadStart)
  let databaseMB = fileMB(sampleDirectory.appendingPathComponent(ScanStore.databaseFile))
  var jsonlBytes = 0
  try HostLines.write(Scan(metadata: loaded.metadata, hosts: Array(sample))) { jsonlBytes += $0.count }
  print(
    String(
      format: "scan.db (%d-host sample): write %.1f ms/host, load %.1f ms/host → load %.0f s for %d hosts; "
        + "%.1f MB (%.1f KB/host) against %.0f MB of JSON lines (%.0f×)",
      loaded.hosts.count, writeSeconds / Double(sampleCount) * 1000,
      loadSeconds / Double(sampleCount) * 1000,
      loadSeconds / Double(sampleCount) * Double(hostCount), hostCount, databaseMB,
      databaseMB * 1000 / Double(sampleCount), Double(jsonlBytes) / 1e6, Double(jsonlBytes) / 1e6 / databaseMB
    ))
  // --keep-sample: left for Benchmarks/run to time `unitaudit report` on it.
  if !CommandLine.arguments.contains("--keep-sample") {
    try? FileManager.default.removeItem(at: sampleDirectory)
  }
}

// The whole synthetic scan as a scan directory, a few hundred hosts per transaction.
if let path = CommandLine.arguments.firstIndex(of: "--write-scan").map({ CommandLine.arguments[$0 + 1] }) {
  let directory = URL(fileURLWithPath: path)
  try? FileManager.default.removeItem(at: directory)
  let store = try ScanStore.create(at: directory, metadata: syntheticMetadata("bench-scan", hosts[...]))
  let start = Date()
  var next = 0
  while next < hosts.count {
    let end = min(next + 256, hosts.count)
    try await store.append(Array(hosts[next..<end]))
    next = end
  }
  print(
    String(
      format: "%-34@ %8.2f s   (peak RSS so far %d MB)", "write scan.db (\(hostCount) hosts)" as NSString,
      Date().timeIntervalSince(start), peakRSSMB()))
  try await store.close()
  print(String(format: "scan.db: %.1f MB", fileMB(directory.appendingPathComponent(ScanStore.databaseFile))))
}
// --write-history PATH|URL --scans N: a history of N scans of the synthetic fleet, one a day,
// little changed from one to the next (each scan, 1% of the hosts get a drop-in line of that
// scan's on one service), with the file's size after each (an SQLite file; a PostgreSQL
// database's size is psql's to tell). --scan-prefix names the scans, so that several
// writers can add theirs to one PostgreSQL history at once.
if let path = CommandLine.arguments.firstIndex(of: "--write-history").map({ CommandLine.arguments[$0 + 1] }) {
  let scanCount = Int(argument("--scans", default: "50")) ?? 50
  let prefix = argument("--scan-prefix", default: "bench-history")
  let postgres = PostgresLocation.isURL(path)
  if !postgres { try? FileManager.default.removeItem(atPath: path) }
  let history = try ScanTables.history(path, create: true)
  var sizes: [Double] = []
  let start = Date()
  for number in 0..<scanCount {
    let changed = hosts.enumerated().map { index, host -> HostReport in
      guard index % 100 == number % 100, let source = host.services.first?.directives.last?.source else {
        return host
      }
      var host = host
      host.services[0].directives.append(
        Directive(section: "Service", key: "Environment", value: "SCAN=\(number)", source: source))
      return host
    }
    var metadata = syntheticMetadata("\(prefix)-\(number)", changed[...])
    metadata.startedAt = Date(timeIntervalSince1970: 1_796_000_000 + Double(number) * 86_400)
    _ = try history.addScan(Scan(metadata: metadata, hosts: changed))
    if !postgres { sizes.append(fileMB(URL(fileURLWithPath: path))) }
  }
  try history.close()
  if postgres {
    print(
      "history of \(scanCount) scans × \(hostCount) hosts (\(prefix)): written in "
        + String(format: "%.1f s", Date().timeIntervalSince(start)))
  }
  let growth = zip(sizes.dropFirst(), sizes).map { $0 - $1 }
  if !postgres {
    print(
      String(
        format: "history of %d scans × %d hosts: written in %.1f s; %.1f MB after the first scan, "
          + "%.2f MB more per scan after it (max %.2f), %.1f MB in all",
        scanCount, hostCount, Date().timeIntervalSince(start), sizes.first ?? 0,
        growth.reduce(0, +) / Double(max(1, growth.count)), growth.max() ?? 0,
        fileMB(URL(fileURLWithPath: path))))
  }
  // --only-history: nothing else (the history benchmarks).
  if CommandLine.arguments.contains("--only-history") { exit(0) }
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
  let files = try ReportWriter(renderer: renderer).write(formats, input, to: output).files
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
