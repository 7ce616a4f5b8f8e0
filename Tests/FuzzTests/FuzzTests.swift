import Foundation
import FuzzTargets
import Normalize
import TestSupport
import Testing
import UnitModel

/// Quick mutation fuzzing of the fuzz targets (Tests/FuzzTargets, one per parser that reads what
/// hosts or users hand us; Scripts/fuzz runs the same targets under libFuzzer): real inputs
/// (captured systemd output, the recorded probe outputs, the example inventories and the
/// bundled baseline) are damaged at random — bytes flipped, inserted, deleted, duplicated,
/// cut, or replaced by tokens that matter to the format — and parsed. A crash (a trap, an
/// out-of-bounds index, an overflow, a broken property) ends the test run.
///
/// Each target runs for `UNITAUDIT_FUZZ_SECONDS` (3 by default, as in CI); the seed is
/// printed, and `UNITAUDIT_FUZZ_SEED` replays a run. Findings become tests of their own.
@Suite("Fuzzing the parsers", .exclusive)
struct FuzzTests {
  static let seconds = Double(ProcessInfo.processInfo.environment["UNITAUDIT_FUZZ_SECONDS"] ?? "") ?? 3
  static let seed =
    UInt64(ProcessInfo.processInfo.environment["UNITAUDIT_FUZZ_SEED"] ?? "")
    ?? UInt64.random(in: 1...UInt64.max)

