import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Frame field")
struct FrameFieldTests {
    static func edited(_ fit: ExemplarFit, _ photo: Image, _ c: Compute) -> Image {
        Image(
            width: photo.width, height: photo.height, colorModel: .rgb,
            samples: fit.bands(of: photo, c)(0..<photo.height))
    }

    /// Golden from `python3 Training/export_field_golden.py`: Training/frame_field.py's fit (the
    /// numpy solve) and its field applied to a second photo.
    static let golden = Bundle.module.url(
        forResource: "frame-field", withExtension: "safetensors", subdirectory: "Goldens")!.path

    @Test("Fit, keep decision and field as numpy's", arguments: ["vignette", "graduated", "posterize"])
    func parity(_ name: String) throws {
        let io = try SafeTensorsFile(path: Self.golden)
        let before = try LearnedOperatorTests.pixels(io, "\(name).before")
        let after = try LearnedOperatorTests.pixels(io, "\(name).after").values
        let field = FrameField.fit(
            [
                LearnedOperator.Example(
                    before: before.values, fit: before.values, after: after, width: before.width, height: before.height)
            ], Compute(threads: 2))
        let kept = try io.tensor("\(name).kept").values[0] == 1
        #expect(field.isNone == !kept)
        guard kept else { return }
        let weights = try io.tensor("\(name).weights").values
        let scale = weights.map(abs).max()!
        let error = zip(field.weights, weights).map { abs($0 - $1) }.max()!
        #expect(error < 1e-3 * scale, "weights: max |Swift − numpy| \(error), |w|max \(scale)")
        let query = try LearnedOperatorTests.pixels(io, "\(name).query")
        let applied = field.apply(to: query.values, width: query.width, rows: 0..<query.height, of: query.height)
        let difference = zip(applied, try io.tensor("\(name).applied").values).map { abs($0 - $1) }.max()!
        #expect(difference < 1e-4, "applied: max |Swift − numpy| \(difference)")
    }

