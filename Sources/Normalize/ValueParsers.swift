/// Linux capabilities in kernel order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40).
public let allCapabilities: [String] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]

private let capabilityOrder: [String: Int] = Dictionary(
  uniqueKeysWithValues: allCapabilities.enumerated().map { ($1, $0) })

/// Sorts capability names in kernel order; unknown names last, alphabetically.
public func sortCapabilities<S: Sequence>(_ names: S) -> [String] where S.Element == String {
  Set(names).sorted {
    let left = capabilityOrder[$0] ?? Int.max
    let right = capabilityOrder[$1] ?? Int.max
    return left == right ? $0 < $1 : left < right
  }
}

/// Parses a capability word (`CAP_SYS_ADMIN`, `cap_sys_admin`, or a number) to its name.
func capabilityName(_ word: Substring) -> String? {
  let upper = word.uppercased()
  if capabilityOrder[upper] != nil { return upper }
  if let number = Int(word), allCapabilities.indices.contains(number) { return allCapabilities[number] }
  return nil
}

/// Namespace types of `RestrictNamespaces=`.
public let allNamespaceTypes = ["cgroup", "ipc", "net", "mnt", "pid", "user", "uts"]

/// Splits a value into words the way systemd's extract_first_word does for these settings:
/// whitespace-separated, with double or single quotes grouping.
func splitWords(_ value: String) -> [Substring] {
  var words: [Substring] = []
  var current = ""
  var quote: Character?
  var inWord = false
  for char in value {
    if let open = quote {
      if char == open { quote = nil } else { current.append(char) }
    } else if char == "\"" || char == "'" {
      quote = char
      inWord = true
    } else if char == " " || char == "\t" || char == "\n" {
      if inWord { words.append(Substring(current)) }
      current = ""
      inWord = false
    } else {
      current.append(char)
      inWord = true
    }
  }
  if inWord { words.append(Substring(current)) }
  return words
}
