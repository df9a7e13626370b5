import BuiltinNodes
import Foundation
import ImageCodecs
import Models
import NodeKit
import TensorCore
import TestSupport
import Testing

@testable import ExemplarFit
@testable import ModelNodes
@testable import Workflow

let editWeights = EditWeights(directory: ModelFiles.directory())

func run(_ node: some Node, _ inputs: [String: Value], threads: Int = 2) throws -> [String: Value] {
    try node.run(NodeInputs(inputs), context: NodeContext(item: nil, seed: 0, threads: threads))
}

/// `delta` as a fit without the frame field leaves it, the trust in the models' correction
/// decided anew as encode_delta decides it: a spotlight's is the case that correction is for.
func withoutField(_ delta: Delta, pair: ExemplarPair) throws -> Delta {
    var exemplar = try ExemplarDelta(delta)
    exemplar.fit.field = .none
    let model = try editWeights.model()
    let trusted = try EncodeDeltaNode.trust([pair], EditDelta(exemplar, model: model), model, Compute(threads: 2))
    exemplar.trust = ModelTrust(weight: trusted ? 1 : 0)
    if trusted { exemplar.fit.learned = .none }
    return exemplar.delta
}

func image(_ value: Value?) -> Image? {
    switch value {
    case .image(let i)?, .mask(let i)?: i
    default: nil
    }
}

func edit(
    _ photo: Image, _ delta: Delta, steps: Int = 2, grain: String = "sample", seed: Int = 0,
    threads: Int = 2, strength: Double = 1
) throws -> Image {
    let node = AdapterEditNode(weights: editWeights)
    return try #require(
        image(
            try run(
                node,
                [
                    "image": .image(photo), "delta": .delta(delta), "strength": .number(strength),
                    "steps": .integer(steps), "noise": .number(0), "seed": .integer(seed),
                    "grain": .string(grain),
                ],
                threads: threads)["image"]))
}

/// `image` with every pixel scaled by `factor(x, y, width, height)`.
func darkened(_ image: Image, by factor: (_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> Float) -> Image {
    let rgb = image.converted(to: .rgb)
    var s = rgb.floatSamples()
    let (w, h) = (rgb.width, rgb.height)
    for y in 0..<h {
        for x in 0..<w {
            let k = factor(x, y, w, h)
            for c in 0..<3 { s[(y * w + x) * 3 + c] *= k }
        }
    }
    return Image(width: w, height: h, colorModel: .rgb, samples: s)
}

/// A vignette: the corners darkened smoothly, wider and softer than ``spotlit(_:)``.
func vignetted(_ image: Image) -> Image {
    darkened(image) { x, y, w, h in
        let (u, v) = ((Float(x) + 0.5) / Float(w) - 0.5, (Float(y) + 0.5) / Float(h) - 0.5)
        let t = min(1, max(0, (((u * u + v * v) / 0.5).squareRoot() - 0.35) / 0.6))
        return 1 - 0.6 * t * t * (3 - 2 * t)
    }
}

/// A spotlight: everything outside a centred circle darkened, the circle left as it was — a local
/// edit no global colour map reproduces.
func spotlit(_ image: Image) -> Image {
    darkened(image) { x, y, w, h in
        let d =
            (Float(x - w / 2) * Float(x - w / 2) + Float(y - h / 2) * Float(y - h / 2)).squareRoot()
            / Float(min(w, h))
        return 1 - 0.6 * min(1, max(0, (d - 0.3) / 0.15))
    }
}

func predictMask(_ photo: Image, _ delta: Delta, threads: Int = 2) throws -> Image {
    try #require(
        image(
            try run(
                PredictMaskNode(weights: editWeights), ["image": .image(photo), "delta": .delta(delta)],
                threads: threads)["mask"]))
}

@Suite("adapter_edit and predict_mask")
struct EditNodesTests {
    @Test("An exemplar's edit transfers to another photo: closer to the truth than the photo itself")
    func transfers() throws {
        let exemplar = try example("coffee.png")
        let photo = try example("chelsea.png")
        // Inverting, a seen edit whose result no photo is near: the model must carry it over.
        let invert: (SIMD3<Float>) -> SIMD3<Float> = { 1 - $0 }
        let delta = try encode(exemplar, mapped(exemplar, invert))
        let truth = mapped(photo, invert)
        let out = try edit(photo, delta)
        #expect(out.width == photo.width && out.height == photo.height)
        let (gained, identity) = (psnr(out, truth), psnr(photo, truth))
        #expect(gained > identity + 10, "PSNR \(gained) dB against identity's \(identity) dB")
    }

