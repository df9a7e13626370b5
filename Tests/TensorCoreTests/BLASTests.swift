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
}
