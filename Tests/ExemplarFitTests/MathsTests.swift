import Foundation
import NodeKit
import Testing

@testable import ExemplarFit

@Suite("Shared maths: solvers, box sums, sampling")
struct MathsTests {
    /// Each window's sum by brute force, for any dimension.
    static func naiveBoxSum(_ values: [Double], shape: [Int], channels: Int, radius: Int) -> [Double] {
        let cells = shape.reduce(1, *)
        func index(_ cell: Int) -> [Int] {
            var rest = cell
            return shape.reversed().map { n in
                defer { rest /= n }
                return rest % n
            }.reversed()
        }
        var out = [Double](repeating: 0, count: values.count)
        for cell in 0..<cells {
            let here = index(cell)
            for other in 0..<cells where zip(here, index(other)).allSatisfy({ abs($0 - $1) <= radius }) {
                for j in 0..<channels { out[cell * channels + j] += values[other * channels + j] }
            }
        }
        return out
    }

    @Test(
        "Box sums match brute force in 1, 2 and 3 dimensions, clipped at the faces",
        arguments: [
            ([13], 2), ([7, 9], 1), ([5, 11], 3), ([4, 5, 6], 1),
        ])
    func boxSums(_ shape: [Int], _ radius: Int) {
        var random = SeededRandom(seed: 7)
        let channels = 2
        let values = (0..<(shape.reduce(1, *) * channels)).map { _ in Double(random.nextUnit()) - 0.5 }
        let sums = BoxSum(shape: shape, channels: channels, radius: radius)(values)
        for (a, b) in zip(sums, Self.naiveBoxSum(values, shape: shape, channels: channels, radius: radius)) {
            #expect(abs(a - b) < 1e-12)
        }
        // The mean divides by the window's cells: a constant stays itself, edges included.
        let ones = [Double](repeating: 3, count: values.count)
        #expect(
            BoxSum(shape: shape, channels: channels, radius: radius)(ones, mean: true).allSatisfy {
                abs($0 - 3) < 1e-12
            })
    }

    @Test("Cholesky solves a positive-definite system; the semidefinite factor keeps what it can")
    func cholesky() {
        // A = B·Bᵀ + I for a fixed B.
        let n = 5
        let b = (0..<(n * n)).map { Double(($0 * 7) % 11) / 11 - 0.4 }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                a[i * n + j] = (0..<n).reduce(i == j ? 1 : 0) { $0 + b[i * n + $1] * b[j * n + $1] }
            }
        }
        let x = (0..<n).map { Double($0) - 1.5 }
        let rhs = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] * x[$1] } }
        for (found, truth) in zip(Cholesky.solve(a, rhs, size: n), x) { #expect(abs(found - truth) < 1e-10) }
        let l = Cholesky.factor(a, size: n)
        for i in 0..<n {
            for j in 0..<n {
                let product = (0..<n).reduce(0.0) { $0 + l[i * n + $1] * l[j * n + $1] }
                #expect(abs(product - a[i * n + j]) < 1e-12)
            }
        }
        // Rank one with a negative direction: nothing drawn there, and no row beyond its variance.
        let odd = Cholesky.factor([1, 1, 0, 1, 1, 0, 0, 0, -1], size: 3, semidefinite: true)
        #expect(odd == [1, 0, 0, 1, 0, 0, 0, 0, 0])
    }

    @Test("A 3×3 inverse by cofactors")
    func inverse() {
        let m = Matrix3(rows: [SIMD3(2, 1, 0), SIMD3(0.5, 3, 1), SIMD3(-1, 0, 4)])
        let inverse = m.inverse.rows
        for i in 0..<3 {
            for j in 0..<3 {
                let product = (0..<3).reduce(0.0) { $0 + m.rows[i][$1] * inverse[$1][j] }
                #expect(abs(product - (i == j ? 1 : 0)) < 1e-12)
            }
        }
    }

    @Test("Half-pixel taps: centres line up, the ends clamp, and weight 1 lands on the upper sample")
    func halfPixel() {
        // 4 → 2: index 1 lands between the first two samples (0.25 of the way), index 3 past the last.
        #expect(
            HalfPixelTap.axis(4, to: 2) == [
                HalfPixelTap(0, numerator: 2, denominator: 4, count: 2),
                HalfPixelTap(1, numerator: 2, denominator: 4, count: 2),
                HalfPixelTap(2, numerator: 2, denominator: 4, count: 2),
                HalfPixelTap(3, numerator: 2, denominator: 4, count: 2),
            ])
        let taps = HalfPixelTap.axis(4, to: 2)
        #expect((taps[0].lower, taps[0].upper, taps[0].weight) == (0, 1, 0))
        #expect((taps[1].lower, taps[1].upper, taps[1].weight) == (0, 1, 0.25))
        #expect((taps[3].lower, taps[3].upper, taps[3].weight) == (0, 1, 1))
        // Doubling with a margin of 3 samples: pixel 0 sits a quarter before margin's first sample.
        let doubled = HalfPixelTap(0, numerator: 1, denominator: 2, offset: 3, count: 10)
        #expect((doubled.lower, doubled.upper, doubled.weight) == (2, 3, 0.75))
        let single = HalfPixelTap(5, numerator: 1, denominator: 8, count: 1)
        #expect((single.lower, single.upper, single.weight) == (0, 0, 0))
    }

    @Test("Gaussian taps: symmetric, 1 at the centre")
    func gaussian() {
        let taps = gaussianTaps(sigma: 1.5, radius: 4)
        #expect(taps.count == 9 && taps[4] == 1 && taps == Array(taps.reversed()))
        #expect(abs(taps[5] - exp(-1 / 4.5)) < 1e-15)
    }
}
