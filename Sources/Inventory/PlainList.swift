import UnitModel

/// One `[user@]host[:port]` entry of a plain host list or of `-H`.
public struct PlainEntry: Sendable, Hashable {
  public var user: String?
  public var host: String
  public var port: Int?
}

/// A plain host list: one `[user@]host[:port]` per line (`[v6]:port` for IPv6 with a port),
/// `#` comments, blank lines ignored.
public enum PlainList {
  public static func parse(_ text: String, source: String) throws(InventoryError) -> ResolvedInventory {
    var hosts: [FleetHost] = []
    var seen: [String: Int] = [:]
    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      var line = Substring(raw)
      if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
      let entryText = line.trimming(" \t\r")
      guard !entryText.isEmpty else { continue }
      let entry: PlainEntry
      do { entry = try parseEntry(entryText) } catch {
        throw InventoryError(file: source, line: offset + 1, error.description)
      }
      if let first = seen[entry.host] {
        throw InventoryError(
          file: source, line: offset + 1, "host '\(entry.host)' is listed twice (first on line \(first))")
      }
      seen[entry.host] = offset + 1
      hosts.append(
        FleetHost(
          name: entry.host, port: entry.port, user: entry.user,
          source: Provenance(file: source, line: offset + 1, origin: .unknown)))
    }
    return ResolvedInventory(hosts: hosts, groups: [], warnings: [])
  }

  /// Hosts given with `-H a,b,root@c:2222`.
  public static func parseCommandLine(_ list: String) throws(InventoryError) -> ResolvedInventory {
    var hosts: [FleetHost] = []
    for item in list.split(separator: ",") {
      let text = item.trimming(" \t")
      guard !text.isEmpty else { continue }
      do {
        let entry = try parseEntry(text)
        hosts.removeAll { $0.name == entry.host }
        hosts.append(FleetHost(name: entry.host, port: entry.port, user: entry.user))
      } catch {
        throw InventoryError(file: "--hosts", error.description)
      }
    }
    return ResolvedInventory(hosts: hosts, groups: [], warnings: [])
  }

  public static func parseEntry(_ text: String) throws(HostPatternError) -> PlainEntry {
    guard !text.contains(where: { $0 == " " || $0 == "\t" }) else {
      throw .invalid("'\(text)' is not one host: expected [user@]host[:port]")
    }
    var rest = Substring(text)
    var user: String?
    if let at = rest.lastIndex(of: "@") {
      user = String(rest[..<at])
      rest = rest[rest.index(after: at)...]
      guard user?.isEmpty == false else { throw .invalid("'\(text)' has an empty user before '@'") }
    }
    let (host, port) = HostPattern.splitPort(String(rest))
    guard HostPattern.isValidAddress(host), !host.contains("[") else {
      throw .invalid("'\(rest)' is not a host name or address (IPv6 with a port is written [addr]:port)")
    }
    if let port, !(1...65535).contains(port) { throw .invalid("port \(port) is not from 1 to 65535") }
    return PlainEntry(user: user, host: host, port: port)
  }
}
