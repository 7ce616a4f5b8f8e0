/// A service's `systemd-analyze security` checks keyed by `json_field`: a dictionary's
/// interface over two arrays in field order. Writing a service walks its checks in that order,
/// and comparing, hashing and sharing services walk arrays; a dictionary per service had every
/// field of a host's ~8,000 checks hashed again for each of those.
public struct SecurityChecks: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
  public typealias Element = (key: String, value: SecurityCheck)

  /// The fields, sorted (`String`'s order, as the stored JSON's sorted keys) and distinct.
  public private(set) var keys: [String] = []
  /// The check of each field, in the same order.
  public private(set) var values: [SecurityCheck] = []

  public init() {}

  /// The pairs in any order; of equal fields the last wins, as assignments to a dictionary do.
  public init(_ pairs: some Sequence<(String, SecurityCheck)>) {
    let pairs = Array(pairs)
    let kept = Self.order(of: pairs.map(\.0))
    self.init(sortedKeys: kept.map { pairs[$0].0 }, values: kept.map { pairs[$0].1 })
  }

  public init(dictionaryLiteral elements: (String, SecurityCheck)...) {
    self.init(elements)
  }

  /// Fields already in order and distinct, as `order(of:)` gives them; in a debug build
  /// anything else stops here.
  package init(sortedKeys keys: [String], values: [SecurityCheck]) {
    assert(keys.count == values.count && zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
    self.keys = keys
    self.values = values
  }

  /// Which of `fields` to keep, in sorted order: each field once, its last occurrence.
  package static func order(of fields: [String]) -> [Int] {
    let sorted = fields.indices.sorted { fields[$0] != fields[$1] ? fields[$0] < fields[$1] : $0 < $1 }
    return sorted.indices.compactMap { position in
      position + 1 < sorted.count && fields[sorted[position + 1]] == fields[sorted[position]]
        ? nil : sorted[position]
    }
  }

  public var startIndex: Int { 0 }
  public var endIndex: Int { keys.count }
  public subscript(position: Int) -> Element { (keys[position], values[position]) }

  /// Where `field` is, or would go.
  private func search(_ field: String) -> (index: Int, found: Bool) {
    var low = 0
    var high = keys.count
    while low < high {
      let middle = (low + high) / 2
      if keys[middle] < field {
        low = middle + 1
      } else {
        high = middle
      }
    }
    return (low, low < keys.count && keys[low] == field)
  }

  /// The check of `field`; setting nil removes it.
  public subscript(field: String) -> SecurityCheck? {
    get {
      let place = search(field)
      return place.found ? values[place.index] : nil
    }
    set {
      let place = search(field)
      switch (place.found, newValue) {
      case (true, let check?): values[place.index] = check
      case (true, nil):
        keys.remove(at: place.index)
        values.remove(at: place.index)
      case (false, let check?):
        keys.insert(field, at: place.index)
        values.insert(check, at: place.index)
      case (false, nil): break
      }
    }
  }

  /// The same fields, each check transformed.
  public func mapValues(_ transform: (SecurityCheck) throws -> SecurityCheck) rethrows -> SecurityChecks {
    var mapped = self
    mapped.values = try values.map(transform)
    return mapped
  }
}

/// Stored as a JSON object, field to check, as the dictionary it replaces was.
extension SecurityChecks: Codable {
  struct FieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: FieldKey.self)
    self.init(
      try container.allKeys.map { ($0.stringValue, try container.decode(SecurityCheck.self, forKey: $0)) })
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: FieldKey.self)
    for (field, check) in self { try container.encode(check, forKey: FieldKey(stringValue: field)) }
  }
}
