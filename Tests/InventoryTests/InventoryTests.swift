import Foundation
import Inventory
import Testing

@Suite("Inventories: formats, errors with file and line, patterns")
struct InventoryTests {
  func ini(_ text: String) throws -> ResolvedInventory {
    try AnsibleINI.parse(text, source: "test.ini").resolve()
  }

  func names(_ hosts: [FleetHost]) -> [String] { hosts.map(\.name) }

  @Test("host ranges: zero-padded, letters, steps, several in one name")
  func ranges() throws {
    #expect(try HostPattern.expand("web[01:03].x") == ["web01.x", "web02.x", "web03.x"])
    #expect(try HostPattern.expand("db-[a:c]") == ["db-a", "db-b", "db-c"])
    #expect(try HostPattern.expand("n[0:6:3]") == ["n0", "n3", "n6"])
    #expect(try HostPattern.expand("r[1:2]-[a:b]") == ["r1-a", "r1-b", "r2-a", "r2-b"])
    #expect(throws: HostPatternError.self) { try HostPattern.expand("web[01:3]") }
    #expect(throws: HostPatternError.self) { try HostPattern.expand("web[1:]") }
    #expect(throws: HostPatternError.self) { try HostPattern.expand("web[1:2") }
  }

  @Test("one entry may name up to 100,000 hosts, resolved and selected in linear time; beyond, file and line")
  func largeRanges() throws {
    // Found by libFuzzer: `n[0:99]e[0:99]`-style lines once took minutes (a membership check
    // per host scanned the group's list) and could expand without bound.
    let inventory = try ini("[web]\nn[0:59]e[0:999]\n[db]\ndb1\n")
    #expect(inventory.hosts.count == 60_001)
    #expect(inventory.groupHosts["web"]?.count == 60_000)
    #expect(inventory.hosts.first?.groups == ["web"])
    #expect(try Limit.select("web:!n0e*", from: inventory).count == 59_000)
    #expect(try Limit.select("all", from: inventory).count == 60_001)
    #expect {
      _ = try ini("[web]\nweb1\nn[0:99]e[0:99]x[0:99]\n")
    } throws: { error in
      (error as? InventoryError)?.description.hasPrefix("test.ini:3: ") == true
        && "\(error)".contains("more than 100000 hosts")
    }
    #expect(throws: HostPatternError.self) { try HostPattern.expand("n[0:100000]") }
    #expect(try HostPattern.expand("n[0:99999]").count == 100_000)
  }

  @Test("YAML aliases that multiply (a 'billion laughs') are refused before anything walks them")
  func aliasBombs() throws {
    var groups = ["x0: &a0 {hosts: {h: }}"]
    for level in 1..<40 {
      groups.append(
        "x\(level): &a\(level) {children: {c\(level)a: *a\(level - 1), c\(level)b: *a\(level - 1)}}")
    }
    var vars = ["    v0: &v0 [a, a, a, a, a, a, a, a, a, a]"]
    for level in 1..<10 {
      vars.append(
        "    v\(level): &v\(level) [" + Array(repeating: "*v\(level - 1)", count: 10).joined(separator: ", ")
          + "]")
    }
    let bombs = [
      groups.joined(separator: "\n"),
      "all:\n  vars:\n" + vars.joined(separator: "\n") + "\n  hosts:\n    h1:\n",
    ]
    for text in bombs {
      #expect {
        _ = try YAMLInventory.parseAnsible(
          try YAMLInventory.compose(text, source: "bomb.yml"), source: "bomb.yml")
      } throws: { error in
        "\(error)".hasPrefix("bomb.yml: ") && "\(error)".contains("aliases expand to more than")
      }
    }
    // An alias used a few times, as people do for shared variables, still works.
    let shared =
      "all:\n  children:\n    web:\n      vars: &common {ansible_user: ops}\n      hosts: {w1: }\n"
      + "    db:\n      vars: *common\n      hosts: {d1: }\n"
    let graph = try YAMLInventory.parseAnsible(
      try YAMLInventory.compose(shared, source: "s.yml"), source: "s.yml"
    ).0
    #expect(try graph.resolve().hosts.map(\.user) == ["ops", "ops"])
  }

  @Test("each host records the file and line that define it, in every format; -H hosts none")
  func sources() throws {
    func lines(_ inventory: ResolvedInventory) -> [String: Int] {
      Dictionary(uniqueKeysWithValues: inventory.hosts.map { ($0.name, $0.source?.line ?? 0) })
    }
    let ini = try ini("# fleet\n[web]\nw1 ansible_host=10.0.0.1\nw2\n\n[db]\nd1\nw1\n")
    #expect(lines(ini) == ["w1": 3, "w2": 4, "d1": 7])
    #expect(ini.hosts.allSatisfy { $0.source?.file == "test.ini" })
    let yaml = try YAMLInventory.parseAnsible(
      try YAMLInventory.compose(
        "all:\n  children:\n    web:\n      hosts:\n        w1:\n        w2:\n", source: "a.yml"),
      source: "a.yml"
    ).0.resolve()
    #expect(lines(yaml) == ["w1": 5, "w2": 6])
    let native = try NativeInventory.parse(
      try YAMLInventory.compose("hosts:\n  - n1\n  - { name: n2, port: 2222 }\n", source: "n.yml"),
      source: "n.yml")
    #expect(lines(native) == ["n1": 2, "n2": 3] && native.hosts[0].source?.file == "n.yml")
    let list = try PlainList.parse("# hosts\np1\n\nroot@p2:2222\n", source: "hosts.txt")
    #expect(lines(list) == ["p1": 2, "p2": 4])
    #expect(try PlainList.parseCommandLine("a,b").hosts.allSatisfy { $0.source == nil })
  }

  @Test("ports split off host names, IPv4 and bracketed IPv6, never off bare IPv6")
  func ports() {
    #expect(HostPattern.splitPort("host:2222") == ("host", 2222))
    #expect(HostPattern.splitPort("192.0.2.1:22") == ("192.0.2.1", 22))
    #expect(HostPattern.splitPort("[2001:db8::1]:2200") == ("2001:db8::1", 2200))
    #expect(HostPattern.splitPort("fe80::1") == ("fe80::1", nil))
    #expect(HostPattern.splitPort("web[1:3]:22") == ("web[1:3]", 22))
  }

  @Test("INI errors name the file and the line")
  func iniErrors() {
    let cases: [(String, Int, String)] = [
      ("[web]\nhost1\n[web:bogus]\n", 3, "unknown type"),
      ("[web]\nhost1 user\n", 2, "key=value"),
      ("[a:children]\nmissing\n", 2, "never defined"),
      ("[ghost:vars]\nx=1\n", 1, "never defined"),
      ("[web]\nh \"unclosed\n", 2, "quotation"),
      ("[web]\nweb[01:3]\n", 2, "equal length"),
      ("[ bad ]\n", 1, "invalid section"),
      ("[web]\nhost:\n", 2, "reserved for a port"),
      ("[a:children]\nb\n[b:children]\na\n[b]\n", 4, "loop"),
    ]
    for (text, line, words) in cases {
      #expect {
        _ = try ini(text)
      } throws: { error in
        guard let error = error as? InventoryError else { return false }
        return error.file == "test.ini" && error.line == line && error.description.contains(words)
          && error.description.hasPrefix("test.ini:\(line): ")
      }
    }
  }

  @Test("a templated connection value is refused, not used verbatim")
  func templates() {
    #expect {
      _ = try ini("[web]\nh1 ansible_host=\"{{ lookup('env', 'X') }}\"\n")
    } throws: { error in
      (error as? InventoryError)?.description.contains("Jinja") == true
    }
  }

  @Test("YAML errors name the line")
  func yamlErrors() throws {
    #expect {
      _ = try YAMLInventory.parseAnsible(
        try YAMLInventory.compose("all:\n  hosts:\n    a:\n  hosts:\n    b:\n", source: "t.yml"),
        source: "t.yml")
    } throws: { error in
      guard let error = error as? InventoryError else { return false }
      return error.line != nil && error.description.contains("duplicate")
    }
    #expect {
      _ = try YAMLInventory.compose("all:\n  hosts: [a\n", source: "t.yml")
    } throws: { error in (error as? InventoryError)?.line != nil }
    #expect {
      _ = try YAMLInventory.parseAnsible(
        try YAMLInventory.compose("plugin: aws_ec2\n", source: "t.yml"), source: "t.yml")
    } throws: { error in (error as? InventoryError)?.description.contains("plugin") == true }
  }

  @Test("unitaudit's YAML: defaults < groups < host, ranges, bare entries, secrets dropped")
  func native() throws {
    let path = try Fixtures.directory.appendingPathComponent("native/fleet.yml").path
    let inventory = try InventoryLoader.load(paths: [path])
    #expect(names(inventory.hosts) == ["web1", "web2", "web3", "db1", "bastion.example.com"])
    let web1 = try #require(inventory.hosts.first)
    #expect(web1.address == "10.0.0.11" && web1.user == "deploy" && web1.port == nil)
    #expect(web1.identityFile == NSHomeDirectory() + "/.ssh/audit_ed25519")
    #expect(web1.vars["tier"] == "frontend")
    let web2 = inventory.hosts[1]
    #expect(web2.port == 2200 && web2.groups == ["edge", "web"] && web2.address == "web2")
    let db1 = inventory.hosts[3]
    #expect(db1.user == "audit" && db1.port == 2222 && db1.vars["owner"] == "dba-team")
    #expect(db1.vars["db_password"] == nil)
    let bastion = inventory.hosts[4]
    #expect(bastion.user == "root" && bastion.port == 2022)
    #expect(try Limit.select("web:!edge", from: inventory).map(\.name) == ["web1"])
  }

  @Test(
    "jump hosts: the native 'jump' key (defaults < groups < host), Ansible's -J and -o ProxyJump in its SSH args"
  )
  func jumps() throws {
    let native = try NativeInventory.parse(
      try YAMLInventory.compose(
        """
        defaults: { jump: audit@bastion:2222 }
        groups: { dmz: { jump: "b1,b2" } }
        hosts:
          - { name: a }
          - { name: b, groups: [dmz] }
          - { name: c, groups: [dmz], jump: none }
        """, source: "n.yml"), source: "n.yml")
    #expect(native.hosts.map(\.jump) == ["audit@bastion:2222", "b1,b2", "none"])
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "unitaudit-jump-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let ini = directory.appendingPathComponent("hosts.ini").path
    try """
    a ansible_ssh_common_args='-J audit@bastion:2222'
    b ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o ProxyJump=b1,ops@b2'
    c ansible_ssh_common_args="-o 'ProxyJump first' -J third" ansible_ssh_extra_args='-Jsecond'
    d ansible_ssh_common_args='-o ProxyCommand="ssh -W %h:%p bastion"'
    """.write(toFile: ini, atomically: true, encoding: .utf8)
    let ansible = try InventoryLoader.load(paths: [ini])
    #expect(ansible.hosts.map(\.jump) == ["audit@bastion:2222", "b1,ops@b2", "first", nil])
  }

  @Test("native format errors name the line")
  func nativeErrors() throws {
    func parse(_ text: String) throws -> ResolvedInventory {
      try NativeInventory.parse(try YAMLInventory.compose(text, source: "n.yml"), source: "n.yml")
    }
    let cases: [(String, Int, String)] = [
      ("hosts:\n  - name: a\n    port: 70000\n", 3, "1 to 65535"),
      ("hosts:\n  - name: a\n    colour: red\n", 3, "unknown key"),
      ("hosts:\n  - address: 10.0.0.1\n", 2, "needs a 'name'"),
      ("hosts:\n  - name: a\n  - name: a\n", 3, "listed twice"),
      ("hosts:\n  - bad host\n", 2, "not one host"),
    ]
    for (text, line, words) in cases {
      #expect {
        _ = try parse(text)
      } throws: { error in
        guard let error = error as? InventoryError else { return false }
        return error.line == line && error.description.contains(words)
      }
    }
  }

  @Test("plain lists and -H: [user@]host[:port], comments, clear errors")
  func plain() throws {
    let list = try PlainList.parse(
      "# fleet\nweb1\nroot@db1:2222  # primary\n\n[2001:db8::1]:22\n", source: "l.txt")
    #expect(names(list.hosts) == ["web1", "db1", "2001:db8::1"])
    #expect(list.hosts[1].user == "root" && list.hosts[1].port == 2222)
    #expect {
      _ = try PlainList.parse("web1\nweb2 extra\n", source: "l.txt")
    } throws: { error in (error as? InventoryError)?.description.hasPrefix("l.txt:2: ") == true }
    #expect {
      _ = try PlainList.parse("web1\nweb1\n", source: "l.txt")
    } throws: { error in (error as? InventoryError)?.description.contains("twice") == true }
    let cli = try PlainList.parseCommandLine("a, ops@b:2200,c")
    #expect(names(cli.hosts) == ["a", "b", "c"] && cli.hosts[1].user == "ops")
    #expect(throws: InventoryError.self) { try PlainList.parseCommandLine("a,b:99999") }
  }

  @Test("auto-detection tells a plain list from INI")
  func detection() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let list = directory.appendingPathComponent("hosts.txt").path
    try "ops@web1\nweb2:2200\n".write(toFile: list, atomically: true, encoding: .utf8)
    let loaded = try InventoryLoader.load(paths: [list])
    #expect(loaded.hosts.first?.user == "ops" && loaded.hosts.first?.name == "web1")
    let iniPath = directory.appendingPathComponent("hosts").path
    try "web1 ansible_user=ops\n".write(toFile: iniPath, atomically: true, encoding: .utf8)
    #expect(try InventoryLoader.load(paths: [iniPath]).hosts.first?.user == "ops")
    // The same host in two inventories is an error naming both.
    #expect {
      _ = try InventoryLoader.load(paths: [list, iniPath])
    } throws: { error in (error as? InventoryError)?.description.contains(list) == true }
    #expect {
      _ = try InventoryLoader.load(paths: [directory.appendingPathComponent("nope").path])
    } throws: { error in (error as? InventoryError)?.description.contains("no such file") == true }
  }

  @Test("--limit: globs, regex, subscripts, unions, intersections, exclusions, no match")
  func limits() throws {
    let inventory = try ini(
      """
      [web]
      web1
      web2
      web3
      [db]
      db1
      web3
      [prod:children]
      web
      db
      """)
    func pick(_ pattern: String) throws -> [String] { names(try Limit.select(pattern, from: inventory)) }
    #expect(try pick("web") == ["web1", "web2", "web3"])
    #expect(try pick("web:&db") == ["web3"])
    #expect(try pick("prod:!db") == ["web1", "web2"])
    #expect(try pick("web[0]") == ["web1"])
    #expect(try pick("web[-1]") == ["web3"])
    #expect(try pick("web[1:]") == ["web2", "web3"])
    #expect(try pick("~web[12]") == ["web1", "web2"])
    #expect(try pick("*1") == ["web1", "db1"])
    #expect(try pick("web[!1]*") == ["web2", "web3"])
    #expect(try pick("w?b2,db1") == ["web2", "db1"])
    #expect(try pick("!web") == ["db1"])
    #expect(try pick("nothing") == [])
    #expect(throws: InventoryError.self) { try pick("web[7]") }
    #expect(throws: InventoryError.self) { try pick("~web[") }
  }
}

@Suite("The example inventories in Inventory/")
struct ExampleInventoryTests {
  @Test(
    "every example loads, with the number of hosts it names",
    arguments: [
      ("example.ini", 7), ("ansible.yml", 7), ("fleet.yml", 5), ("hosts.txt", 3),
    ])
  func example(file: String, hosts: Int) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let path = root.appendingPathComponent("Inventory/\(file)").path
    let inventory = try InventoryLoader.load(paths: [path])
    #expect(inventory.hosts.count == hosts)
    #expect(inventory.warnings.isEmpty)
  }
}
