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
  /// numbers (`service`). Every value a
  /// host sent is stored inside JSON or a compressed body, never as a bare text column: SQLite's
  /// C strings would cut one at a NUL byte. The text columns a user queries are generated
  /// from the JSON.
  public static let sql = """
    -- One row per scan: its metadata and the hosts it set out to probe.
    CREATE TABLE scan (
      id INTEGER PRIMARY KEY,
      metadata TEXT NOT NULL,
      plan TEXT,
      uuid TEXT GENERATED ALWAYS AS (metadata ->> '$.id') VIRTUAL,
      state TEXT GENERATED ALWAYS AS (metadata ->> '$.state') VIRTUAL,
      started_at TEXT GENERATED ALWAYS AS (metadata ->> '$.startedAt') VIRTUAL,
      finished_at TEXT GENERATED ALWAYS AS (metadata ->> '$.finishedAt') VIRTUAL
    );
    CREATE UNIQUE INDEX scan_uuid ON scan (uuid);

    -- Each distinct row of `systemd-analyze security` once, as JSON (name, description, set,
    -- exposure, and from probe 2 on systemd's weight, range and badness); the generated
    -- columns read it: passed is 1 or 0, NULL where the check does not apply; exposure NULL
    -- when the check adds none.
    CREATE TABLE check_result (
      id INTEGER PRIMARY KEY,
      body TEXT NOT NULL UNIQUE,
      name TEXT GENERATED ALWAYS AS (body ->> '$.name') VIRTUAL,
      description TEXT GENERATED ALWAYS AS (body ->> '$.description') VIRTUAL,
      passed INTEGER GENERATED ALWAYS AS (body ->> '$.set') VIRTUAL,
      exposure REAL GENERATED ALWAYS AS (body ->> '$.exposure') VIRTUAL
    );

    -- Each distinct piece of a service configuration once: a zstd frame of JSON. kind is
    -- 'unit' (aliases, description, load state, type, paths, files with their origin),
    -- 'directives' (every directive with its file and line), 'hardening' (the effective
    -- settings) or 'checks' (each json_field's check_result id); or 'diagnostics', a host's
    -- problems found in what it sent (a JSON array). digest: FNV-1a of kind and
    -- body, to find a piece again; two pieces with one digest are told apart by their bytes.
    CREATE TABLE part (
      id INTEGER PRIMARY KEY,
      kind TEXT NOT NULL,
      digest INTEGER NOT NULL,
      body BLOB NOT NULL
    );
    CREATE INDEX part_digest ON part (digest);

    -- One row per host of a scan, written in the transaction that records the host.
    -- record: the host as JSON without its services and diagnostics; diagnostics: the part
    -- that holds them, NULL when there are none.
    CREATE TABLE host (
      id INTEGER PRIMARY KEY,
      scan INTEGER NOT NULL REFERENCES scan (id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      record TEXT NOT NULL,
      diagnostics INTEGER REFERENCES part (id),
      status TEXT GENERATED ALWAYS AS (record ->> '$.status.code') VIRTUAL,
      reason TEXT GENERATED ALWAYS AS (record ->> '$.status.reason') VIRTUAL,
      os_id TEXT GENERATED ALWAYS AS (record ->> '$.identity.osID') VIRTUAL,
      os_version TEXT GENERATED ALWAYS AS (record ->> '$.identity.osVersionID') VIRTUAL,
      systemd INTEGER GENERATED ALWAYS AS (record ->> '$.identity.systemdVersion') VIRTUAL,
      UNIQUE (scan, name)
    );

    -- Each distinct service configuration once: its pieces, and summary, the unit and
    -- systemd's overall verdict as JSON. Hosts of one image share their configurations; a
    -- host's own variant of one shares every piece it did not change.
    CREATE TABLE config (
      id INTEGER PRIMARY KEY,
      summary TEXT NOT NULL,
      unit_part INTEGER NOT NULL REFERENCES part (id),
      directives INTEGER NOT NULL REFERENCES part (id),
      hardening INTEGER NOT NULL REFERENCES part (id),
      checks INTEGER NOT NULL REFERENCES part (id),
      unit TEXT GENERATED ALWAYS AS (summary ->> '$.id') VIRTUAL,
      exposure REAL GENERATED ALWAYS AS (summary ->> '$.overall.exposure') VIRTUAL,
      rating TEXT GENERATED ALWAYS AS (summary ->> '$.overall.predicate') VIRTUAL,
      UNIQUE (summary, unit_part, directives, hardening, checks)
    );
    CREATE INDEX config_unit ON config (unit);

    -- Each distinct (ActiveState, SubState, UnitFileState) once, as JSON.
    CREATE TABLE unit_state (
      id INTEGER PRIMARY KEY,
      body TEXT NOT NULL UNIQUE,
      active TEXT GENERATED ALWAYS AS (body ->> '$.active') VIRTUAL,
      sub TEXT GENERATED ALWAYS AS (body ->> '$.sub') VIRTUAL,
      unit_file TEXT GENERATED ALWAYS AS (body ->> '$.unitFile') VIRTUAL
    );

    -- The services of a host, in the host's order: four numbers a service, 12 to 16 bytes on
    -- disk. (No index by configuration: it would take nearly as much again.)
    CREATE TABLE service (
      host INTEGER NOT NULL REFERENCES host (id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      config INTEGER NOT NULL REFERENCES config (id),
      state INTEGER NOT NULL REFERENCES unit_state (id),
      PRIMARY KEY (host, position)
    ) WITHOUT ROWID;

    -- A scan judged against a baseline, as `history add` and `trend` store it: judged names
    -- the judgement (the baseline's name, a digest of its definition, the required sets);
    -- waivers are judged on the day the scan started. hosts: the hosts with data.
    CREATE TABLE judgement (
      scan INTEGER NOT NULL REFERENCES scan (id) ON DELETE CASCADE,
      judged TEXT NOT NULL,
      baseline TEXT NOT NULL,
      hosts INTEGER NOT NULL,
      PRIMARY KEY (scan, judged)
    ) WITHOUT ROWID;

    -- Each baseline service in a judgement: its state across the scan's hosts (hardened,
    -- partial, not-started, exempt, not-installed), on how many hosts it is, and on how many
    -- hosts each required directive is missing (JSON: directive to hosts).
    CREATE TABLE service_state (
      scan INTEGER NOT NULL,
      judged TEXT NOT NULL,
      service TEXT NOT NULL,
      status TEXT NOT NULL,
      hosts INTEGER NOT NULL,
      missing TEXT NOT NULL,
      PRIMARY KEY (scan, judged, service),
      FOREIGN KEY (scan, judged) REFERENCES judgement (scan, judged) ON DELETE CASCADE
    ) WITHOUT ROWID;

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

  /// The same tables in PostgreSQL (a history there, `PostgresBackend`), made from `sql` so
  /// that the two cannot drift apart:
  /// - an `INTEGER PRIMARY KEY` is an identity column; INTEGER is bigint, REAL double
  ///   precision, BLOB bytea, and text compares byte by byte (`COLLATE "C"`), as in SQLite;
  /// - a generated column is stored, read from the JSON with `#>>` (JSON true and false as 1
  ///   and 0 in an integer column, as SQLite's `->>` gives them); a `\u0000` in the JSON, which
  ///   PostgreSQL's jsonb refuses, is read as U+FFFD there (the JSON text keeps it);
  /// - a unique text column (a check, a unit state: values hosts sent, of any length) has a
  ///   hash index instead of a unique b-tree, whose rows must fit in a page; the writers look
  ///   a body up before adding it, one writer at a time;
  /// - `WITHOUT ROWID` goes.
  public static let postgres: String = postgresDDL(sql)

  /// The comment on a PostgreSQL history's table `scan`: what `PRAGMA application_id` and
  /// `user_version` say in SQLite.
  public static let postgresMarker = markerPrefix + String(version)
  private static let markerPrefix = "unitaudit scan database, application \(applicationID), schema "

  /// The schema version a `postgresMarker` names; nil for another comment.
  static func version(inMarker comment: String) -> Int? {
    guard comment.hasPrefix(markerPrefix) else { return nil }
    return Int(comment.dropFirst(markerPrefix.count))
  }

  static func postgresDDL(_ sqlite: String) -> String {
    var table = ""
    var hashIndexes: [String] = []
    let lines = sqlite.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      var line = String(line)
      if line.trimmingCharacters(in: .whitespaces).hasPrefix("--") { return line }
      if let match = line.firstMatch(of: /CREATE TABLE (\w+)/) { table = String(match.1) }
      // A generated column: name TYPE GENERATED ALWAYS AS (column ->> '$.a.b') VIRTUAL.
      if let match = line.firstMatch(
        of: /(\w+) (INTEGER|TEXT|REAL) GENERATED ALWAYS AS \((\w+) ->> '\$\.([\w.]+)'\) VIRTUAL/)
      {
        let path = match.4.split(separator: ".").joined(separator: ",")
        let value = "(replace(\(match.3), '\\u0000', '\\ufffd')::jsonb #>> '{\(path)}')"
        let expression: String
        switch match.2 {
        case "INTEGER":
          expression = "CASE \(value) WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE \(value)::bigint END"
        case "REAL": expression = "\(value)::double precision"
        default: expression = value
        }
        line.replaceSubrange(
          match.range, with: "\(match.1) \(match.2) GENERATED ALWAYS AS (\(expression)) STORED")
      }
      if let match = line.firstMatch(of: /(\w+) TEXT NOT NULL UNIQUE/) {
        hashIndexes.append("CREATE INDEX \(table)_\(match.1) ON \(table) USING hash (\(match.1));")
        line.replaceSubrange(match.range, with: "\(match.1) TEXT NOT NULL")
      }
      return
        line
        .replacing("INTEGER PRIMARY KEY", with: "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
        .replacing(/\bINTEGER\b/, with: "bigint")
        .replacing(/\bREAL\b/, with: "double precision")
        .replacing(/\bBLOB\b/, with: "bytea")
        .replacing(/\bTEXT\b/, with: "text COLLATE \"C\"")
        .replacing(") WITHOUT ROWID;", with: ");")
    }
    return (lines + hashIndexes).joined(separator: "\n") + "\n"
  }
}
