import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("Colour lookup table")
struct ColorLUTTests {
    static func lutApplied(_ lut: [Float], _ photo: Image) -> Image {
        Image(
            width: photo.width, height: photo.height, colorModel: .rgb,
            samples: ColorLUT.apply(lut, to: photo.floatSamples(), Compute(threads: 2)))
    }

    @Test("Fitted on one photo's curve, it applies the curve to another photo; an unedited pair gives the identity")
    func curve() throws {
        let before = try example("coffee.png").resized(width: 256, height: 171)
        let curve: (SIMD3<Float>) -> SIMD3<Float> = { SIMD3($0.x * $0.x, $0.y.squareRoot(), 0.2 + 0.6 * $0.z) }
        let after = mapped(before, curve)
        let lut = ColorLUT.fit(before, after)
        let photo = try example("astronaut.png").converted(to: .rgb)
        let (fitted, identity) = (
            psnr(Self.lutApplied(lut, photo), mapped(photo, curve)), psnr(photo, mapped(photo, curve))
        )
        #expect(fitted > identity + 15, "PSNR \(fitted) dB, identity \(identity) dB")
        let same = ColorLUT.fit(before, before)
        #expect(same.map(abs).max()! < 1e-5)
    }

    @Test(
        "Per-channel curves are chosen for a gamma edit and carry it to colours the exemplar lacks; the affine prior for a saturation edit"
    )
    func priorChoice() throws {
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 256, height: 171)
        let x = before.floatSamples()
        let gamma: (SIMD3<Float>) -> SIMD3<Float> = { SIMD3(pow($0.x, 1.8), pow($0.y, 1.8), pow($0.z, 1.8)) }
        #expect(ColorLUT.choosesCurves(x, mapped(before, gamma).floatSamples(), width: 256, height: 171))
        let saturate: (SIMD3<Float>) -> SIMD3<Float> = {
            let y = 0.299 * $0.x + 0.587 * $0.y + 0.114 * $0.z
            return (SIMD3(repeating: y) + 0.4 * ($0 - SIMD3(repeating: y))).clamped(
                lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        }
        #expect(!ColorLUT.choosesCurves(x, mapped(before, saturate).floatSamples(), width: 256, height: 171))
        // A photo with colours coffee.png lacks (sky blue, greens): the gamma still transfers closely.
        let photo = try example("rocket.jpg").converted(to: .rgb)
        let transferred = psnr(
            Self.lutApplied(ColorLUT.fit(before, mapped(before, gamma)), photo), mapped(photo, gamma))
        #expect(transferred > 33, "PSNR \(transferred) dB")
    }

    @Test(
        "An exemplar whose colours vary along one direction only: grayscale and a per-channel gain still carry to other hues",
        arguments: ["gray", "gain"])
    func narrowExemplar(_ edit: String) throws {
        // coffee.png's luma, with colour only along a blue–yellow axis (like a sky-filled photo).
        let coffee = try example("coffee.png").converted(to: .rgb).resized(width: 256, height: 171)
        let before = mapped(coffee) { v in
            let y: Float = 0.299 * v.x + 0.587 * v.y + 0.114 * v.z
            let d: Float = 0.5 * (v.z - y)
            let c = SIMD3<Float>(y - 0.15 * d, y - 0.15 * d, y + 0.85 * d)
            return c.clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        }
        let gray: (SIMD3<Float>) -> SIMD3<Float> = { v in
            let y: Float = 0.299 * v.x + 0.587 * v.y + 0.114 * v.z
            return SIMD3(repeating: y)
        }
        let gain: (SIMD3<Float>) -> SIMD3<Float> = { v in
            (v * SIMD3<Float>(1.15, 1, 0.8)).clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        }
        let f = edit == "gray" ? gray : gain
        let photo = try example("rocket.jpg").converted(to: .rgb)  // greens and reds the exemplar lacks
        let transferred = psnr(Self.lutApplied(ColorLUT.fit(before, mapped(before, f)), photo), mapped(photo, f))
        // The full 3×3 map alone, fitted on such a pair, gave 31 dB for grayscale and 45 for the gain.
        #expect(transferred > 48, "PSNR \(transferred) dB")
    }

    @Test("Strength scales the table: 0 is the photo, 0.5 half-way to the full edit")
    func strength() throws {
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 256, height: 171)
        // Channels mixed (a desaturation toward a warm tint): neither curves nor a hue shift hold it.
        let edit: (SIMD3<Float>) -> SIMD3<Float> = {
            let y = 0.299 * $0.x + 0.587 * $0.y + 0.114 * $0.z
            return (SIMD3(y + 0.05, y, y - 0.05) + 0.4 * ($0 - SIMD3(repeating: y))).clamped(
                lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        }
        let fit = ColourStep.fit(before, mapped(before, edit))
        #expect(fit.table != .none && fit.hue.isNone && fit.curves == .none)
        let x = try example("rocket.jpg").converted(to: .rgb).floatSamples()
        func at(_ weight: Double) -> [Float] {
            ColourStep(
                curves: .combination([(fit.curves, weight)]), hue: .combination([(fit.hue, weight)]),
                table: .combination([(fit.table, weight)])
            ).apply(to: x, Compute(threads: 2), clamped: false)
        }
        let (none, half, full) = (at(0), at(0.5), at(1))
        #expect(zip(none, x).map { abs($0 - $1) }.max()! < 1e-6)
        #expect(zip(full, x).map { abs($0 - $1) }.max()! > 0.1)
        let off = x.indices.map { abs(half[$0] - (x[$0] + full[$0]) / 2) }.max()!
        #expect(off < 1e-5, "half the table is \(off * 255) levels from half-way")
    }

    @Test("A tinted gradient with faint colour texture, made gray: the faint texture decides, and other photos go gray")
    func tintedGradient() throws {
        // Like a sky at dusk: colours on one line from dark teal to pale blue, coffee.png's own
        // colour differences at a twentieth of their strength the only thing off that line.
        let coffee = try example("coffee.png").converted(to: .rgb).resized(width: 256, height: 171)
        let before = mapped(coffee) { v in
            let y: Float = 0.299 * v.x + 0.587 * v.y + 0.114 * v.z
            let tint = SIMD3<Float>(0.1, 0.2, 0.3) + y * SIMD3<Float>(0.6, 0.6, 0.55)
            return (tint + 0.05 * (v - SIMD3(repeating: y))).clamped(
                lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        }
        let gray: (SIMD3<Float>) -> SIMD3<Float> = { v in
            SIMD3(repeating: 0.299 * v.x + 0.587 * v.y + 0.114 * v.z)
        }
        let photo = try example("rocket.jpg").converted(to: .rgb)
        let transferred = psnr(Self.lutApplied(ColorLUT.fit(before, mapped(before, gray)), photo), mapped(photo, gray))
        // 92 dB; a ridge toward "keep the colours" as strong as the texture itself kept them (35 dB).
        #expect(transferred > 60, "PSNR \(transferred) dB")
    }
}