  static var tests: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  }

  static func file(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: tests.appendingPathComponent(path)))
  }

  static func samples(_ prefix: String) throws -> [[UInt8]] {
    let folder = tests.appendingPathComponent("NormalizeTests/Fixtures/samples")
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
      .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".stdout") }
      .map { Array(try Data(contentsOf: folder.appendingPathComponent($0))) }
  }

  /// Runs the target on each seed as it is, then on mutated seeds until the time is up;
  /// returns how many inputs it tried. The target checks its properties on every input; the
  /// test holds that some input was taken whole, so the properties of what a parser gives
  /// were checked, not only its refusals.
  @discardableResult
  static func fuzz(
    _ target: FuzzTarget, seeds: [[UInt8]], tokens: [String], maxLength: Int = 1 << 20
  ) -> Int {
    // Said first: a broken property ends the run before the summary line.
    print("fuzz \(target.rawValue): seed \(seed) (UNITAUDIT_FUZZ_SEED replays it)")
    var taken = seeds.filter { target.run($0) }.count
    let name = target.rawValue
    // Each target its own stream of the seed, the same in every run.
    var mutator = Mutator(seed: seed ^ name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }, tokens: tokens)
    let end = Date().addingTimeInterval(seconds)
    var runs = 0
    while Date() < end || runs < 20 {
      let base = seeds[mutator.next(seeds.count)]
      var input = Array(base.prefix(maxLength))
      for _ in 0...mutator.next(8) { mutator.mutate(&input, seeds: seeds) }
      if target.run(input) { taken += 1 }
      runs += 1
    }
    print("fuzz \(name): \(runs) inputs in \(Int(seconds)) s, \(taken) taken whole (seed \(seed))")
    #expect(taken > 0, "\(name): no input was taken whole")
    return runs
  }

  /// Inputs that once crashed, hung or swamped a parser (found by libFuzzer, or built to
  /// attack it), one file each, named after their target (`inventory-…`). Scripts/fuzz
  /// seeds libFuzzer with them too.
  @Test("every earlier finding (Tests/FuzzTests/Findings) runs through its target")
  func findings() throws {
    let folder = Self.tests.appendingPathComponent("FuzzTests/Findings")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    #expect(!names.isEmpty)
    for name in names {
      let target = FuzzTarget.allCases.filter { name.hasPrefix($0.rawValue + "-") }.max {
        $0.rawValue.count < $1.rawValue.count
      }
      let input = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
      guard let target else {
        Issue.record("\(name) does not start with a target's name")
        continue
      }
      target.run(input)
    }
  }

  @Test("systemctl cat output and the unit files in it")
  func cat() throws {
    let seeds = try Self.samples("cat_")
    Self.fuzz(
      .cat, seeds: seeds,
      tokens: [
        "# /etc/systemd/system/x.service\n", "[Service]\n", "\\\n", "=", "\n\n", "# ", ";", "[", "]",
        "\u{FFFD}",
      ]
    )
  }

  @Test("systemctl show blocks")
  func show() throws {
    let probe = try Self.file("NormalizeTests/Fixtures/probe/h2/stdout")
    let sections = ProbeSections(stdout: probe, stderr: [], nonce: "a9a6feeded5a90f8834abd040ee5dfcf")
    let show = Array((sections["show"]?.text ?? "").utf8.prefix(60_000))
    try #require(!show.isEmpty, "the recorded probe has a show section")
    Self.fuzz(.show, seeds: [show], tokens: ["\n\n", "=", "Id=", "Names=", "\n", "\u{0}"])
  }

  @Test("systemd-analyze security JSON: no crash, and the one-pass reader agrees with split-then-parse")
  func securityJSON() throws {
    let seeds = try Self.samples("sec_").filter { $0.first == UInt8(ascii: "[") }
    Self.fuzz(
      .securityJSON, seeds: seeds,
      tokens: [
        "[", "]", "{", "}", "\"", "\\", ",", ":", "null", "true", "\"exposure\":\"9.9\"", "\\u00", "\\ud800",
        "1e999",
      ]
    )
  }

  @Test("systemd-analyze security text tables")
  func securityText() throws {
    let seeds = try Self.samples("sec_").filter { $0.first != UInt8(ascii: "[") }
    Self.fuzz(
      .securityText, seeds: seeds,
      tokens: [
        "→ Overall exposure level for x.service: 9.6 UNSAFE 😨\n", "  NAME", "DESCRIPTION", "EXPOSURE", "✓ ",
        "✗ ", "\n",
      ]
    )
  }

  @Test("export --jsonl host lines: a host read, written again and read is the same host")
  func hostLine() throws {
    let seed = try Self.file("FuzzTests/Seeds/host-line.json")
    Self.fuzz(
      .hostLine, seeds: [seed],
      tokens: [
        "{", "}", "[", "]", "\"", "\\", ",", ":", "null", "true", "0", "1.5", "\\u00e9", "\\udc00",
        "\"name\":\"x\",", "\"checks\":{\"PrivateTmp\":0}", "\"2026-11-20T10:00:00Z\"",
      ]
    )
  }

  @Test(
    "package payloads (tar, cpio): the same members whatever the chunks, sizes and tree paths within bounds")
  func archive() throws {
    let seeds = try ["archive-gnu.tar", "archive-pax.tar", "archive-rpm.cpio"].map {
      try Self.file("FuzzTests/Seeds/\($0)")
    }
    Self.fuzz(
      .archive, seeds: seeds,
      tokens: [
        "../", "./", "/", "ustar\u{0}00", "070701", "TRAILER!!!", "\u{0}", "0000777", "path=", "L", "2", "5",
      ]
    )
  }

  @Test("host keys and certificates a server presents: read within bounds, accepted only for the name")
  func hostKey() throws {
    let seeds = try ["host-certificate-ed25519.bin", "host-certificate-rsa.bin"].map {
      try Self.file("FuzzTests/Seeds/\($0)")
    }
    Self.fuzz(
      .hostKey, seeds: seeds,
      tokens: [
        "ssh-ed25519-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com", "web1.example.org",
        "\u{0}\u{0}\u{0}\u{0}",
        "\u{0}\u{0}\u{0}\u{2}", "\u{ff}\u{ff}\u{ff}\u{ff}", "force-command",
      ]
    )
  }

  @Test("the probe's sections, normalized whole: no crash, same answer twice")
  func probe() throws {
    let nonce = FuzzTarget.probeNonce
    let stdout = try Self.file("NormalizeTests/Fixtures/probe/h1/stdout")
    // A probe output of a few services (the first sections, and a short security part),
    // so that many inputs fit in the time.
    let seed = Array(stdout.prefix(40_000))
    let marker = "@@unitaudit-\(nonce) "
    Self.fuzz(
      .probe, seeds: [seed, stdout.suffix(30_000).map { $0 }],
      tokens: [
        marker + "end cat 0\n", marker + "begin security -\n", marker + "end security 1\n", marker, "\n",
      ]
    )
  }

  @Test("inventories: INI, YAML (Ansible and native) and plain lists give hosts or an error naming the file")
  func inventories() throws {
    let folder = Self.tests.appendingPathComponent("InventoryTests/Fixtures")
    let files = try ["ansible", "native"].flatMap { sub in
      try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(sub).path).sorted()
        .filter { $0.hasSuffix(".ini") || $0.hasSuffix(".yml") }
        .map { Array(try Data(contentsOf: folder.appendingPathComponent(sub).appendingPathComponent($0))) }
    }
    Self.fuzz(
      .inventory, seeds: files,
      tokens: [
        "[", "]", ":children", ":vars", "[01:99]", "[a:z]", "ansible_host=", "\n", "  ", ": ", "- ", "{{",
        "&a", "*a", "!!", "'", "\"",
      ]
    )
  }

  @Test("baselines give a baseline or an error naming the file")
  func baselines() throws {
    let bundled = Self.tests.deletingLastPathComponent().appendingPathComponent(
      "Sources/Coverage/Baselines/fedora-40.yml")
    let seed = Array(try Data(contentsOf: bundled))
    Self.fuzz(
      .baseline, seeds: [seed, Array(seed.prefix(4000))],
      tokens: [
        "sets:", "  - ", "directives:", "services:", "waivers:", "expires: 2026-01-01", ": ", "\n", "&x",
        "*x", "{", "[",
      ]
    )
  }
}

