import UnitModel

/// The schema of a scan database (`scan.db`). The tables can hold many scans; a scan
/// directory's database holds one. `docs/scan-database.md` prints it (a test holds the two
/// equal) with queries a user might write.
public enum StoreSchema {
  /// `PRAGMA user_version` of a database this unitaudit writes: the scan schema version.
  public static let version = ScanMetadata.currentSchemaVersion
  /// `PRAGMA application_id`: "UADT", so that `file` and unitaudit tell our databases apart.
  public static let applicationID: Int32 = 0x5541_4454

  /// The tables. Hosts built from one image carry the same service configurations: each
  /// distinct configuration is stored once (`config`, made of `part`s, each also stored once),
  /// each distinct security check once (`check_result`), and a host's services are rows of
  /// numbers (`service`). Every value a host sent is stored inside JSON or a compressed body,
  /// never as a bare text column: SQLite's C strings would cut one at a NUL byte. The text
  /// columns a user queries are generated from the JSON. Declared once (`tables`, `views`);
  /// each database's DDL is rendered from the declarations.
  static let tables: [Table] = [
    Table(
      "scan", "One row per scan: its metadata and the hosts it set out to probe.",
      [
        .id, Column("metadata", .text, "NOT NULL"), Column("plan", .text),
        .generated("uuid", .text, from: "metadata", "id"),
        .generated("state", .text, from: "metadata", "state"),
        .generated("started_at", .text, from: "metadata", "startedAt"),
        .generated("finished_at", .text, from: "metadata", "finishedAt"),
      ], indexes: ["CREATE UNIQUE INDEX scan_uuid ON scan (uuid);"]),
    Table(
      "check_result",
      """
      Each distinct row of `systemd-analyze security` once, as JSON (name, description, set,
      exposure, and from probe 2 on systemd's weight, range and badness); the generated
      columns read it: passed is 1 or 0, NULL where the check does not apply; exposure NULL
      when the check adds none.
      """,
      [
        .id, .uniqueBody, .generated("name", .text, from: "body", "name"),
        .generated("description", .text, from: "body", "description"),
        .generated("passed", .integer, from: "body", "set"),
        .generated("exposure", .real, from: "body", "exposure"),
      ]),
    Table(
      "part",
      """
      Each distinct piece of a service configuration once: a zstd frame of JSON. kind is
      'unit' (aliases, description, load state, type, paths, files with their origin),
      'directives' (every directive with its file and line), 'hardening' (the effective
      settings) or 'checks' (each json_field's check_result id); or 'diagnostics', a host's
      problems found in what it sent (a JSON array). digest: the checksum the body's frame
      ends with (low 32 bits of XXH64 of the JSON), to find a piece again; two pieces with one
      digest are told apart by their bytes.
      """,
      [
        .id, Column("kind", .text, "NOT NULL"), Column("digest", .integer, "NOT NULL"),
        Column("body", .blob, "NOT NULL"),
      ],
      indexes: ["CREATE INDEX part_digest ON part (digest);"]),
    Table(
      "host",
      """
      One row per host of a scan, written in the transaction that records the host.
      record: the host as JSON without its services and diagnostics; diagnostics: the part
      that holds them, NULL when there are none.
      """,
      [
        .id, Column("scan", .integer, "NOT NULL REFERENCES scan (id) ON DELETE CASCADE"),
        Column("name", .text, "NOT NULL"), Column("record", .text, "NOT NULL"),
        Column("diagnostics", .integer, "REFERENCES part (id)"),
        .generated("status", .text, from: "record", "status.code"),
        .generated("reason", .text, from: "record", "status.reason"),
        .generated("os_id", .text, from: "record", "identity.osID"),
        .generated("os_version", .text, from: "record", "identity.osVersionID"),
        .generated("systemd", .integer, from: "record", "identity.systemdVersion"),
      ], constraints: ["UNIQUE (scan, name)"]),
    Table(
      "evidence",
      """
      What each probed host printed, byte for byte, written in the transaction that records
      the host: stdout and stderr each one zstd frame (its size and a checksum inside), and
      meta, what is needed to read them again, as JSON (the probe's nonce and version, the
      exit status, whether the output cap cut it, why the connection was lost, the sizes, and
      transfer: how the host compressed stdout on the wire and the bytes received). stdout is
      what the probe printed, decompressed.
      Only a scan directory's database holds evidence; a history's table stays empty.
      """,
      [
        Column("host", .integer, "PRIMARY KEY REFERENCES host (id) ON DELETE CASCADE"),
        Column("meta", .text, "NOT NULL"), Column("stdout", .blob, "NOT NULL"),
        Column("stderr", .blob, "NOT NULL"),
      ]),
    Table(
      "config",
      """
      Each distinct service configuration once: its pieces, and summary, the unit and
      systemd's overall verdict as JSON. Hosts of one image share their configurations; a
      host's own variant of one shares every piece it did not change.
      """,
      [
        .id, Column("summary", .text, "NOT NULL"),
        Column("unit_part", .integer, "NOT NULL REFERENCES part (id)"),
        Column("directives", .integer, "NOT NULL REFERENCES part (id)"),
        Column("hardening", .integer, "NOT NULL REFERENCES part (id)"),
        Column("checks", .integer, "NOT NULL REFERENCES part (id)"),
        .generated("unit", .text, from: "summary", "id"),
        .generated("exposure", .real, from: "summary", "overall.exposure"),
        .generated("rating", .text, from: "summary", "overall.predicate"),
      ], constraints: ["UNIQUE (summary, unit_part, directives, hardening, checks)"],
      indexes: ["CREATE INDEX config_unit ON config (unit);"]),
    Table(
      "unit_state", "Each distinct (ActiveState, SubState, UnitFileState) once, as JSON.",
      [
        .id, .uniqueBody, .generated("active", .text, from: "body", "active"),
        .generated("sub", .text, from: "body", "sub"),
        .generated("unit_file", .text, from: "body", "unitFile"),
      ]),
    Table(
      "service",
      """
      The services of a host, in the host's order: four numbers a service, 12 to 16 bytes on
      disk. (No index by configuration: it would take nearly as much again.)
      """,
      [
        Column("host", .integer, "NOT NULL REFERENCES host (id) ON DELETE CASCADE"),
        Column("position", .integer, "NOT NULL"),
        Column("config", .integer, "NOT NULL REFERENCES config (id)"),
        Column("state", .integer, "NOT NULL REFERENCES unit_state (id)"),
      ], constraints: ["PRIMARY KEY (host, position)"], withoutRowID: true),
    Table(
      "judgement",
      """
      A scan judged against a baseline, as `history add` and `trend` store it: judged names
      the judgement (the baseline's name, a digest of its definition, the required sets);
      waivers are judged on the day the scan started. hosts: the hosts with data.
      """,
      [
        Column("scan", .integer, "NOT NULL REFERENCES scan (id) ON DELETE CASCADE"),
        Column("judged", .text, "NOT NULL"), Column("baseline", .text, "NOT NULL"),
        Column("hosts", .integer, "NOT NULL"),
      ], constraints: ["PRIMARY KEY (scan, judged)"], withoutRowID: true),
    Table(
      "service_state",
      """
      Each baseline service in a judgement: its state across the scan's hosts (hardened,
      partial, not-started, exempt, not-installed), on how many hosts it is, and on how many
      hosts each required directive is missing (JSON: directive to hosts).
      """,
      [
        Column("scan", .integer, "NOT NULL"), Column("judged", .text, "NOT NULL"),
        Column("service", .text, "NOT NULL"), Column("status", .text, "NOT NULL"),
        Column("hosts", .integer, "NOT NULL"), Column("missing", .text, "NOT NULL"),
      ],
      constraints: [
        "PRIMARY KEY (scan, judged, service)",
        "FOREIGN KEY (scan, judged) REFERENCES judgement (scan, judged) ON DELETE CASCADE",
      ], withoutRowID: true),
  ]

