import Foundation
import ImageCodecs
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Chroma gain: a saturation per hue")
struct ChromaGainTests {
    /// One hue band kept in colour, the rest greyed, as `keep_colour` in Training/edits.py, then
    /// rounded to 8 bits.
    static func keptColour(_ image: Image, center: Double, width: Double) -> Image {
        mapped(image) { v in
            let hsv = HueShift.hsv(Double(v.x), Double(v.y), Double(v.z))
            var d = hsv.x - center + 0.5
            d = d - d.rounded(.down) - 0.5
            let keep = Float(smoothstep(width, width / 2, abs(d)) * smoothstep(0.05, 0.2, hsv.y))
            let luma = lumaWeights.r * v.x + lumaWeights.g * v.y + lumaWeights.b * v.z
            let out = SIMD3(repeating: luma) + keep * (v - SIMD3(repeating: luma))
            return (out * 255).rounded(.toNearestOrEven) / 255
        }
    }

    @Test("Reds kept and the rest greyed on one photo: learned per hue and carried to another")
    func keepsRed() throws {
        let before = try ColourCurvesTests.photo("astronaut.png", width: 120, height: 120)
        let pair = try ExemplarPair(
            before: before, after: Self.keptColour(before, center: 0, width: 0.1))
        let fit = ExemplarFit.fit(pair, ColourCurvesTests.c)
        #expect(!fit.colour.chroma.isNone && fit.colour.table == .none && fit.colour.hue.isNone)
        let query = try ColourCurvesTests.photo("chelsea.png", width: 150, height: 100)
        let truth = Self.keptColour(query, center: 0, width: 0.1)
        let table = ColourCurvesTests.withTable(fit, pair)
        let (gain, lut, untouched) = (
            psnr(ColourCurvesTests.edited(fit, query), truth), psnr(ColourCurvesTests.edited(table, query), truth),
            psnr(query, truth)
        )
        #expect(gain > max(lut, untouched) + 6, "chroma gain \(gain) dB, table \(lut) dB, untouched \(untouched) dB")
    }

    @Test("Hues the exemplar lacks take its overall change: a pale exemplar's greying reaches strong colours")
    func unseenHues() {
        // Pale yellows (saturation under 0.2) greyed by half; a saturated blue and red the exemplar never showed.
        let (w, h) = (64, 48)
        var x: [Float] = []
        for p in 0..<(w * h) {
            let t = Float(p % w) / Float(w)
            x += [0.8 + 0.1 * t, 0.78 + 0.1 * t, 0.66 + 0.05 * t]
        }
        let luma = { (r: Float, g: Float, b: Float) in lumaWeights.r * r + lumaWeights.g * g + lumaWeights.b * b }
        let y = stride(from: 0, to: x.count, by: 3).flatMap { i -> [Float] in
            let l = luma(x[i], x[i + 1], x[i + 2])
            return (0..<3).map { k in l + 0.5 * (x[i + k] - l) }
        }
        let gain = ChromaGain.fit(x, y, Array(0..<(w * h)))
        let strong: [Float] = [0.1, 0.2, 0.9, 0.9, 0.1, 0.1]
        let out = gain.apply(to: strong, Compute(threads: 1))
        for i in [0, 3] {
            let l = luma(strong[i], strong[i + 1], strong[i + 2])
            for k in 0..<3 {
                let expected = l + 0.5 * (strong[i + k] - l)
                #expect(
                    abs(out[i + k] - expected) < 0.05,
                    "colour \(i / 3) channel \(k): \(out[i + k]), half-greyed \(expected)")
            }
        }
    }

    @Test("Strength scales the gain: none is the photo, half lies midway")
    func strength() throws {
        let before = try ColourCurvesTests.photo("astronaut.png", width: 96, height: 96)
        let step = ColourStep.fit(before, Self.keptColour(before, center: 0, width: 0.1))
        #expect(!step.chroma.isNone)
        let query = try ColourCurvesTests.photo("rocket.jpg", width: 90, height: 60).floatSamples()
        func at(_ weight: Double) -> [Float] {
            ColourStep(hue: .none, chroma: .combination([(step.chroma, weight)]), table: .none)
                .apply(to: query, Compute(threads: 2))
        }
        let none = zip(at(0), query).map { abs($0 - $1) }.max()!
        #expect(none < 0.5 / 255, "strength 0 moves the photo by \(none * 255) levels")
        let (half, whole) = (at(0.5), at(1))
        let off = zip(half, zip(query, whole)).map { abs($0 - ($1.0 + $1.1) / 2) }.max()!
        #expect(off < 1e-4, "half the gain is \(off * 255) levels off the midpoint")
        #expect(zip(whole, query).map { abs($0 - $1) }.max()! > 0.1, "the whole edit greys some colours")
    }
}
