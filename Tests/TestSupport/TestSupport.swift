import Foundation

/// Helpers shared by the test targets that run the unitaudit executable and other programs.
public enum TestSupport {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
  }

  /// The unitaudit executable built beside the test bundle (`swift build --build-tests`).
  public static func unitauditBinary() throws -> String { try builtBinary("unitaudit") }

  /// An executable of the package built beside the test bundle: `unitaudit`, or a build
  /// tool such as `generate-directives`.
  public static func builtBinary(_ name: String) throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
    if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
    let binary = directory.appendingPathComponent(name).path
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      throw Failure(
        description: "\(binary) is missing: build with `swift build --build-tests` first (Scripts/test does)")
    }
    return binary
  }

  /// Runs a program with `input` on stdin and returns its exit status and output (stdout and
  /// stderr together). Files, not pipes, carry the data, so a large output cannot block it.
  public static func run(_ arguments: [String], input: String = "", environment: [String: String]? = nil)
    throws
    -> (status: Int32, output: String)
  {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let inURL = scratch.appendingPathComponent("in")
    let outURL = scratch.appendingPathComponent("out")
    try input.write(to: inURL, atomically: true, encoding: .utf8)
    guard FileManager.default.createFile(atPath: outURL.path, contents: nil) else {
      throw Failure(description: "cannot create \(outURL.path)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = environment }
    process.standardInput = try FileHandle(forReadingFrom: inURL)
    let out = try FileHandle(forWritingTo: outURL)
    process.standardOutput = out
    process.standardError = out
    try process.run()
    process.waitUntilExit()
    try out.close()
    return (process.terminationStatus, try String(contentsOf: outURL, encoding: .utf8))
  }
}

/// A random number generator from a seed (SplitMix64), so that a test's random cases can be
/// replayed.
public struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// The PostgreSQL server the history tests run against: `$UNITAUDIT_TEST_POSTGRES` (a URL of
/// a database on it, for a role that may create databases), which Scripts/test sets after
/// starting Debian's cluster. Without it the tests that need the server are skipped, as the
/// fleet's are without a fleet. Each test gets a database of its own.
public enum TestPostgres {
  public static let configured =
    ProcessInfo.processInfo.environment["UNITAUDIT_TEST_POSTGRES"]?.isEmpty == false

  public static let server = ProcessInfo.processInfo.environment["UNITAUDIT_TEST_POSTGRES"] ?? ""

  /// Creates an empty database on the server; returns its URL.
  public static func createDatabase(_ label: String) throws -> String {
    let name = "unitaudit_test_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    let created = try TestSupport.run([
      "/usr/bin/psql", "-X", "-q", "-d", server, "-c", "CREATE DATABASE \(name)",
    ])
    guard created.status == 0 else {
      throw TestSupport.Failure(
        description:
          "cannot create a database on \(server) (Scripts/test starts Debian's PostgreSQL and sets "
          + "UNITAUDIT_TEST_POSTGRES): \(created.output)")
    }
    return url(of: name)
  }

  /// The URL of database `name` on the server.
  public static func url(of name: String) -> String {
    guard var components = URLComponents(string: server) else { return server }
    components.path = "/" + name
    return components.string ?? server
  }

  /// Drops a database `createDatabase` made.
  public static func dropDatabase(_ url: String) {
    guard let name = URLComponents(string: url)?.path.dropFirst(), !name.isEmpty else { return }
    _ = try? TestSupport.run([
      "/usr/bin/psql", "-X", "-q", "-d", server, "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)",
    ])
  }

  /// Runs one SQL statement on the database at `url`; returns psql's unaligned output.
  public static func query(_ url: String, _ sql: String) throws -> String {
    let result = try TestSupport.run(["/usr/bin/psql", "-X", "-q", "-A", "-t", "-d", url, "-c", sql])
    guard result.status == 0 else { throw TestSupport.Failure(description: "psql: \(sql): \(result.output)") }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

/// A PostgreSQL server of a test's own, which it may stop and start (the shared one serves
/// other tests): a cluster in a new folder, run by the `postgres` user, on a Unix socket there.
/// Needs Debian's postgresql and root.
public final class PrivatePostgres: Sendable {
  public let folder: String
  let bin: String

  public init() throws {
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    guard let version = versions.compactMap(Int.init).max() else {
      throw TestSupport.Failure(description: "no /usr/lib/postgresql/VERSION (apt-get install postgresql)")
    }
    bin = "/usr/lib/postgresql/\(version)/bin"
    folder = "/tmp/unitaudit-pg-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    guard let user = getpwnam("postgres"), chown(folder, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
      throw TestSupport.Failure(description: "cannot give \(folder) to the postgres user (run as root)")
    }
    let made = try asPostgres(["\(bin)/initdb", "-D", "\(folder)/data", "-A", "trust", "-U", "postgres"])
    guard made.status == 0 else { throw TestSupport.Failure(description: "initdb: \(made.output)") }
    try start()
  }

  /// A URL of database `postgres` on it, over its socket.
  public var url: String { "postgres://postgres@/postgres?host=\(folder)" }

  public func start() throws {
    let started = try asPostgres([
      "\(bin)/pg_ctl", "-D", "\(folder)/data", "-l", "\(folder)/log", "-w", "-o",
      "-k \(folder) -c listen_addresses=''", "start",
    ])
    guard started.status == 0 else {
      throw TestSupport.Failure(description: "pg_ctl start: \(started.output)")
    }
  }

  public func stop() throws {
    let stopped = try asPostgres(["\(bin)/pg_ctl", "-D", "\(folder)/data", "-m", "fast", "-w", "stop"])
    guard stopped.status == 0 else {
      throw TestSupport.Failure(description: "pg_ctl stop: \(stopped.output)")
    }
  }

  /// Stops it and removes its folder.
  public func remove() {
    try? stop()
    try? FileManager.default.removeItem(atPath: folder)
  }

  /// Runs a program as the `postgres` user to its end; its output goes to `folder`/commands.log.
  /// Spawned by hand (`Spawned`): Foundation's `Process` does not always see `pg_ctl start`
  /// end, the server it leaves running keeping its files.
  func asPostgres(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let log = "\(folder)/commands.log"
    let status = try Spawned(["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments, output: log).wait()
    return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
  }
}
