import UnitModel

/// Services as a scan stores them (`hosts.jsonl`), read straight from the parsed JSON: each
/// member is visited once, where `ServiceRecord`'s `init(from:)` asks for each key in turn
/// and goes through the `Decodable` machinery for every string, directive and file. Services
/// are nearly all of a stored host.
///
/// It answers only for the shape the writer gives; anything else (a member it does not know,
/// a member twice, a type other than the writer's, a check written out instead of numbered)
/// is nil, and `init(from:)` reads the service instead. So a field added to `ServiceRecord`
/// and not here is read the slow way, never dropped.
extension ServiceRecord {
  private static let noHardening = HardeningSettings()

  init?(stored value: JSONValue) {
    guard case .object(let members) = value else { return nil }
    var record = ServiceRecord(id: "", loadState: "")
    var seen: UInt32 = 0
    // Each member once: a key's bit is set when it is read.
    func first(_ bit: UInt32) -> Bool {
      defer { seen |= bit }
      return seen & bit == 0
    }
    for member in members {
      let value = member.value
      switch member.key {
      case "id":
        guard first(1 << 0), let text = value.string else { return nil }
        record.id = text
      case "loadState":
        guard first(1 << 1), let text = value.string else { return nil }
        record.loadState = text
      case "aliases":
        guard first(1 << 2), let names = value.strings else { return nil }
        record.aliases = names
      case "dropInPaths":
        guard first(1 << 3), let paths = value.strings else { return nil }
        record.dropInPaths = paths
      case "description":
        guard first(1 << 4), let text = value.optionalString else { return nil }
        record.description = text
      case "activeState":
        guard first(1 << 5), let text = value.optionalString else { return nil }
        record.activeState = text
      case "subState":
        guard first(1 << 6), let text = value.optionalString else { return nil }
        record.subState = text
      case "unitFileState":
        guard first(1 << 7), let text = value.optionalString else { return nil }
        record.unitFileState = text
      case "type":
        guard first(1 << 8), let text = value.optionalString else { return nil }
        record.type = text
      case "fragmentPath":
        guard first(1 << 9), let text = value.optionalString else { return nil }
        record.fragmentPath = text
      case "sourcePath":
        guard first(1 << 10), let text = value.optionalString else { return nil }
        record.sourcePath = text
      case "files":
        guard first(1 << 11), let files = value.items(UnitFileRef.init(stored:)) else { return nil }
        record.files = files
      case "directives":
        guard first(1 << 12), let directives = value.items(Directive.init(stored:)) else { return nil }
        record.directives = directives
      case "hardening":
        guard first(1 << 13) else { return nil }
        if case .object(let members) = value, members.isEmpty {
          // Most services (about four in five on the fleet hosts) set none of the settings:
          // one shared empty value, without the generic reader's 34 look-ups.
          record.hardening = Self.noHardening
        } else {
          // 34 settings of eight value types: the generic reader, once per service.
          guard let settings = try? JSONValueDecoder.decode(HardeningSettings.self, from: value) else {
            return nil
          }
          record.hardening = settings
        }
      case "overall":
        guard first(1 << 14) else { return nil }
        if case .null = value { continue }
        guard let overall = try? JSONValueDecoder.decode(OverallExposure.self, from: value) else {
          return nil
        }
        record.overall = overall
      case "checks":
        guard first(1 << 15), case .object(let fields) = value else { return nil }
        var keys: [String] = []
        var checks: [SecurityCheck] = []
        keys.reserveCapacity(fields.count)
        checks.reserveCapacity(fields.count)
        for field in fields {
          // A number in the host's table (an older line writes the check out), each field once
          // and in order, as the writer writes them; anything else is read slowly.
          guard case .number(let text) = field.value, let number = Int(text),
            keys.last.map({ $0 < field.key }) ?? true
          else { return nil }
          keys.append(field.key)
          checks.append(.stored(number: number))
        }
        record.checks = SecurityChecks(sortedKeys: keys, values: checks)
      default:
        return nil
      }
    }
    // The members `init(from:)` requires.
    let required: UInt32 = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 11 | 1 << 12 | 1 << 13 | 1 << 15
    guard seen & required == required else { return nil }
    self = record
  }
}

extension UnitFileRef {
  init?(stored value: JSONValue) {
    guard let members = value.exactly(Self.storedKeys), let path = members[0].string,
      let origin = members[1].string.flatMap(FileOrigin.init(rawValue:)), let isDropIn = members[2].bool
    else { return nil }
    self.init(path: path, isDropIn: isDropIn)
    self.origin = origin
  }

  private static let storedKeys = ["path", "origin", "isDropIn"]
}

extension Directive {
  init?(stored value: JSONValue) {
    guard let members = value.exactly(Self.storedKeys), let section = members[0].string,
      let key = members[1].string, let text = members[2].string, let source = Provenance(stored: members[3])
    else { return nil }
    self.init(section: section, key: key, value: text, source: source)
  }

  private static let storedKeys = ["section", "key", "value", "source"]
}

extension Provenance {
  init?(stored value: JSONValue) {
    guard let members = value.exactly(Self.storedKeys), let file = members[0].string,
      case .number(let digits) = members[1], let line = Int(digits),
      let origin = members[2].string.flatMap(FileOrigin.init(rawValue:))
    else { return nil }
    self.init(file: file, line: line, origin: origin)
  }

  private static let storedKeys = ["file", "line", "origin"]
}

extension JSONValue {
  /// The values of an object that has exactly the members `keys`, each once, in the order of
  /// `keys`; nil for anything else.
  fileprivate func exactly(_ keys: [String]) -> [JSONValue]? {
    guard case .object(let members) = self, members.count == keys.count else { return nil }
    var values = [JSONValue](repeating: .null, count: keys.count)
    var seen = 0
    for member in members {
      guard let slot = keys.firstIndex(of: member.key), seen & 1 << slot == 0 else { return nil }
      seen |= 1 << slot
      values[slot] = member.value
    }
    return values
  }

  /// An array, each item read by `read`; nil when this is not an array or an item does not read.
  fileprivate func items<Item>(_ read: (JSONValue) -> Item?) -> [Item]? {
    guard case .array(let values) = self else { return nil }
    var items: [Item] = []
    items.reserveCapacity(values.count)
    for value in values {
      guard let item = read(value) else { return nil }
      items.append(item)
    }
    return items
  }

  /// An array of strings; nil for anything else.
  fileprivate var strings: [String]? { items(\.string) }

  /// `.some(nil)` for null (an optional member JSONDecoder reads as nil), the text for a
  /// string, nil for anything else.
  fileprivate var optionalString: String?? {
    switch self {
    case .null: .some(nil)
    case .string(let text): .some(text)
    default: nil
    }
  }
}
