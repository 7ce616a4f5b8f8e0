import Foundation
import Inventory
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension Tag {
  /// Tests that run a real external program (here: ansible-inventory).
  @Tag static var integration: Self
}

/// What both tools must agree on for each host.
struct Resolved: Hashable, CustomStringConvertible {
  var name: String
  var address: String
  var port: Int?
  var user: String?
  var key: String?
  var groups: [String]

  var description: String {
    "\(name) -> \(address):\(port.map(String.init) ?? "-") user=\(user ?? "-") key=\(key ?? "-") groups=\(groups)"
  }
}

enum Fixtures {
  static var directory: URL {
    get throws {
      guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
        throw ParityError.setup("test fixtures are missing from the bundle")
      }
      return url
    }
  }

  /// Every Ansible inventory in the fixtures, with the --limit patterns of its `.limits` file.
  static func ansibleCases() throws -> [(file: String, limit: String?)] {
    let base = try directory.appendingPathComponent("ansible")
    let manager = FileManager.default
    var files = try manager.contentsOfDirectory(atPath: base.path).filter {
      !$0.hasSuffix(".limits") && !$0.hasPrefix(".") && $0 != "vars-dirs"
    }
    files.append("vars-dirs/hosts.ini")
    var cases: [(String, String?)] = []
    for file in files.sorted() {
      let path = base.appendingPathComponent(file).path
      cases.append((path, nil))
      if let limits = try? String(contentsOfFile: path + ".limits", encoding: .utf8) {
        for line in limits.split(separator: "\n") where !line.isEmpty { cases.append((path, String(line))) }
      }
    }
    return cases
  }
}

enum ParityError: Error, CustomStringConvertible {
  case setup(String)
  var description: String {
    switch self {
    case .setup(let text): text
    }
  }
}

/// Finds ansible-inventory: $UNITAUDIT_ANSIBLE_INVENTORY, the venv Scripts/test makes, or PATH.
func ansibleInventoryPath() throws -> String {
  let environment = ProcessInfo.processInfo.environment
  if let explicit = environment["UNITAUDIT_ANSIBLE_INVENTORY"] { return explicit }
  var candidates = [".build/test-venv/bin/ansible-inventory"]
  candidates += (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/ansible-inventory" }
  if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
    return found
  }
  throw ParityError.setup(
    "ansible-inventory not found: run Scripts/test (it installs ansible-core into .build/test-venv) "
      + "or set UNITAUDIT_ANSIBLE_INVENTORY")
}

/// Runs `ansible-inventory -i FILE --list [--limit P]` and reads the hosts it lists.
func ansibleResolve(_ file: String, limit: String?) throws -> [Resolved] {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try ansibleInventoryPath())
  process.arguments = ["-i", file, "--list"] + (limit.map { ["--limit", $0] } ?? [])
  var environment = ProcessInfo.processInfo.environment
  environment["ANSIBLE_HOST_PATTERN_MISMATCH"] = "ignore"
  environment["ANSIBLE_INVENTORY_ENABLED"] = "ini,yaml"
  // A folder of this run's own: a fixed path in /tmp made by another user stops ansible.
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
    "unitaudit-ansible-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: scratch) }
  environment["ANSIBLE_LOCAL_TEMP"] = scratch.appendingPathComponent("tmp").path
  process.environment = environment
  let output = scratch.appendingPathComponent("out.json")
  let errors = scratch.appendingPathComponent("err.txt")
  guard FileManager.default.createFile(atPath: output.path, contents: nil),
    FileManager.default.createFile(atPath: errors.path, contents: nil)
  else {
    throw ParityError.setup("cannot create files in \(scratch.path)")
  }
  let handle = try FileHandle(forWritingTo: output)
  let errorHandle = try FileHandle(forWritingTo: errors)
  process.standardOutput = handle
  process.standardError = errorHandle
  process.standardInput = FileHandle.nullDevice
  try process.run()
  process.waitUntilExit()
  try handle.close()
  try errorHandle.close()
  let data = try Data(contentsOf: output)
  guard process.terminationStatus == 0,
    let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
  else {
    let said = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
    throw ParityError.setup(
      "ansible-inventory failed on \(file): \(String(decoding: data, as: UTF8.self)) \(said.suffix(2000))")
  }
  let meta = json["_meta"] as? [String: Any]
  let hostvars = meta?["hostvars"] as? [String: [String: Any]] ?? [:]
  var parents: [String: Set<String>] = [:]
  var direct: [String: Set<String>] = [:]
  for (group, value) in json where group != "_meta" {
    let body = value as? [String: Any] ?? [:]
    for child in body["children"] as? [String] ?? [] { parents[child, default: []].insert(group) }
    for host in body["hosts"] as? [String] ?? [] { direct[host, default: []].insert(group) }
  }
  func closure(_ groups: Set<String>) -> Set<String> {
    var result = groups
    var queue = Array(groups)
    while let next = queue.popLast() {
      for parent in parents[next] ?? [] where result.insert(parent).inserted { queue.append(parent) }
    }
    return result
  }
  func text(_ value: Any?) -> String? {
    switch value {
    case let string as String: string
    case let number as NSNumber: number.stringValue
    default: nil
    }
  }
  return direct.keys.sorted().map { host in
    let vars = hostvars[host] ?? [:]
    let key = text(vars["ansible_ssh_private_key_file"] ?? vars["ansible_private_key_file"])
    return Resolved(
      name: host, address: text(vars["ansible_host"] ?? vars["ansible_ssh_host"]) ?? host,
      port: text(vars["ansible_port"] ?? vars["ansible_ssh_port"]).flatMap { Int($0) },
      user: text(vars["ansible_user"] ?? vars["ansible_ssh_user"]),
      key: key.map { $0.hasPrefix("~/") ? NSHomeDirectory() + $0.dropFirst() : $0 },
      groups: closure(direct[host] ?? []).subtracting(["all", "ungrouped"]).sorted())
  }
}

func unitauditResolve(_ file: String, limit: String?) throws -> [Resolved] {
  try InventoryLoader.load(paths: [file], limit: limit).hosts.map { host in
    Resolved(
      name: host.name, address: host.address, port: host.port, user: host.user, key: host.identityFile,
      groups: host.groups)
  }.sorted { $0.name < $1.name }
}

@Suite("Ansible parity: the hosts ansible-inventory lists", .tags(.integration))
struct AnsibleParityTests {
  @Test(
    "every fixture inventory and limit resolves as ansible-inventory --list does",
    arguments: try Fixtures.ansibleCases())
  func parity(file: String, limit: String?) throws {
    let theirs = try ansibleResolve(file, limit: limit)
    #expect(!theirs.isEmpty, "the fixture should select hosts")
    let ours: [Resolved]
    do {
      ours = try unitauditResolve(file, limit: limit)
    } catch {
      Issue.record("unitaudit failed on \(file) \(limit ?? ""): \(error)")
      return
    }
    let diff = ours.difference(from: theirs)
    #expect(
      ours == theirs,
      "\((file as NSString).lastPathComponent) --limit \(limit ?? "-"):\n\(diff.map { "\($0)" }.joined(separator: "\n"))"
    )
  }

  @Test("at least ten Ansible inventories are compared")
  func enoughFixtures() throws {
    let files = Set(try Fixtures.ansibleCases().map(\.file))
    #expect(files.count >= 10)
    #expect(files.contains { $0.hasSuffix(".yml") } && files.contains { $0.hasSuffix(".ini") })
  }
}
