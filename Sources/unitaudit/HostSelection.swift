import ArgumentParser
import Foundation
import Inventory

extension InventoryFormat: ExpressibleByArgument {}

/// Which hosts: inventories, hosts on the command line, and a `--limit` pattern.
struct HostSelection: ParsableArguments {
  @Option(
    name: [.short, .customLong("inventory")],
    help: ArgumentHelp(
      "An inventory file (repeatable): unitaudit YAML, Ansible INI or YAML, or a plain host list.",
      valueName: "file"))
  var inventories: [String] = []

  @Option(
    name: [.customShort("H"), .customLong("hosts")],
    help: ArgumentHelp("Hosts to scan, comma-separated: [user@]host[:port].", valueName: "list"))
  var hosts: String?

  @Option(
    help: ArgumentHelp(
      "Only hosts matching an Ansible pattern: groups, names, globs (web*), ~regex, a,b unions, "
        + "&group intersections, !group exclusions, @file.",
      valueName: "pattern"))
  var limit: String?

  @Option(
    name: .customLong("inventory-format"),
    help: "How to read the inventories: auto, native, ansible-ini, ansible-yaml or list.")
  var format: InventoryFormat = .auto

  var isEmpty: Bool { inventories.isEmpty && hosts == nil }

  /// What the scan metadata records as its targets.
  var targets: [String] {
    inventories + (hosts.map { ["--hosts \($0)"] } ?? []) + (limit.map { ["--limit \($0)"] } ?? [])
  }

  func resolve() throws(InventoryError) -> ResolvedInventory {
    try InventoryLoader.load(paths: inventories, hosts: hosts, format: format, limit: limit)
  }
}

struct InventoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inventory",
    abstract: "Show the hosts an inventory resolves to, as a scan would connect to them.",
    usage: "unitaudit inventory (-i <file> ... | -H <list>) [<options>]",
    discussion: """
      Reads the inventories the way `unitaudit scan` does and prints each host with the \
      address, port, user, key and groups it resolved to. An empty port or user means the SSH \
      config's value (else 22 and the local user). Errors name the file and line.

      Examples:
        unitaudit inventory -i Inventory/fleet.yml
        unitaudit inventory -i hosts.ini --limit 'web:&prod:!web03'
        unitaudit inventory -H web1,root@db1:2222 --json
      """)

  @OptionGroup var selection: HostSelection

  @Flag(help: "Print JSON (an array of hosts) instead of a table.")
  var json = false

  func validate() throws {
    if selection.isEmpty { throw ValidationError("give an inventory with -i FILE or hosts with -H LIST") }
  }

  func run() throws {
    let console = Console(quiet: false)
    let inventory = try selection.resolve()
    for warning in inventory.warnings { console.error("warning: \(warning)") }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      let data = (try? encoder.encode(inventory.hosts)) ?? Data("[]".utf8)
      print(String(decoding: data, as: UTF8.self))
      return
    }
    let rows = inventory.hosts.map { host in
      [
        host.name, host.address, host.port.map(String.init) ?? "", host.user ?? "", host.identityFile ?? "",
        host.groups.joined(separator: ","),
      ].map(terminalSafe)
    }
    print(table(header: ["NAME", "ADDRESS", "PORT", "USER", "KEY", "GROUPS"], rows: rows))
    let groups = inventory.groups.isEmpty ? "" : " in \(inventory.groups.count) groups"
    print("\(inventory.hosts.count) host\(inventory.hosts.count == 1 ? "" : "s")\(groups)")
  }
}

/// A plain-text table with columns padded to their widest cell.
func table(header: [String], rows: [[String]]) -> String {
  let all = [header] + rows
  let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
  return all.map { row in
    row.enumerated().map { column, cell in
      column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
    }.joined(separator: "  ")
  }.joined(separator: "\n")
}
