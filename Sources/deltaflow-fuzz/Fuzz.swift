import Foundation
import FuzzTargets

#if FUZZING
    import CLibFuzzer
#endif

/// Built two ways. With `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run) it is a libFuzzer program:
/// `DELTAFLOW_FUZZ_TARGET=png deltaflow-fuzz [libFuzzer options] CORPUS…`. Built normally it
/// replays files, `deltaflow-fuzz TARGET FILE…`, to reproduce a crash under a debugger.
@main
struct FuzzDriver {
    static func main() {
        #if FUZZING
            fuzz()
        #else
            replay()
        #endif
    }

    private static func usage() -> Never {
        print("usage: deltaflow-fuzz {\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ","))} FILE…")
        exit(64)
    }

    private static func replay() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else { usage() }
        var broken = 0
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): unreadable")
                exit(66)
            }
            for violation in target.run([UInt8](data)) {
                print("\(path): \(violation)")
                broken += 1
            }
        }
        exit(broken == 0 ? 0 : 1)
    }

    #if FUZZING
        /// The target for the C callback, which cannot capture context.
        nonisolated(unsafe) static var target = FuzzTarget.workflow

        private static func fuzz() {
            let name = ProcessInfo.processInfo.environment["DELTAFLOW_FUZZ_TARGET"] ?? ""
            guard let chosen = FuzzTarget(rawValue: name) else {
                print(
                    "set DELTAFLOW_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))"
                )
                exit(64)
            }
            target = chosen
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(
                LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
                    if let violation = FuzzDriver.target.run(bytes).first {
                        fatalError("property broken: \(violation)")
                    }
                    return 0
                })
        }
    #endif
}
