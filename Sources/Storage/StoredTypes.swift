import Foundation
import UnitModel

struct StoredRowMissing: Error, CustomStringConvertible {
  var what: String
  var description: String { what }
}

/// The kinds of a configuration's parts (`part.kind`).
enum PartKind: String, Sendable {
  case unit, directives, hardening, checks
  /// A host's diagnostics (`host.diagnostics`).
  case diagnostics
}

struct StoredHostRow: Sendable {
  var id: Int64
  var name: String
  var record: String
  var diagnostics: Int64?
}

struct StoredPartRow: Sendable {
  var id: Int64
  var kind: PartKind
  var body: [UInt8]
}

enum StoredPart: Sendable {
  case unit(ServiceRecord)
  case directives([Directive])
  case hardening(HardeningSettings)
  case checks(SecurityChecks)
  case diagnostics([Diagnostic])
}

/// A configuration (a service without its per-host state) as the writer's memory keys it:
/// equal when the records are equal, hashed on what tells configurations apart cheaply — the
/// directives' values and lines, the checks' verdicts — rather than every string of the
/// record (the effective settings follow from the directives). Hashing is most of a cache
/// hit's cost, and a host of a known image is nothing but hits.
struct ConfigKey: Hashable, Sendable {
  var record: ServiceRecord

  static func == (lhs: ConfigKey, rhs: ConfigKey) -> Bool { lhs.record == rhs.record }

  func hash(into hasher: inout Hasher) {
    hasher.combine(record.id)
    hasher.combine(record.directives.count)
    for directive in record.directives {
      hasher.combine(directive.value)
      hasher.combine(directive.source.line)
    }
    hasher.combine(record.checks.count)
    for check in record.checks.values {
      hasher.combine(check.set)
      hasher.combine(check.exposure?.tenths)
    }
    hasher.combine(record.overall?.exposure.tenths)
  }
}

/// A configuration's unit and verdict: `config.summary`.
struct ConfigSummary: Codable {
  var id: String
  var overall: OverallExposure?
}

struct UnitStateKey: Codable, Hashable, Sendable {
  var active: String?
  var sub: String?
  var unitFile: String?
}

/// What a writer has stored, by value: checks, configurations (services without their
/// per-host state), states and parts.
struct StoredNumbers: Sendable {
  var checks: [SecurityCheck: Int64] = [:]
  var configs: [ConfigKey: Int64] = [:]
  var states: [UnitStateKey: Int64] = [:]
  // The parts, by kind and value.
  var units: [ServiceRecord: Int64] = [:]
  var directives: [[Directive]: Int64] = [:]
  var hardening: [HardeningSettings: Int64] = [:]
  var checkParts: [[String: Int64]: Int64] = [:]
  var diagnostics: [[Diagnostic]: Int64] = [:]
  /// Every check, state, configuration and part the tables hold is in here: a new scan
  /// database, written by the one process that holds its directory's lock. One not in here is
  /// then new, and is inserted without being looked up first.
  var complete = false

  static let configLimit = 20_000

  /// Starts the configurations and parts afresh when there are more than `configLimit` of a
  /// kind: a fleet of hosts that all differ does not keep them all.
  mutating func bound() {
    if [configs.count, units.count, directives.count, hardening.count, checkParts.count, diagnostics.count]
      .contains(where: { $0 > Self.configLimit })
    {
      complete = false
    }
    if configs.count > Self.configLimit { configs.removeAll() }
    if units.count > Self.configLimit { units.removeAll() }
    if directives.count > Self.configLimit { directives.removeAll() }
    if hardening.count > Self.configLimit { hardening.removeAll() }
    if checkParts.count > Self.configLimit { checkParts.removeAll() }
    if diagnostics.count > Self.configLimit { diagnostics.removeAll() }
  }
}

/// What a transaction added to a writer's `StoredNumbers`, as the steps that take each
/// addition out again: a rolled-back transaction's rows are not in the tables, so the writer
/// must not remember them. Steps, not a second set of dictionaries: a value is then hashed
/// once less on the way in, and rollbacks are rare.
struct StoredAdditions {
  var undo: [(inout StoredNumbers) -> Void] = []

  func forget(in numbers: inout StoredNumbers) {
    for step in undo { step(&numbers) }
  }
}

enum StoredDigest {
  /// The most a stored body or diagnostics list may decompress to.
  static let bodyLimit = 64 << 20

  /// A part's digest: the content checksum its zstd frame ends with (the low 32 bits of
  /// XXH64 of the body, which zstd computes as it compresses), so the body is not hashed a
  /// second time. Parts of different kinds are told apart by `kind`, equal digests by bytes.
  static func of(frame: [UInt8]) throws(ZstdError) -> Int64 {
    guard frame.count >= 4 else { throw ZstdError(reason: "the frame is too short to end with a checksum") }
    let end = frame.count
    return Int64(frame[end - 4]) | Int64(frame[end - 3]) << 8 | Int64(frame[end - 2]) << 16
      | Int64(frame[end - 1]) << 24
  }
}
