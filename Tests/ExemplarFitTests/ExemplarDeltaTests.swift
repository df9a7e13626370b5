import Foundation
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit

@Suite("The typed delta")
struct ExemplarDeltaTests {
    /// A delta with every part set to something recognisable (and representable in Float32, as stored).
    static func sample(trust: Float? = 1) -> ExemplarDelta {
        var random = SeededRandom(seed: 2)
        func values(_ shape: [Int]) -> [Float] { (0..<shape.reduce(1, *)).map { _ in random.nextUnit() - 0.5 } }
        func part<Part: DeltaComponent>(_: Part.Type) -> Part { Part(values: Part.layout.map { values($0.shape) }) }
        return ExemplarDelta(
            semantic: part(SemanticDelta.self), affine: part(ColourAffine.self),
            fit: ExemplarFit(
                spatial: SpatialFilter(sigma: Double(Float(0.006)), k: -1.25),
                colour: ColourStep(
                    curves: part(ColourCurves.self), hue: part(HueShift.self), chroma: part(ChromaGain.self),
                    table: part(ColorTable.self)),
                learned: part(LearnedOperator.self),
                grain: Grain(
                    covariance: (0..<9).map { Double($0) / 1024 }, neighbours: (0..<9).map { Double($0) / 4096 })),
            change: part(ChangeGrid.self), trust: trust.map(ModelTrust.init(weight:)))
    }

    @Test("Stored and read back exactly, with every array its documented name and shape")
    func roundTrip() throws {
        let typed = Self.sample()
        let stored = typed.delta
        #expect(stored.encoder == "efficientnet-lite0/27")
        #expect(
            Set(stored.arrays.keys) == [
                "semantic.stride8", "semantic.stride16", "semantic.stride32", "pooled", "color.affine", "spatial",
                "color.curves", "color.luma_curves", "color.luma_mix", "color.hue", "color.chroma", "color.lut",
                "field.weights",
                "operator.readout", "operator.low", "operator.high", "grain",
                "change",
                "model.trust",
            ])
        #expect(stored["color.lut"]?.shape == [17, 17, 17, 3] && stored["grain"]?.shape == [2, 3, 3])
        #expect(try ExemplarDelta(stored) == typed)
        // Without the trust (no edit models installed) it reads back without one.
        #expect(try ExemplarDelta(Self.sample(trust: nil).delta).trust == nil)
    }

    @Test("The version is the sum of the parts' revisions")
    func version() {
        #expect(ExemplarDelta.version == ExemplarDelta.parts.reduce(0) { $0 + $1.revision })
        #expect(ExemplarDelta.encoder == "\(SemanticDelta.encoder)/\(ExemplarDelta.version)")
    }

    @Test("A missing or misshapen array is named with the shape it should have")
    func missing() {
        var arrays = Self.sample().delta.arrays
        arrays["grain"] = nil
        arrays["change"] = Delta.Array(shape: [16, 16, 3], values: [Float](repeating: 0, count: 768))
        let error = #expect(throws: NodeError.self) {
            try ExemplarDelta(Delta(encoder: ExemplarDelta.encoder, arrays: arrays))
        }
        #expect(
            error?.message == "this delta lacks 'grain' [2, 3, 3], 'change' [32, 32, 3]; compute it with encode_delta")
        let foreign = #expect(throws: NodeError.self) { try ExemplarDelta(Delta(encoder: "clip/1", arrays: arrays)) }
        #expect(foreign?.message.contains("comes from encoder 'clip/1'") == true)
    }

    @Test("Combined part by part: weighted sums as the untyped arrays combine, but the filter keeps its σ")
    func combination() throws {
        let (a, b) = (Self.sample(), Self.sample(trust: 0))
        let typed = ExemplarDelta.combination([(a, 0.7), (b, -0.3)])
        let untyped = try Delta.combination([(a.delta, 0.7), (b.delta, -0.3)])
        // The filter's σ and the operator's input ranges are not sums (below).
        let summed = { (key: String) in !["spatial", "operator.low", "operator.high"].contains(key) }
        #expect(typed.delta.arrays.filter { summed($0.key) } == untyped.arrays.filter { summed($0.key) })
        #expect(typed.fit.learned.low == a.fit.learned.low && typed.fit.learned.high == a.fit.learned.high)
        // The filter's gains add and its σ is kept: half a blur is the same blur, half-way.
        #expect(typed.fit.spatial.reach == a.fit.spatial.reach)
        #expect(abs(typed.fit.spatial.k - 0.4 * a.fit.spatial.k) < 1e-12)
        let blur = SpatialFilter(sigma: 0.01, k: 1)
        let sharpen = SpatialFilter(sigma: 0.004, k: -1)
        let mixed = SpatialFilter.combination([(blur, 1), (sharpen, 0.5)])
        #expect(mixed.k == 0.5 && abs(mixed.reach - (0.01 + 0.5 * 0.004) / 1.5) < 1e-15)
        #expect(SpatialFilter.combination([(blur, 1), (blur, -1)]) == .none)
        // A median and a blur do not add: the one with more gain is kept, alone.
        let median = SpatialFilter(kind: .median, reach: 0.01, k: 1)
        #expect(
            SpatialFilter.combination([(blur, 0.4), (median, 0.8)]) == SpatialFilter(kind: .median, reach: 0.01, k: 0.8)
        )
        #expect(a.scaled(by: 1) == a)
        #expect(typed.trust?.weight == 0.7)
        #expect(ExemplarDelta.combination([(a, 1), (Self.sample(trust: nil), 1)]).trust == nil)
    }
}
