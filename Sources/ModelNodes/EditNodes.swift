import ExemplarFit
import Foundation
import ImageCodecs
import Models
import NodeKit
import TensorCore

/// `predict_mask`: where the exemplar's edit applies on this photo (AdaptEdit's mask predictor).
struct PredictMaskNode: Node {
    let weights: EditWeights

    /// Mask values below this are 0, so `composite` leaves those pixels exactly as they were, and
    /// above 1 − this are 1, so a global edit is applied whole.
    static let floor: Float = 0.02

    static func floored(_ m: Float) -> Float { m < floor ? 0 : m > 1 - floor ? 1 : m }

    /// The fit's change (largest channel, in 8-bit levels) from which its pixel enters the mask,
    /// wholly one level later: a change under half a level (a smooth field's leak into a
    /// spotlight's centre) rounds away, and the ramp never takes more than 0.56 of a level off
    /// (at `strength` 1: the mask reads the exemplar's fit, not the scaled one).
    static let fitChangeLevels: Float = 0.5

    let descriptor = NodeDescriptor(
        kind: "predict_mask",
        version: 2,
        summary:
            "Predict where an exemplar's edit applies on a photo: a soft mask at the photo's resolution, 0 where it stays untouched.",
        inputs: [
            PortSpec("image", .image, doc: "the photo to edit"),
            PortSpec("delta", .delta, doc: "the exemplar's edit, from encode_delta"),
        ],
        outputs: [
            PortSpec(
                "mask", .mask,
                doc:
                    "1 where the edit applies fully, 0 (exactly) where the photo stays as it is; edges follow the photo's own edges"
            )
        ],
        example: """
            where: {node: predict_mask, image: $photo.image, delta: $warm.delta}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let model = try weights.model()
        let c = Compute(threads: context.threads)
        let exemplar = try EditDelta(try inputs.delta("delta"), model: model)
        let query = EditQuery(image: try inputs.image("image"), exemplar: exemplar, model: model, c)
        let probability = query.maskProbability(query.conditioned(model, c).maskLogits)
        // Upsampled through local linear models of the photo's colours, so the mask's edges
        // follow the photo's edges instead of a 64-pixel staircase.
        let fit = LocalAffine.fit(
            guide: query.low, target: probability, outputs: 1, width: query.size, height: query.size)
        // Wherever the exemplar's fit moves a pixel, the mask lets it: each of the fit's parts was
        // kept only where it predicted held-out parts of the exemplar, while the mask network was
        // trained on fits of colour tables alone and hid frame fields and tone curves it had never
        // seen (Docs/exemplar-fit.md, "The mask").
        let (w, h) = (query.photo.width, query.photo.height)
        // Only bands the network leaves partly masked need the fit at full size: a global edit's
        // mask is whole, and adapter_edit applies the fit again anyway.
        var fitted: ((Range<Int>) -> [Float])?
        let mask = Image(width: w, height: h, colorModel: .gray, format: .float32) { rows in
            let photo = query.photo.floatSamples(rows: rows)
            var mask = fit.apply(to: photo, width: w, rows: rows, of: h, c).map(Self.floored)
            guard mask.contains(where: { $0 < 1 }) else { return mask }
            if fitted == nil { fitted = exemplar.exemplar.fit.bands(of: query.photo, c) }
            let moved = fitted!(rows)
            for i in mask.indices where mask[i] < 1 {
                var change: Float = 0
                for k in 0..<3 { change = max(change, abs(moved[3 * i + k] - photo[3 * i + k])) }
                mask[i] = max(mask[i], Self.floored(min(1, max(0, change * 255 - Self.fitChangeLevels))))
            }
            return mask
        }
        return ["mask": .mask(mask)]
    }
}

/// `adapter_edit`: the exemplar's edit applied to a photo by the edit models.
struct AdapterEditNode: Node {
    let weights: EditWeights

    /// The gate's probability above which the correction is blended in.
    static let gateThreshold: Float = 0.5
    /// The correction's weight below this leaves the exemplar's fit exactly as it is.
    static let gateFloor: Float = 0.02
    /// Salts the seed for the grain, so its draw is not the bridge's random term.
    static let grainStream: UInt64 = 0x6772_6169_6e00

    let descriptor = NodeDescriptor(
        kind: "adapter_edit",
        summary:
            "Apply an exemplar's edit to a photo with the edit models; the result has the photo's resolution and detail.",
        inputs: [
            PortSpec("image", .image, doc: "the photo to edit"),
            PortSpec("delta", .delta, doc: "the exemplar's edit, from encode_delta"),
            PortSpec(
                "strength", .number,
                doc:
                    "how much of the edit: 0 leaves the photo as it is, 1 is the exemplar's edit, 0.5 half of it, 2 twice (the delta scaled as delta_combine scales it; the models' correction at most once)",
                default: .number(1), range: 0...2),
            PortSpec(
                "steps", .integer,
                doc: "denoiser steps from the photo to the edit; more is slower and rarely better than 2",
                default: .integer(2), range: 1...16),
            PortSpec(
                "noise", .number, doc: "the bridge's random term between steps; 0 is deterministic",
                default: .number(0),
                range: 0...0.1),
            PortSpec(
                "seed", .integer,
                doc: "seed of that random term and of the grain; default: derived from the workflow seed and the file",
                optional: true, range: 0...9.007e15),
            PortSpec(
                "grain", .string,
                doc:
                    "the film grain or noise the exemplar's edit added (none in most edits): sample draws it anew on each photo (from seed); mean gives its expected value (no visible grain, the least squared error against any one draw); none leaves it out",
                default: .string("sample"), choices: ["sample", "mean", "none"]),
        ],
        outputs: [
            PortSpec(
                "image", .image,
                doc:
                    "the edited photo: RGB (alpha kept), the photo's bit depth; blend with composite and predict_mask to keep untouched pixels exact"
            )
        ],
        example: """
            edited: {node: adapter_edit, image: $photo.image, delta: $warm.delta, steps: 2}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let model = try weights.model()
        let image = try inputs.image("image")
        let c = Compute(threads: context.threads)
        let exemplar = try EditDelta(try inputs.delta("delta"), model: model)
        guard let verdict = exemplar.trust else {
            throw NodeError(
                "this delta lacks \(ModelTrust.described.joined(separator: ", ")); compute it with encode_delta")
        }
        // The whole edit at `strength`, as delta_combine would scale the delta: the fit's parts
        // and the grain by it, and the correction's blend (the network itself still reads the
        // exemplar's delta as it was trained to).
        let strength = try inputs.number("strength")
        let fit = exemplar.exemplar.scaled(by: strength).fit
        // encode_delta's verdict on the correction (1: it helped the exemplar itself, 0: the fit
        // alone did as well); a combined delta carries the weighted sum.
        let trust = min(1, max(0, verdict * Float(strength)))
        let (w, h) = (image.width, image.height)
        let seed = inputs.optionalInteger("seed").map(UInt64.init) ?? context.seed
        // Only the correction needs the photo's small copies and the network.
        var correction: Correction?
        if trust > 0 {
            let query = EditQuery(image: image, exemplar: exemplar, model: model, c)
            var random = SeededRandom(seed: seed)
            let (target, gate) = query.edited(
                model, query.conditioned(model, c), steps: try inputs.integer("steps"),
                noise: (Float(try inputs.number("noise")), { random.nextGaussian() }), c)
            correction = Correction(query, target: target, gateLogits: gate, trust: trust)
        }
        let grain = fit.grain.isNone ? "none" : try inputs.string("grain")
        let mean = grain == "mean" ? Grain.Mean(fit.grain) : nil
        let fitted = fit.bands(of: image, c)
        let alpha = image.colorModel.hasAlpha
        // Band by band, so a full-size Float32 copy of the photo never exists.
        let out = Image(width: w, height: h, colorModel: alpha ? .rgba : .rgb, format: image.sampleFormat) { rows in
            var rgb = fitted(rows)
            correction?.apply(&rgb, rows: rows, c)
            // The grain last, as the exemplar's after has it: on top of everything else the edit did.
            switch grain {
            case "sample":
                fit.grain.sample(
                    &rgb, width: w, rows: rows, of: h, seed: SeededRandom.mix(seed ^ Self.grainStream), c)
            case "mean": mean?.apply(&rgb, c)
            default: break
            }
            guard alpha else { return rgb }
            var rgba = image.rows(rows).converted(to: .rgba).floatSamples()
            for p in 0..<(rows.count * w) { for k in 0..<3 { rgba[p * 4 + k] = rgb[p * 3 + k] } }
            return rgba
        }
        return ["image": .image(out)]
    }

