import ImageCodecs
import Models
import NodeKit
import TensorCore

/// `encode_delta`: what an exemplar's edit looks like, computed once and cached.
///
/// The delta (encoder `efficientnet-lite0/14`) holds, all as after − before or as an offset from
/// "no edit", so deltas add and scale:
/// - `semantic.stride8|16|32` `[28,28,40]`, `[14,14,112]`, `[7,7,320]`: per-token layer-normalised
///   EfficientNet-Lite0 features of the after minus the before (Delta-Adapter's semantic delta),
///   both squeezed to 224×224;
/// - `pooled` `[1280]`: the pooled embeddings' difference;
/// - `color.affine` `[3,4]`: the least-squares affine colour map before → after (sRGB, 0…1, on the
///   pixels the edit did not clip) minus the identity — the colour table's affine prior (``ColorLUT/affine(_:_:)``);
/// - `spatial` `[2]`: σ (relative to the shorter side) and gain k of the spatial filter
///   `img + k·(G_σ(img) − img)` fitted on the pair (``SpatialFilter``): a blur or sharpen, or 0, 0;
/// - `color.hue` `[72,8]`: a shift of hue (turns) per hue and saturation, from the before through
///   that filter (``HueShift``; it and the table are fitted on the pair subsampled to 512 px,
///   ``ExemplarPair/subsampled(_:width:height:side:)``): a one-colour edit, all zero unless it
///   alone predicts held-out blocks of the exemplar better than the table;
/// - `color.lut` `[17,17,17,3]`: a 3D colour lookup table from the before (through that filter)
///   to the after, minus the identity (``ColorLUT``): a smooth global map — affine, or affine plus
///   tone curves — and what a hue rotation adds; all zero when the hue shift is used instead, and
///   both zero when neither explains the pair clearly better than no colour change
///   (``HueShift/colourGain``: a sharpen, blur, grain or spotlight);
/// - `grain` `[2,3,3]`: the colour covariance of the noise the edit added, at one pixel and between
///   neighbours (their ratio is the grain's size) — what the fit above leaves of the change,
///   measured on the flattest unclipped quarter of the pair's centre, at most 1024 px a side
///   (``Grain``): film grain or noise, all zero under σ = 2.5/255;
/// - `change` `[32,32,3]`: after − before averaged over a 32×32 grid — where, and which way, colours moved;
/// - `model.trust` `[1]`: 1 if the edit models' correction brings the exemplar's own before closer
///   to its after than the fit above alone does (``trust(_:_:_:_:)``), else 0 — `adapter_edit`
///   weighs the correction by it. Only where the edit models are installed.
struct EncodeDeltaNode: Node {
    let weights: EncoderWeights
    let editWeights: EditWeights

    // /2 added `color.lut`, /3 `spatial` and a table fitted after it, /4 a table whose prior leans
    // toward a structured map, /5 fits that leave out the pixels the edit clipped, /6 weaker
    // ridges toward that map, /7 `color.hue` (then a table after it), /8 the hue shift or the table,
    // /9 `model.trust`, /10 no colour step where it barely beats none, /11 the colour step fitted
    // on the pair subsampled rather than the averaged working copy, /12 `grain`, /13 with its
    // neighbours' covariance, /14 its flattest pixels chosen by the shared (Float) luma weights:
    // older cached deltas lack or differ in them, and the name salts the cache key.
    static let encoderName = "efficientnet-lite0/14"
    static let changeSide = 32

    let descriptor = NodeDescriptor(
        kind: "encode_delta",
        summary: "Describe an exemplar's edit (before → after) for the edit models; computed once per exemplar and cached.",
        inputs: [
            PortSpec("before", .image, doc: "the exemplar photo before the edit"),
            PortSpec("after", .image, doc: "the same photo after the edit: same frame, pixel-aligned (a smaller export of it is resized to match)"),
        ],
        outputs: [PortSpec("delta", .delta, doc: "semantic feature deltas at strides 8/16/32, pooled-embedding delta, fitted colour transform and lookup table, change grid")],
        cacheable: true,
        example: """
            delta: {node: encode_delta, before: $photo.image, after: $graded.image}
            """)

