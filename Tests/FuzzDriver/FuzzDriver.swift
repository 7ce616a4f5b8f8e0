// unitaudit-fuzz: the fuzz targets (FuzzTargets) under libFuzzer.
//
//   Scripts/fuzz [SECONDS] [TARGET...]   builds it with libFuzzer and runs every target
//
// Built with `-Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING`, its entry hands libFuzzer the target
// named by UNITAUDIT_FUZZ_TARGET (LLVMFuzzerRunDriver):
//   UNITAUDIT_FUZZ_TARGET=cat unitaudit-fuzz [libFuzzer options] [CORPUS_DIR...]
// Built without (as `swift build` does), it replays files once, to check a crash or a corpus:
//   unitaudit-fuzz TARGET FILE...

import Foundation
import FuzzTargets

#if FUZZING
  /// The target, from UNITAUDIT_FUZZ_TARGET (libFuzzer owns the command line).
  let fuzzTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["UNITAUDIT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
      let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
      FileHandle.standardError.write(Data("set UNITAUDIT_FUZZ_TARGET to one of: \(names)\n".utf8))
      exit(2)
    }
    return target
  }()

  @_silgen_name("LLVMFuzzerRunDriver")
  func runFuzzer(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
  ) -> Int32

  /// The program's entry (SwiftPM makes `main` this symbol): hands the target to libFuzzer.
  @_cdecl("unitaudit_fuzz_main")
  public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runFuzzer(&count, &vector) { data, size in
      fuzzTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
      return 0
    }
  }
#else
  @main
  struct Replay {
    static func main() {
      let arguments = CommandLine.arguments
      guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("usage: unitaudit-fuzz TARGET FILE...\ntargets: \(names)\n".utf8))
        exit(2)
      }
      for path in arguments.dropFirst(2) {
        guard let data = FileManager.default.contents(atPath: path) else {
          FileHandle.standardError.write(Data("unitaudit-fuzz: cannot read \(path)\n".utf8))
          exit(2)
        }
        target.run(Array(data))
      }
      print("\(target.rawValue): \(arguments.count - 2) inputs ran without a crash")
    }
  }
#endif
