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
        "A blur, a sharpen (of the channels or of the luma), a median, a minimum and a maximum are recovered",
        arguments: [
            SpatialFilter(sigma: 0.01, k: 1), SpatialFilter(sigma: 0.006, k: -1.2),
            SpatialFilter(kind: .luma, reach: 0.012, k: -1.5),
            SpatialFilter(kind: .median, reach: 3.0 / 200, k: 1), SpatialFilter(kind: .minimum, reach: 2.0 / 200, k: 1),
            SpatialFilter(kind: .maximum, reach: 1.0 / 200, k: 0.7),
        ])
    func recovers(_ truth: SpatialFilter) {
        let after = filtered(Self.photo, truth)
        let found = SpatialFilter.fit(Self.photo, after, Compute(threads: 2))
        #expect(
            found.kind == truth.kind && abs(log(found.reach / truth.reach)) < 0.3
                && abs(found.k - truth.k) < 0.25 * abs(truth.k), "found \(found)")
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

    @Test("A rank filter is a sorted window's median, minimum or maximum, band by band", arguments: [1, 3, 13, 16])
    func rankFilters(_ radius: Int) {
        // Taller than the column histograms' 16-row runs, so runs start afresh mid-image.
        let (w, h) = (37, 150)
        var random = SeededRandom(seed: 11)
        // 8-bit values, as a photo's: the median's 1/1023 bins then hold one value each.
        let x = (0..<(3 * w * h)).map { _ in Float(Int(random.nextUnit() * 255)) / 255 }
        func windows(_ p: Int, _ k: Int) -> [Float] {
            var values: [Float] = []
            for dy in -radius...radius {
                for dx in -radius...radius {
                    let (px, py) = (min(w - 1, max(0, p % w + dx)), min(h - 1, max(0, p / w + dy)))
                    values.append(x[3 * (py * w + px) + k])
                }
            }
            return values.sorted()
        }
        let c = Compute(threads: 2)
        let image = Image(width: w, height: h, colorModel: .rgb, samples: x)
        for kind in [SpatialFilter.Kind.median, .minimum, .maximum] {
            let filter = SpatialFilter(kind: kind, reach: Double(radius) / Double(w), k: 1)
            let bands = filter.bands(of: image, c)
            let out = bands(0..<5) + bands(5..<97) + bands(97..<h)
            var worst: Float = 0
            for p in 0..<(w * h) {
                for k in 0..<3 {
                    let sorted = windows(p, k)
                    let truth = kind == .median ? sorted[sorted.count / 2] : kind == .minimum ? sorted[0] : sorted.last!
                    worst = max(worst, abs(out[3 * p + k] - truth))
                }
            }
            // The median's bins are 1/1023 wide: an 8-bit value lands within 0.5/1023 of its own.
            #expect(worst < (kind == .median ? 0.5 / 1023 : 0) + 1e-6, "\(kind): largest difference \(worst)")
        }
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