    var cacheSalt: String { "\(Self.encoderName):\(weights.contentHash):\(editWeights.contentHash)" }

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let pair = try ExemplarPair(before: try inputs.image("before"), after: try inputs.image("after"))
        let model = try weights.model()
        let c = Compute(threads: context.threads)
        // One image per forward, not a batch of two: work pieces never straddle the two, so
        // an unedited after gives exactly the before's features and a delta of exactly zero.
        let before = model(EncoderWeights.input([pair.before]), c), after = model(EncoderWeights.input([pair.after]), c)
        var arrays: [String: Delta.Array] = [:]
        for (name, b, a) in [("stride8", before.stride8, after.stride8), ("stride16", before.stride16, after.stride16),
                             ("stride32", before.stride32, after.stride32)] {
            arrays["semantic.\(name)"] = Self.tokenDelta(before: b, after: a, c)
        }
        arrays["pooled"] = Self.difference(before.pooled.values, after.pooled.values, shape: [EfficientNetLite0.embeddingWidth])
        let working = pair.working
        let spatial = SpatialFilter.fit(pair.before, pair.after, c)
        arrays["spatial"] = Delta.Array(shape: [2], values: [Float(spatial.sigma), Float(spatial.k)])
        // The colour step on the pair itself (through the filter), subsampled, not averaged.
        let (w, h) = (pair.before.width, pair.before.height), side = ExemplarPair.colourFitSide
        // Each full-size copy is used at once and let go (a 12-MP one is 144 MB): the after for
        // the colour fit and the grain, then the before through the filter.
        let afterCentre: [Float], afterSubsampled: Image, beforeCentre: [Float], filtered: [Float]
        do {
            let after = pair.after.floatSamples()
            afterCentre = Grain.centre(after, width: w, height: h).samples
            afterSubsampled = ExemplarPair.subsampled(after, width: w, height: h, side: side)
        }
        do {
            let before = pair.before.floatSamples()
            beforeCentre = Grain.centre(before, width: w, height: h).samples
            filtered = spatial.apply(to: before, width: w, height: h, c)
        }
        let colour = ColourFit(ExemplarPair.subsampled(filtered, width: w, height: h, side: side), afterSubsampled)
        // What the fit leaves that is noise, on the pair at its own size (neighbours matter).
        let centre = Grain.centre(filtered, width: w, height: h)
        let grain = Grain.fit(before: beforeCentre, after: afterCentre, predicted: colour.apply(to: centre.samples, c),
                              width: centre.width, height: centre.height)
        arrays["grain"] = Delta.Array(shape: [2, 3, 3], values: (grain.covariance + grain.neighbours).map(Float.init))
        arrays["color.hue"] = Delta.Array(shape: HueShift.shape, values: colour.hue.grid)
        arrays["color.lut"] = Delta.Array(shape: [ColorLUT.side, ColorLUT.side, ColorLUT.side, 3], values: colour.table)
        arrays["color.affine"] = Delta.Array(shape: [3, 4], values: ColorLUT.affine(working.before, working.after))
        arrays["change"] = Delta.Array(shape: [Self.changeSide, Self.changeSide, 3],
                                       values: ExemplarPair.changeGrid(working.before, working.after, side: Self.changeSide))
        // Without the edit models (a colour-only workflow) there is nothing to test; the cache
        // key then says "missing", so installing them later recomputes the delta with its trust.
        if editWeights.isPresent {
            let trust = try Self.trust(pair, Delta(encoder: Self.encoderName, arrays: arrays), try editWeights.model(), c)
            arrays["model.trust"] = Delta.Array(shape: [1], values: [trust ? 1 : 0])
        }
        return ["delta": .delta(Delta(encoder: Self.encoderName, arrays: arrays))]
    }

    /// The learned correction must bring the exemplar's before this much closer (in squared
    /// error) to its after than the fit alone: 0.5 dB.
    static let trustRatio: Float = 0.891

    /// Whether the edit models' correction helps this edit: their 2-step edit of the exemplar's
    /// own before, at their working size, against the exemplar's fit alone, both scored on the
    /// after. On validation photos (`python3 Training/evaluate_edit_models.py`: 64 seen and 48 held-out
    /// exemplars, the models of 2026-12-04, at the models' 64 px) the correction cost every family
    /// but spotlight 0.8–25 dB on the other photos — the fit is exact or close there and the
    /// network only adds error; this test kept it for 7 of 10 spotlights and nothing else, and
    /// spotlights came out 2.6 dB above the fit alone (22.3 vs 19.7).
    static func trust(_ pair: ExemplarPair, _ delta: Delta, _ model: EditModel, _ c: Compute) throws(NodeError) -> Bool {
        let query = EditQuery(image: pair.before, exemplar: try EditDelta(delta, model: model), model: model, c)
        let edited = query.edited(model, query.conditioned(model, c), strength: 1, steps: 2, c).image
        let after = EditQuery.small(pair.after, size: query.size)
        var modelError: Float = 0, fitError: Float = 0
        for i in after.indices {
            let m = edited[i] - after[i], f = query.lowFit[i] - after[i]
            modelError += m * m
            fitError += f * f
        }
        return modelError < trustRatio * fitError
    }

    /// LN₀(after) − LN₀(before) per token of `[1, H, W, C]` maps (LN₀: layer norm, no affine),
    /// so the delta measures what changed, not how bright or busy the photo is.
    static func tokenDelta(before: Tensor, after: Tensor, _ c: Compute) -> Delta.Array {
        let norm = LayerNorm(features: before.shape[3])
        return difference(norm(before, c).values, norm(after, c).values, shape: Array(before.shape.dropFirst()))
    }

    static func difference(_ before: [Float], _ after: [Float], shape: [Int]) -> Delta.Array {
        Delta.Array(shape: shape, values: zip(after, before).map { $0 - $1 })
    }
}

