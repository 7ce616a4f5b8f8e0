/// OpenSSH command-line arguments as Ansible passes them (`ansible_ssh_common_args`,
/// `ansible_ssh_extra_args`): split into words as Ansible splits them (`shlex`), then read for
/// the options unitaudit carries itself.
enum SSHArguments {
  /// The `ProxyJump` value of `-J HOPS`, `-JHOPS`, `-o ProxyJump=HOPS` or `-o "ProxyJump HOPS"`
  /// (the first one given wins, as in ssh); nil when there is none.
  static func proxyJump(_ arguments: String) -> String? {
    var words = ((try? AnsibleINI.shellSplit(arguments)) ?? [])[...]
    while let word = words.popFirst() {
      if word == "-J" {
        if let value = words.popFirst() { return value }
      } else if word.hasPrefix("-J") {
        return String(word.dropFirst(2))
      } else if word.hasPrefix("-o") {
        guard let option = word == "-o" ? words.popFirst() : String(word.dropFirst(2)) else { continue }
        let parts = option.split(maxSplits: 1, whereSeparator: { $0 == "=" || $0 == " " || $0 == "\t" })
        if parts.count == 2, parts[0].lowercased() == "proxyjump" {
          return parts[1].trimmingCharacters(in: .whitespaces)
        }
      }
    }
    return nil
  }
}
