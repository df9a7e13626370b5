import Foundation
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

/// OpenBLAS chooses its kernels by CPU model when it loads, before `main`: on a CPU newer than
/// the library it falls back to SSE3 ones. There deltaflow runs itself again, once, with
/// `OPENBLAS_CORETYPE` naming the kernels the CPU's flags allow (``BLAS/kernels(replacing:cpuFlags:)``).
/// An `OPENBLAS_CORETYPE` already set wins, so a user can name any kernels, or the fallback.
enum BLASKernels {
    static func chooseFaster() {
        #if os(Linux) && arch(x86_64)
            guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
                let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
                let colon = line.firstIndex(of: ":"),
                let kernels = BLAS.kernels(
                    replacing: BLAS.coreName,
                    cpuFlags: Set(line[line.index(after: colon)...].split(separator: " ").map(String.init)))
            else { return }
            setenv("OPENBLAS_CORETYPE", kernels, 1)
            // Returns only if it failed: the run goes on with the kernels it has.
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}
