import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Grain: measured on the exemplar, drawn anew")
struct GrainTests {
    @Test(
        "8-bit exemplars with grain of a size: σ and size read back (medians of whole levels had misread them by up to 3.5×)",
        arguments: [(0.0, 0.03), (0.7, 0.02), (1.0, 0.02), (1.0, 0.06), (1.5, 0.04), (2.0, 0.06)])
    func grainOfASize(_ size: Double, _ sigma: Double) throws {
        let exemplar = try example("chelsea.png").converted(to: .rgb).converted(to: .uint8)
        let (w, h) = (exemplar.width, exemplar.height)
        let before = exemplar.floatSamples()
        let after = grained(exemplar, sigma: sigma, kernel: Grain.kernel(size: size), seed: 9)
        let grain = Grain.fit(before: before, after: after.floatSamples(), predicted: before, width: w, height: h)
        let measured = grain.covariance[0].squareRoot()
        #expect(abs(measured - sigma) < 0.05 * sigma, "σ \(measured), drawn with \(sigma) at size \(size)")
        #expect(abs(grain.size - size) < 0.1, "size \(grain.size), drawn at \(size)")
    }

    @Test(
        "Drawn grain has the covariance and neighbour correlation of its size, whatever the bands",
        arguments: [0.0, 1.0, 2.0])
    func drawnGrain(_ size: Double) {
        let (w, h) = (300, 200)
        let k = Grain.kernel(size: size)
        var a1 = 0.0
        for j in 0..<(k.count - 1) { a1 += k[j] * k[j + 1] }
        let grain = Grain(
            covariance: [4, 0, 0, 0, 1, 0, 0, 0, 2].map { $0 * 1e-4 },
            neighbours: [4, 0, 0, 0, 1, 0, 0, 0, 2].map { $0 * 1e-4 * a1 })
        var drawn = [Float](repeating: 0.5, count: w * h * 3)
        grain.sample(&drawn, width: w, height: h, seed: 4, Compute(threads: 2))
        for band in [1, 7, 1000] {
            var other = [Float](repeating: 0.5, count: w * h * 3)
            grain.sample(&other, width: w, height: h, seed: 4, band: band, Compute(threads: band == 7 ? 1 : 2))
            #expect(other == drawn, "bands of \(band) rows draw differently")
        }
        for channel in 0..<3 {
            let v = (0..<(w * h)).map { Double(drawn[$0 * 3 + channel]) - 0.5 }
            let variance = v.map { $0 * $0 }.reduce(0, +) / Double(v.count)
            let expected = [4e-4, 1e-4, 2e-4][channel]
            #expect(
                abs(variance - expected) < 0.1 * expected,
                "channel \(channel): variance \(variance), expected \(expected)")
            var across = 0.0
            var down = 0.0
            for y in 0..<(h - 1) {
                for x in 0..<(w - 1) {
                    across += v[y * w + x] * v[y * w + x + 1]
                    down += v[y * w + x] * v[(y + 1) * w + x]
                }
            }
            let pairs = Double((w - 1) * (h - 1))
            #expect(
                abs(across / pairs / variance - a1) < 0.05 && abs(down / pairs / variance - a1) < 0.05,
                "neighbours correlate \(across / pairs / variance) across, \(down / pairs / variance) down; a₁ \(a1)")
        }
    }

    @Test(
        "The grain's size is read back from its statistics for every size on the grid",
        arguments: [0.0, 0.5, 1.0, 1.7, 2.5])
    func grainSize(_ size: Double) {
        let k = Grain.kernel(size: size)
        #expect(abs(k.map { $0 * $0 }.reduce(0, +) - 1) < 1e-12, "unit energy")
        let ratio = (1 - Grain.lag(k, 1)) / (1 - Grain.lag(k, 2))
        #expect(abs(Grain.size(differenceRatio: ratio) - size) < 1e-9)
        #expect(abs(Grain.size(neighbourCorrelation: Grain.lag(k, 1)) - size) < 1e-9)
        let grain = Grain(
            covariance: [1, 0, 0, 0, 2, 0, 0, 0, 1].map { $0 * 1e-3 },
            neighbours: [1, 0, 0, 0, 2, 0, 0, 0, 1].map { $0 * 1e-3 * Grain.lag(k, 1) })
        #expect(abs(grain.size - size) < 1e-9)
        // White noise keeps 24/25 of its variance through the 5×5 high-pass.
        if size == 0 { #expect(abs(Grain.highPassShare(k) - 0.96) < 1e-12) }
    }

    @Test("Quickselect finds the sorted array's element, ties and all")
    func nthSmallest() {
        var random = SeededRandom(seed: 3)
        for count in [1, 2, 7, 100, 1001] {
            let values = (0..<count).map { _ in Double(Int(random.nextUnit() * 10)) / 10 }  // many ties
            let sorted = values.sorted()
            for n in Set([0, count / 2, (count - 1) / 2, count - 1]) {
                #expect(Grain.nthSmallest(values, n) == sorted[n])
            }
        }
    }

    @Test("The grain is read from the pair's centre, at most 1024 px a side (as edit_data.grain_centre)")
    func grainCentre() {
        let (w, h) = (1030, 1027)
        let samples: [Float] = (0..<(w * h)).flatMap { p -> [Float] in [Float(p % w), Float(p / w), 0] }
        let (crop, cw, ch) = Grain.centre(samples, width: w, height: h)
        #expect(cw == 1024 && ch == 1024 && crop.count == 1024 * 1024 * 3)
        #expect(crop[0] == 3 && crop[1] == 1, "first pixel at (3, 1): (w − 1024) / 2, (h − 1024) / 2")
        #expect(crop[(1024 * 1024 - 1) * 3] == 1026 && crop[(1024 * 1024 - 1) * 3 + 1] == 1024)
        let small = [Float](repeating: 0.5, count: 30 * 20 * 3)
        #expect(Grain.centre(small, width: 30, height: 20) == (small, 30, 20))
    }

    @Test(
        "The grain's colour: monochrome, colour noise, and a negative weight in delta_combine draw what the covariance allows"
    )
    func grainCholesky() {
        let s2 = 0.0016
        let mono = Grain.cholesky(Array(repeating: s2, count: 9))
        #expect(abs(mono[0] - 0.04) < 1e-12 && abs(mono[3] - 0.04) < 1e-12 && abs(mono[6] - 0.04) < 1e-12)
        #expect(abs(mono[4]) < 1e-9 && abs(mono[7]) < 1e-9 && abs(mono[8]) < 1e-9)
        let colour = Grain.cholesky([s2, 0, 0, 0, 4 * s2, 0, 0, 0, s2])
        #expect(colour == [0.04, 0, 0, 0, 0.08, 0, 0, 0, 0.04])
        // Not positive (robust estimates, or −1 × a grain): no channel's draw exceeds its variance.
        let odd = Grain.cholesky([s2, 2 * s2, 0, 2 * s2, s2, 0, 0, 0, -s2])
        for row in 0..<3 {
            let v = (0..<3).map { odd[row * 3 + $0] * odd[row * 3 + $0] }.reduce(0, +)
            #expect(v <= max(0, [s2, s2, -s2][row]) + 1e-12)
        }
    }
}
