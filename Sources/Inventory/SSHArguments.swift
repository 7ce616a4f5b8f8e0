/// OpenSSH command-line arguments as Ansible passes them (`ansible_ssh_common_args`,
/// `ansible_ssh_extra_args`): split as a POSIX shell splits words, then read for the options
/// unitaudit carries itself.
enum SSHArguments {
  /// The `ProxyJump` value of `-J HOPS`, `-JHOPS`, `-o ProxyJump=HOPS` or `-o "ProxyJump HOPS"`
  /// (the last one given wins, as in ssh); nil when there is none.
  static func proxyJump(_ arguments: String) -> String? {
    var words = words(arguments)[...]
    var found: String?
    while let word = words.popFirst() {
      if word == "-J" {
        found = words.popFirst() ?? found
      } else if word.hasPrefix("-J") {
        found = String(word.dropFirst(2))
      } else if word == "-o" || word.hasPrefix("-o") {
        guard let option = word == "-o" ? words.popFirst() : String(word.dropFirst(2)) else { continue }
        let parts = option.split(maxSplits: 1, whereSeparator: { $0 == "=" || $0 == " " || $0 == "\t" })
        if parts.count == 2, parts[0].lowercased() == "proxyjump" {
          found = parts[1].trimmingCharacters(in: .whitespaces)
        }
      }
    }
    return found
  }

  /// Words as a POSIX shell splits them, for what a jump value holds: blanks separate,
  /// quotes keep blanks, a backslash keeps the next character.
  static func words(_ text: String) -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for character in text {
      if escaped {
        current.append(character)
        escaped = false
        continue
      }
      switch quote {
      case "'":
        if character == "'" { quote = nil } else { current.append(character) }
      case "\"":
        if character == "\"" {
          quote = nil
        } else if character == "\\" {
          escaped = true
        } else {
          current.append(character)
        }
      default:
        if character == " " || character == "\t" || character == "\n" {
          if inWord { words.append(current) }
          current = ""
          inWord = false
        } else {
          inWord = true
          if character == "'" || character == "\"" {
            quote = character
          } else if character == "\\" {
            escaped = true
          } else {
            current.append(character)
          }
        }
      }
    }
    if inWord { words.append(current) }
    return words
  }
}
