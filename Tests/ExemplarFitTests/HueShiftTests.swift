import ImageCodecs
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

/// A one-colour edit, as `recolor` in Training/edits.py: hues within `width` of `center` (turns)
/// rotated by `shift`, fading out over the band's outer half and at low saturation.
private func recoloured(_ image: Image, center: Double, width: Double, shift: Double) -> Image {
    return mapped(image) { v in
        var hsv = HueShift.hsv(Double(v.x), Double(v.y), Double(v.z))
        var d = hsv.x - center + 0.5
        d = d - d.rounded(.down) - 0.5
        hsv.x += smoothstep(width, width / 2, abs(d)) * smoothstep(0.08, 0.25, hsv.y) * shift
        let rgb = HueShift.rgb(hsv)
        return SIMD3(Float(rgb.x), Float(rgb.y), Float(rgb.z))
    }
}

/// Every hue across the width, saturation 0.1…1 down the height, value 0.8.
private func wheel(width: Int = 180, height: Int = 40) -> Image {
    var s = [Float]()
    for y in 0..<height {
        for x in 0..<width {
            let rgb = HueShift.rgb(
                SIMD3((Double(x) + 0.5) / Double(width), 0.1 + 0.9 * Double(y) / Double(height - 1), 0.8))
            s += [Float(rgb.x), Float(rgb.y), Float(rgb.z)]
        }
    }
    return Image(width: width, height: height, colorModel: .rgb, samples: s)
}

@Suite("Hue shift: one-colour edits")
struct HueShiftTests {
    @Test("HSV round trip")
    func roundTrip() {
        for rgb in [
            SIMD3(0.9, 0.2, 0.1), SIMD3(0.1, 0.8, 0.3), SIMD3(0.2, 0.3, 0.95), SIMD3(0.5, 0.5, 0.5), SIMD3(1, 0, 1),
        ] {
            let back = HueShift.rgb(HueShift.hsv(rgb.x, rgb.y, rgb.z))
            let e = back - rgb
            #expect(max(abs(e.x), abs(e.y), abs(e.z)) < 1e-12, "\(rgb) → \(back)")
        }
    }

    @Test("Recolouring the reds transfers to other reds and leaves every other colour as it was")
    func transfersOneBand() {
        let before = example160()
        let (center, width, shift) = (0.02, 0.06, 0.3)
        let after = recoloured(before, center: center, width: width, shift: shift)
        let fit = ColourStep.fit(before, after)
        #expect(!fit.hue.isNone, "the hue shift is chosen for a one-colour edit")
        let query = wheel()
        let truth = recoloured(query, center: center, width: width, shift: shift)
        let out = fit.apply(to: query.floatSamples(), Compute(threads: 2))
        let x = query.floatSamples()
        let t = truth.floatSamples()
        // The table alone, as before the hue shift existed: its cells mix the band with its neighbours.
        let tableOnly = ColorLUT.apply(ColorLUT.fit(before, after), to: x, Compute(threads: 2))
        var (outside, outsideTable, inside, insideIdentity) = (Float(0), Float(0), 0.0, 0.0)
        for p in 0..<(query.width * query.height) {
            let hsv = HueShift.hsv(Double(x[3 * p]), Double(x[3 * p + 1]), Double(x[3 * p + 2]))
            var d = hsv.x - center + 0.5
            d = abs(d - d.rounded(.down) - 0.5)
            for c in 0..<3 {
                let i = 3 * p + c
                if d > width + 0.03 {
                    outside = max(outside, abs(out[i] - x[i]))
                    outsideTable = max(outsideTable, abs(tableOnly[i] - x[i]))
                } else if d < width / 2 && hsv.x < 0.06 && hsv.y > 0.3 {
                    // The band's core, in the hues the exemplar shows.
                    inside += Double((out[i] - t[i]) * (out[i] - t[i]))
                    insideIdentity += Double((x[i] - t[i]) * (x[i] - t[i]))
                }
            }
        }
        #expect(outside < 1.0 / 255, "colours outside the band moved by up to \(outside * 255)/255")
        #expect(outsideTable > 4 * max(outside, 1.0 / 255), "the table alone moves them by \(outsideTable * 255)/255")
        #expect(inside < insideIdentity / 5, "in the band: squared error \(inside), unedited \(insideIdentity)")
    }

