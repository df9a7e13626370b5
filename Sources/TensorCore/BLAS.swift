import CBLAS
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// OpenBLAS, the only way TensorCore reaches `CBLAS`. Matrices are row-major `Float` buffers.
public enum BLAS {
    /// Threads OpenBLAS uses inside one call. ``Compute/run(_:)`` sets it to 1: the tensor core
    /// parallelises around GEMMs itself.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The kernels OpenBLAS chose when it loaded (its name for a CPU: "Haswell", "SkylakeX", …).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The kernels to ask for (by `OPENBLAS_CORETYPE`) where OpenBLAS fell back to its oldest,
    /// SSE3 ones ("Prescott") on a CPU it does not know (Debian 12's 0.3.21 on recent Xeons) but
    /// whose `cpuFlags` (as /proc/cpuinfo lists them) say it runs newer ones. Nil where the
    /// choice stands.
    public static func kernels(replacing coreName: String, cpuFlags: Set<String>) -> String? {
        guard coreName == "Prescott" else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// OpenBLAS chooses its kernels when it loads, before `main`: a program calls this first
    /// thing, and where ``kernels(replacing:cpuFlags:)`` names better ones it runs itself again,
    /// once, with `OPENBLAS_CORETYPE` set to them. A variable already set wins, so a user can name
    /// any kernels, or the fallback; a failed exec goes on with the kernels it has.
    public static func useFasterKernels() {
        #if os(Linux) && arch(x86_64)
            guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
                let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
                let colon = line.firstIndex(of: ":"),
                let kernels = kernels(
                    replacing: coreName,
                    cpuFlags: Set(line[line.index(after: colon)...].split(separator: " ").map(String.init)))
            else { return }
            setenv("OPENBLAS_CORETYPE", kernels, 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            unsetenv("OPENBLAS_CORETYPE")
        #endif
    }

    /// C = alpha · op(A) · op(B) + beta · C, with op(X) = Xᵀ when the flag is set.
    /// - Parameters:
    ///   - a: `m × k` (or `k × m` when `transposeA`), row-major.
    ///   - b: `k × n` (or `n × k` when `transposeB`), row-major.
    ///   - c: `m × n`, row-major; read only when `beta ≠ 0`.
    public static func gemm(
        m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Float>, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, transposeB: Bool = false,
        into c: UnsafeMutablePointer<Float>,
        alpha: Float = 1, beta: Float = 0
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must not be negative")
        gemm(
            m: m, n: n, k: k, a, lda: transposeA ? m : k, transposeA: transposeA,
            b, ldb: transposeB ? k : n, transposeB: transposeB,
            into: c, ldc: n, alpha: alpha, beta: beta)
    }

    /// The same product on sub-matrices: each operand's rows are `ld…` floats apart, which lets
    /// one head's slice of a `tokens × channels` matrix, or one group's columns, be used in place.
    public static func gemm(
        m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        into c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM dimensions must not be negative")
        guard m > 0 && n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched when k = 0 only if beta = 1; make the empty sum explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// x with `a · x = b`, `a` symmetric positive definite (`n × n`, row-major, both triangles
    /// filled), by LAPACK's Cholesky (`dposv`) on one OpenBLAS thread, so the same on any thread
    /// count; nil where `a` is not positive definite.
    public static func choleskySolve(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        precondition(a.count == n * n && b.count == n, "a must be n × n and b n long")
        guard n > 0 else { return [] }
        threadCount = 1
        // Row-major a is its own transpose, column-major: LAPACK reads it as it is.
        var (factor, solution, info) = (a, b, Int32(0))
        var (order, one) = (Int32(n), Int32(1))
        factor.withUnsafeMutableBufferPointer { factor in
            solution.withUnsafeMutableBufferPointer { solution in
                dposv_("L", &order, &one, factor.baseAddress, &order, solution.baseAddress, &order, &info, 1)
            }
        }
        return info == 0 ? solution : nil
    }

    /// The same product over Swift arrays; returns C.
    public static func gemm(
        m: Int, n: Int, k: Int, _ a: [Float], transposeA: Bool = false,
        _ b: [Float], transposeB: Bool = false
    ) -> [Float] {
        precondition(a.count == m * k && b.count == k * n, "operand sizes do not match m, n, k")
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    gemm(
                        m: m, n: n, k: k, pa.baseAddress!, transposeA: transposeA,
                        pb.baseAddress!, transposeB: transposeB, into: pc.baseAddress!)
                }
            }
        }
        return c
    }
}
