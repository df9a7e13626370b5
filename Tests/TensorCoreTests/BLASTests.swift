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