/// `delta_combine`: weighted sums of deltas — an edit's strength, or two edits composed.
struct DeltaCombineNode: Node {
    let descriptor = NodeDescriptor(
        kind: "delta_combine",
        summary: "Scale a delta, or add two: weight_a·a + weight_b·b (edit strength, compositional edits).",
        inputs: [
            PortSpec("a", .delta, doc: "a delta"),
            PortSpec("weight_a", .number, doc: "a's weight: 0.5 is half the edit, 1.5 overshoots it", default: .number(1),
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
        return ["delta": .delta(try Delta.combination(terms))]
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
            PortSpec("strength", .number, doc: "0 leaves the photo as it is, 1 applies the exemplar's transform",
                     default: .number(1), range: 0...4),
        ],
        outputs: [PortSpec("image", .image, doc: "the recoloured photo, in its own colour model and bit depth")],
        example: """
            recoloured: {node: color_transfer, image: $photo.image, delta: $warm.delta}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let delta = try inputs.delta("delta")
        guard let affine = delta["color.affine"], affine.shape == [3, 4] else {
            throw NodeError("this delta (\(delta.encoder)) has no 3x4 'color.affine' transform")
        }
        let s = Float(try inputs.number("strength"))
        let d = affine.values.map { $0 * s }
        let colors = image.colorModel.colorChannels, channels = image.channels
        var samples = image.floatSamples()
        let pixels = image.width * image.height
        if colors == 3 {
            for p in 0..<pixels {
                let base = p * channels
                let (r, g, b) = (samples[base], samples[base + 1], samples[base + 2])
                for c in 0..<3 {
                    let v = (c == 0 ? r : c == 1 ? g : b) + d[c * 4] * r + d[c * 4 + 1] * g + d[c * 4 + 2] * b + d[c * 4 + 3]
                    samples[base + c] = min(1, max(0, v))
                }
            }
        } else {
            // A grey photo stays grey: the transform's effect on a grey input, averaged over channels.
            for p in 0..<pixels {
                let y = samples[p * channels]
                var v: Float = 0
                for c in 0..<3 { v += y + (d[c * 4] + d[c * 4 + 1] + d[c * 4 + 2]) * y + d[c * 4 + 3] }
                samples[p * channels] = min(1, max(0, v / 3))
            }
        }
        let out = Image(width: image.width, height: image.height, colorModel: image.colorModel, samples: samples)
        return ["image": .image(out.converted(to: image.sampleFormat))]
    }
}
