import ArgumentParser
import Coverage
import Foundation
import Storage
import UnitModel

/// The history database every history command names.
struct HistoryOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The history: an SQLite file, or a PostgreSQL database as a postgres:// URL (libpq's; the password in PGPASSWORD or ~/.pgpass), holding many scans (created by `history add` or `scan --history`).",
      valueName: "file|url"))
  var history: String
}

struct HistoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history",
    abstract: "Keep many scans in one database, to follow progress over time (`unitaudit trend`).",
    discussion: """
      A history is one SQLite file, or a PostgreSQL database a team shares, with the tables \
      of a scan database (docs/scan-database.md): each added scan is stored whole, its hosts' \
      configurations shared with the scans before it, so a scan of a fleet that changed \
      little adds little. Several collectors (shards) can write one PostgreSQL history at \
      once (docs/history.md).

        unitaudit history add scan-11-01 scan-11-15 --history fleet.db
        unitaudit history list --history fleet.db
        unitaudit trend --history fleet.db
        unitaudit history add scan-12-01 --history postgres://audit@db.example.org/ua
      """,
    subcommands: [Add.self, List.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add scans to a history (each in one transaction; a scan already held is refused).",
      usage: "unitaudit history add <scan> ... --history <file|url> [<options>]")

    @Argument(help: ArgumentHelp("Scan directories.", valueName: "scan"))
    var scans: [String]

    @OptionGroup var option: HistoryOption
    @OptionGroup var selection: BaselineSelection

    func run() throws {
      let (baseline, required) = try selection.load()
      let database = try ScanTables.history(option.history, create: true)
      defer { try? database.close() }
      let console = Console(quiet: false)
      for path in scans {
        let loaded = try readScan(URL(fileURLWithPath: path))
        if loaded.metadata.state != .complete {
          console.error(
            "warning: \(path) is \(loaded.metadata.state.rawValue); only its finished hosts are added")
        }
        // A scan added twice exits 2, as a history that cannot be opened does; a history
        // that fails while it is written exits 1 (`ExitStatus.of`).
        let number = try database.addScan(loaded, judgedAgainst: baseline, required: required)
        console.info("added \(path) as scan \(number): \(loaded.hosts.count) hosts")
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the scans of a history, oldest first.")

    @OptionGroup var option: HistoryOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
      let database = try ScanTables.readOnlyHistory(option.history)
      defer { try? database.close() }
      let scans = try database.scans()
      if json { return try printJSON(scans.map { HistoryEntry(number: $0.id, scan: $0.metadata) }) }
      print("NUMBER  STARTED               STATE        HOSTS  SERVICES  ID")
      for (number, metadata) in scans {
        print(
          [
            String(number).padding(toLength: 6, withPad: " ", startingAt: 0),
            UTCDate.minute(metadata.startedAt),
            metadata.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0),
            String(metadata.counts.hosts).leftPadded(5), String(metadata.counts.services).leftPadded(8),
            metadata.id,
          ].joined(separator: "  "))
      }
    }
  }
}

struct HistoryEntry: Encodable {
  var number: Int64
  var scan: ScanMetadata
}