    /// Every hue turned by `turn` (a fraction of the circle).
    static func turned(_ image: Image, by turn: Double = 0.2) -> Image {
        mapped(image) { v in
            var hsv = HueShift.hsv(Double(v.x), Double(v.y), Double(v.z))
            hsv.x += turn
            let rgb = HueShift.rgb(hsv)
            return SIMD3(Float(rgb.x), Float(rgb.y), Float(rgb.z))
        }
    }

    @Test("A turn of every hue shown on an exemplar of few hues turns the hues it lacks alike")
    func turnsEveryHue() {
        let before = example160()
        let turned = { (image: Image) in Self.turned(image) }
        let fit = ColourStep.fit(before, turned(before))
        #expect(!fit.hue.isNone)
        let query = wheel()
        let out = Image(
            width: query.width, height: query.height, colorModel: .rgb,
            samples: fit.apply(to: query.floatSamples(), Compute(threads: 2)))
        // Every hue of the wheel, most of which coffee.png lacks.
        #expect(psnr(out, turned(query)) > psnr(query, turned(query)) + 20)
        #expect(psnr(out, turned(query)) > 35, "\(psnr(out, turned(query))) dB")
    }

    @Test("Strength scales the turn: none is the photo, half of a turn of 0.2 is a turn of 0.1")
    func strength() {
        let before = example160()
        let fit = ColourStep.fit(before, Self.turned(before))
        #expect(!fit.hue.isNone)
        let query = wheel()
        func at(_ weight: Double) -> Image {
            let step = ColourStep(
                curves: .combination([(fit.curves, weight)]), hue: .combination([(fit.hue, weight)]),
                table: .combination([(fit.table, weight)]))
            return Image(
                width: query.width, height: query.height, colorModel: .rgb,
                samples: step.apply(to: query.floatSamples(), Compute(threads: 2)))
        }
        let none = zip(at(0).floatSamples(), query.floatSamples()).map { abs($0 - $1) }.max()!
        #expect(none < 0.5 / 255, "strength 0 moves the photo by \(none * 255) levels")
        let (half, truth) = (at(0.5), Self.turned(query, by: 0.1))
        #expect(psnr(half, truth) > 35, "\(psnr(half, truth)) dB")
        #expect(psnr(half, truth) > max(psnr(query, truth), psnr(at(1), truth)) + 10)
    }

    @Test("A global edit keeps no hue shift: a table where channels mix, tone curves where they do not")
    func globalEditKeepsTable() {
        let before = example160()
        func choice(_ after: Image) -> ColourStep.Choice {
            ColourStep.choice(before.floatSamples(), after.floatSamples(), width: before.width, height: before.height)
        }
        let perChannel = mapped(before) { v in SIMD3(0.9 * v.x + 0.05, v.y, 0.8 * v.z) }
        #expect(choice(perChannel) == .curves(.channel))
        #expect(ColourStep.fit(before, perChannel).hue.isNone)
        let saturated = mapped(before) { v in
            let l = lumaWeights.r * v.x + lumaWeights.g * v.y + lumaWeights.b * v.z
            return SIMD3(repeating: l) + 1.4 * (v - SIMD3(repeating: l))
        }
        #expect(choice(saturated) == .table)
        #expect(ColourStep.fit(before, saturated).hue.isNone)
    }

    private func example160() -> Image {
        (try! example("coffee.png")).converted(to: .rgb).resized(width: 160, height: 107)
    }
}
