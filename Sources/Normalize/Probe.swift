import UnitModel

/// The probe: one POSIX `sh` script that runs on a host and prints every section the
/// normalizer needs, in one round trip.
///
/// Each section is framed on stdout *and* stderr by marker lines that carry a random
/// per-scan nonce, so nothing a host prints can forge a section boundary. Unit names are
/// passed to commands only after they pass a strict character check, with globbing off
/// and word splitting on newlines only, so a hostile unit name never reaches a shell
/// unquoted. The script changes nothing on the host.
public struct Probe: Sendable, Hashable {
  /// Bumped whenever the sections or their meaning change.
  public static let version = 2

  /// 32 lowercase hex digits.
  public let nonce: String

  public init(nonce: String) {
    self.nonce = nonce
  }

  /// A probe with a fresh random nonce.
  public static func random() -> Probe {
    var generator = SystemRandomNumberGenerator()
    let hex = (0..<16).map { _ in
      let byte = UInt8.random(in: 0...255, using: &generator)
      return String(byte, radix: 16).leftPadded(to: 2)
    }
    return Probe(nonce: hex.joined())
  }

  /// True when the nonce has the only shape the script accepts.
  public var hasValidNonce: Bool {
    nonce.count == 32 && nonce.allSatisfy { $0.isHexDigit && !$0.isUppercase }
  }

  /// The line prefix of every marker.
  public var markerPrefix: String { "@@unitaudit-\(nonce) " }

  /// The properties the probe asks `systemctl show` for.
  public static let showProperties = [
    "Id", "Names", "Description", "LoadState", "ActiveState", "SubState", "UnitFileState", "Type",
    "User", "DynamicUser", "FragmentPath", "DropInPaths", "SourcePath",
  ]

  /// The script text. `sh -c` runs it; nothing in it depends on the login shell.
  public var script: String {
    precondition(hasValidNonce, "probe nonce must be 32 lowercase hex digits")
    return Self.template
      .replacingOccurrences(of: "@NONCE@", with: nonce)
      .replacingOccurrences(of: "@VERSION@", with: String(Self.version))
      .replacingOccurrences(of: "@PROPS@", with: Self.showProperties.joined(separator: ","))
  }

  /// The command line unitaudit sends over SSH: the script under `/bin/sh`, whatever the
  /// remote login shell is. `compressed`: its stdout piped through the first compressor the
  /// host has (`TransferEncoding`'s order), after the stream line that names it; a host with
  /// none sends it as the script prints it. Its stderr is never compressed.
  public func remoteCommand(compressed: Bool = true) -> String {
    let plain = "/bin/sh -c " + shellQuote(script)
    guard compressed else { return plain }
    // The script is the wrapper's $1: quoted once, run by the branch the host can take.
    var wrapper = ""
    for (index, encoding) in TransferEncoding.allCases.enumerated() {
      wrapper += index == 0 ? "if" : "elif"
      wrapper += " command -v \(encoding.program) >/dev/null 2>&1; then\n"
      wrapper += "  echo '\(streamLine(encoding))'; /bin/sh -c \"$1\" | \(encoding.hostCommand)\n"
    }
    wrapper += "else\n  exec /bin/sh -c \"$1\"\nfi"
    return "/bin/sh -c " + shellQuote(wrapper) + " unitaudit-probe " + shellQuote(script)
  }

  /// The line (without its newline) the remote command prints on stdout before the output
  /// it compressed with `encoding`.
  public func streamLine(_ encoding: TransferEncoding) -> String {
    markerPrefix + "stream " + encoding.rawValue
  }

