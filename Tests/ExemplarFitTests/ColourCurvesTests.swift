import Foundation
import ImageCodecs
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Tone curves")
struct ColourCurvesTests {
    static let c = Compute(threads: 2)

    /// `fit` applied to `query`, a band of rows at a time as `adapter_edit` applies it.
    static func edited(_ fit: ExemplarFit, _ query: Image) -> Image {
        Image(
            width: query.width, height: query.height, colorModel: .rgb,
            samples: fit.bands(of: query, c)(0..<query.height))
    }

    /// The fit with its colour step a table (the colour step before tone curves), for comparison.
    static func withTable(_ fit: ExemplarFit, _ pair: ExemplarPair) -> ExemplarFit {
        var fit = fit
        let before = pair.before.floatSamples()
        fit.colour = ColourStep(
            hue: .none,
            table: ColorTable(
                offsets: ColorLUT.fit(
                    before, pair.after.floatSamples(),
                    halves: HeldOut.halves(width: pair.before.width, height: pair.before.height))))
        return fit
    }

    /// Exemplar and query as 8-bit photos are.
    static func photo(_ name: String, width: Int, height: Int) throws -> Image {
        let image = try example(name).converted(to: .rgb).resized(width: width, height: height)
        return mapped(image) { ($0 * 255).rounded(.toNearestOrEven) / 255 }
    }

