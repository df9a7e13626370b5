import ExemplarFit
import Foundation
import ImageCodecs
import Models
import NodeKit
import TensorCore

/// An exemplar's delta as the edit models read it, checked once: its typed parts, and its
/// semantic tokens and colour transform as the network's tensors.
struct EditDelta {
    let exemplar: ExemplarDelta
    let tokens: Tensor  // [1, tokens, width]
    let affine: Tensor  // [1, 12]

    init(_ delta: Delta, model: EditModel) throws(NodeError) {
        try self.init(try ExemplarDelta(delta), model: model)
    }

    init(_ exemplar: ExemplarDelta, model: EditModel) throws(NodeError) {
        let cfg = model.configuration
        let tokens = exemplar.semantic.stride32
        guard tokens.count == cfg.deltaTokens * cfg.deltaWidth else {
            throw NodeError(
                "the edit model reads \(cfg.deltaTokens) tokens of \(cfg.deltaWidth) values, but this delta's 'semantic.stride32' holds \(tokens.count) values; retrain or re-export the edit models"
            )
        }
        self.exemplar = exemplar
        self.tokens = Tensor(shape: [1, cfg.deltaTokens, cfg.deltaWidth], values: tokens)
        self.affine = Tensor(shape: [1, 12], values: exemplar.affine.offset)
    }

    var fit: ExemplarFit { exemplar.fit }
    /// encode_delta's verdict on the network's correction (`model.trust`), if the delta has one.
    var trust: Float? { exemplar.trust?.weight }
}

/// A photo as the edit model reads it: at the working size, the same through the exemplar's
/// fit, and the conditioning map. As in the training data, both small copies are the photo at
/// twice the working size (where the fit is applied) halved by area.
struct EditQuery {
    let photo: Image  // RGB, full resolution
    let exemplar: EditDelta
    let low: [Float]  // RGB at size×size
    let lowFit: [Float]  // the photo through the exemplar's fit, at size×size
    let size: Int
    let condition: Tensor  // [1, size, size, 9]

    init(image: Image, exemplar: EditDelta, model: EditModel, _ c: Compute) {
        self.exemplar = exemplar
        photo = image.converted(to: .rgb)
        let size = model.configuration.size
        self.size = size
        let twice = photo.resized(width: 2 * size, height: 2 * size).floatSamples()
        let low = Self.halved(twice, size: size)
        let lowFit = Self.halved(exemplar.fit.apply(to: twice, width: 2 * size, height: 2 * size, c), size: size)
        (self.low, self.lowFit) = (low, lowFit)
        // [photo, photo through the exemplar's fit, change grid (nearest)].
        let grid = exemplar.exemplar.change.cells
        let (gh, gw) = (ChangeGrid.side, ChangeGrid.side)
        var cond = [Float]()
        cond.reserveCapacity(size * size * 9)
        for y in 0..<size {
            for x in 0..<size {
                let p = (y * size + x) * 3
                cond += low[p..<(p + 3)]
                cond += lowFit[p..<(p + 3)]
                let cell = ((y * gh / size) * gw + x * gw / size) * 3
                cond += grid[cell..<(cell + 3)]
            }
        }
        condition = Tensor(shape: [1, size, size, EditModelConfiguration.conditionChannels], values: cond)
    }

    /// `image` (RGB) as the model sees it: squeezed to twice `size`, then halved by area.
    static func small(_ image: Image, size: Int) -> [Float] {
        halved(image.converted(to: .rgb).resized(width: 2 * size, height: 2 * size).floatSamples(), size: size)
    }

    private static func halved(_ samples: [Float], size: Int) -> [Float] {
        Image(width: 2 * size, height: 2 * size, colorModel: .rgb, samples: samples)
            .resized(width: size, height: size, filter: .area).floatSamples()
    }

    /// The adapter's tokens and the mask head's logits for this photo.
    func conditioned(_ model: EditModel, _ c: Compute) -> EditCondition {
        model.condition(delta: exemplar.tokens, affine: exemplar.affine, condition: condition, c)
    }

    /// The network's edit of the small copy (clamped to 0…1) and its last step's gate logits, at
    /// the attention weight α it was trained with: `strength` scales the delta, not α.
    func edited(
        _ model: EditModel, _ e: EditCondition, steps: Int,
        noise: (amount: Float, normal: () -> Float)? = nil, _ c: Compute
    ) -> (image: [Float], gate: Tensor) {
        let (image, gate) = model.edit(
            Tensor(shape: [1, size, size, 3], values: low), condition: condition, e,
            strength: [1], steps: steps, noise: noise, c)
        return (image.values.map { min(1, max(0, $0)) }, gate)
    }

    /// The mask probability at the working size: the model's logits (a quarter of it), upsampled
    /// bilinearly as the training did (half-pixel centres), through a sigmoid.
    func maskProbability(_ logits: Tensor) -> [Float] {
        let n = logits.shape[1]
        let v = logits.values
        let taps = HalfPixelTap.axis(size, to: n)
        var out = [Float](repeating: 0, count: size * size)
        for y in 0..<size {
            let (y0, y1, fy) = (taps[y].lower, taps[y].upper, taps[y].weight)
            for x in 0..<size {
                let (x0, x1, fx) = (taps[x].lower, taps[x].upper, taps[x].weight)
                let top = v[y0 * n + x0] * (1 - fx) + v[y0 * n + x1] * fx
                let bottom = v[y1 * n + x0] * (1 - fx) + v[y1 * n + x1] * fx
                let logit: Float = top * (1 - fy) + bottom * fy
                out[y * size + x] = 1 / (1 + Foundation.exp(-logit))
            }
        }
        return out
    }
}
