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
        "A blur, a sharpen (of the channels or of the luma), a median, a minimum, a maximum and a bilateral filter are recovered",
        arguments: [
            SpatialFilter(sigma: 0.01, k: 1), SpatialFilter(sigma: 0.006, k: -1.2),
            SpatialFilter(kind: .luma, reach: 0.012, k: -1.5),
            SpatialFilter(kind: .median, reach: 3.0 / 200, k: 1), SpatialFilter(kind: .minimum, reach: 2.0 / 200, k: 1),
            SpatialFilter(kind: .maximum, reach: 1.0 / 200, k: 0.7),
            SpatialFilter(kind: .bilateral, reach: 0.016, k: 1, spread: 0.1),
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

    @Test("A bilateral filter is each pixel's window weighted by distance and colour difference")
    func bilateral() {
        let (w, h, sigma, spread) = (23, 40, 2.3, 0.15)
        var random = SeededRandom(seed: 5)
        let x = (0..<(3 * w * h)).map { _ in random.nextUnit() }
        let image = Image(width: w, height: h, colorModel: .rgb, samples: x)
        let bands = SpatialFilter(kind: .bilateral, reach: sigma / Double(w), k: 1, spread: spread).bands(
            of: image, Compute(threads: 2))
        let out = bands(0..<7) + bands(7..<h)
        let r = Int((2 * sigma).rounded(.up))
        var worst: Double = 0
        for p in 0..<(w * h) {
            var (sum, total) = (SIMD3<Double>(), 0.0)
            for dy in -r...r {
                for dx in -r...r {
                    let q = min(h - 1, max(0, p / w + dy)) * w + min(w - 1, max(0, p % w + dx))
                    let d = (0..<3).map { Double(x[3 * q + $0] - x[3 * p + $0]) }
                    let weight =
                        exp(-Double(dx * dx + dy * dy) / (2 * sigma * sigma))
                        * exp(
                            -(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) / (2 * spread * spread))
                    sum += weight * SIMD3(Double(x[3 * q]), Double(x[3 * q + 1]), Double(x[3 * q + 2]))
                    total += weight
                }
            }
            for k in 0..<3 { worst = max(worst, abs(sum[k] / total - Double(out[3 * p + k]))) }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    @Test(
        "The bilateral filter of large σ, run on the image halved, comes back close to the exact one",
        arguments: [12.0, 24])
    func halvedBilateral(_ sigma: Double) {
        let photo = Self.photo
        let c = Compute(threads: 2)
        let filter = SpatialFilter(kind: .bilateral, reach: sigma / 200, k: 1, spread: 0.1)
        let fast = filter.apply(to: photo.floatSamples(), width: 300, height: 200, c)
        let exact = Bilateral.bands(RGBRows(photo), sigma: sigma, spread: 0.1, c)(0..<200)
        let x = photo.floatSamples()
        func mse(_ a: [Float], _ b: [Float]) -> Double {
            zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)
        }
        let (error, change) = (mse(fast, exact), mse(x, exact))
        // Measured 0.19 and 0.39 of the change: the halved image cannot hold the finest detail the
        // exact filter smooths, but the local transforms carry most of it.
        #expect(error < change / 2, "mean squared difference \(error), against the filter's change \(change)")
    }
}
