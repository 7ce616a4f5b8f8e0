import Foundation
import TestSupport
import Testing
import UnitModel

@testable import Collector
@testable import Normalize

/// `hosts.jsonl` lines read back by the parser and `JSONValueDecoder`, held to the answer of
/// Foundation's JSONDecoder, which reads them when the fast reader does not.
@Suite("reading hosts.jsonl lines back")
struct HostLineReadingTests {
  /// The probe outputs recorded from the test fleet (NormalizeTests' fixtures).
  static let probes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("NormalizeTests/Fixtures/probe")

  /// The recorded fleet hosts, normalized, with the time and address a scan gives them.
  static func fleetHosts() throws -> [HostReport] {
    let names = try FileManager.default.contentsOfDirectory(atPath: probes.path).sorted()
    return try names.map { name in
      let folder = probes.appendingPathComponent(name)
      var host = normalize(
        try EvidenceFolder.read(folder),
        label: HostLabel(name: name, address: "127.0.77.1", port: 22, groups: ["fleet"]))
      host.startedAt = Date(timeIntervalSince1970: 1_795_000_123)
      host.durationMs = 1234
      host.evidence = "evidence/\(name)"
      return host
    }
  }

  static func slow(_ line: [UInt8]) -> HostReport? {
    try? ScanCoding.decoder.decode(HostReport.self, from: Data(line))
  }

  @Test("every line the writer writes, fleet hosts and hostile strings alike, reads as JSONDecoder reads it")
  func sameHosts() throws {
    let hosts = try Self.fleetHosts() + [HostLineWriterTests.trickyReport().report]
    #expect(hosts.count >= 4)
    #expect(hosts.map(\.services.count).reduce(0, +) > 250)
    for host in hosts {
      let line = Array(try HostLineWriter.line(host))
      // The fast reader itself takes the line: this is not the fallback answering.
      let fast = try #require(try JSONValueDecoder.decode(HostReport.self, fromUTF8: line), "\(host.name)")
      let slow = try #require(Self.slow(line))
      #expect(fast == slow, "\(host.name)")
      #expect(fast == host, "\(host.name)")
      #expect(decodeHostLine(line) == slow)
    }
  }

