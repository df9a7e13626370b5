import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

/// Golden from `python3 Training/export_operator_golden.py`: Training/operator_fit.py's fit (the
/// numpy solve) and correction on five pairs made from Examples/coffee.png.
@Suite("Learned operator")
struct LearnedOperatorTests {
    static let golden = Bundle.module.url(
        forResource: "learned-operator", withExtension: "safetensors", subdirectory: "Goldens")!.path

    static func pixels(_ io: SafeTensorsFile, _ key: String) throws -> (values: [Float], width: Int, height: Int) {
        let t = try io.tensor(key)
        return (t.values, t.shape[1], t.shape[0])
    }

    @Test(
        "Fit, keep decision and correction as numpy's",
        arguments: ["vignette", "posterize", "median", "threshold", "grain"])
    func parity(_ name: String) throws {
        let io = try SafeTensorsFile(path: Self.golden)
        let before = try Self.pixels(io, "\(name).before")
        let after = try Self.pixels(io, "\(name).after").values
        let fitted = LearnedOperator.fit(
            before: before.values, fit: before.values, after: after, width: before.width, height: before.height,
            Compute(threads: 2))
        let kept = try io.tensor("\(name).kept").values[0] == 1
        #expect(fitted.isNone == !kept)
        guard kept else { return }
        // The blurs are summed in Float32 here and in Float64 there.
        for (key, swift) in [("low", fitted.low), ("high", fitted.high)] {
            let error = zip(swift, try io.tensor("\(name).\(key)").values).map { abs($0 - $1) }.max()!
            #expect(error < 1e-4, "\(key): max |Swift − numpy| \(error)")
        }
        let readout = try io.tensor("\(name).readout").values
        let scale = readout.map(abs).max()!
        let readoutError = zip(fitted.readout, readout).map { abs($0 - $1) }.max()!
        #expect(readoutError < 2e-3 * scale, "readout: max |Swift − numpy| \(readoutError), |β|max \(scale)")
        let query = try Self.pixels(io, "\(name).query")
        let correction = fitted.correction(
            photo: query.values, fit: query.values, width: query.width, height: query.height, Compute(threads: 2))
        let error = zip(correction, try io.tensor("\(name).correction").values).map { abs($0 - $1) }.max()!
        #expect(error < 2e-3, "correction: max |Swift − numpy| \(error)")
    }

    /// A vignette: position-dependent, so the colour step and the spatial filter cannot express it.
    static func vignette(_ image: Image) -> Image {
        let (w, h) = (image.width, image.height)
        var s = image.floatSamples()
        for y in 0..<h {
            for x in 0..<w {
                let (u, v) = ((Double(x) + 0.5) / Double(w) - 0.5, (Double(y) + 0.5) / Double(h) - 0.5)
                let t = min(1, max(0, (((u * u + v * v) / 0.5).squareRoot() - 0.3) / 0.6))
                let weight = Float(1 - 0.6 * t * t * (3 - 2 * t))
                for k in 0..<3 { s[(y * w + x) * 3 + k] *= weight }
            }
        }
        return Image(width: w, height: h, colorModel: .rgb, samples: s)
    }

    /// The top of the frame darkened, fading out by the middle.
    static func graduated(_ image: Image) -> Image {
        let (w, h) = (image.width, image.height)
        var s = image.floatSamples()
        for y in 0..<h {
            let weight = Float(1 - 0.5 * max(0, 1 - 2 * (Double(y) + 0.5) / Double(h)))
            for i in (y * w * 3)..<((y + 1) * w * 3) { s[i] *= weight }
        }
        return Image(width: w, height: h, colorModel: .rgb, samples: s)
    }

    @Test("Several pairs of one edit carry it to a new photo better than any one of them")
    func severalPairs() throws {
        let c = Compute(threads: 2)
        // A posterisation to 0, ½ and 1; the exemplars' values lie in 0…½, ½…1 and ¼…¾, so each
        // shows at most one of its steps well, and only the three together show both.
        func posterized(_ image: Image) -> Image { mapped(image) { ($0 * 2).rounded(.toNearestOrEven) / 2 } }
        let ranges: [(low: Float, high: Float)] = [(0, 0.5), (0.5, 1), (0.25, 0.75)]
        let exemplars = try zip(["coffee.png", "rocket.jpg", "chelsea.png"], ranges).map { name, range in
            mapped(try example(name).converted(to: .rgb).resized(width: 120, height: 80)) {
                (($0 * (range.high - range.low) + range.low) * 255).rounded(.toNearestOrEven) / 255
            }
        }
        let query = try example("astronaut.png").converted(to: .rgb).resized(width: 120, height: 80)
        let truth = posterized(query)
        func transferred(_ photos: [Image]) throws -> Double {
            let fit = ExemplarFit.fit(try photos.map { try ExemplarPair(before: $0, after: posterized($0)) }, c)
            return psnr(
                Image(
                    width: query.width, height: query.height, colorModel: .rgb,
                    samples: fit.bands(of: query, c)(0..<query.height)), truth)
        }
        let single = try exemplars.map { try transferred([$0]) }
        let all = try transferred(exemplars)
        #expect(all > single.max()! + 3, "three pairs \(all) dB, each alone \(single) dB")
    }

