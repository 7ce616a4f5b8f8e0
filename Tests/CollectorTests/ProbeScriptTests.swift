import Foundation
import Normalize
import TestSupport
import Testing
import UnitModel

@testable import Collector

/// Runs the real probe script under /bin/sh against stand-in `systemctl` and
/// `systemd-analyze` programs that report hostile unit names, inside a private mount
/// namespace where /run/systemd/system exists (unshare(1): as root, or in a user namespace of
/// its own where the kernel allows them, as Debian's does).
@Suite("the probe script")
struct ProbeScriptTests {
  /// How to get a private mount namespace: root makes one; another user makes a user
  /// namespace first, where it is root. Nil when neither works here.
  static let unshare: [String]? = {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return nil }
    let command =
      getuid() == 0
      ? ["/usr/bin/unshare", "--mount", "--propagation", "private"]
      : ["/usr/bin/unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    guard case .output(let output, _) = runProcess(command + ["/bin/true"], limits: ProbeLimits()),
      output.exitStatus == 0
    else { return nil }
    return command
  }()

  static let fakeSystemctl = #"""
    #!/bin/sh
    for a in "$@"; do printf '%s\n' "$a" >> "$FAKE_LOG"; done
    printf '=====\n' >> "$FAKE_LOG"
    case "$1" in
      --version) printf 'systemd 252 (252.39-1~deb12u2)\n+PAM -GNUTLS\n' ;;
      list-units)
        printf '%s\n' 'good.service loaded active running Good' \
          '$(touch${IFS}$PWNED).service loaded active running A' \
          'a;touch${IFS}$PWNED;.service loaded active running B' \
          '`touch $PWNED`.service loaded active running C' \
          "q'x.service loaded active running D" \
          'gone.service not-found inactive dead gone.service' \
          'ok@x\x2dy.service loaded inactive dead E' ;;
      list-unit-files)
        printf '%s\n' 'good.service enabled enabled' 'tmpl@.service static -' 'alias.service alias -' \
          '*.service enabled enabled' 'masked.service masked enabled' ;;
      show)
        shift
        while [ "$1" != -- ]; do shift; done; shift
        for u in "$@"; do
          state=loaded; [ "$u" = masked.service ] && state=masked
          printf 'Id=%s\nNames=%s\nLoadState=%s\nFragmentPath=/lib/systemd/system/%s\nDropInPaths=\n\n' "$u" "$u" "$state" "$u"
        done ;;
      --no-pager)
        shift; shift; shift
        for u in "$@"; do
          if [ "$u" = masked.service ]; then printf '# Unit masked.service is masked.\n'
          else printf '# /lib/systemd/system/%s\n[Service]\nPrivateTmp=yes\n\n' "$u"; fi
        done ;;
    esac
    """#

  static let fakeAnalyze = #"""
    #!/bin/sh
    for a in "$@"; do printf '%s\n' "$a" >> "$FAKE_LOG"; done
    printf '=====\n' >> "$FAKE_LOG"
    while [ "$1" != -- ]; do shift; done; shift
    sep=''; summary='['
    for u in "$@"; do
      printf '[]\n\n'
      j=$(printf '%s' "$u" | sed 's/\\/\\\\/g')
      summary="$summary$sep{\"unit\":\"$j\",\"exposure\":\"5.0\",\"predicate\":\"MEDIUM\",\"happy\":\":-|\"}"; sep=,
    done
    printf '%s]\n' "$summary"
    """#

  /// A folder in `work` with the stand-in `systemctl` and `systemd-analyze`.
  func fakeBin(in work: URL) throws -> URL {
    let bin = work.appendingPathComponent("bin")
    try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
    for (name, text) in [("systemctl", Self.fakeSystemctl), ("systemd-analyze", Self.fakeAnalyze)] {
      let url = bin.appendingPathComponent(name)
      try Data(text.utf8).write(to: url)
      try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }
    return bin
  }

  @Test(
    "hostile unit names never reach a command; the output normalizes",
    .enabled(if: unshare != nil, "needs unshare(1) and a private mount namespace (root, or user namespaces)"))
  func hostileNames() throws {
    let work = try temporaryDirectory("probe")
    let bin = try fakeBin(in: work)
    let log = work.appendingPathComponent("log").path
    let pwned = work.appendingPathComponent("pwned").path
    let probe = Probe.random()
    let wrapper = """
      mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && \
      FAKE_LOG=\(shellQuote(log)) PWNED=\(shellQuote(pwned)) PATH=\(shellQuote(bin.path)):$PATH \
      exec /bin/sh -c \(shellQuote(probe.script))
      """
    let result = runProcess(
      (Self.unshare ?? []) + ["/bin/sh", "-c", wrapper],
      limits: ProbeLimits())
    guard case .output(let output, _) = result else {
      Issue.record("probe did not run: \(result)")
      return
    }
    #expect(output.exitStatus == 0)
    #expect(!FileManager.default.fileExists(atPath: pwned), "a unit name was executed")

    let calls = try String(contentsOfFile: log, encoding: .utf8).components(separatedBy: "=====\n")
    // The pattern spares PID 1 the enablement state of every other kind of unit file.
    let unitFiles = try #require(calls.first { $0.hasPrefix("list-unit-files\n") })
    #expect(unitFiles.hasSuffix("\n*.service\n"))
    let show = try #require(calls.first { $0.hasPrefix("show\n") })
    let showUnits = show.components(separatedBy: "\n").drop { $0 != "--" }.dropFirst().filter { !$0.isEmpty }
    #expect(showUnits == ["good.service", "masked.service", #"ok@x\x2dy.service"#])
    let analyze = try #require(calls.first { $0.hasPrefix("--no-pager\nsecurity\n") })
    #expect(analyze.hasSuffix("--\ngood.service\nok@x\\x2dy.service\n"))

    let report = normalize(
      HostEvidence(host: "fake", nonce: probe.nonce, probeVersion: Probe.version, output: output),
      label: HostLabel(name: "fake"))
    #expect(report.status == HostStatus(.ok), "\(report.status) \(report.diagnostics)")
    #expect(report.services.map(\.id) == ["good.service", "masked.service", #"ok@x\x2dy.service"#])
    #expect(report.service(named: "good.service")?.hardening.privateTmp?.value == true)
    #expect(report.service(named: "good.service")?.overall?.predicate == "MEDIUM")
    #expect(report.service(named: "masked.service")?.isMasked == true)
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
  }

  @Test("the script is valid POSIX sh and carries only its own nonce")
  func syntax() throws {
    let probe = Probe.random()
    #expect(probe.hasValidNonce)
    #expect(!Probe(nonce: "x; rm -rf /").hasValidNonce)
    let result = runProcess(["/bin/sh", "-n", "-c", probe.script], limits: ProbeLimits())
    guard case .output(let output, _) = result else {
      Issue.record("sh -n did not run")
      return
    }
    #expect(output.exitStatus == 0, "\(String(decoding: output.stderr, as: UTF8.self))")
    #expect(probe.script.contains("N=\(probe.nonce)"))
    #expect(Probe.random().nonce != probe.nonce)
    #expect(shellQuote("a'b") == #"'a'\''b'"#)
  }

  /// A directory of links to every program on this machine's PATH but the compressors, with
  /// `keep` linked in: a host that has only that one (or none).
  func tools(keeping keep: TransferEncoding?, in work: URL) throws -> URL {
    let tools = work.appendingPathComponent("tools-\(keep?.program ?? "none")")
    try FileManager.default.createDirectory(at: tools, withIntermediateDirectories: true)
    let compressors = Set(TransferEncoding.allCases.map(\.program))
    for directory in ["/usr/local/bin", "/usr/bin", "/bin"] {
      for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
      where !compressors.contains(name) || name == keep?.program {
        let link = tools.appendingPathComponent(name).path
        if !FileManager.default.fileExists(atPath: link) {
          try? FileManager.default.createSymbolicLink(
            atPath: link, withDestinationPath: directory + "/" + name)
        }
      }
    }
    return tools
  }

  @Test(
    "the remote command sends the script's stdout through the host's zstd, else gzip, else as it is",
    .enabled(if: unshare != nil, "needs unshare(1) and a private mount namespace (root, or user namespaces)"))
  func remoteCompression() throws {
    let work = try temporaryDirectory("probe-compressed")
    let bin = try fakeBin(in: work)
    let probe = Probe.random()
    func run(_ command: String, tools: URL) throws -> ProbeOutput {
      let log = work.appendingPathComponent("log").path
      let wrapper = """
        mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && \
        FAKE_LOG=\(shellQuote(log)) PWNED=/nonexistent PATH=\(shellQuote(bin.path)):\(shellQuote(tools.path)) \
        exec \(command)
        """
      guard
        case .output(let output, _) = runProcess(
          (Self.unshare ?? []) + ["/bin/sh", "-c", wrapper], limits: ProbeLimits())
      else { throw TestFailure("the probe did not run") }
      return output
    }
    let plain = try run(probe.remoteCommand(compressed: false), tools: try tools(keeping: nil, in: work))
    #expect(plain.stdout.starts(with: Array((probe.markerPrefix + "begin probe -").utf8)))
    let expected = normalize(
      HostEvidence(host: "fake", nonce: probe.nonce, probeVersion: Probe.version, output: plain),
      label: HostLabel(name: "fake"))
    #expect(expected.services.count == 3, "\(expected.status)")
    let branches: [(TransferEncoding?, TransferEncoding?)] = [(.zstd, .zstd), (.gzip, .gzip), (nil, nil)]
    for (kept, sent) in branches {
      let received = try run(probe.remoteCommand(), tools: try tools(keeping: kept, in: work))
      #expect(received.exitStatus == 0)
      let output = CompressedOutput.decode(received, probe: probe, limit: ScanOptions.defaultMaxOutputBytes)
      #expect(output.transfer?.encoding == sent, "\(String(describing: kept))")
      #expect(output.transfer?.damage == nil)
      if sent != nil { #expect(received.stdout.count * 2 < output.stdout.count) }
      // Byte for byte the script's own stdout, and the same host.
      #expect(output.stdout == plain.stdout, "\(String(describing: kept))")
      let report = normalize(
        HostEvidence(host: "fake", nonce: probe.nonce, probeVersion: Probe.version, output: output),
        label: HostLabel(name: "fake"))
      #expect(report.services == expected.services && report.status == expected.status)
    }
  }
}