    @Test(
        "Through Workflows/exemplar-transfer.yaml, pixels outside the predicted region are bit-identical to the input")
    func untouchedOutsideMask() throws {
        try withTemporaryDirectory { root in
            let exemplar = try example("coffee.png").converted(to: .rgb)
            let before = root.appendingPathComponent("before.png").path
            let after = root.appendingPathComponent("after.png").path
            try ImageFile.write(exemplar.converted(to: .uint8), to: before)
            try ImageFile.write(spotlit(exemplar).converted(to: .uint8), to: after)
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for name in ["chelsea.png", "rocket.jpg"] {
                try FileManager.default.copyItem(
                    at: repository.appendingPathComponent("Examples/\(name)"), to: input.appendingPathComponent(name))
            }
            let workflow = try Workflow.load(
                repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path,
                registry: try! NodeRegistry(Builtins.nodes + ModelNodes.nodes(modelsDirectory: ModelFiles.directory())))
            let params = try workflow.bindParams([
                "before=\(before)", "after=\(after)", "input=\(input.path)", "output=\(output.path)",
            ])
            let summary = try Executor(workflow: workflow, params: params, options: RunOptions(jobs: 2)).run()
            #expect(summary.done == 2 && summary.failed.isEmpty)
            let delta = try encode(try ImageFile.read(before), try ImageFile.read(after))
            var untouched = 0
            var total = 0
            for (name, stem) in [("chelsea.png", "chelsea"), ("rocket.jpg", "rocket")] {
                let photo = try ImageFile.read(input.appendingPathComponent(name).path)
                let mask = try predictMask(photo, delta).floatSamples()
                // In the files' own numbers: rocket.jpg is Adobe RGB, edited in sRGB and written back.
                let asStored = DecodeOptions(colorManaged: false)
                let original = try ImageFile.read(input.appendingPathComponent(name).path, options: asStored)
                    .converted(to: .rgb).converted(to: .uint8).floatSamples()
                let result = try ImageFile.read(output.appendingPathComponent("\(stem).png").path, options: asStored)
                    .converted(to: .rgb).converted(to: .uint8).floatSamples()
                for p in mask.indices where mask[p] == 0 {
                    untouched += 1
                    if (0..<3).contains(where: { original[p * 3 + $0] != result[p * 3 + $0] }) { total += 1 }
                }
            }
            #expect(untouched > 0, "the spotlight's centre should be predicted untouched somewhere")
            #expect(total == 0, "\(total) of \(untouched) pixels outside the mask changed")
        }
    }

    @Test(
        "predict_mask lets through wherever the exemplar's fit moves a pixel: a graduated filter and a vignette",
        arguments: ["graduated", "vignette"])
    func maskKeepsTheFit(_ name: String) throws {
        let exemplar = try example("coffee.png")
        let photo = try example("chelsea.png").converted(to: .rgb)
        let graduated = { (image: Image) in
            darkened(image) { _, y, _, h in
                let t = min(1, max(0, (0.6 - (Float(y) + 0.5) / Float(h)) / 0.4))
                return 1 - 0.5 * t * t * (3 - 2 * t)
            }
        }
        let delta = try encode(exemplar, name == "graduated" ? graduated(exemplar) : vignetted(exemplar))
        let fit = try ExemplarDelta(delta).fit
        let moved = fit.bands(of: photo, Compute(threads: 2))(0..<photo.height)
        let (original, mask) = (photo.floatSamples(), try predictMask(photo, delta).floatSamples())
        var (visible, hidden) = (0, 0)
        for p in mask.indices
        where (0..<3).contains(where: { abs(moved[3 * p + $0] - original[3 * p + $0]) > 1.5 / 255 }) {
            visible += 1
            if mask[p] < 1 { hidden += 1 }
        }
        #expect(visible > mask.count / 10, "\(name): the fit moves \(visible) of \(mask.count) pixels")
        #expect(hidden == 0, "\(name): \(hidden) of the \(visible) pixels the fit moves are masked")
    }