  /// Views, in SQL both databases read alike.
  static let views = [
    """
    -- The services with names instead of numbers, for queries by hand.
    CREATE VIEW service_view AS
      SELECT host.scan AS scan, host.name AS host, config.unit AS unit, config.exposure AS exposure,
        config.rating AS rating, unit_state.active AS active, unit_state.sub AS sub,
        unit_state.unit_file AS unit_file, service.config AS config
      FROM service
      JOIN host ON host.id = service.host
      JOIN config ON config.id = service.config
      JOIN unit_state ON unit_state.id = service.state;
    """
  ]

  /// The schema in SQLite (a scan directory's `scan.db`, a history file).
  public static let sql = render(.sqlite)

  /// The same tables in PostgreSQL (a history there, `PostgresBackend`):
  /// - an id is an identity column; an integer is bigint, a real double precision, a blob
  ///   bytea, and text compares byte by byte (`COLLATE "C"`), as in SQLite;
  /// - a generated column is stored, read from the JSON with `#>>` (JSON true and false as 1
  ///   and 0 in an integer column, as SQLite's `->>` gives them); a `\u0000` in the JSON, which
  ///   PostgreSQL's jsonb refuses, is read as U+FFFD there (the JSON text keeps it);
  /// - a unique body (a check, a unit state: values hosts sent, of any length) has a hash
  ///   index instead of a unique b-tree, whose rows must fit in a page; the writers look a body
  ///   up before adding it, one writer at a time;
  /// - there is no `WITHOUT ROWID`.
  public static let postgres = render(.postgres)

