import ExemplarFit
import ImageCodecs
import Models
import NodeKit
import TensorCore

/// `encode_delta`: what an exemplar's edit looks like, computed once and cached — an
/// ``ExemplarDelta`` (its format: Docs/delta-format.md).
struct EncodeDeltaNode: Node {
    let weights: EncoderWeights
    let editWeights: EditWeights

    let descriptor = NodeDescriptor(
        kind: "encode_delta",
        summary:
            "Describe an exemplar's edit (before → after) for the edit models; computed once per exemplar and cached.",
        inputs: [
            PortSpec(
                "before", .images,
                doc: "the exemplar photo before the edit, or several photos of one edit (load_pairs' before)"),
            PortSpec(
                "after", .images,
                doc:
                    "the same photo after the edit: same frame, pixel-aligned (a smaller export of it is resized to match); several, in the befores' order"
            ),
        ],
        outputs: [
            PortSpec(
                "delta", .delta,
                doc:
                    "semantic feature deltas at strides 8/16/32, pooled-embedding delta, colour transform, the exemplar fit (filter, colour table, a field across the frame, an operator learned from the pair, grain), change grid"
            )
        ],
        cacheable: true,
        example: """
            delta: {node: encode_delta, before: $photo.image, after: $graded.image}
            """)

    var cacheSalt: String { "\(ExemplarDelta.encoder):\(weights.contentHash):\(editWeights.contentHash)" }

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let (befores, afters) = (try inputs.images("before"), try inputs.images("after"))
        guard befores.count == afters.count, !befores.isEmpty else {
            throw NodeError(
                "the exemplar has \(befores.count) befores but \(afters.count) afters: each before needs its after")
        }
        var pairs: [ExemplarPair] = []
        for (i, (before, after)) in zip(befores, afters).enumerated() {
            do {
                pairs.append(try ExemplarPair(before: before, after: after))
            } catch {
                // Which pair, when there are several.
                guard befores.count > 1 else { throw error }
                throw NodeError("pair \(i + 1) of \(befores.count): \(error.message)", help: error.help)
            }
        }
        let model = try weights.model()
        let c = Compute(threads: context.threads)
        // Several pairs of one edit: each pair's delta, averaged.
        let semantic = SemanticDelta.combination(
            pairs.map { pair in
                // One image per forward, not a batch of two: work pieces never straddle the two, so
                // an unedited after gives exactly the before's features and a delta of exactly zero.
                let before = model(EncoderWeights.input([pair.before]), c)
                let after = model(EncoderWeights.input([pair.after]), c)
                let delta = SemanticDelta(values: [
                    Self.tokenDelta(before: before.stride8, after: after.stride8, c),
                    Self.tokenDelta(before: before.stride16, after: after.stride16, c),
                    Self.tokenDelta(before: before.stride32, after: after.stride32, c),
                    zip(after.pooled.values, before.pooled.values).map { $0 - $1 },
                ])
                return (delta, 1 / Double(pairs.count))
            })
        var exemplar = ExemplarDelta(
            semantic: semantic, affine: ColourAffine(pairs), fit: ExemplarFit.fit(pairs, c), change: ChangeGrid(pairs),
            trust: nil)
        // Without the edit models (a colour-only workflow) there is nothing to test; the cache
        // key then says "missing", so installing them later recomputes the delta with its trust.
        if editWeights.isPresent {
            let edit = try editWeights.model()
            let trusted = try Self.trust(pairs, EditDelta(exemplar, model: edit), edit, c)
            exemplar.trust = ModelTrust(weight: trusted ? 1 : 0)
            // One correction of what the fit misses, not two: the models' is relative to the fit
            // without the operator, and both would redo the same local edit.
            if trusted { exemplar.fit.learned = .none }
        }
        return ["delta": .delta(exemplar.delta)]
    }

    /// The learned correction must bring the exemplar's before this much closer (in squared
    /// error) to its after than the fit alone: 0.5 dB.
    static let trustRatio: Float = 0.891

    /// Whether the edit models' correction helps this edit: their 2-step edit of the exemplar's
    /// own befores, at their working size, against the exemplar's fit alone — its learned
    /// operator included —, both scored on the afters over every pair. It keeps the correction
    /// for spotlights and nothing else (measured in Docs/exemplar-fit.md): where the fit is exact
    /// or close the network only adds error.
    static func trust(_ pairs: [ExemplarPair], _ exemplar: EditDelta, _ model: EditModel, _ c: Compute) -> Bool {
        var modelError: Float = 0
        var fitError: Float = 0
        for pair in pairs {
            let query = EditQuery(image: pair.before, exemplar: exemplar, model: model, c)
            let edited = query.edited(model, query.conditioned(model, c), steps: 2, c).image
            let after = EditQuery.small(pair.after, size: query.size)
            // With an operator, the fit on the operator's own working-size copy, where it needs no
            // carry to full size: the models read a far smaller copy still.
            let fit = exemplar.exemplar.fit
            let working = pair.before.fitting(maxSide: LearnedOperator.workingSide)
            let lowFit =
                fit.learned.isNone
                ? query.lowFit
                : EditQuery.small(
                    Image(
                        width: working.width, height: working.height, colorModel: .rgb,
                        samples: fit.bands(of: working, c)(0..<working.height)),
                    size: query.size)
            for i in after.indices {
                let m = edited[i] - after[i]
                let f = lowFit[i] - after[i]
                modelError += m * m
                fitError += f * f
            }
        }
        return modelError < trustRatio * fitError
    }

    /// LN₀(after) − LN₀(before) per token of `[1, H, W, C]` maps (LN₀: layer norm, no affine),
    /// so the delta measures what changed, not how bright or busy the photo is.
    static func tokenDelta(before: Tensor, after: Tensor, _ c: Compute) -> [Float] {
        let norm = LayerNorm(features: before.shape[3])
        return zip(norm(after, c).values, norm(before, c).values).map { $0 - $1 }
    }
}