/// Damages byte strings at random, from a seed (SplitMix64), so that a run can be replayed.
struct Mutator {
  var generator: SeededGenerator
  let tokens: [[UInt8]]
  static let interesting: [UInt8] = [
    0, 0x0A, 0x0D, 0x09, 0x20, 0x22, 0x27, 0x5C, 0x3D, 0x5B, 0x5D, 0x7B, 0x7D, 0x3A, 0xFF, 0xC3, 0xE2, 0x80,
  ]

  init(seed: UInt64, tokens: [String]) {
    generator = SeededGenerator(seed: seed)
    self.tokens = tokens.map { Array($0.utf8) }
  }

  mutating func next() -> UInt64 { generator.next() }

  /// A number in 0..<bound (0 when bound is 0).
  mutating func next(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }

  mutating func mutate(_ input: inout [UInt8], seeds: [[UInt8]]) {
    let at = next(input.count + 1)
    switch next(8) {
    case 0 where !input.isEmpty:
      input[min(at, input.count - 1)] ^= UInt8(truncatingIfNeeded: 1 << next(8))
    case 1:
      input.insert(Self.interesting[next(Self.interesting.count)], at: at)
    case 2 where !input.isEmpty:
      let length = min(input.count - min(at, input.count - 1), 1 + next(64))
      input.removeSubrange(min(at, input.count - 1)..<min(at, input.count - 1) + length)
    case 3 where !input.isEmpty:
      let start = next(input.count)
      let chunk = input[start..<min(input.count, start + 1 + next(256))]
      input.insert(contentsOf: chunk, at: at)
    case 4:
      input.removeSubrange(at...)
    case 5 where !tokens.isEmpty:
      input.insert(contentsOf: tokens[next(tokens.count)], at: at)
    case 6:
      let other = seeds[next(seeds.count)]
      let start = next(other.count + 1)
      input.insert(contentsOf: other[start..<min(other.count, start + next(512))], at: at)
    default:
      if !input.isEmpty { input[min(at, input.count - 1)] = Self.interesting[next(Self.interesting.count)] }
    }
  }
}