    @Test("One correction of what the fit misses: a trusted model correction drops the operator")
    func oneCorrection() throws {
        let exemplar = try example("coffee.png")
        let photo = try example("chelsea.png")
        for (name, edited) in [("spotlight", spotlit), ("vignette", vignetted)] {
            let delta = try encode(exemplar, edited(exemplar))
            let parsed = try ExemplarDelta(delta)
            let trusted = delta["model.trust"]?.values == [1]
            #expect(!(trusted && !parsed.fit.learned.isNone), "\(name): both the correction and the operator")
            // Whichever of the two was kept, the photo comes out closer to the truth than as it was.
            let out = try edit(photo, delta)
            let (gained, identity) = (psnr(out, edited(photo)), psnr(photo, edited(photo)))
            #expect(
                gained > identity + 1,
                "\(name) (trusted \(trusted), operator \(!parsed.fit.learned.isNone)): \(gained) dB, untouched \(identity) dB"
            )
        }
    }

    @Test("The models' correction is used for a local edit the fit misses and left out where the fit is exact")
    func trust() throws {
        let exemplar = try example("coffee.png")
        let photo = try example("chelsea.png")
        // The frame field carries a spotlight itself, so the correction is left out...
        let spotlight = try encode(photo, spotlit(photo))
        #expect(!(try ExemplarDelta(spotlight)).fit.field.isNone && spotlight["model.trust"]?.values == [0])
        // ...and is kept against a fit without it, as before the field existed.
        let corrected = try withoutField(spotlight, pair: ExemplarPair(before: photo, after: spotlit(photo)))
        #expect(corrected["model.trust"]?.values == [1])
        for delta in [spotlight, corrected] {
            let out = try edit(exemplar, delta)
            let (gained, identity) = (psnr(out, spotlit(exemplar)), psnr(exemplar, spotlit(exemplar)))
            #expect(gained > identity, "PSNR \(gained) dB against identity's \(identity) dB")
        }
        // A tone curve the colour table reproduces exactly: the output is the fit alone, bit for bit.
        let curve = try encode(exemplar, mapped(exemplar) { SIMD3($0.x * $0.x, $0.y * $0.y, $0.z * $0.z) })
        #expect(curve["model.trust"]?.values == [0])
        let rgb = photo.converted(to: .rgb)
        let fitted = try EditDelta(curve, model: try editWeights.model()).fit.apply(
            to: rgb.floatSamples(), width: rgb.width, height: rgb.height, Compute(threads: 2))
        let fit = Image(width: photo.width, height: photo.height, colorModel: .rgb, samples: fitted)
        #expect(try edit(photo, curve) == fit.converted(to: photo.sampleFormat))
        // Without the verdict (a delta from before it existed): a clear error.
        let old = Delta(encoder: curve.encoder, arrays: curve.arrays.filter { $0.key != "model.trust" })
        let error = #expect(throws: NodeError.self) { try edit(photo, old) }
        #expect(error?.message.contains("lacks 'model.trust' [1]; compute it with encode_delta") == true)
    }

    @Test("An exemplar whose change is noise, or a sharpen: no colour step, so other photos keep their colours")
    func noColourStep() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb)
        let photo = try example("chelsea.png")
        var random = SeededRandom(seed: 11)
        let grain = Image(
            width: exemplar.width, height: exemplar.height, colorModel: .rgb,
            samples: exemplar.floatSamples().map { min(1, max(0, $0 + 0.05 * random.nextGaussian())) })
        let noise = try encode(exemplar, grain)
        #expect(noise["color.lut"]?.values.allSatisfy { $0 == 0 } == true)
        #expect(noise["color.hue"]?.values.allSatisfy { $0 == 0 } == true)
        #expect(noise["spatial"]?.values == [0, 0, 0, 0])
        // No colour or correction transfers: without its grain the photo comes back bit for bit.
        #expect(noise["model.trust"]?.values == [0])
        #expect(try edit(photo, noise, grain: "none") == photo)
        // A sharpen's residual after its filter correlates with the exemplar's colours, but no
        // colour map carries it to another photo.
        let filter = SpatialFilter(sigma: 0.006, k: -1.2)
        let sharpened = filtered(exemplar, filter)
        let sharpen = try encode(exemplar, sharpened)
        #expect(sharpen["color.lut"]?.values.allSatisfy { $0 == 0 } == true)
        #expect(sharpen["spatial"]?.values[1] ?? 0 < 0)
    }

    /// `a − b` where `b` is within 0.2…0.8 (clipping leaves the rest): per channel its standard
    /// deviation, the correlation of its red and green, and of each pixel's with its right neighbour's.
    static func noise(_ a: Image, over b: Image) -> (sigma: [Double], correlation: Double, neighbour: Double) {
        let x = a.converted(to: .rgb).floatSamples()
        let y = b.converted(to: .rgb).floatSamples()
        let w = a.width
        func usable(_ p: Int) -> Bool { (0..<3).allSatisfy { (0.2...0.8).contains(y[p * 3 + $0]) } }
        var d: [[Double]] = [[], [], []]
        var pairs: [(Double, Double)] = []
        for p in 0..<(x.count / 3) where usable(p) {
            for k in 0..<3 { d[k].append(Double(x[p * 3 + k] - y[p * 3 + k])) }
            if (p + 1) % w != 0, usable(p + 1) {
                pairs.append((Double(x[p * 3] - y[p * 3]), Double(x[p * 3 + 3] - y[p * 3 + 3])))
            }
        }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let m = d.map(mean)
        let sigma = (0..<3).map { k in mean(d[k].map { ($0 - m[k]) * ($0 - m[k]) }).squareRoot() }
        let covariance = mean(zip(d[0], d[1]).map { ($0 - m[0]) * ($1 - m[1]) })
        let neighbour = mean(pairs.map { ($0.0 - m[0]) * ($0.1 - m[0]) }) / (sigma[0] * sigma[0])
        return (sigma, covariance / max(1e-12, sigma[0] * sigma[1]), neighbour)
    }

    @Test(
        "A grain exemplar: its covariance measured, and on another photo drawn anew (matching σ and colour), as its expected value, or left out"
    )
    func grain() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb).converted(to: .uint8)
        let photo = try example("chelsea.png")
        let delta = try encode(exemplar, grained(exemplar))
        let grain = try #require(delta["grain"]?.values)
        let covariance = Array(grain[0..<9])
        // Monochrome grain: every entry of the covariance is σ² = 0.0016; white: neighbours uncorrelated.
        for v in covariance { #expect(abs(v - 0.0016) < 0.0016 * 0.1, "covariance \(covariance)") }
        for v in grain[9..<18] { #expect(abs(v) < 0.0016 * 0.05, "neighbours' covariance \(grain[9...])") }
        let sampled = try edit(photo, delta, grain: "sample")
        let (sigma, correlation, neighbour) = Self.noise(sampled, over: photo)
        for s in sigma { #expect(abs(s - 0.04) < 0.004, "grain σ \(sigma) on the photo, 0.04 on the exemplar") }
        #expect(correlation > 0.95, "the exemplar's grain is monochrome; the photo's correlates \(correlation)")
        #expect(abs(neighbour) < 0.05, "white grain; neighbours on the photo correlate \(neighbour)")
        // Reproducible from the seed, on any thread count; another seed, another draw.
        #expect(try edit(photo, delta, grain: "sample", seed: 0, threads: 1) == sampled)
        #expect(try edit(photo, delta, grain: "sample", seed: 1) != sampled)
        #expect(try edit(photo, delta, grain: "none") == photo.converted(to: .rgb))
        // The expected value moves only what clipping biases: E[clip(x + n)] by the closed form.
        let mean = try edit(photo, delta, grain: "mean").converted(to: .rgb).floatSamples()
        let original = photo.converted(to: .rgb).floatSamples()
        func phi(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }
        func density(_ z: Double) -> Double { exp(-z * z / 2) / (2 * Double.pi).squareRoot() }
        var moved = 0
        for i in original.indices {
            let s = Double(covariance[i % 3 * 4]).squareRoot()
            let x = Double(original[i])
            let lo = -x / s
            let hi = (1 - x) / s
            let expected = x * (phi(hi) - phi(lo)) + s * (density(lo) - density(hi)) + (1 - phi(hi))
            #expect(
                abs(Double(mean[i]) - expected) <= 0.5 / 255 + 1e-4,
                "sample \(i): \(x) → \(mean[i]), expected \(expected)")
            if mean[i] != original[i] { moved += 1 }
        }
        #expect(moved > 0)
    }

    @Test("Coarse grain: drawn on another photo with the exemplar's σ and neighbour correlation")
    func coarseGrain() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb).converted(to: .uint8)
        let photo = try example("chelsea.png")
        // [¼ ½ ¼] at unit energy (0.375 per axis): neighbours correlate by ⅔.
        let after = grained(exemplar, kernel: [0.25, 0.5, 0.25].map { $0 / 0.375.squareRoot() })
        let measured = Self.noise(after, over: exemplar)
        let delta = try encode(exemplar, after)
        let sampled = Self.noise(try edit(photo, delta, grain: "sample"), over: photo)
        #expect(
            abs(measured.neighbour - 2.0 / 3) < 0.05,
            "the exemplar's own grain: neighbours correlate \(measured.neighbour)")
        for (s, t) in zip(sampled.sigma, measured.sigma) {
            #expect(abs(s - t) < 0.1 * t, "grain σ \(sampled.sigma) on the photo, \(measured.sigma) on the exemplar")
        }
        #expect(
            abs(sampled.neighbour - measured.neighbour) < 0.08,
            "neighbours correlate \(sampled.neighbour) on the photo, \(measured.neighbour) on the exemplar")
        #expect(sampled.correlation > 0.95)
        // One thread or two, the same draw: each row's stream, then the blur, fixed in order.
        #expect(try edit(photo, delta, grain: "sample", threads: 1) == edit(photo, delta, grain: "sample", threads: 2))
    }

    @Test("Edits without grain measure none: a colour edit, a sharpen, a spotlight")
    func noGrain() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb).converted(to: .uint8)
        let warm = mapped(exemplar) { SIMD3($0.x * 1.2, $0.y, $0.z * 0.8) }
        let sharpened = filtered(exemplar, SpatialFilter(sigma: 0.006, k: -1.2))
        for after in [warm, sharpened, spotlit(exemplar)] {
            let covariance = try #require(try encode(exemplar, after.converted(to: .uint8))["grain"]?.values)
            #expect(covariance.allSatisfy { $0 == 0 }, "covariance \(covariance)")
        }
    }

    @Test("Deterministic: the same bytes on 1 and 2 threads")
    func deterministic() throws {
        let photo = try example("rocket.jpg")
        let exemplar = try example("coffee.png")
        let delta = try encode(exemplar, mapped(exemplar) { SIMD3($0.x * 1.2, $0.y, $0.z * 0.8) })
        #expect(try edit(photo, delta, threads: 1) == edit(photo, delta, threads: 2))
        #expect(try predictMask(photo, delta, threads: 1) == predictMask(photo, delta, threads: 2))
    }

    @Test("The mask is the photo's size, in 0…1, and exactly 0 below the floor")
    func mask() throws {
        let photo = try example("astronaut.png")
        let exemplar = try example("coffee.png")
        let delta = try encode(exemplar, mapped(exemplar) { 1 - $0 })
        let mask = try predictMask(photo, delta)
        #expect(mask.width == photo.width && mask.height == photo.height && mask.colorModel == .gray)
        let values = mask.floatSamples()
        #expect(values.allSatisfy { $0 == 0 || ($0 >= PredictMaskNode.floor && $0 <= 1) })
    }

    @Test("A photo with alpha keeps its alpha; a 16-bit photo stays 16-bit")
    func formats() throws {
        let exemplar = try example("coffee.png")
        let delta = try encode(exemplar, mapped(exemplar) { 1 - $0 })
        var rgba = try example("chelsea.png").converted(to: .rgba).floatSamples()
        for p in 0..<(rgba.count / 4) { rgba[p * 4 + 3] = Float(p % 3) / 2 }
        let photo = Image(width: 451, height: 300, colorModel: .rgba, samples: rgba).converted(to: .uint16)
        let out = try edit(photo, delta)
        #expect(out.colorModel == .rgba && out.sampleFormat == .uint16)
        let alpha = out.floatSamples()
        #expect((0..<(alpha.count / 4)).allSatisfy { abs(alpha[$0 * 4 + 3] - rgba[$0 * 4 + 3]) < 1e-4 })
    }

    @Test("A delta from another encoder, or without the parts the model reads: a clear error")
    func wrongDelta() throws {
        let photo = try example("camera.png")
        let foreign = Delta(encoder: "clip-vit-b32/1", arrays: ["pooled": .init(shape: [2], values: [0, 1])])
        let error = #expect(throws: NodeError.self) { try edit(photo, foreign) }
        #expect(error?.message.contains("the edit model reads 'efficientnet-lite0/27' deltas") == true)
        let partial = Delta(encoder: "efficientnet-lite0/27", arrays: ["pooled": .init(shape: [2], values: [0, 1])])
        let missing = #expect(throws: NodeError.self) { try edit(photo, partial) }
        #expect(missing?.message.contains("lacks 'semantic.stride8' [28, 28, 40]") == true)
        #expect(missing?.message.contains("'semantic.stride32' [7, 7, 320]") == true)
        #expect(missing?.message.hasSuffix("; compute it with encode_delta") == true)
    }

    @Test("Missing weights: the path and how to install them")
    func missingWeights() throws {
        let node = AdapterEditNode(weights: EditWeights(directory: "/nonexistent/models"))
        let error = #expect(throws: ModelFileError.self) {
            try run(
                node, ["image": .image(try example("camera.png")), "delta": .delta(Delta(encoder: "x", arrays: [:]))])
        }
        #expect(error?.description.contains("/nonexistent/models/edit-v1.safetensors: model weights not found") == true)
        #expect(error?.description.contains("cp Models/edit-v1.safetensors /nonexistent/models/") == true)
    }
}