  /// The script, kept readable: `unitaudit probe` prints it for review.
  static let template = #"""
    # unitaudit probe v@VERSION@: read-only; lists, shows and analyses service units.
    N=@NONCE@
    LANG=C.UTF-8 LC_ALL=C.UTF-8 SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_LESS=
    SYSTEMD_URLIFY=0 SYSTEMD_EMOJI=0 TERM=dumb
    export LANG LC_ALL SYSTEMD_COLORS SYSTEMD_PAGER PAGER SYSTEMD_LESS SYSTEMD_URLIFY SYSTEMD_EMOJI TERM
    unset LANGUAGE
    set -f
    IFS='
    '
    mark() {
      printf '@@unitaudit-%s %s %s %s\n' "$N" "$1" "$2" "$3"
      printf '@@unitaudit-%s %s %s %s\n' "$N" "$1" "$2" "$3" >&2
    }
    # sect NAME CMD...: run CMD, framing its stdout and stderr as section NAME.
    sect() {
      s=$1; shift; mark begin "$s" -
      "$@" </dev/null; r=$?
      printf '\n'; printf '\n' >&2; mark end "$s" "$r"
    }
    # cap NAME CMD...: like sect, and keep its stdout in $out for the next steps.
    cap() {
      s=$1; shift; mark begin "$s" -
      out=$("$@" </dev/null); r=$?
      printf '%s\n\n' "$out"; printf '\n' >&2; mark end "$s" "$r"
    }
    # Only names made of unit-name characters pass; templates (foo@.service) are left out.
    valid() {
      awk 'length($0) <= 256 && /^[A-Za-z0-9_][-A-Za-z0-9:_.@\\]*[.]service$/ && !/@[.]service$/ && !seen[$0]++'
    }
    osrel() { cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release; }
    sect probe echo "@VERSION@"
    sect uname uname -srm
    sect hostname cat /proc/sys/kernel/hostname
    sect os-release osrel
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then b=yes; else b=no; fi
    sect booted echo "$b"
    [ "$b" = yes ] || exit 0
    cap systemd-version systemctl --version
    v=$(printf '%s\n' "$out" | awk 'NR == 1 { print $2 + 0 }')
    case $v in '' | *[!0-9]*) v=0 ;; esac
    cap list-units systemctl list-units --type=service --all --no-legend --plain --no-pager
    lu=$out
    # With a pattern, PID 1 works out the enablement state of the service files only,
    # not of every unit file: half its cost here. Older systemctl filters by itself.
    cap list-unit-files systemctl list-unit-files --type=service --no-legend --no-pager '*.service'
    units=$({
      printf '%s\n' "$lu" | awk '$2 != "not-found" { print $1 }'
      printf '%s\n' "$out" | awk '$2 != "alias" { print $1 }'
    } | valid | sort -u)
    [ -n "$units" ] || exit 0
    cap show systemctl show --no-pager -p @PROPS@ -- $units
    ids() {
      printf '%s\n' "$out" | awk -F= -v want="$1" '
        /^Id=/ { id = substr($0, 4) }
        /^LoadState=/ { ls = substr($0, 11) }
        /^$/ { if (id != "" && index(want, " " ls " ")) print id; id = ""; ls = "" }
        END { if (id != "" && index(want, " " ls " ")) print id }' | valid
    }
    loaded=$(ids ' loaded ')
    files=$(ids ' loaded masked ')
    # The package that owns each unit file, where dpkg can say (read-only: dpkg-query -S).
    # A path not found as systemd names it is asked again in its merged-/usr twin.
    frag=$(printf '%s\n' "$out" | awk '/^FragmentPath=\// { p = substr($0, 14); if (!seen[p]++) print p }')
    if [ -n "$frag" ] && command -v dpkg-query >/dev/null 2>&1; then
      cap owners dpkg-query -S -- $frag
      twins=$({ printf '%s\n' "$out"; echo @@; printf '%s\n' "$frag"; } | awk '
        $0 == "@@" { f = 1; next }
        !f { k = index($0, ": /"); if (k) has[substr($0, k + 2)] = 1; next }
        has[$0] { next }
        /^\/usr\/lib\// { print substr($0, 5); next }
        /^\/lib\// { print "/usr" $0 }')
      [ -z "$twins" ] || sect owners-twins dpkg-query -S -- $twins
    fi
    [ -z "$files" ] || sect cat systemctl --no-pager cat -- $files
    [ -n "$loaded" ] || exit 0
    set -- $loaded
    [ $# -ne 1 ] || set -- "$1" "$1"
    sect security-units printf '%s\n' "$@"
    # SYSTEMD_ANALYZE_DEBUG=1 adds each check's weight, badness and range.
    SYSTEMD_ANALYZE_DEBUG=1
    export SYSTEMD_ANALYZE_DEBUG
    if [ "$v" -ge 250 ]; then
      sect security systemd-analyze --no-pager security --json=short -- "$@"
    elif [ "$v" -ge 240 ]; then
      sect security-text systemd-analyze --no-pager security -- "$@"
    fi
    exit 0
    """#
}

/// Quotes a string for a POSIX shell: `'…'`, with each `'` written as `'\''`.
public func shellQuote(_ text: String) -> String {
  "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}

extension String {
  func leftPadded(to width: Int, with pad: Character = "0") -> String {
    count >= width ? self : String(repeating: pad, count: width - count) + self
  }
}
