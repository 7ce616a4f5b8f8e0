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
