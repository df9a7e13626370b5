import Foundation
import ImageCodecs
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

/// Golden from `python3 Training/export_fit_golden.py`: Training/edit_data.py's `fit` — what the
/// edit models were trained with — and `grain_of` on sixteen pairs made from Examples/coffee.png
/// and one from astronaut.png.
@Suite("Exemplar fit matches the training data's")
struct ExemplarFitParityTests {
    static let golden = Bundle.module.url(
        forResource: "exemplar-fit", withExtension: "safetensors", subdirectory: "Goldens")!.path

    @Test(
        "Spatial filter, prior choice, tone curves, hue shift, colour table and grain as in Python",
        arguments: [
            "gamma_blur", "saturation", "sharpen", "recolor", "recolor_wide", "grain", "coarse_grain", "hue",
            "posterize",
            "solarize", "threshold", "grayscale", "median", "dilate", "clarity", "keep_colour", "bilateral",
        ])
    func parity(_ name: String) throws {
        let io = try SafeTensorsFile(path: Self.golden)
        func picture(_ key: String) throws -> Image {
            let t = try io.tensor("\(name).\(key)")
            return Image(width: t.shape[1], height: t.shape[0], colorModel: .rgb, samples: t.values)
        }
        let (before, after) = (try picture("before"), try picture("after"))
        let expected = try io.tensor("\(name).spatial").values
        let filter = SpatialFilter.fit(before, after, Compute(threads: 2))
        #expect(
            abs(filter.reach - Double(expected[0])) < 1e-6 && abs(filter.k - Double(expected[1])) < 1e-3
                && filter.kind.rawValue == Int(expected[2]) && abs(filter.spread - Double(expected[3])) < 1e-6,
            "Swift \(filter), Python \(expected)")
        let filtered = Image(
            width: before.width, height: before.height, colorModel: .rgb,
            samples: filter.apply(
                to: before.floatSamples(), width: before.width, height: before.height, Compute(threads: 2)))
        let curves = ColorLUT.choosesCurves(
            filtered.floatSamples(), after.floatSamples(), width: before.width, height: before.height)
        #expect(curves == (try io.tensor("\(name).curves").values[0] == 1))
        let choice = ColourStep.choice(
            filtered.floatSamples(), after.floatSamples(), width: before.width, height: before.height)
        let choices: [ColourStep.Choice] = [
            .table, .hue, .unchanged, .curves(.shared), .curves(.channel), .curves(.luma), .chroma,
        ]
        #expect(choice == choices[Int(try io.tensor("\(name).choice").values[0])])
        let colour = ColourStep.fit(filtered, after)
        let tone = zip(colour.curves.channel + colour.curves.luma, try io.tensor("\(name).tone_curves").values)
            .map { abs($0 - $1) }.max()!
        #expect(tone < 1e-4, "tone curves: max |Swift − Python| \(tone)")
        #expect(abs(colour.curves.mix - (try io.tensor("\(name).luma_mix").values[0])) < 1e-4)
        let hueError = zip(colour.hue.grid, try io.tensor("\(name).hue").values).map { abs($0 - $1) }.max()!
        #expect(hueError < 1e-4, "hue shift: max |Swift − Python| \(hueError) turns")
        let chromaError = zip(colour.chroma.grid, try io.tensor("\(name).chroma").values).map { abs($0 - $1) }.max()!
        #expect(chromaError < 1e-4, "chroma gain: max |Swift − Python| \(chromaError)")
        let error = zip(colour.table.offsets, try io.tensor("\(name).lut").values).map { abs($0 - $1) }.max()!
        #expect(error < 2e-3, "colour table: max |Swift − Python| \(error)")
        let grain = Grain.fit(
            before: before.floatSamples(), after: after.floatSamples(),
            predicted: colour.apply(to: filtered.floatSamples(), Compute(threads: 2)),
            width: before.width, height: before.height)
        let swiftGrain = grain.covariance + grain.neighbours
        let expectedGrain = try io.tensor("\(name).grain").values.map(Double.init)
        #expect(expectedGrain.count == 18)
        for (swift, python) in zip(swiftGrain, expectedGrain) {
            #expect(
                abs(swift - python) <= 1e-4 * abs(python) + 1e-9, "grain: Swift \(swiftGrain), Python \(expectedGrain)")
        }
    }
}