  static func render(_ dialect: StoreDialect) -> String {
    let tables = tables.map { table in
      let comment = table.comment.split(separator: "\n").map { "-- \($0)" }
      let lines =
        table.columns.map { "  " + $0.sql(dialect) } + table.constraints.map { "  " + $0 }
      let end = table.withoutRowID && dialect == .sqlite ? ") WITHOUT ROWID;" : ");"
      var indexes = table.indexes
      if dialect == .postgres {
        indexes += table.columns.filter(\.uniqueBody).map {
          "CREATE INDEX \(table.name)_\($0.name) ON \(table.name) USING hash (\($0.name));"
        }
      }
      return (comment + ["CREATE TABLE \(table.name) ("] + [lines.joined(separator: ",\n")] + [end] + indexes)
        .joined(separator: "\n")
    }
    return (tables + views).joined(separator: "\n\n")
  }

  /// A table of the schema: its comment, columns, table constraints (the same SQL in both
  /// databases) and indexes.
  struct Table {
    var name: String
    var comment: String
    var columns: [Column]
    var constraints: [String] = []
    var withoutRowID = false
    var indexes: [String] = []

    init(
      _ name: String, _ comment: String, _ columns: [Column], constraints: [String] = [],
      withoutRowID: Bool = false, indexes: [String] = []
    ) {
      self.name = name
      self.comment = comment
      self.columns = columns
      self.constraints = constraints
      self.withoutRowID = withoutRowID
      self.indexes = indexes
    }
  }

  enum ColumnType {
    case integer, real, text, blob

    func sql(_ dialect: StoreDialect) -> String {
      switch (self, dialect) {
      case (.integer, .sqlite): "INTEGER"
      case (.real, .sqlite): "REAL"
      case (.text, .sqlite): "TEXT"
      case (.blob, .sqlite): "BLOB"
      case (.integer, .postgres): "bigint"
      case (.real, .postgres): "double precision"
      case (.text, .postgres): "text COLLATE \"C\""
      case (.blob, .postgres): "bytea"
      }
    }
  }

  /// A column: its name and type, its attributes (`NOT NULL`, `REFERENCES …`: the same SQL in
  /// both databases), whether it is the table's id or a unique body, or the JSON value it is
  /// generated from (a column of the row and a dotted path).
  struct Column {
    var name: String
    var type: ColumnType
    var attributes = ""
    var isID = false
    var uniqueBody = false
    var generated: (column: String, path: String)?

    init(_ name: String, _ type: ColumnType, _ attributes: String = "") {
      self.name = name
      self.type = type
      self.attributes = attributes
    }

    /// The table's own number, which rows refer to.
    static var id: Column {
      var column = Column("id", .integer)
      column.isID = true
      return column
    }

    /// A JSON text stored once per value (`check_result`, `unit_state`).
    static var uniqueBody: Column {
      var column = Column("body", .text)
      column.uniqueBody = true
      return column
    }

    static func generated(_ name: String, _ type: ColumnType, from column: String, _ path: String) -> Column {
      var generated = Column(name, type)
      generated.generated = (column, path)
      return generated
    }

    func sql(_ dialect: StoreDialect) -> String {
      let type = type.sql(dialect)
      if isID {
        return dialect == .sqlite
          ? "\(name) INTEGER PRIMARY KEY" : "\(name) bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
      }
      if uniqueBody {
        return dialect == .sqlite ? "\(name) \(type) NOT NULL UNIQUE" : "\(name) \(type) NOT NULL"
      }
      if let (column, path) = generated {
        switch dialect {
        case .sqlite:
          return "\(name) \(type) GENERATED ALWAYS AS (\(column) ->> '$.\(path)') VIRTUAL"
        case .postgres:
          let keys = path.split(separator: ".").joined(separator: ",")
          let value = "(replace(\(column), '\\u0000', '\\ufffd')::jsonb #>> '{\(keys)}')"
          let expression =
            switch self.type {
            case .integer: "CASE \(value) WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE \(value)::bigint END"
            case .real: "\(value)::double precision"
            default: value
            }
          return "\(name) \(type) GENERATED ALWAYS AS (\(expression)) STORED"
        }
      }
      return attributes.isEmpty ? "\(name) \(type)" : "\(name) \(type) \(attributes)"
    }
  }

  /// The comment on a PostgreSQL history's table `scan`: what `PRAGMA application_id` and
  /// `user_version` say in SQLite.
  public static let postgresMarker = markerPrefix + String(version)
  private static let markerPrefix = "unitaudit scan database, application \(applicationID), schema "

  /// The schema version a `postgresMarker` names; nil for another comment.
  static func version(inMarker comment: String) -> Int? {
    guard comment.hasPrefix(markerPrefix) else { return nil }
    return Int(comment.dropFirst(markerPrefix.count))
  }
}
