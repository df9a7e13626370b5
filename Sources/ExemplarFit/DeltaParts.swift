import ImageCodecs
import NodeKit

/// The encoder's view of the edit: per-token layer-normalised EfficientNet-Lite0 features of the
/// after minus the before at strides 8, 16 and 32 (Delta-Adapter's semantic delta), and the pooled
/// embeddings' difference. `encode_delta` computes it; the edit models read stride 32.
package struct SemanticDelta: DeltaComponent {
    package var stride8: [Float], stride16: [Float], stride32: [Float], pooled: [Float]

    package static let encoder = "efficientnet-lite0"
    package static let layout = [
        (name: "semantic.stride8", shape: [28, 28, 40]), (name: "semantic.stride16", shape: [14, 14, 112]),
        (name: "semantic.stride32", shape: [7, 7, 320]), (name: "pooled", shape: [1280]),
    ]
    package static let revision = 1
    package init(values: [[Float]]) {
        (stride8, stride16, stride32, pooled) = (values[0], values[1], values[2], values[3])
    }
    package var values: [[Float]] { [stride8, stride16, stride32, pooled] }
}

/// The least-squares affine colour map before → after minus the identity (3×4, sRGB 0…1, on the
/// pixels the edit did not clip): `color_transfer`'s transform and the edit models' input.
package struct ColourAffine: DeltaComponent {
    /// Row-major `M − [I | 0]`.
    package var offset: [Float]

    package init(offset: [Float]) { self.offset = offset }

    /// Fitted on the pair's working copies.
    package init(_ pair: ExemplarPair) { self.init([pair]) }

    /// Fitted on several pairs' working copies, their pixels pooled.
    package init(_ pairs: [ExemplarPair]) {
        self.init(
            offset: ColorLUT.affine(
                pairs.flatMap { $0.working.before.floatSamples() }, pairs.flatMap { $0.working.after.floatSamples() }))
    }

    package static let layout = [(name: "color.affine", shape: [3, 4])]
    /// Clipped pixels left out; weaker ridges toward the structured map.
    package static let revision = 2
    package init(values: [[Float]]) { self.init(offset: values[0]) }
    package var values: [[Float]] { [offset] }
}

/// after − before averaged over a 32×32 grid: where, and which way, the colours moved.
package struct ChangeGrid: DeltaComponent {
    package var cells: [Float]

    package static let side = 32

    package init(cells: [Float]) { self.cells = cells }

    /// From the pair's working copies.
    package init(_ pair: ExemplarPair) { self.init([pair]) }

    /// The pairs' grids' mean: where, on average over the shots, the colours moved.
    package init(_ pairs: [ExemplarPair]) {
        let grids = pairs.map { ExemplarPair.changeGrid($0.working.before, $0.working.after, side: Self.side) }
        self.init(cells: Delta.weightedSum(grids.map { ($0, 1 / Double(grids.count)) }))
    }

    package static let layout = [(name: "change", shape: [side, side, 3])]
    package static let revision = 0
    package init(values: [[Float]]) { self.init(cells: values[0]) }
    package var values: [[Float]] { [cells] }
}

/// Whether the edit models' correction brought the exemplar's own before closer to its after
/// than the fit alone (1) or not (0); `adapter_edit` weighs the correction by it, so a combined
/// delta's weighted sum weighs it too.
package struct ModelTrust: DeltaComponent {
    package var weight: Float

    package init(weight: Float) { self.weight = weight }

    package static let layout = [(name: "model.trust", shape: [1])]
    package static var isOptional: Bool { true }
    package static let revision = 1
    package init(values: [[Float]]) { self.init(weight: values[0][0]) }
    package var values: [[Float]] { [[weight]] }
}