    @Test("A vignette is learned as a field, carried to other photos and sizes, and strength scales it")
    func vignetteTransfers() throws {
        let c = Compute(threads: 2)
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 120, height: 80)
        let fit = ExemplarFit.fit(try ExemplarPair(before: before, after: LearnedOperatorTests.vignette(before)), c)
        #expect(!fit.field.isNone)
        let query = try example("chelsea.png").converted(to: .rgb).resized(width: 150, height: 100)
        let truth = LearnedOperatorTests.vignette(query)
        var plain = fit
        (plain.field, plain.learned) = (.none, .none)
        let (learned, without) = (psnr(Self.edited(fit, query, c), truth), psnr(Self.edited(plain, query, c), truth))
        #expect(learned > without + 10 && learned > 35, "with the field \(learned) dB, without \(without) dB")
        // At any size: the field is a function of the position in the frame, not of pixels.
        let large = query.resized(width: 750, height: 500)
        let largeTruth = LearnedOperatorTests.vignette(large)
        #expect(psnr(Self.edited(fit, large, c), largeTruth) > psnr(Self.edited(plain, large, c), largeTruth) + 10)
        // Strength 0 is the photo, and 0.5 lies between.
        func scaled(_ weight: Double) -> ExemplarFit {
            var delta = ExemplarDeltaTests.sample()
            delta.fit = fit
            return delta.scaled(by: weight).fit
        }
        #expect(psnr(Self.edited(scaled(0), query, c), query) > 50)
        let half = Self.edited(scaled(0.5), query, c)
        let (toPhoto, toEdit) = (psnr(half, query), psnr(half, Self.edited(fit, query, c)))
        #expect(
            toPhoto < 40 && toEdit < 40 && abs(toPhoto - toEdit) < 6,
            "half: \(toPhoto) dB to the photo, \(toEdit) to the edit")
    }

    @Test("Several pairs of one vignette: one field, held out pair by pair, carried to a new photo")
    func severalPairs() throws {
        let c = Compute(threads: 2)
        let pairs = try [("coffee.png", 120, 80), ("astronaut.png", 96, 96)].map { name, w, h in
            let before = try example(name).converted(to: .rgb).resized(width: w, height: h)
            return try ExemplarPair(before: before, after: LearnedOperatorTests.vignette(before))
        }
        let fit = ExemplarFit.fit(pairs, c)
        #expect(!fit.field.isNone)
        let query = try example("rocket.jpg").converted(to: .rgb).resized(width: 150, height: 100)
        let truth = LearnedOperatorTests.vignette(query)
        #expect(psnr(Self.edited(fit, query, c), truth) > psnr(query, truth) + 10)
    }

    @Test("The colour step does not take a vignette as a change of colour")
    func colourStepLeftOut() throws {
        // A colour table fitted before the field can take a vignette's darker corners as "these
        // colours get darker", which other photos' colours do not share: the field alone is kept.
        let c = Compute(threads: 2)
        let before = try example("astronaut.png").converted(to: .rgb).resized(width: 128, height: 128)
        let fit = ExemplarFit.fit(try ExemplarPair(before: before, after: LearnedOperatorTests.vignette(before)), c)
        #expect(!fit.field.isNone && fit.colour == .none)
        let query = try example("rocket.jpg").converted(to: .rgb).resized(width: 120, height: 80)
        #expect(psnr(Self.edited(fit, query, c), LearnedOperatorTests.vignette(query)) > 35)
    }

    @Test("Nothing across the frame, no field: unedited, a colour grade, a posterisation, noise")
    func notKept() throws {
        let c = Compute(threads: 2)
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 120, height: 80)
        var random = SeededRandom(seed: 5)
        let noisy = Image(
            width: 120, height: 80, colorModel: .rgb,
            samples: before.floatSamples().map { min(1, max(0, $0 + 0.06 * random.nextGaussian())) })
        for after in [
            before, mapped(before) { $0 * 0.8 + 0.1 }, mapped(before) { ($0 * 3).rounded(.toNearestOrEven) / 3 }, noisy,
        ] {
            #expect(ExemplarFit.fit(try ExemplarPair(before: before, after: after), c).field.isNone)
        }
    }

    @Test("A spotlight on a plain backdrop is an exemplar, not two different photos")
    func plainBackdrop() throws {
        let (w, h) = (160, 120)
        var samples = [Float](repeating: 0, count: w * h * 3)
        var lit = samples
        for y in 0..<h {
            for x in 0..<w {
                let base = SIMD3<Float>(0.27, 0.36, 0.42) + Float(x) / Float(w) * 0.02
                let d = ((Double(x) - 100) * (Double(x) - 100) + (Double(y) - 60) * (Double(y) - 60)).squareRoot() / 120
                let weight = Float(1 - 0.75 * min(1, max(0, (d - 0.25) / 0.2)))
                for k in 0..<3 {
                    samples[(y * w + x) * 3 + k] = base[k]
                    lit[(y * w + x) * 3 + k] = base[k] * weight
                }
            }
        }
        let before = Image(width: w, height: h, colorModel: .rgb, samples: samples)
        let after = Image(width: w, height: h, colorModel: .rgb, samples: lit)
        // No structure in common, colours that predict nothing, an after spread like a photo's:
        // only the plain before tells it from two different photos.
        let measured = try #require(ExemplarPair.alignment(before, after))
        #expect(measured.best.score < 0.2 && measured.colour < 0.35 && measured.spread > 0.1)
        let fit = ExemplarFit.fit(try ExemplarPair(before: before, after: after), Compute(threads: 2))
        #expect(!fit.field.isNone)
    }

    @Test("Fitted alike on one thread and on two; combined weight by weight")
    func deterministicAndLinear() throws {
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 96, height: 64)
        let x = before.floatSamples()
        let example = LearnedOperator.Example(
            before: x, fit: x, after: LearnedOperatorTests.graduated(before).floatSamples(), width: 96, height: 64)
        let field = FrameField.fit([example], Compute(threads: 2))
        #expect(!field.isNone)
        let one = ExemplarFit.fit(
            try ExemplarPair(before: before, after: LearnedOperatorTests.graduated(before)), Compute(threads: 1))
        let two = ExemplarFit.fit(
            try ExemplarPair(before: before, after: LearnedOperatorTests.graduated(before)), Compute(threads: 2))
        #expect(one == two)
        let both = FrameField.combination([(field, 0.5), (field, 0.25)])
        #expect(both.weights == Delta.weightedSum([(field.weights, 0.5), (field.weights, 0.25)]))
        #expect(FrameField.combination([(field, 0)]).isNone)
    }
}
