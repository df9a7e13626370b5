import Testing

@testable import TensorCore

/// Reference product by the definition, in Double.
private func naiveProduct(m: Int, n: Int, k: Int, _ a: [Float], transposeA: Bool, _ b: [Float], transposeB: Bool)
    -> [Float]
{
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p * m + i] : a[i * k + p]
                let y = transposeB ? b[j * k + p] : b[p * n + j]
                sum += Double(x) * Double(y)
            }
            c[i * n + j] = Float(sum)
        }
    }
    return c
}

@Suite("BLAS")
struct BLASTests {
    @Test(
        "sgemm matches the definition for every transpose combination",
        arguments: [false, true], [false, true])
    func gemm(transposeA: Bool, transposeB: Bool) {
        let (m, n, k) = (7, 5, 11)
        let a = (0..<m * k).map { Float(($0 * 37) % 19) / 19 - 0.5 }
        let b = (0..<k * n).map { Float(($0 * 53) % 23) / 23 - 0.5 }
        let fast = BLAS.gemm(m: m, n: n, k: k, a, transposeA: transposeA, b, transposeB: transposeB)
        let slow = naiveProduct(m: m, n: n, k: k, a, transposeA: transposeA, b, transposeB: transposeB)
        #expect(zip(fast, slow).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("LAPACK's Cholesky solve: exact on a small system, A·x = b on a wide one, nil if not positive")
    func choleskySolve() throws {
        #expect(BLAS.choleskySolve([4, 2, 2, 3], [2, 1], size: 2) == [0.5, 0])
        // A = MᵀM + I, 300 wide as the frame field's normal equations are, with x known.
        let n = 300
        let m = (0..<(n * n)).map { Double(($0 * 7919) % 1009) / 1009 - 0.5 }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n { for k in 0..<n { a[i * n + j] += m[k * n + i] * m[k * n + j] } }
            a[i * n + i] += 1
        }
        let x = (0..<n).map { Double($0 % 13) - 6 }
        let b = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] * x[$1] } }
        let solved = try #require(BLAS.choleskySolve(a, b, size: n))
        #expect(zip(solved, x).map { abs($0 - $1) }.max()! < 1e-8)
        #expect(BLAS.choleskySolve([1, 0, 0, -1], [1, 1], size: 2) == nil)
        #expect(BLAS.choleskySolve([1, 2, 2, 1], [1, 1], size: 2) == nil)
    }

    @Test("The thread count can be capped and restored")
    func threads() {
        let original = BLAS.threadCount
        BLAS.threadCount = 1
        #expect(BLAS.threadCount == 1)
        BLAS.threadCount = original
        #expect(BLAS.threadCount == original)
    }

    @Test("OpenBLAS's SSE3 fallback is replaced by the kernels the CPU's flags allow, and nothing else")
    func kernelChoice() {
        let avx512: Set = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        #expect(BLAS.kernels(replacing: "Prescott", cpuFlags: avx512) == "SkylakeX")
        #expect(BLAS.kernels(replacing: "Prescott", cpuFlags: ["sse3", "avx", "avx2", "fma"]) == "Haswell")
        // AVX-512 without every part SkylakeX's kernels use (Knights Landing has no BW, DQ or VL).
        #expect(BLAS.kernels(replacing: "Prescott", cpuFlags: ["avx2", "fma", "avx512f", "avx512cd"]) == "Haswell")
        #expect(BLAS.kernels(replacing: "Prescott", cpuFlags: ["sse3", "avx"]) == nil)
        #expect(BLAS.kernels(replacing: "Cooperlake", cpuFlags: avx512) == nil)
        #expect(BLAS.kernels(replacing: "Haswell", cpuFlags: avx512) == nil)
        #expect(!BLAS.coreName.isEmpty)
    }
}
