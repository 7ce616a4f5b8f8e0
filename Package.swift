// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny")
]

// Release builds of the programs link with the toolchain's lld: built with
// `--static-swift-stdlib` (README, Install), gold warns about a mktemp inside the static
// Foundation, and lld does not.
let releaseLinking: [LinkerSetting] = [
  .unsafeFlags(["-use-ld=lld"], .when(platforms: [.linux], configuration: .release))
]

let package = Package(
  name: "unitaudit",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "unitaudit", targets: ["unitaudit"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
  ],
  targets: [
    // libssh from Debian's libssh-dev.
    .systemLibrary(
      name: "CLibSSH", path: "Sources/CLibSSH", pkgConfig: "libssh",
      providers: [.apt(["libssh-dev"])]),
    // zstd from Debian's libzstd-dev, for the evidence folders.
    .systemLibrary(
      name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    // zlib from Debian's zlib1g-dev: the gzip a host compressed the probe's output with.
    .systemLibrary(
      name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // libdeflate from Debian's libdeflate-dev: a whole gzip stream in one call, faster than zlib.
    .systemLibrary(
      name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
    // libpq from Debian's libpq-dev, for histories in PostgreSQL.
    .systemLibrary(
      name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
    // OpenSSL's libcrypto from Debian's libssl-dev (libssh-dev depends on it): the signatures
    // of SSH certificates.
    .systemLibrary(
      name: "CLibCrypto", path: "Sources/CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    // A small Swift wrapper over libssh: blocking, one session per thread.
    .target(name: "SSH", dependencies: ["CLibSSH", "CLibCrypto"], swiftSettings: strict),
    // The scan model: Codable value types, no I/O. Its per-directive code is generated from
    // Directives.table by the GenerateDirectives plugin.
    .target(
      name: "UnitModel", exclude: ["Directives.table"], swiftSettings: strict, plugins: ["GenerateDirectives"]
    ),
    // Pure parsers of systemd output, the probe script and the normalizer.
    .target(name: "Normalize", dependencies: ["UnitModel"], swiftSettings: strict),
    // YAML with a bound on alias expansion, for the files users hand us.
    .target(
      name: "BoundedYAML", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: strict),
    // Hosts to scan (the inventory formats grow here).
    .target(
      name: "Inventory", dependencies: ["UnitModel", "BoundedYAML", .product(name: "Yams", package: "Yams")],
      swiftSettings: strict),
    // Baselines, coverage, waivers, scan diff and the policy gate: pure code over the model. The
    // bundled baselines (Baselines/*.yml) are compiled in by the EmbedFiles plugin.
    .target(
      name: "Coverage", dependencies: ["UnitModel", "BoundedYAML", .product(name: "Yams", package: "Yams")],
      exclude: ["Baselines"], swiftSettings: strict, plugins: ["EmbedFiles"]),
    // Report view models, charts, CSV and JSON; HTML and Markdown through Mustache templates.
    .target(
      name: "Report",
      dependencies: ["Coverage", "UnitModel", .product(name: "Mustache", package: "swift-mustache")],
      swiftSettings: strict),
    // The report templates (Templates/*.mustache), compiled in by the EmbedFiles plugin.
    .target(
      name: "ReportTemplates", path: "Templates",
      exclude: ["report-screenshot.png", "report.html.mustache", "report.md.mustache", "release-notes.md.mustache"],
      swiftSettings: strict, plugins: ["EmbedFiles"]),
    // Threads for blocking work (libssh, child processes, SQLite, libpq), off Swift's
    // cooperative pool: a pool of them, and a serial executor on one.
    .target(name: "BlockingWork", swiftSettings: strict),
    // What a scan leaves on disk and what histories keep: the scan directory (database,
    // evidence, lock), histories in SQLite (Debian's libsqlite3-dev, through GRDB) or
    // PostgreSQL (libpq), export and merge.
    .target(
      name: "Storage",
      dependencies: [
        "UnitModel", "Inventory", "Coverage", "BlockingWork", "CZstd", "CLibPQ",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: strict),
    // OS trees and packages read offline, inert: the unit files as systemd would load them,
    // the tree's package database, and the evidence a scan records for them.
    .target(name: "Offline", dependencies: ["UnitModel", "Normalize", "BlockingWork"], swiftSettings: strict),
    // Transports (SSH, this machine) and the fan-out that probes hosts and records each in a
    // scan directory.
    .target(
      name: "Collector",
      dependencies: [
        "UnitModel", "Normalize", "Inventory", "SSH", "BlockingWork", "Storage", "Offline", "Coverage", "CZlib",
        "CDeflate", "CZstd",
      ],
      swiftSettings: strict),
    .executableTarget(
      name: "unitaudit",
      dependencies: [
        "UnitModel", "Normalize", "Collector", "Storage", "Inventory", "Coverage", "Report", "ReportTemplates", "BoundedYAML",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict, linkerSettings: releaseLinking, plugins: ["BuildInfo"]),
    // Data files compiled into the targets that ship them (baselines, templates): a tool that
    // writes them as Swift string literals, and the build plugin that runs it.
    .target(name: "ToolSupport", path: "Tools/ToolSupport", swiftSettings: strict),
    .executableTarget(
      name: "embed-files", dependencies: ["ToolSupport"], path: "Tools/embed-files", swiftSettings: strict),
    .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embed-files"]),
    .executableTarget(
      name: "generate-directives", dependencies: ["ToolSupport"], path: "Tools/generate-directives",
      swiftSettings: strict),
    .plugin(name: "GenerateDirectives", capability: .buildTool(), dependencies: ["generate-directives"]),
    // The version (VERSION) and git commit of a build, for `unitaudit --version`.
    .plugin(name: "BuildInfo", capability: .buildTool()),
    .testTarget(
      name: "NormalizeTests",
      dependencies: ["Normalize", "UnitModel", "Storage", "Coverage", "TestSupport"],
      resources: [.copy("Fixtures")], swiftSettings: strict),
    .testTarget(name: "UnitModelTests", dependencies: ["UnitModel", "TestSupport"], swiftSettings: strict),
    .testTarget(
      name: "CoverageTests", dependencies: ["Coverage", "UnitModel", "Storage", "TestSupport"],
      resources: [.copy("Fixtures")],
      swiftSettings: strict),
    .testTarget(
      name: "InventoryTests", dependencies: ["Inventory"], resources: [.copy("Fixtures")],
      swiftSettings: strict),
    // The offline benchmark (Benchmarks/run uses it): synthetic fleets, timed stages.
    .executableTarget(
      name: "unitaudit-bench",
      dependencies: ["Collector", "Storage", "Coverage", "Normalize", "Report", "ReportTemplates", "UnitModel"],
      path: "Benchmarks/OfflineBench", swiftSettings: strict, linkerSettings: releaseLinking),
    // Integration tests against real OpenSSH servers started on loopback.
    .testTarget(
      name: "SSHTests",
      dependencies: ["SSH", "Collector", "Storage", "Normalize", "UnitModel", "Inventory", "TestSupport"],
      swiftSettings: strict),
    // Helpers shared by the test targets that run programs.
    .target(
      name: "TestSupport", dependencies: ["BlockingWork", "Collector", "Storage"], path: "Tests/TestSupport", swiftSettings: strict),
    .testTarget(
      name: "ReportTests",
      dependencies: ["Report", "ReportTemplates", "Coverage", "UnitModel", "TestSupport"],
      exclude: ["Helpers"], swiftSettings: strict),
    // End to end against the booted systemd fleet (Scripts/fleet).
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["Storage", "Collector", "Coverage", "Normalize", "Offline", "UnitModel", "TestSupport"], swiftSettings: strict),
    // The fuzz targets (one per parser), under libFuzzer (unitaudit-fuzz, Scripts/fuzz) and as
    // quick mutation tests bounded in time (FuzzTests, UNITAUDIT_FUZZ_SECONDS).
    .target(
      name: "FuzzTargets", dependencies: ["Normalize", "Inventory", "Coverage", "Offline", "SSH", "UnitModel"],
      path: "Tests/FuzzTargets",
      swiftSettings: strict),
    .executableTarget(
      name: "unitaudit-fuzz", dependencies: ["FuzzTargets"], path: "Tests/FuzzDriver", swiftSettings: strict),
    .testTarget(
      name: "FuzzTests", dependencies: ["FuzzTargets", "Normalize", "UnitModel", "TestSupport"],
      exclude: ["Findings", "Seeds"],
      swiftSettings: strict),
    // The transports and fan-out: a real local scan, the probe script.
    .testTarget(
      name: "CollectorTests",
      dependencies: ["Collector", "Coverage", "Storage", "Normalize", "UnitModel", "Inventory", "TestSupport"],
      swiftSettings: strict),
    // Offline audits: trees and packages read inert, against crafted and hostile inputs.
    .testTarget(
      name: "OfflineTests",
      dependencies: ["Offline", "BlockingWork", "Collector", "Normalize", "UnitModel", "Inventory", "TestSupport"],
      swiftSettings: strict),
    // The scan directory, histories (SQLite, and PostgreSQL where UNITAUDIT_TEST_POSTGRES names
    // a server), merge and export.
    .testTarget(
      name: "StorageTests",
      dependencies: [
        "Storage", "BlockingWork", "Collector", "Coverage", "Normalize", "UnitModel", "Inventory", "TestSupport",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: strict),
  ],
  swiftLanguageModes: [.v6]
)
