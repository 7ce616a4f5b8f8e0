import ArgumentParser
import Foundation
import Inventory

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
