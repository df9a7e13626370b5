import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Spatial filter fit")
struct SpatialFilterTests {
    static let photo: Image = try! example("coffee.png").converted(to: .rgb).resized(width: 300, height: 200)

    @Test(
        "A blur and a sharpen are recovered from an exemplar; colour edits and noise get no filter",
        arguments: [
            SpatialFilter(sigma: 0.01, k: 1), SpatialFilter(sigma: 0.006, k: -1.2),
        ])
    func recovers(_ truth: SpatialFilter) {
        let after = filtered(Self.photo, truth)
        let found = SpatialFilter.fit(Self.photo, after, Compute(threads: 2))
        #expect(
            abs(log(found.sigma / truth.sigma)) < 0.3 && abs(found.k - truth.k) < 0.25 * abs(truth.k), "found \(found)")
        // Applied to another photo at another size, it reproduces the edit there.
        let other = (try! example("chelsea.png")).converted(to: .rgb)
        let (transferred, identity) = (
            psnr(filtered(other, found), filtered(other, truth)), psnr(other, filtered(other, truth))
        )
        #expect(transferred > identity + 10, "PSNR \(transferred) dB, identity \(identity) dB")
    }

    @Test("No filter for a colour edit or grain")
    func none() {
        #expect(
            SpatialFilter.fit(
                Self.photo, mapped(Self.photo) { SIMD3($0.x * $0.x, $0.y, 1 - $0.z) }, Compute(threads: 2)) == .none)
        var random = SeededRandom(seed: 3)
        let noisy = Self.photo.floatSamples().map { min(1, max(0, $0 + 0.05 * random.nextGaussian())) }
        #expect(
            SpatialFilter.fit(
                Self.photo, Image(width: 300, height: 200, colorModel: .rgb, samples: noisy), Compute(threads: 2))
                == .none)
    }

    @Test(
        "The blur of large σ, run on the image halved, matches the exact kernel closely", arguments: [8.5, 12, 20, 40])
    func halvedBlur(_ sigma: Double) {
        let x = Self.photo.floatSamples()
        let c = Compute(threads: 2)
        let exact = SpatialFilter.gaussian(x, width: 300, height: 200, sigma: sigma, exactUpTo: .infinity, c)
        let fast = SpatialFilter.gaussian(x, width: 300, height: 200, sigma: sigma, c)
        let mse = zip(exact, fast).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
        let worst = zip(exact, fast).map { abs($0 - $1) }.max()!
        // Measured 0.11–0.19/255; the edges count too (σ = 40 reaches across the 200-px image).
        #expect(worst < 0.5 / 255, "largest difference \(worst * 255)/255")
        let identity = zip(exact, x).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
        #expect(mse < identity / 1000, "mean squared difference \(mse), against the unblurred photo's \(identity)")
    }
}