    /// The network's correction `target` (its edit of the small copy) where its gate is open,
    /// weighted by `trust`: at full resolution, the local colour transforms that take the small
    /// copy of the exemplar's fit to the network's output. Where the gate is shut the fit stands
    /// exactly.
    struct Correction {
        let fit: LocalAffine
        /// The gate at full resolution, or nil when it is shut everywhere (a point-wise edit the
        /// fit gets right): then the full-resolution passes are skipped altogether.
        let gate: [Float]?
        let width: Int, height: Int

        init(_ query: EditQuery, target: [Float], gateLogits: Tensor, trust: Float) {
            (width, height) = (query.photo.width, query.photo.height)
            // The gate is trained as the probability that the fit misses here; the correction is
            // trusted only where a miss is the likelier (weight 0 at one half, 1 at certainty):
            // blending wherever the gate was merely unsure cost the seen families dearly
            // (Docs/exemplar-fit.md).
            let open = gateLogits.values.map {
                trust
                    * max(
                        0,
                        (1 / (1 + Foundation.exp(-$0)) - AdapterEditNode.gateThreshold)
                            / (1 - AdapterEditNode.gateThreshold))
            }
            fit = LocalAffine.fit(
                guide: query.lowFit, target: target, outputs: 3, width: query.size, height: query.size)
            // Bicubic overshoots a maximum by less than a quarter.
            gate =
                open.max()! * 1.25 >= AdapterEditNode.gateFloor
                ? Image(width: query.size, height: query.size, colorModel: .gray, samples: open)
                    .resized(width: width, height: height, filter: .bicubic).floatSamples()
                : nil
        }

        /// Blends the correction into `rgb`, rows `rows` of the fit at full resolution.
        func apply(_ rgb: inout [Float], rows: Range<Int>, _ c: Compute) {
            guard let gate else { return }
            let corrected = fit.apply(to: rgb, width: width, rows: rows, of: height, c)
            let first = rows.lowerBound * width
            for p in 0..<(rows.count * width) where gate[first + p] >= AdapterEditNode.gateFloor {
                for k in 0..<3 {
                    let i = p * 3 + k
                    rgb[i] = min(1, max(0, rgb[i] + gate[first + p] * (corrected[i] - rgb[i])))
                }
            }
        }
    }
}