    @Test("Nothing to learn, nothing learned: an unedited pair and a colour grade keep no operator")
    func nothingToLearn() throws {
        let c = Compute(threads: 2)
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 120, height: 80)
        #expect(ExemplarFit.fit(try ExemplarPair(before: before, after: before), c).learned.isNone)
        #expect(
            ExemplarFit.fit(try ExemplarPair(before: before, after: mapped(before) { $0 * 0.8 + 0.1 }), c).learned
                .isNone)
    }

    @Test(
        "Kept only where it cuts the fit's held-out error by a fifth",
        arguments: [(explained: 0.3, kept: true), (explained: 0.16, kept: false)])
    func keepMargin(explained: Double, kept: Bool) {
        // Targets: a function of one input the readout draws exactly, plus noise nothing predicts,
        // scaled so the function is `explained` of their energy; held-out error ≈ 1 − explained.
        var random = SeededRandom(seed: 25)
        let (n, f) = (30_000, LearnedOperator.inputCount)
        let x = (0..<(n * f)).map { _ in 2 * random.nextUnit() - 1 }
        let (signal, noise) = (0.05 * explained.squareRoot(), 0.05 * (1 - explained).squareRoot())
        let targets = (0..<n).map { i in
            Float(signal * 3.squareRoot()) * x[i * f] + Float(noise) * random.nextGaussian()
        }
        let groups = (0..<n).map { $0 % 3 }
        let fitted = LearnedOperator.fit(samples: x, targets: targets, groups: groups, held: 2, Compute(threads: 2))
        #expect(fitted.isNone == !kept)
    }

    @Test("Fitted alike on one thread and on two")
    func threads() throws {
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 96, height: 64)
        let after = Self.vignette(before)
        let one = LearnedOperator.fit(
            before: before.floatSamples(), fit: before.floatSamples(), after: after.floatSamples(), width: 96,
            height: 64, Compute(threads: 1))
        let two = LearnedOperator.fit(
            before: before.floatSamples(), fit: before.floatSamples(), after: after.floatSamples(), width: 96,
            height: 64, Compute(threads: 2))
        #expect(one == two && !one.isNone)
        let query = try example("chelsea.png").converted(to: .rgb).resized(width: 90, height: 60).floatSamples()
        #expect(
            one.correction(photo: query, fit: query, width: 90, height: 60, Compute(threads: 1))
                == one.correction(photo: query, fit: query, width: 90, height: 60, Compute(threads: 2)))
    }

    @Test("Combined: the readouts' weighted sum within the union of the ranges")
    func combination() throws {
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 96, height: 64)
        let x = before.floatSamples()
        let c = Compute(threads: 2)
        let a = LearnedOperator.fit(
            before: x, fit: x, after: Self.vignette(before).floatSamples(), width: 96, height: 64, c)
        let b = LearnedOperator.fit(
            before: x, fit: x, after: Self.graduated(before).floatSamples(),
            width: 96, height: 64, c)
        #expect(!a.isNone && !b.isNone)
        let both = LearnedOperator.combination([(a, 0.5), (b, 0.25)])
        #expect(both.readout == Delta.weightedSum([(a.readout, 0.5), (b.readout, 0.25)]))
        #expect(
            both.low == zip(a.low, b.low).map { min($0, $1) } && both.high == zip(a.high, b.high).map { max($0, $1) })
        // One operator at 0.75: its correction, three quarters of it.
        let (full, part) = (
            a.correction(photo: x, fit: x, width: 96, height: 64, c),
            LearnedOperator.combination([(a, 0.5), (a, 0.25)]).correction(photo: x, fit: x, width: 96, height: 64, c)
        )
        let error = zip(full, part).map { abs(0.75 * $0 - $1) }.max()!
        #expect(error < 1e-5 && full.map(abs).max()! > 0.05)
        #expect(LearnedOperator.combination([(a, 0)]).isNone)
        #expect(LearnedOperator.combination([(a, 1)]) == a)
    }
}