@Suite("adapter_edit's strength scales the whole edit")
struct StrengthTests {
    static let exemplar = try! example("coffee.png").converted(to: .rgb).converted(to: .uint8)
    static let photo = try! example("chelsea.png").converted(to: .rgb)

    /// The largest difference, in 8-bit levels, between `a` and the midpoint of `b` and `c`.
    static func offMidpoint(_ a: Image, _ b: Image, _ c: Image) -> Float {
        let (x, y, z) = (a.floatSamples(), b.floatSamples(), c.floatSamples())
        return x.indices.map { abs(x[$0] - (y[$0] + z[$0]) / 2) }.max()! * 255
    }

    @Test("A colour edit: 0 is the photo untouched, 0.5 half-way, and the same as delta_combine at 0.5")
    func colour() throws {
        let delta = try encode(Self.exemplar, mapped(Self.exemplar) { SIMD3($0.x * 0.9 + 0.05, $0.y, $0.z * 0.85) })
        #expect(try edit(Self.photo, delta, strength: 0) == Self.photo.converted(to: .uint8))
        let (half, full) = (try edit(Self.photo, delta, strength: 0.5), try edit(Self.photo, delta))
        #expect(full != Self.photo.converted(to: .uint8))
        let off = Self.offMidpoint(half, Self.photo.converted(to: .uint8), full)
        #expect(off <= 1.01, "half the edit is \(off) levels from half-way")
        let combined = try #require(
            {
                if case .delta(let d)? = try DeltaCombineNode().run(
                    NodeInputs(["a": .delta(delta), "weight_a": .number(0.5), "weight_b": .number(1)]),
                    context: NodeContext(item: nil, seed: 0)
                )["delta"] {
                    return d
                } else {
                    return nil
                }
            }())
        #expect(try edit(Self.photo, combined) == half)
    }

    @Test(
        "A blur and a median: 0.5 blends the same filter in half-way (its reach kept, the gain halved)",
        arguments: [SpatialFilter(sigma: 0.01, k: 1), SpatialFilter(kind: .median, reach: 0.01, k: 1)])
    func filter(_ filter: SpatialFilter) throws {
        let delta = try encode(Self.exemplar, filtered(Self.exemplar, filter).converted(to: .uint8))
        let spatial = try #require(delta["spatial"]?.values)
        #expect(spatial[2] == Float(filter.kind.rawValue) && spatial[1] > 0.5, "found \(spatial)")
        #expect(try edit(Self.photo, delta, grain: "none", strength: 0) == Self.photo.converted(to: .uint8))
        let (half, full) = (
            try edit(Self.photo, delta, grain: "none", strength: 0.5), try edit(Self.photo, delta, grain: "none")
        )
        #expect(full != Self.photo.converted(to: .uint8))
        let off = Self.offMidpoint(half, Self.photo.converted(to: .uint8), full)
        #expect(off <= 1.01, "half the filter is \(off) levels from half-way")
    }

    @Test("The learned operator: 0 is the photo untouched, 0.5 half its correction")
    func learnedOperator() throws {
        // An exemplar with no edit, given the operator a vignette's pair teaches when the fit
        // leaves all of it (the parity golden's case): its correction alone is what strength scales.
        var exemplar = try ExemplarDelta(try encode(Self.exemplar, Self.exemplar))
        let small = Self.exemplar.converted(to: .rgb).fitting(maxSide: LearnedOperator.workingSide)
        let samples = small.floatSamples()
        exemplar.fit.learned = LearnedOperator.fit(
            before: samples, fit: samples, after: vignetted(small).floatSamples(), width: small.width,
            height: small.height, Compute(threads: 2))
        #expect(!exemplar.fit.learned.isNone && exemplar.fit.spatial == .none && exemplar.fit.field.isNone)
        let delta = exemplar.delta
        #expect(try edit(Self.photo, delta, grain: "none", strength: 0) == Self.photo.converted(to: .uint8))
        let (half, full) = (
            try edit(Self.photo, delta, grain: "none", strength: 0.5), try edit(Self.photo, delta, grain: "none")
        )
        let (x, y, z) = (half.floatSamples(), Self.photo.converted(to: .uint8).floatSamples(), full.floatSamples())
        let moved = zip(z, y).map { abs($0 - $1) }.max()! * 255
        #expect(moved > 5, "the operator moves the photo \(moved) levels at most")
        // Where the full correction is clipped to 0 or 1, half of it is not half-way.
        let unclipped = z.indices.filter { z[$0] > 0 && z[$0] < 1 }
        #expect(unclipped.count > z.count * 9 / 10)
        let off = unclipped.map { abs(x[$0] - (y[$0] + z[$0]) / 2) }.max()! * 255
        #expect(off <= 1.01, "half the operator's correction is \(off) levels from half-way")
    }

    @Test("Grain: 0.5 draws half the variance")
    func grain() throws {
        let delta = try encode(Self.exemplar, grained(Self.exemplar))
        #expect(try edit(Self.photo, delta, strength: 0) == Self.photo.converted(to: .uint8))
        let base = Self.photo.floatSamples()
        func variance(_ image: Image) -> Double {
            let x = image.floatSamples()
            let d = x.indices.filter { (0.2...0.8).contains(base[$0]) }.map { Double(x[$0] - base[$0]) }
            let mean = d.reduce(0, +) / Double(d.count)
            return d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d.count)
        }
        let ratio = variance(try edit(Self.photo, delta, strength: 0.5)) / variance(try edit(Self.photo, delta))
        #expect(abs(ratio - 0.5) < 0.05, "variance at 0.5 is \(ratio) of the full grain's")
    }

    @Test("The models' correction (a spotlight): 0 is the photo untouched, 0.5 moves it part of the way")
    func correction() throws {
        // The models' correction, as a fit without the frame field keeps it for a spotlight.
        let (exemplar, photo) = (
            try example("chelsea.png").converted(to: .rgb), try example("coffee.png").converted(to: .rgb)
        )
        let after = spotlit(exemplar).converted(to: .uint8)
        let delta = try withoutField(
            try encode(exemplar, after), pair: ExemplarPair(before: exemplar.converted(to: .uint8), after: after))
        #expect(delta["model.trust"]?.values == [1])
        let original = photo.converted(to: .uint8)
        #expect(try edit(photo, delta, strength: 0) == original)
        func moved(_ image: Image) -> Double {
            zip(image.floatSamples(), original.floatSamples()).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) }
        }
        let (half, full) = (moved(try edit(photo, delta, strength: 0.5)), moved(try edit(photo, delta)))
        #expect(half > 0.3 * full && half < 0.7 * full, "strength 0.5 moved the photo \(half / full) of the full edit")
    }
}
