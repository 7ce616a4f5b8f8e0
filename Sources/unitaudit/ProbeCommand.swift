import ArgumentParser
import Normalize

struct ProbeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "probe",
    abstract: "Print the shell script unitaudit runs on each host.",
    discussion: """
      The probe is one POSIX sh script, run once per host without a tty. It only reads: \
      systemctl list-units, list-unit-files, show, cat and systemd-analyze security. Its \
      sections are framed by marker lines carrying a random per-scan nonce. Review it, or \
      run it by hand: unitaudit probe | ssh HOST /bin/sh
      """)

  @Option(help: "The 32-hex-digit nonce to put in the markers (default: a random one).")
  var nonce: String?

  @Flag(
    name: .customLong("remote-command"),
    help: """
      Print the one-line command unitaudit sends over SSH: the script, its stdout compressed on \
      the host by zstd or gzip when either is there, after a line naming which.
      """)
  var remoteCommand = false

  @Flag(
    help: """
      With --remote-command: the command without compression, whose stdout is the script's \
      (what line-oriented tools such as pdsh or clush can carry; what `scan \
      --no-remote-compression` sends).
      """)
  var uncompressed = false

  func run() throws {
    let probe = nonce.map(Probe.init(nonce:)) ?? Probe.random()
    guard probe.hasValidNonce else {
      throw ValidationError("--nonce must be 32 lowercase hex digits")
    }
    if uncompressed && !remoteCommand { throw ValidationError("--uncompressed goes with --remote-command") }
    print(remoteCommand ? probe.remoteCommand(compressed: !uncompressed) : probe.script)
  }
}
