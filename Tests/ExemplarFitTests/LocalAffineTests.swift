import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Local affine upsampling")
struct LocalAffineTests {
    /// A full-resolution image with detail a 64-pixel copy cannot show.
    static func detailed(width: Int, height: Int) -> [Float] {
        var s = [Float]()
        for y in 0..<height {
            for x in 0..<width {
                let base = 0.3 + 0.3 * Float(x) / Float(width)
                let fine = 0.05 * Float((x * 7 + y * 13) % 5) - 0.1
                s += [base + fine, 0.5 - 0.2 * Float(y) / Float(height) + fine, 0.4 + 0.5 * fine]
            }
        }
        return s
    }

    @Test("A global colour transform fitted at 64 px is reproduced exactly at full resolution, fine detail included")
    func globalTransform() {
        let (w, h) = (300, 200)
        let full = Self.detailed(width: w, height: h)
        let small = Image(width: w, height: h, colorModel: .rgb, samples: full).resized(width: 64, height: 64)
            .floatSamples()
        func transform(_ p: [Float], _ i: Int) -> [Float] {
            let (r, g, b) = (p[i], p[i + 1], p[i + 2])
            return [0.8 * r + 0.1 * g + 0.05, 0.9 * g + 0.1 * b, 0.2 * r + 0.7 * b + 0.1]
        }
        let target = stride(from: 0, to: small.count, by: 3).flatMap { transform(small, $0) }
        let fit = LocalAffine.fit(guide: small, target: target, outputs: 3, width: 64, height: 64)
        let out = fit.apply(to: full, width: w, height: h, Compute(threads: 2))
        let expected = stride(from: 0, to: full.count, by: 3).flatMap { transform(full, $0) }
        let error = zip(out, expected).map { abs($0 - $1) }.max()!
        #expect(error < 2e-3, "max error \(error)")
    }

    @Test("The same result on 1 and 2 threads")
    func threads() {
        let full = Self.detailed(width: 97, height: 61)
        let small = Image(width: 97, height: 61, colorModel: .rgb, samples: full).resized(width: 64, height: 64)
            .floatSamples()
        let fit = LocalAffine.fit(guide: small, target: small.map { $0 * $0 }, outputs: 3, width: 64, height: 64)
        #expect(
            fit.apply(to: full, width: 97, height: 61, Compute(threads: 1))
                == fit.apply(to: full, width: 97, height: 61, Compute(threads: 2)))
    }
}