/// `delta_combine`: weighted sums of deltas — an edit's strength, or two edits composed.
struct DeltaCombineNode: Node {
    let descriptor = NodeDescriptor(
        kind: "delta_combine",
        summary: "Scale a delta, or add two: weight_a·a + weight_b·b (edit strength, compositional edits).",
        inputs: [
            PortSpec("a", .delta, doc: "a delta"),
            PortSpec(
                "weight_a", .number, doc: "a's weight: 0.5 is half the edit, 1.5 overshoots it", default: .number(1),
                range: -4...4),
            PortSpec("b", .delta, doc: "a second delta, from the same encoder", optional: true),
            PortSpec("weight_b", .number, doc: "b's weight", default: .number(1), range: -4...4),
        ],
        outputs: [PortSpec("delta", .delta, doc: "the combination")],
        example: """
            warm_and_bright: {node: delta_combine, a: $warm.delta, b: $bright.delta, weight_a: 0.7}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        var terms = [(delta: try inputs.delta("a"), weight: try inputs.number("weight_a"))]
        if let b = inputs.optionalDelta("b") { terms.append((b, try inputs.number("weight_b"))) }
        // Deltas of other encoders (a plugin's) combine array by array; encode_delta's part by part.
        guard terms.allSatisfy({ $0.delta.encoder == ExemplarDelta.encoder }) else {
            return ["delta": .delta(try Delta.combination(terms))]
        }
        let typed = try terms.map { (delta: try ExemplarDelta($0.delta), weight: $0.weight) }
        return ["delta": .delta(ExemplarDelta.combination(typed).delta)]
    }
}

/// `color_transfer`: the exemplar's fitted global colour transform applied to another photo —
/// the exact, model-free part of an edit, and the baseline the edit models must beat.
struct ColorTransferNode: Node {
    let descriptor = NodeDescriptor(
        kind: "color_transfer",
        summary: "Apply the colour transform fitted on the exemplar (a delta's color.affine) to an image.",
        inputs: [
            PortSpec("image", .image, doc: "the photo to recolour"),
            PortSpec("delta", .delta, doc: "from encode_delta (or delta_combine)"),
            PortSpec(
                "strength", .number, doc: "0 leaves the photo as it is, 1 applies the exemplar's transform",
                default: .number(1), range: 0...4),
        ],
        outputs: [
            PortSpec(
                "image", .image,
                doc:
                    "the recoloured photo, in its own colour model (a grey one made colour by a colour transform) and bit depth"
            )
        ],
        example: """
            recoloured: {node: color_transfer, image: $photo.image, delta: $warm.delta}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let delta = try inputs.delta("delta")
        guard let affine = ColourAffine(storedIn: delta) else {
            throw NodeError("this delta (\(delta.encoder)) has no 3x4 'color.affine' transform")
        }
        let s = Float(try inputs.number("strength"))
        let d = affine.offset.map { $0 * s }
        // A grey photo is recoloured as an RGB one; it stays grey where the transform is neutral.
        let gray = image.colorModel.colorChannels == 1
        let rgb = gray ? image.converted(to: image.colorModel.hasAlpha ? .rgba : .rgb) : image
        let channels = rgb.channels
        var samples = rgb.floatSamples()
        for p in 0..<(rgb.width * rgb.height) {
            let base = p * channels
            let (r, g, b) = (samples[base], samples[base + 1], samples[base + 2])
            for c in 0..<3 {
                let v =
                    (c == 0 ? r : c == 1 ? g : b) + d[c * 4] * r + d[c * 4 + 1] * g + d[c * 4 + 2] * b + d[c * 4 + 3]
                samples[base + c] = min(1, max(0, v))
            }
        }
        var out = Image(width: rgb.width, height: rgb.height, colorModel: rgb.colorModel, samples: samples)
        if gray && !out.holdsColour { out = out.converted(to: image.colorModel) }
        return ["image": .image(out.converted(to: image.sampleFormat))]
    }
}
