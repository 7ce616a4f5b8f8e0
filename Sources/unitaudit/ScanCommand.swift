import ArgumentParser
import Collector
import Foundation
import Inventory
import Normalize
import Report
import ReportTemplates
import SSH
import Storage
import UnitModel

#if canImport(Glibc)
  import Glibc
#endif

struct ScanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scan",
    abstract:
      "Probe hosts over SSH (or this machine), or read OS trees and packages offline; write a scan directory.",
    discussion: """
      Each host gets one SSH connection (libssh) running one read-only probe; results are \
      recorded in the scan directory as each host finishes: scan.db (the scan database: \
      what was scanned, how and when, the resolved hosts, and every host normalized with \
      its evidence, the raw probe output byte for byte, compressed; each host committed as \
      it finishes; docs/scan-database.md).

      Host keys are checked strictly against ~/.ssh/known_hosts and the system-wide \
      /etc/ssh/ssh_known_hosts (or the SSH config's GlobalKnownHostsFile), as OpenSSH \
      checks them; --known-hosts FILE makes FILE the only one. \
      An unknown or changed key refuses the host and nothing runs on it; \
      --accept-new-host-keys trusts unknown keys on first use and records them.

      --root and --package audit what has not booted: each OS tree (a debootstrap or mkosi \
      output, an unpacked image, a mounted disk) or package (.deb, .rpm) is a "host" of the \
      scan, its unit files read as systemd would load them and graded by this machine's \
      systemd-analyze --offline (docs/offline.md).

      Ctrl-C stops starting hosts, waits up to --grace seconds for running ones, and leaves \
      the scan marked interrupted; `unitaudit scan --resume DIR` probes only the hosts \
      that are missing.

      Examples:
        unitaudit scan -i Inventory/example.ini -o scan-2026-11 --limit web
        unitaudit scan -H web1,root@db1:2222 --known-hosts fleet_known_hosts -o scan
        unitaudit scan --resume scan-2026-11
        unitaudit scan --local -o scan-here
        unitaudit scan --root bookworm=/srv/bookworm --root /srv/trixie -o trees
        unitaudit scan --package nginx-common_1.22.1-9_all.deb -o pkgs

      Exit status: 0 when every host was scanned, 1 when any host failed, 2 on usage or \
      inventory errors, 130 when interrupted.
      """)

  @Flag(help: "Scan this machine (runs the probe with /bin/sh, no SSH).")
  var local = false

  @OptionGroup(title: "Hosts") var selection: HostSelection

  @Option(
    name: .customLong("root"),
    help: ArgumentHelp(
      "Audit an OS tree offline (repeatable); NAME defaults to the directory's name.", valueName: "[name=]dir"
    ))
  var trees: [String] = []

  @Option(
    name: .customLong("package"),
    help: ArgumentHelp("Audit a .deb or .rpm package offline (repeatable).", valueName: "file"))
  var packages: [String] = []

  @Option(
    name: [.short, .customLong("output")],
    help: ArgumentHelp("The scan directory to create (must not exist or be empty).", valueName: "dir"))
  var output: String?

  @Option(
    help: ArgumentHelp("Finish an interrupted scan: probe the hosts it has not recorded.", valueName: "dir"))
  var resume: String?

  @Option(
    help: ArgumentHelp(
      "Scan only share INDEX of COUNT disjoint shares of the hosts (0-based: 0/4 … 3/4), for "
        + "collectors that split a fleet; `unitaudit merge` joins their scans.",
      valueName: "index/count"))
  var shard: String?

  @Option(help: "Hosts probed at once (default \(ScanOptions.defaultConcurrency)).")
  var concurrency: Int?

  @Option(name: [.short, .customLong("user")], help: "SSH user when the inventory names none.")
  var user: String?

  @Option(
    name: .customLong("identity"),
    help: ArgumentHelp(
      "A private key to offer (repeatable) when the inventory names none. Without one: ssh-agent, then the default keys.",
      valueName: "file"))
  var identities: [String] = []

  @Option(
    name: .customLong("certificate"),
    help: ArgumentHelp(
      "An OpenSSH user certificate to present with the key it certifies (default: KEY-cert.pub beside "
        + "each key).", valueName: "file"))
  var certificate: String?

  @Option(
    name: .customLong("jump"),
    help: ArgumentHelp(
      "Jump hosts for hosts whose inventory names none, as ssh -J takes them: [user@]host[:port], "
        + "comma-separated, first reached first (default: the SSH config's ProxyJump).", valueName: "hops"))
  var jump: String?

  @Option(
    name: .customLong("jump-channels"),
    help: ArgumentHelp(
      "Channels open at once through one jump host's connection (default \(ScanOptions.defaultJumpChannels)).",
      valueName: "n"))
  var jumpChannels: Int?

  @Option(
    name: .customLong("ssh-config"),
    help: ArgumentHelp("An OpenSSH client config to read (default ~/.ssh/config).", valueName: "file"))
  var sshConfig: String?

  @Flag(name: .customLong("no-ssh-config"), help: "Read no OpenSSH client config.")
  var noSSHConfig = false

  @Option(
    name: .customLong("known-hosts"),
    help: ArgumentHelp(
      "The only known_hosts file to check host keys against (default: ~/.ssh/known_hosts and the "
        + "system-wide /etc/ssh/ssh_known_hosts).", valueName: "file"))
  var knownHosts: String?

  @Flag(
    name: .customLong("accept-new-host-keys"),
    help:
      "Trust unknown host keys on first use and add them to the known_hosts file. Changed keys are still refused."
  )
  var acceptNewHostKeys = false

  @Option(
    name: .customLong("connect-timeout"),
    help: "Seconds for connecting and for each SSH round trip (default \(ScanOptions.defaultConnectTimeout))."
  )
  var connectTimeout: Int?

  @Option(
    help:
      "Seconds one host may take in all: connection, authentication and probe (default \(Int(ScanOptions.defaultDeadlineSeconds)))."
  )
  var deadline: Double?

  @Option(
    name: .customLong("max-output"),
    help:
      "Bytes of probe output kept per host; more marks the host truncated (default \(ScanOptions.defaultMaxOutputBytes >> 20) MiB)."
  )
  var maxOutput: Int?

  @Option(
    help:
      "After Ctrl-C, seconds to wait for running hosts before leaving them out (default \(Int(ScanOptions.defaultGraceSeconds)))."
  )
  var grace: Double?

  @Flag(
    name: .customLong("no-remote-compression"),
    help:
      "Have hosts send the probe's output as it is printed (by default a host that has zstd or gzip compresses it: 10–40× fewer bytes)."
  )
  var noRemoteCompression = false

  @Flag(
    help:
      "Render the reports (HTML, Markdown, CSV, JSON against fedora-40) into DIR/report when the scan ends.")
  var report = false

  @Option(
    help: ArgumentHelp(
      "Also record each host in this history as it finishes: an SQLite file or a postgres:// URL (created if missing; see `unitaudit history`).",
      valueName: "file|url"))
  var history: String?

  @Flag(name: [.short, .long], help: "Print nothing but errors.")
  var quiet = false

  func validate() throws {
    let offline = !trees.isEmpty || !packages.isEmpty
    let sources = [local, !selection.isEmpty, resume != nil, offline].filter { $0 }.count
    guard sources == 1 else {
      throw ValidationError(
        sources == 0
          ? "say what to scan: -i INVENTORY, -H HOSTS, --local, --root DIR, --package FILE, or --resume DIR"
          : "--local, inventories/hosts, --root/--package and --resume cannot be combined")
    }
    if resume != nil && output != nil {
      throw ValidationError("--resume writes into its own directory; drop -o")
    }
    if let shard {
      if local || resume != nil || offline {
        throw ValidationError("--shard splits an inventory; not with --local, --root, --package or --resume")
      }
      do { _ = try Shard(parsing: shard) } catch { throw ValidationError(error.description) }
    }
    if let concurrency, concurrency < 1 || concurrency > 1024 {
      throw ValidationError("--concurrency must be from 1 to 1024")
    }
    if let maxOutput, maxOutput <= 0 { throw ValidationError("--max-output must be positive") }
    if let deadline, deadline <= 0 { throw ValidationError("--deadline must be positive") }
    if let connectTimeout, connectTimeout <= 0 { throw ValidationError("--connect-timeout must be positive") }
    if let jump, let problem = SSHTransport.jumpProblem(jump) { throw ValidationError("--jump: \(problem)") }
    if let jumpChannels, !(1...1024).contains(jumpChannels) {
      throw ValidationError("--jump-channels must be from 1 to 1024")
    }
    if sshConfig != nil && noSSHConfig {
      throw ValidationError("--ssh-config and --no-ssh-config exclude each other")
    }
    if let grace, grace < 0 { throw ValidationError("--grace cannot be negative") }
    // Before anything is written: the scan records its options, the URL among them.
    if let history, PostgresLocation.isURL(history) {
      do { try PostgresLocation.check(history) } catch { throw ValidationError("\(error)") }
    }
  }

  func run() async throws {
    signal(SIGPIPE, SIG_IGN)
    let console = Console(quiet: quiet)
    let session: ScanSession
    do {
      guard let started = try await start(console: console) else { return }
      session = started
    } catch {
      // Nothing was scanned: what stopped it is the input (an inventory, an option, a
      // directory, a history), whatever the error.
      console.error("error: \(error)")
      throw ExitCode(ExitStatus.unusableInput)
    }
    let code = await ScanRunner(session: session, console: console).run()
    if report && (code == ExitStatus.success || code == ExitStatus.findings) {
      writeReports(of: session.directory, console: console)
    }
    if code != ExitStatus.success { throw ExitCode(code) }
  }

  /// The session to run: a new scan, or the rest of `--resume`'s; nil when there is nothing
  /// left to do.
  private func start(console: Console) async throws -> ScanSession? {
    if let resume {
      switch try await ScanSession.resume(URL(fileURLWithPath: resume), with: overrides) {
      case .historyCaughtUp(let history):
        console.info("\(resume) is complete; its history \(history) now holds it whole")
        return nil
      case .resumed(let session):
        console.info(
          "resuming \(resume): \(session.alreadyDone) of \(session.alreadyDone + session.hosts.count) hosts "
            + "done, \(session.hosts.count) to go")
        return session
      }
    }
    let scan = try newScan()
    for warning in scan.warnings { console.error("warning: \(warning)") }
    return try await ScanSession.start(scan)
  }

  /// The new scan this command line describes: its hosts, options and the warnings found
  /// before any host is probed.
  private func newScan() throws -> NewScan {
    let directory = URL(fileURLWithPath: output ?? defaultScanDirectory())
    if !trees.isEmpty || !packages.isEmpty {
      return try NewScan.offline(
        trees: trees, packages: packages, directory: directory, overrides: overrides,
        toolVersion: UnitAudit.version)
    }
    if local {
      return NewScan(
        directory: directory, hosts: [FleetHost.local(hostname: ProcessInfo.processInfo.hostName)],
        mode: .local,
        options: ScanOptions.local.applying(overrides), targets: ["local"], toolVersion: UnitAudit.version)
    }
    let options = ScanOptions(
      sshConfig: SSHSession.defaultConfigFile, knownHostsFile: SSHSession.defaultKnownHostsFile
    ).applying(overrides)
    let inventory = try selection.resolve()
    var warnings = inventory.warnings.map(\.description)
    guard !inventory.hosts.isEmpty else { throw InventoryError(file: "inventory", "names no hosts") }
    var hosts = inventory.hosts
    if let shard = try shard.map({ text throws(InventoryError) in try Shard(parsing: text) }) {
      // A share may be empty (few hosts, many shares): an empty scan merges like any other.
      hosts = hosts.filter { shard.owns($0.name) }
    }
    if let config = options.sshConfig, let text = try? String(contentsOfFile: config, encoding: .utf8) {
      warnings += SSHConfigLint.check(text, file: config).map { "\($0) (libssh skips this line)" }
    } else if let config = options.sshConfig, config != SSHSession.defaultConfigFile {
      throw CommandError.unreadableSSHConfig(config)
    }
    let readable =
      FileManager.default.isReadableFile(atPath: options.knownHostsFile)
      || (options.globalKnownHosts
        && FileManager.default.isReadableFile(atPath: SSHSession.defaultGlobalKnownHostsFile))
    if !readable && !options.acceptNewHostKeys {
      warnings.append(
        "\(options.knownHostsFile) does not exist or is not readable: every host key will be unknown "
          + "(give --known-hosts FILE, or --accept-new-host-keys to trust keys on first use)")
    }
    return NewScan(
      directory: directory, hosts: hosts, mode: .ssh, options: options, targets: selection.targets,
      warnings: warnings, shard: shard, toolVersion: UnitAudit.version)
  }

  /// The reports of `unitaudit report DIR` with its defaults (every format, fedora-40), for
  /// `--report`.
  private func writeReports(of scan: URL, console: Console) {
    let directory = scan.appendingPathComponent("report")
    do {
      let selection = try BaselineSelection.parse([])
      let (baseline, required) = try selection.load()
      let writer = ReportWriter(renderer: try ReportRenderer(templates: BundledTemplates.all()))
      let outcome = try writer.report(
        scan: try readScan(scan), older: nil, baseline: baseline, required: required,
        today: selection.day, formats: ReportFormat.defaults, to: directory)
      noteChecksLeftOut(outcome, console: console)
      console.info("reports written to \(directory.path) (\(outcome.files.count) files)")
    } catch {
      console.error("error: the scan is complete, but its reports could not be written: \(error)")
    }
  }

  /// The options this command line gives, for a new scan's defaults or a resumed scan's
  /// recorded options.
  private var overrides: ScanOptions.Overrides {
    var overrides = ScanOptions.Overrides()
    overrides.concurrency = concurrency
    overrides.maxOutputBytes = maxOutput
    overrides.deadlineSeconds = deadline
    overrides.connectTimeout = connectTimeout
    overrides.graceSeconds = grace
    overrides.user = user
    overrides.identityFiles = identities.map(expandHome)
    overrides.certificateFile = certificate.map(expandHome)
    if noSSHConfig {
      overrides.sshConfig = .some(nil)
    } else if let sshConfig {
      overrides.sshConfig = expandHome(sshConfig)
    }
    overrides.knownHostsFile = knownHosts.map(expandHome)
    overrides.jump = jump
    overrides.jumpChannels = jumpChannels
    if noRemoteCompression { overrides.remoteCompression = false }
    overrides.acceptNewHostKeys = acceptNewHostKeys
    overrides.history = history.map {
      PostgresLocation.isURL($0) ? $0 : URL(fileURLWithPath: expandHome($0)).path
    }
    return overrides
  }

  private func defaultScanDirectory() -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    return "unitaudit-scan-\(formatter.string(from: Date()))"
  }
}

/// `~/x` → the home directory of the user running unitaudit.
func expandHome(_ path: String) -> String {
  path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst() : path
}