  @Test(
    "lines the writer never writes get JSONDecoder's answer",
    arguments: [
      // A key twice: the first one counts.
      (#""name":"h""#, #""name":"first","name":"h""#),
      // Members out of order (the look-up is then linear).
      (#""groups":[],"name":"h""#, #""name":"h","groups":[]"#),
      (#""port":null"#, #""port":null"#),
      // A whole number written with a fraction, and one too large.
      (#""durationMs":5"#, #""durationMs":5.0"#),
      (#""durationMs":5"#, #""durationMs":99999999999999999999"#),
      (#""durationMs":5"#, #""durationMs":"5""#),
      // Unpaired and paired surrogate escapes, an escaped slash.
      (#""name":"h""#, #""name":"h\udc00""#),
      (#""name":"h""#, #""name":"h\ud83d\udca5""#),
      (#""name":"h""#, #""name":"h\/""#),
      // A check number outside the table, a missing key, a wrong type.
      (#""PrivateTmp":0"#, #""PrivateTmp":7"#),
      (#""loadState":"loaded","#, ""),
      (#""groups":[]"#, #""groups":{}"#),
      (#""startedAt":"2026-11-20T10:00:00Z""#, #""startedAt":"yesterday""#),
      (#""startedAt":"2026-11-20T10:00:00Z""#, #""startedAt":1795000000"#),
      // An exposure no double-to-integer conversion can hold (a trap, once).
      (#""exposure":0.2"#, #""exposure":1e300"#),
      // Numbers a Double cannot hold, which JSONDecoder refuses (found by fuzzing), and
      // others at the edges that it takes.
      (#""exposure":0.2"#, #""exposure":1e400"#),
      (#""exposure":0.2"#, #""exposure":-1e400"#),
      (#""exposure":0.2"#, #""exposure":1e-400"#),
      (#""exposure":0.2"#, #""exposure":-0"#),
      (#""exposure":0.2"#, #""exposure":02"#),
      (#""exposure":0.2"#, #""exposure":2E-1"#),
      (#""exposure":0.2"#, #""exposure":.2"#),
      (#""exposure":0.2"#, #""exposure":0.2e"#),
      (#""exposure":0.2"#, #""exposure":2e-324"#),
      (#""exposure":0.2"#, #""exposure":3e-324"#),
      (#""exposure":0.2"#, #""exposure":0e400"#),
      (#""exposure":0.2"#, #""exposure":0.000e-999"#),
      (#""exposure":0.2"#, #""exposure":1.7976931348623158e308"#),
      (#""exposure":0.2"#, #""exposure":1.7976931348623159e308"#),
      (#""durationMs":5"#, #""durationMs":-0"#),
      (#""durationMs":5"#, #""durationMs":5e0"#),
      (#""durationMs":5"#, #""durationMs":1e400"#),
      // Services off the writer's shape: read by init(from:), not member by member.
      (#""type":"simple""#, #""type":"simple","extra":[1]"#),
      (#""type":"simple""#, #""type":null"#),
      (#""id":"a.service""#, #""id":"x.service","id":"a.service""#),
      (#""hardening":{},"#, ""),
      (
        #""checks":{"PrivateTmp":0}"#,
        #""checks":{"PrivateTmp":{"description":"d","name":"PrivateTmp=","set":false}}"#
      ),
      (#""checks":{"PrivateTmp":0}"#, #""checks":{"PrivateTmp":0,"PrivateTmp":0}"#),
      // Fields out of order (the writer sorts them), long ones among them.
      (#""checks":{"PrivateTmp":0}"#, #""checks":{"PrivateTmp":0,"NoNewPrivileges":0}"#),
      (
        #""checks":{"PrivateTmp":0}"#,
        #""checks":{"RestrictAddressFamilies_AF_UNIX":0,"CapabilityBoundingSet_CAP_SYS_TIME":0}"#
      ),
      // A field twice with different checks; fields equal only as Unicode text (é, e + ◌́).
      (
        #""checks":{"PrivateTmp":0}"#,
        #""checks":{"PrivateTmp":0,"PrivateTmp":{"description":"x","name":"P=","set":true}}"#
      ),
      (
        #""checks":{"PrivateTmp":0}"#,
        #""checks":{"PrivateTmp":{"description":"x","name":"P=","set":true},"PrivateTmp":0}"#
      ),
      (
        #""checks":{"PrivateTmp":0}"#,
        "\"checks\":{\"\u{E9}\":0,\"e\u{301}\":{\"description\":\"x\",\"name\":\"P=\"}}"
      ),
      (#""checks":{"PrivateTmp":0}"#, "\"checks\":{\"e\u{301}\":0,\"\u{E9}\":0}"),
      (#""checks":{"PrivateTmp":0}"#, #""checks":{"B":0,"A":0,"C":0}"#),
      (
        #""files":[]"#,
        #""files":[{"isDropIn":false,"origin":"vendor","path":"/lib/systemd/system/a.service"}]"#
      ),
      (#""files":[]"#, #""files":[{"isDropIn":false,"origin":"elsewhere","path":"/x"}]"#),
      (
        #""directives":[]"#,
        #""directives":[{"key":"K","section":"S","source":{"file":"/f","line":2,"origin":"admin"},"value":"v"}]"#
      ),
      (
        #""directives":[]"#,
        #""directives":[{"key":"K","section":"S","source":{"file":"/f","line":2.5,"origin":"admin"},"value":"v"}]"#
      ),
    ])
  func unusualLines(replace: String, with replacement: String) throws {
    let base = """
      {"checkTable":[{"description":"d","exposure":0.2,"name":"PrivateTmp=","set":false}],\
      "diagnostics":[],"durationMs":5,"groups":[],"name":"h","port":null,"services":[{"aliases":[],\
      "checks":{"PrivateTmp":0},"directives":[],"dropInPaths":[],"files":[],"hardening":{},\
      "id":"a.service","loadState":"loaded","type":"simple"}],"startedAt":"2026-11-20T10:00:00Z",\
      "status":{"code":"ok"}}
      """
    #expect(base.contains(replace))
    let line = Array(base.replacingOccurrences(of: replace, with: replacement).utf8)
    #expect(decodeHostLine(line) == Self.slow(line), "\(String(decoding: line, as: UTF8.self))")
    #expect(decodeHostLine(Array(base.utf8)) != nil)
  }

  @Test("the writer's services are read member by member, not through init(from:)")
  func storedServices() throws {
    for host in try Self.fleetHosts() + [HostLineWriterTests.trickyReport().report] {
      let line = Array(try HostLineWriter.line(host))
      let services = try #require(JSONValue.parse(line, in: line.indices)?["services"]?.array)
      #expect(services.count == host.services.count)
      for (stored, service) in zip(services, host.services) {
        let read = try #require(ServiceRecord(stored: stored), "\(host.name) \(service.id)")
        // Checks stay numbers until the host's table resolves them.
        #expect(read.checks.keys.sorted() == service.checks.keys.sorted())
        var expected = service
        expected.checks = read.checks
        #expect(read == expected)
      }
    }
  }

  @Test("escapes of half a surrogate pair send a line to JSONDecoder")
  func surrogateEscapes() {
    for text in [#"a\ud800"#, #"\uDC00"#, #""\ud83d\udca5""#] {
      #expect(JSONValueDecoder.hasSurrogateEscape(Array(text.utf8)), "\(text)")
    }
    for text in ["", #"\u00e9 \u202e plain"#, #"ends with \"#, #"\u"#, "d\\n"] {
      #expect(!JSONValueDecoder.hasSurrogateEscape(Array(text.utf8)), "\(text)")
    }
  }

  @Test("damaged lines: whatever the damage, the answer is JSONDecoder's")
  func damagedLines() throws {
    let line = Array(try HostLineWriter.line(HostLineWriterTests.trickyReport().report))
    // A fixed seed, so a failure can be replayed.
    var generator = SeededGenerator(seed: 0x5EED)
    func next(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
    let significant = Array(#"{}[],:"\0123456789-.eEtrufalsn ud"#.utf8) + [0x80, 0xC3, 0xED, 0xFF, 0x0A]
    var readable = 0
    for round in 0..<1500 {
      var damaged = line
      for _ in 0...next(3) {
        let at = next(damaged.count)
        switch next(4) {
        case 0: damaged[at] = significant[next(significant.count)]
        case 1: damaged.removeSubrange(at..<min(damaged.count, at + 1 + next(12)))
        case 2: damaged.insert(significant[next(significant.count)], at: at)
        default:
          let end = min(damaged.count, at + 1 + next(40))
          damaged.insert(contentsOf: damaged[at..<end], at: next(damaged.count))
        }
      }
      let expected = Self.slow(damaged)
      if expected != nil { readable += 1 }
      #expect(decodeHostLine(damaged) == expected, "round \(round)")
    }
    // Enough of the damage still parses for the comparison to say something.
    #expect(readable > 50)
  }
}