    @Test("A posterisation is learned as a curve per channel and carried to another photo")
    func posterize() throws {
        func posterized(_ image: Image) -> Image { mapped(image) { ($0 * 3).rounded(.toNearestOrEven) / 3 } }
        let before = try Self.photo("coffee.png", width: 120, height: 80)
        let pair = try ExemplarPair(before: before, after: posterized(before))
        let fit = ExemplarFit.fit(pair, Self.c)
        #expect(fit.colour.curves.channel.contains { $0 != 0 } && fit.colour.curves.mix == 0)
        #expect(fit.colour.table == .none && fit.colour.hue.isNone && fit.learned.isNone)
        let query = try Self.photo("chelsea.png", width: 150, height: 100)
        let truth = posterized(query)
        let (curves, table, untouched) = (
            psnr(Self.edited(fit, query), truth), psnr(Self.edited(Self.withTable(fit, pair), query), truth),
            psnr(query, truth)
        )
        #expect(curves > 40, "tone curves \(curves) dB")
        #expect(
            curves > max(table, untouched) + 10, "curves \(curves) dB, table \(table) dB, untouched \(untouched) dB")
    }

    @Test("Black and white: curves of the luma tie the table by place, colours held out keep the table")
    func blackAndWhite() throws {
        func grey(_ image: Image) -> Image {
            var s = image.floatSamples()
            for p in 0..<(s.count / 3) {
                let luma = 0.299 * s[3 * p] + 0.587 * s[3 * p + 1] + 0.114 * s[3 * p + 2]
                for k in 0..<3 { s[3 * p + k] += 0.9 * (luma - s[3 * p + k]) }
            }
            return mapped(Image(width: image.width, height: image.height, colorModel: .rgb, samples: s)) {
                ($0 * 255).rounded(.toNearestOrEven) / 255
            }
        }
        let before = try Self.photo("coffee.png", width: 160, height: 107)
        let pair = try ExemplarPair(before: before, after: grey(before))
        let fit = ExemplarFit.fit(pair, Self.c)
        #expect(fit.colour.table != .none && fit.colour.curves == .none)
        // What place alone chose: curves of the luma. On another photo the table is the better guess.
        var luma = fit
        let (x, y) = (pair.before.floatSamples(), pair.after.floatSamples())
        luma.colour = ColourStep(
            curves: ColourCurves.fit(x, y, Array(0..<(x.count / 3)), input: .luma), hue: .none, table: .none)
        let query = try Self.photo("chelsea.png", width: 150, height: 100)
        let truth = grey(query)
        let (table, curves) = (psnr(Self.edited(fit, query), truth), psnr(Self.edited(luma, query), truth))
        #expect(table > 40 && table > curves, "table \(table) dB, curves of the luma \(curves) dB")
        // A colour split needs colours: none for one flat colour.
        #expect(HeldOut.colourHalves(x) != nil)
        #expect(HeldOut.colourHalves([Float](repeating: 0.4, count: 300)) == nil)
    }

    @Test("A threshold of the luma is learned as curves of the luma and carried to another photo")
    func threshold() throws {
        // Two colours split by the luma: each output channel a step of the luma alone.
        func duotone(_ image: Image) -> Image {
            mapped(image) { v in
                let light = lumaWeights.r * v.x + lumaWeights.g * v.y + lumaWeights.b * v.z > 0.45
                return light ? SIMD3(0.95, 0.9, 0.7) : SIMD3(0.1, 0.05, 0.2)
            }
        }
        let before = try Self.photo("astronaut.png", width: 120, height: 120)
        let pair = try ExemplarPair(before: before, after: duotone(before))
        let fit = ExemplarFit.fit(pair, Self.c)
        #expect(abs(fit.colour.curves.mix - 1) < 0.02, "pull toward the luma \(fit.colour.curves.mix)")
        #expect(fit.colour.curves.channel.allSatisfy { $0 == 0 } && fit.colour.table == .none)
        let query = try Self.photo("rocket.jpg", width: 150, height: 100)
        let truth = duotone(query)
        let (curves, table, untouched) = (
            psnr(Self.edited(fit, query), truth), psnr(Self.edited(Self.withTable(fit, pair), query), truth),
            psnr(query, truth)
        )
        #expect(curves > max(table, untouched) + 6, "curves \(curves) dB, table \(table) dB, untouched \(untouched) dB")
    }

    @Test("Beyond the exemplar's range a curve goes on with its slope")
    func extrapolates() throws {
        // The exemplar's values lie in 0…0.5; the query's reach 1, where the gain clips.
        let dark = mapped(try Self.photo("coffee.png", width: 120, height: 80)) {
            ($0 * 127).rounded(.toNearestOrEven) / 255
        }
        func brightened(_ image: Image) -> Image {
            mapped(image) { ($0 * Float(1.5)).replacing(with: 1, where: $0 .> Float(2) / 3) }
        }
        let fit = ExemplarFit.fit(try ExemplarPair(before: dark, after: brightened(dark)), Self.c)
        let query = try Self.photo("chelsea.png", width: 150, height: 100)
        let truth = brightened(query)
        let out = Self.edited(fit, query)
        #expect(fit.colour.curves.channel.contains { $0 != 0 })
        #expect(psnr(out, truth) > 40, "\(psnr(out, truth)) dB, untouched \(psnr(query, truth)) dB")
    }

    @Test("A gain seen over part of the range goes on beyond it on the line of its whole range")
    func gainBeyondRange() throws {
        // Each channel's gain, rounded to 8 bits: every seen bin is exact, but its rounding, carried
        // from the last bin on the slope of the last tenth, is a level off far beyond the range.
        func gained(_ image: Image) -> Image {
            mapped(image) { v in (v * SIMD3(1.12, 0.97, 0.88) * 255).rounded(.toNearestOrEven) / 255 }
        }
        let middle = mapped(try Self.photo("coffee.png", width: 120, height: 80)) {
            ((0.3 + 0.4 * $0) * 255).rounded(.toNearestOrEven) / 255
        }
        let fit = ExemplarFit.fit(try ExemplarPair(before: middle, after: gained(middle)), Self.c)
        #expect(fit.colour.curves.channel.contains { $0 != 0 })
        let query = try Self.photo("chelsea.png", width: 150, height: 100)
        let (out, truth) = (Self.edited(fit, query).floatSamples(), gained(query).floatSamples())
        // The gain itself is within half a level of its rounded truth everywhere.
        let off = zip(out, truth).filter { abs($0 - $1) > 0.55 / 255 }.count
        #expect(Double(off) < 0.01 * Double(out.count), "\(off) of \(out.count) samples more than half a level off")
    }

    @Test("An edit of texture is not learned as a tone curve: a flat tone stays as it was")
    func flatTone() throws {
        // Clarity: the luma's detail amplified, most in the midtones. A bright exemplar's darkest
        // pixels are its edges, darkened by the edit; a flat photo of their tone is not changed.
        func clarity(_ image: Image) -> Image {
            let (w, h) = (image.width, image.height)
            let x = image.floatSamples()
            let blurred = SpatialFilter.gaussian(x, width: w, height: h, sigma: 0.015 * Double(min(w, h)), Self.c)
            var out = x
            for p in 0..<(w * h) {
                let y = ColourCurves.lumaOf(x[3 * p], x[3 * p + 1], x[3 * p + 2])
                let detail = y - ColourCurves.lumaOf(blurred[3 * p], blurred[3 * p + 1], blurred[3 * p + 2])
                for k in 0..<3 { out[3 * p + k] = min(1, max(0, x[3 * p + k] + 0.8 * 4 * y * (1 - y) * detail)) }
            }
            return mapped(Image(width: w, height: h, colorModel: .rgb, samples: out)) {
                ($0 * 255).rounded(.toNearestOrEven) / 255
            }
        }
        let bright = mapped(try Self.photo("coffee.png", width: 160, height: 160)) {
            (($0 * 0.45 + 0.5) * 255).rounded(.toNearestOrEven) / 255
        }
        let fit = ExemplarFit.fit(try ExemplarPair(before: bright, after: clarity(bright)), Self.c)
        // A tone inside the exemplar's range that it shows mostly at edges: a curve read off them
        // moves it by over a level.
        let flat = Image(
            width: 64, height: 64, colorModel: .rgb,
            samples: (0..<(64 * 64 * 3)).map { Float([160, 162, 164][$0 % 3]) / 255 })
        let out = Self.edited(fit, flat).floatSamples()
        let worst = zip(out, flat.floatSamples()).map { abs($0 - $1) * 255 }.max()!
        #expect(worst < 0.75, "a flat tone moved by \(worst) levels")
    }

    @Test("Strength scales the curves: half of a luma threshold is half-way from the photo")
    func strength() throws {
        let before = try Self.photo("astronaut.png", width: 96, height: 96)
        let after = mapped(before) { v in
            lumaWeights.r * v.x + lumaWeights.g * v.y + lumaWeights.b * v.z > 0.5
                ? SIMD3(0.9, 0.8, 0.6) : SIMD3(0.2, 0.1, 0.3)
        }
        let curves = ExemplarFit.fit(try ExemplarPair(before: before, after: after), Self.c).colour.curves
        #expect(curves.mix > 0.9)
        let photo = try Self.photo("coffee.png", width: 60, height: 40).floatSamples()
        let full = curves.apply(to: photo, Self.c)
        let half = ColourCurves.combination([(curves, 0.5)]).apply(to: photo, Self.c)
        let error = zip(half, zip(photo, full)).map { abs($0 - ($1.0 + $1.1) / 2) }.max()!
        #expect(error < 1e-5, "half strength differs from the blend by \(error)")
        #expect(ColourCurves.combination([(curves, 0)]).apply(to: photo, Self.c) == photo)
    }
}
