import ArgumentParser

@main
struct UnitAudit: AsyncParsableCommand {
  static let version = "0.1.0"

  static let configuration = CommandConfiguration(
    commandName: "unitaudit",
    abstract: "Audit systemd service hardening across a fleet.",
    discussion: """
      unitaudit runs one read-only probe per host (systemctl list-units, show, cat and \
      systemd-analyze security), normalizes what comes back into one comparable model, and \
      writes a scan directory that reports and policy checks read.

      Start with:
        unitaudit scan --local -o scan-here     scan this machine
        unitaudit probe                         show the exact script that runs on a host
      """,
    version: version,
    subcommands: [ScanCommand.self, InventoryCommand.self, ProbeCommand.self, NormalizeCommand.self]
  )
}
