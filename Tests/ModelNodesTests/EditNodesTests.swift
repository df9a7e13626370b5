import Foundation
import ImageCodecs
import Models
import NodeKit
import TensorCore
import Testing
@testable import ModelNodes
@testable import Workflow

let editWeights = EditWeights(directory: ModelFiles.directory())

func run(_ node: some Node, _ inputs: [String: Value], threads: Int = 2) throws -> [String: Value] {
    try node.run(NodeInputs(inputs), context: NodeContext(item: nil, seed: 0, threads: threads))
}

func image(_ value: Value?) -> Image? {
    switch value {
    case .image(let i)?, .mask(let i)?: i
    default: nil
    }
}

/// Mean squared error → PSNR (dB) between two RGB images of one size.
func psnr(_ a: Image, _ b: Image) -> Double {
    let x = a.converted(to: .rgb).floatSamples(), y = b.converted(to: .rgb).floatSamples()
    let mse = zip(x, y).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
    return -10 * log10(max(mse, 1e-12))
}

func edit(_ photo: Image, _ delta: Delta, steps: Int = 2, grain: String = "sample", seed: Int = 0,
          threads: Int = 2) throws -> Image {
    let node = AdapterEditNode(weights: editWeights)
    return try #require(image(try run(node, ["image": .image(photo), "delta": .delta(delta), "strength": .number(1),
                                             "steps": .integer(steps), "noise": .number(0), "seed": .integer(seed),
                                             "grain": .string(grain)],
                                         threads: threads)["image"]))
}

/// A spotlight: everything outside a centred circle darkened, the circle left as it was — a local
/// edit no global colour map reproduces.
func spotlit(_ image: Image) -> Image {
    let rgb = image.converted(to: .rgb)
    var s = rgb.floatSamples()
    let (w, h) = (rgb.width, rgb.height)
    for y in 0..<h {
        for x in 0..<w {
            let d = (Float(x - w / 2) * Float(x - w / 2) + Float(y - h / 2) * Float(y - h / 2)).squareRoot() / Float(min(w, h))
            let k = 1 - 0.6 * min(1, max(0, (d - 0.3) / 0.15))
            for c in 0..<3 { s[(y * w + x) * 3 + c] *= k }
        }
    }
    return Image(width: w, height: h, colorModel: .rgb, samples: s)
}

func predictMask(_ photo: Image, _ delta: Delta, threads: Int = 2) throws -> Image {
    try #require(image(try run(PredictMaskNode(weights: editWeights), ["image": .image(photo), "delta": .delta(delta)],
                               threads: threads)["mask"]))
}

@Suite("Local affine upsampling")
struct LocalAffineTests {
    /// A full-resolution image with detail a 64-pixel copy cannot show.
    static func detailed(width: Int, height: Int) -> [Float] {
        var s = [Float]()
        for y in 0..<height {
            for x in 0..<width {
                let base = 0.3 + 0.3 * Float(x) / Float(width)
                let fine = 0.05 * Float((x * 7 + y * 13) % 5) - 0.1
                s += [base + fine, 0.5 - 0.2 * Float(y) / Float(height) + fine, 0.4 + 0.5 * fine]
            }
        }
        return s
    }

    @Test("A global colour transform fitted at 64 px is reproduced exactly at full resolution, fine detail included")
    func globalTransform() {
        let (w, h) = (300, 200)
        let full = Self.detailed(width: w, height: h)
        let small = Image(width: w, height: h, colorModel: .rgb, samples: full).resized(width: 64, height: 64).floatSamples()
        func transform(_ p: [Float], _ i: Int) -> [Float] {
            let (r, g, b) = (p[i], p[i + 1], p[i + 2])
            return [0.8 * r + 0.1 * g + 0.05, 0.9 * g + 0.1 * b, 0.2 * r + 0.7 * b + 0.1]
        }
        let target = stride(from: 0, to: small.count, by: 3).flatMap { transform(small, $0) }
        let fit = LocalAffine.fit(guide: small, target: target, outputs: 3, width: 64, height: 64)
        let out = fit.apply(to: full, width: w, height: h, Compute(threads: 2))
        let expected = stride(from: 0, to: full.count, by: 3).flatMap { transform(full, $0) }
        let error = zip(out, expected).map { abs($0 - $1) }.max()!
        #expect(error < 2e-3, "max error \(error)")
    }

    @Test("The same result on 1 and 2 threads")
    func threads() {
        let full = Self.detailed(width: 97, height: 61)
        let small = Image(width: 97, height: 61, colorModel: .rgb, samples: full).resized(width: 64, height: 64).floatSamples()
        let fit = LocalAffine.fit(guide: small, target: small.map { $0 * $0 }, outputs: 3, width: 64, height: 64)
        #expect(fit.apply(to: full, width: 97, height: 61, Compute(threads: 1)) == fit.apply(to: full, width: 97, height: 61, Compute(threads: 2)))
    }
}

@Suite("Colour lookup table")
struct ColorLUTTests {
    static func lutApplied(_ lut: [Float], _ photo: Image) -> Image {
        Image(width: photo.width, height: photo.height, colorModel: .rgb,
              samples: ColorLUT.apply(lut, to: photo.floatSamples(), Compute(threads: 2)))
    }

    @Test("Fitted on one photo's curve, it applies the curve to another photo; an unedited pair gives the identity")
    func curve() throws {
        let before = try example("coffee.png").resized(width: 256, height: 171)
        let curve: (SIMD3<Float>) -> SIMD3<Float> = { SIMD3($0.x * $0.x, $0.y.squareRoot(), 0.2 + 0.6 * $0.z) }
        let after = mapped(before, curve)
        let lut = ColorLUT.fit(before, after)
        let photo = try example("astronaut.png").converted(to: .rgb)
        let (fitted, identity) = (psnr(Self.lutApplied(lut, photo), mapped(photo, curve)), psnr(photo, mapped(photo, curve)))
        #expect(fitted > identity + 15, "PSNR \(fitted) dB, identity \(identity) dB")
        let same = ColorLUT.fit(before, before)
        #expect(same.map(abs).max()! < 1e-5)
    }

    @Test("Per-channel curves are chosen for a gamma edit and carry it to colours the exemplar lacks; the affine prior for a saturation edit")
    func priorChoice() throws {
        let before = try example("coffee.png").converted(to: .rgb).resized(width: 256, height: 171)
        let x = before.floatSamples()
        let gamma: (SIMD3<Float>) -> SIMD3<Float> = { SIMD3(pow($0.x, 1.8), pow($0.y, 1.8), pow($0.z, 1.8)) }
        #expect(ColorLUT.choosesCurves(x, mapped(before, gamma).floatSamples(), width: 256, height: 171))
        let saturate: (SIMD3<Float>) -> SIMD3<Float> = {
            let y = 0.299 * $0.x + 0.587 * $0.y + 0.114 * $0.z
            return (SIMD3(repeating: y) + 0.4 * ($0 - SIMD3(repeating: y))).clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        }
        #expect(!ColorLUT.choosesCurves(x, mapped(before, saturate).floatSamples(), width: 256, height: 171))
        // A photo with colours coffee.png lacks (sky blue, greens): the gamma still transfers closely.
        let photo = try example("rocket.jpg").converted(to: .rgb)
        let transferred = psnr(Self.lutApplied(ColorLUT.fit(before, mapped(before, gamma)), photo), mapped(photo, gamma))
        #expect(transferred > 33, "PSNR \(transferred) dB")
    }

    @Test("An exemplar whose colours vary along one direction only: grayscale and a per-channel gain still carry to other hues", arguments: ["gray", "gain"])
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

    @Test("A tinted gradient with faint colour texture, made gray: the faint texture decides, and other photos go gray")
    func tintedGradient() throws {
        // Like a sky at dusk: colours on one line from dark teal to pale blue, coffee.png's own
        // colour differences at a twentieth of their strength the only thing off that line.
        let coffee = try example("coffee.png").converted(to: .rgb).resized(width: 256, height: 171)
        let before = mapped(coffee) { v in
            let y: Float = 0.299 * v.x + 0.587 * v.y + 0.114 * v.z
            let tint = SIMD3<Float>(0.1, 0.2, 0.3) + y * SIMD3<Float>(0.6, 0.6, 0.55)
            return (tint + 0.05 * (v - SIMD3(repeating: y))).clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
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

@Suite("Spatial filter fit")
struct SpatialFilterTests {
    static let photo: Image = try! example("coffee.png").converted(to: .rgb).resized(width: 300, height: 200)

    static func filtered(_ image: Image, _ filter: SpatialFilter) -> Image {
        Image(width: image.width, height: image.height, colorModel: .rgb,
              samples: filter.apply(to: image.floatSamples(), width: image.width, height: image.height, Compute(threads: 2)))
    }

    @Test("A blur and a sharpen are recovered from an exemplar; colour edits and noise get no filter", arguments: [
        SpatialFilter(sigma: 0.01, k: 1), SpatialFilter(sigma: 0.006, k: -1.2),
    ])
    func recovers(_ truth: SpatialFilter) {
        let after = Self.filtered(Self.photo, truth)
        let found = SpatialFilter.fit(Self.photo, after, Compute(threads: 2))
        #expect(abs(log(found.sigma / truth.sigma)) < 0.3 && abs(found.k - truth.k) < 0.25 * abs(truth.k), "found \(found)")
        // Applied to another photo at another size, it reproduces the edit there.
        let other = (try! example("chelsea.png")).converted(to: .rgb)
        let (transferred, identity) = (psnr(Self.filtered(other, found), Self.filtered(other, truth)), psnr(other, Self.filtered(other, truth)))
        #expect(transferred > identity + 10, "PSNR \(transferred) dB, identity \(identity) dB")
    }

    @Test("No filter for a colour edit or grain")
    func none() {
        #expect(SpatialFilter.fit(Self.photo, mapped(Self.photo) { SIMD3($0.x * $0.x, $0.y, 1 - $0.z) }, Compute(threads: 2)) == .none)
        var random = SeededRandom(seed: 3)
        let noisy = Self.photo.floatSamples().map { min(1, max(0, $0 + 0.05 * random.nextGaussian())) }
        #expect(SpatialFilter.fit(Self.photo, Image(width: 300, height: 200, colorModel: .rgb, samples: noisy), Compute(threads: 2)) == .none)
    }

    @Test("The blur of large σ, run on the image halved, matches the exact kernel closely", arguments: [8.5, 12, 20, 40])
    func halvedBlur(_ sigma: Double) {
        let x = Self.photo.floatSamples(), c = Compute(threads: 2)
        let exact = SpatialFilter.gaussian(x, width: 300, height: 200, sigma: sigma, exactUpTo: .infinity, c)
        let fast = SpatialFilter.gaussian(x, width: 300, height: 200, sigma: sigma, c)
        let mse = zip(exact, fast).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
        let worst = zip(exact, fast).map { abs($0 - $1) }.max()!
        // Measured 0.11–0.19/255; the edges count too (σ = 40 reaches across the 200-px image).
        #expect(worst < 0.5 / 255, "largest difference \(worst * 255)/255")
        let identity = zip(exact, x).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
        #expect(mse < identity / 1000, "mean squared difference \(mse), against the unblurred photo's \(identity)")
    }
}

/// Golden from `python3 Training/export_fit_golden.py`: Training/edit_data.py's `fit` — what the
/// edit models were trained with — and `grain_of` on seven pairs made from Examples/coffee.png.
@Suite("Exemplar fit matches the training data's")
struct ExemplarFitParityTests {
    static let golden = Bundle.module.url(forResource: "exemplar-fit", withExtension: "safetensors", subdirectory: "Goldens")!.path

    @Test("Spatial filter, prior choice, hue shift, colour table and grain as in Python",
          arguments: ["gamma_blur", "saturation", "sharpen", "recolor", "recolor_wide", "grain", "coarse_grain"])
    func parity(_ name: String) throws {
        let io = try SafeTensorsFile(path: Self.golden)
        func picture(_ key: String) throws -> Image {
            let t = try io.tensor("\(name).\(key)")
            return Image(width: t.shape[1], height: t.shape[0], colorModel: .rgb, samples: t.values)
        }
        let (before, after) = (try picture("before"), try picture("after"))
        let expected = try io.tensor("\(name).spatial").values
        let filter = SpatialFilter.fit(before, after, Compute(threads: 2))
        #expect(abs(filter.sigma - Double(expected[0])) < 1e-6 && abs(filter.k - Double(expected[1])) < 1e-3,
                "Swift \(filter), Python \(expected)")
        let filtered = Image(width: before.width, height: before.height, colorModel: .rgb,
                             samples: filter.apply(to: before.floatSamples(), width: before.width, height: before.height, Compute(threads: 2)))
        let curves = ColorLUT.choosesCurves(filtered.floatSamples(), after.floatSamples(), width: before.width, height: before.height)
        #expect(curves == (try io.tensor("\(name).curves").values[0] == 1))
        let choice = HueShift.choice(filtered.floatSamples(), after.floatSamples(), width: before.width, height: before.height)
        #expect(choice == [HueShift.Choice.table, .hue, .unchanged][Int(try io.tensor("\(name).choice").values[0])])
        let colour = ColourFit(filtered, after)
        let hueError = zip(colour.hue.grid, try io.tensor("\(name).hue").values).map { abs($0 - $1) }.max()!
        #expect(hueError < 1e-4, "hue shift: max |Swift − Python| \(hueError) turns")
        let error = zip(colour.table, try io.tensor("\(name).lut").values).map { abs($0 - $1) }.max()!
        #expect(error < 2e-3, "colour table: max |Swift − Python| \(error)")
        let grain = Grain.fit(before: before.floatSamples(), after: after.floatSamples(),
                              predicted: colour.apply(to: filtered.floatSamples(), Compute(threads: 2)),
                              width: before.width, height: before.height)
        let swiftGrain = grain.covariance + grain.neighbours
        let expectedGrain = try io.tensor("\(name).grain").values.map(Double.init)
        #expect(expectedGrain.count == 18)
        for (swift, python) in zip(swiftGrain, expectedGrain) {
            #expect(abs(swift - python) <= 1e-4 * abs(python) + 1e-9, "grain: Swift \(swiftGrain), Python \(expectedGrain)")
        }
    }
}

@Suite("adapter_edit and predict_mask")
struct EditNodesTests {
    @Test("An exemplar's edit transfers to another photo: closer to the truth than the photo itself")
    func transfers() throws {
        let exemplar = try example("coffee.png"), photo = try example("chelsea.png")
        // Inverting, a seen edit whose result no photo is near: the model must carry it over.
        let invert: (SIMD3<Float>) -> SIMD3<Float> = { 1 - $0 }
        let delta = try encode(exemplar, mapped(exemplar, invert))
        let truth = mapped(photo, invert)
        let out = try edit(photo, delta)
        #expect(out.width == photo.width && out.height == photo.height)
        let (gained, identity) = (psnr(out, truth), psnr(photo, truth))
        #expect(gained > identity + 10, "PSNR \(gained) dB against identity's \(identity) dB")
    }

    @Test("Through Workflows/exemplar-transfer.yaml, pixels outside the predicted region are bit-identical to the input")
    func untouchedOutsideMask() throws {
        try withTemporaryDirectory { root in
            let exemplar = try example("coffee.png").converted(to: .rgb)
            let before = root.appendingPathComponent("before.png").path, after = root.appendingPathComponent("after.png").path
            try ImageFile.write(exemplar.converted(to: .uint8), to: before)
            try ImageFile.write(spotlit(exemplar).converted(to: .uint8), to: after)
            let input = root.appendingPathComponent("in"), output = root.appendingPathComponent("out")
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
            for name in ["chelsea.png", "rocket.jpg"] {
                try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/\(name)"), to: input.appendingPathComponent(name))
            }
            let workflow = try Workflow.load(repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path,
                                             registry: ModelNodes.registry(modelsDirectory: ModelFiles.directory()))
            let params = try workflow.bindParams(["before=\(before)", "after=\(after)", "input=\(input.path)", "output=\(output.path)"])
            let summary = try Executor(workflow: workflow, params: params, options: RunOptions(jobs: 2)).run()
            #expect(summary.done == 2 && summary.failed.isEmpty)
            let delta = try encode(try ImageFile.read(before), try ImageFile.read(after))
            var untouched = 0, total = 0
            for (name, stem) in [("chelsea.png", "chelsea"), ("rocket.jpg", "rocket")] {
                let photo = try ImageFile.read(input.appendingPathComponent(name).path)
                let mask = try predictMask(photo, delta).floatSamples()
                let original = photo.converted(to: .rgb).converted(to: .uint8).floatSamples()
                let result = try ImageFile.read(output.appendingPathComponent("\(stem).png").path).converted(to: .rgb).floatSamples()
                for p in mask.indices where mask[p] == 0 {
                    untouched += 1
                    if (0..<3).contains(where: { original[p * 3 + $0] != result[p * 3 + $0] }) { total += 1 }
                }
            }
            #expect(untouched > 0, "the spotlight's centre should be predicted untouched somewhere")
            #expect(total == 0, "\(total) of \(untouched) pixels outside the mask changed")
        }
    }

    @Test("The models' correction is used for a local edit and left out where the exemplar's fit is exact")
    func trust() throws {
        let exemplar = try example("coffee.png"), photo = try example("chelsea.png")
        let spotlight = try encode(exemplar, spotlit(exemplar))
        #expect(spotlight["model.trust"]?.values == [1])
        let spotlightOut = try edit(photo, spotlight)
        let (gained, identity) = (psnr(spotlightOut, spotlit(photo)), psnr(photo, spotlit(photo)))
        #expect(gained > identity, "PSNR \(gained) dB against identity's \(identity) dB")
        // A tone curve the colour table reproduces exactly: the output is the fit alone, bit for bit.
        let curve = try encode(exemplar, mapped(exemplar) { SIMD3($0.x * $0.x, $0.y * $0.y, $0.z * $0.z) })
        #expect(curve["model.trust"]?.values == [0])
        let rgb = photo.converted(to: .rgb)
        let fitted = try EditDelta(curve, model: try editWeights.model()).fit(rgb.floatSamples(), width: rgb.width, height: rgb.height, Compute(threads: 2))
        let fit = Image(width: photo.width, height: photo.height, colorModel: .rgb, samples: fitted)
        #expect(try edit(photo, curve) == fit.converted(to: photo.sampleFormat))
        // Without the verdict (a delta from before it existed): a clear error.
        let old = Delta(encoder: curve.encoder, arrays: curve.arrays.filter { $0.key != "model.trust" })
        let error = #expect(throws: NodeError.self) { try edit(photo, old) }
        #expect(error?.message.contains("lacks 'model.trust' [1]; compute it with encode_delta") == true)
    }

    @Test("An exemplar whose change is noise, or a sharpen: no colour step, so other photos keep their colours")
    func noColourStep() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb), photo = try example("chelsea.png")
        var random = SeededRandom(seed: 11)
        let grain = Image(width: exemplar.width, height: exemplar.height, colorModel: .rgb,
                          samples: exemplar.floatSamples().map { min(1, max(0, $0 + 0.05 * random.nextGaussian())) })
        let noise = try encode(exemplar, grain)
        #expect(noise["color.lut"]?.values.allSatisfy { $0 == 0 } == true)
        #expect(noise["color.hue"]?.values.allSatisfy { $0 == 0 } == true)
        #expect(noise["spatial"]?.values == [0, 0])
        // No colour or correction transfers: without its grain the photo comes back bit for bit.
        #expect(noise["model.trust"]?.values == [0])
        #expect(try edit(photo, noise, grain: "none") == photo)
        // A sharpen's residual after its filter correlates with the exemplar's colours, but no
        // colour map carries it to another photo.
        let filter = SpatialFilter(sigma: 0.006, k: -1.2)
        let sharpened = SpatialFilterTests.filtered(exemplar, filter)
        let sharpen = try encode(exemplar, sharpened)
        #expect(sharpen["color.lut"]?.values.allSatisfy { $0 == 0 } == true)
        #expect(sharpen["spatial"]?.values[1] ?? 0 < 0)
    }

    /// A photo plus monochrome grain of σ `sigma` (as 8-bit RGB): one normal draw per pixel on
    /// every channel, blurred by the unit-energy `kernel` along rows, then columns (edges clamped).
    static func grained(_ image: Image, sigma: Double = 0.04, kernel k: [Double] = [1], seed: UInt64 = 5) -> Image {
        let rgb = image.converted(to: .rgb)
        let (w, h) = (rgb.width, rgb.height), r = k.count / 2
        var random = SeededRandom(seed: seed)
        var n = (0..<(w * h)).map { _ in Double(random.nextGaussian()) }
        var across = n
        for y in 0..<h {
            for x in 0..<w {
                var sum = 0.0
                for t in -r...r { sum += k[t + r] * n[y * w + min(w - 1, max(0, x + t))] }
                across[y * w + x] = sum
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var sum = 0.0
                for t in -r...r { sum += k[t + r] * across[min(h - 1, max(0, y + t)) * w + x] }
                n[y * w + x] = sum
            }
        }
        let s = rgb.floatSamples()
        return Image(width: w, height: h, colorModel: .rgb,
                     samples: s.indices.map { min(1, max(0, s[$0] + Float(sigma * n[$0 / 3]))) }).converted(to: .uint8)
    }

    /// `a − b` where `b` is within 0.2…0.8 (clipping leaves the rest): per channel its standard
    /// deviation, the correlation of its red and green, and of each pixel's with its right neighbour's.
    static func noise(_ a: Image, over b: Image) -> (sigma: [Double], correlation: Double, neighbour: Double) {
        let x = a.converted(to: .rgb).floatSamples(), y = b.converted(to: .rgb).floatSamples(), w = a.width
        func usable(_ p: Int) -> Bool { (0..<3).allSatisfy { (0.2...0.8).contains(y[p * 3 + $0]) } }
        var d: [[Double]] = [[], [], []], pairs: [(Double, Double)] = []
        for p in 0..<(x.count / 3) where usable(p) {
            for k in 0..<3 { d[k].append(Double(x[p * 3 + k] - y[p * 3 + k])) }
            if (p + 1) % w != 0, usable(p + 1) { pairs.append((Double(x[p * 3] - y[p * 3]), Double(x[p * 3 + 3] - y[p * 3 + 3]))) }
        }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let m = d.map(mean)
        let sigma = (0..<3).map { k in mean(d[k].map { ($0 - m[k]) * ($0 - m[k]) }).squareRoot() }
        let covariance = mean(zip(d[0], d[1]).map { ($0 - m[0]) * ($1 - m[1]) })
        let neighbour = mean(pairs.map { ($0.0 - m[0]) * ($0.1 - m[0]) }) / (sigma[0] * sigma[0])
        return (sigma, covariance / max(1e-12, sigma[0] * sigma[1]), neighbour)
    }

    @Test("A grain exemplar: its covariance measured, and on another photo drawn anew (matching σ and colour), as its expected value, or left out")
    func grain() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb).converted(to: .uint8)
        let photo = try example("chelsea.png")
        let delta = try encode(exemplar, Self.grained(exemplar))
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
            let x = Double(original[i]), lo = -x / s, hi = (1 - x) / s
            let expected = x * (phi(hi) - phi(lo)) + s * (density(lo) - density(hi)) + (1 - phi(hi))
            #expect(abs(Double(mean[i]) - expected) <= 0.5 / 255 + 1e-4, "sample \(i): \(x) → \(mean[i]), expected \(expected)")
            if mean[i] != original[i] { moved += 1 }
        }
        #expect(moved > 0)
    }

    @Test("Coarse grain: drawn on another photo with the exemplar's σ and neighbour correlation")
    func coarseGrain() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb).converted(to: .uint8)
        let photo = try example("chelsea.png")
        // [¼ ½ ¼] at unit energy (0.375 per axis): neighbours correlate by ⅔.
        let after = Self.grained(exemplar, kernel: [0.25, 0.5, 0.25].map { $0 / 0.375.squareRoot() })
        let measured = Self.noise(after, over: exemplar)
        let delta = try encode(exemplar, after)
        let sampled = Self.noise(try edit(photo, delta, grain: "sample"), over: photo)
        #expect(abs(measured.neighbour - 2.0 / 3) < 0.05, "the exemplar's own grain: neighbours correlate \(measured.neighbour)")
        for (s, t) in zip(sampled.sigma, measured.sigma) {
            #expect(abs(s - t) < 0.1 * t, "grain σ \(sampled.sigma) on the photo, \(measured.sigma) on the exemplar")
        }
        #expect(abs(sampled.neighbour - measured.neighbour) < 0.08,
                "neighbours correlate \(sampled.neighbour) on the photo, \(measured.neighbour) on the exemplar")
        #expect(sampled.correlation > 0.95)
        // One thread or two, the same draw: each row's stream, then the blur, fixed in order.
        #expect(try edit(photo, delta, grain: "sample", threads: 1) == edit(photo, delta, grain: "sample", threads: 2))
    }

    @Test("8-bit exemplars with grain of a size: σ and size read back (medians of whole levels had misread them by up to 3.5×)",
          arguments: [(0.0, 0.03), (0.7, 0.02), (1.0, 0.02), (1.0, 0.06), (1.5, 0.04), (2.0, 0.06)])
    func grainOfASize(_ size: Double, _ sigma: Double) throws {
        let exemplar = try example("chelsea.png").converted(to: .rgb).converted(to: .uint8)
        let (w, h) = (exemplar.width, exemplar.height)
        let before = exemplar.floatSamples()
        let after = Self.grained(exemplar, sigma: sigma, kernel: Grain.kernel(size: size), seed: 9)
        let grain = Grain.fit(before: before, after: after.floatSamples(), predicted: before, width: w, height: h)
        let measured = grain.covariance[0].squareRoot()
        #expect(abs(measured - sigma) < 0.05 * sigma, "σ \(measured), drawn with \(sigma) at size \(size)")
        #expect(abs(grain.size - size) < 0.1, "size \(grain.size), drawn at \(size)")
    }

    @Test("Drawn grain has the covariance and neighbour correlation of its size, whatever the bands", arguments: [0.0, 1.0, 2.0])
    func drawnGrain(_ size: Double) {
        let (w, h) = (300, 200)
        let k = Grain.kernel(size: size)
        var a1 = 0.0
        for j in 0..<(k.count - 1) { a1 += k[j] * k[j + 1] }
        let grain = Grain(covariance: [4, 0, 0, 0, 1, 0, 0, 0, 2].map { $0 * 1e-4 },
                          neighbours: [4, 0, 0, 0, 1, 0, 0, 0, 2].map { $0 * 1e-4 * a1 })
        var drawn = [Float](repeating: 0.5, count: w * h * 3)
        grain.sample(&drawn, width: w, height: h, seed: 4, Compute(threads: 2))
        for band in [1, 7, 1000] {
            var other = [Float](repeating: 0.5, count: w * h * 3)
            grain.sample(&other, width: w, height: h, seed: 4, band: band, Compute(threads: band == 7 ? 1 : 2))
            #expect(other == drawn, "bands of \(band) rows draw differently")
        }
        for channel in 0..<3 {
            let v = (0..<(w * h)).map { Double(drawn[$0 * 3 + channel]) - 0.5 }
            let variance = v.map { $0 * $0 }.reduce(0, +) / Double(v.count)
            let expected = [4e-4, 1e-4, 2e-4][channel]
            #expect(abs(variance - expected) < 0.1 * expected, "channel \(channel): variance \(variance), expected \(expected)")
            var across = 0.0, down = 0.0
            for y in 0..<(h - 1) { for x in 0..<(w - 1) { across += v[y * w + x] * v[y * w + x + 1]; down += v[y * w + x] * v[(y + 1) * w + x] } }
            let pairs = Double((w - 1) * (h - 1))
            #expect(abs(across / pairs / variance - a1) < 0.05 && abs(down / pairs / variance - a1) < 0.05,
                    "neighbours correlate \(across / pairs / variance) across, \(down / pairs / variance) down; a₁ \(a1)")
        }
    }

    @Test("The grain's size is read back from its statistics for every size on the grid", arguments: [0.0, 0.5, 1.0, 1.7, 2.5])
    func grainSize(_ size: Double) {
        let k = Grain.kernel(size: size)
        #expect(abs(k.map { $0 * $0 }.reduce(0, +) - 1) < 1e-12, "unit energy")
        let ratio = (1 - Grain.lag(k, 1)) / (1 - Grain.lag(k, 2))
        #expect(abs(Grain.size(differenceRatio: ratio) - size) < 1e-9)
        #expect(abs(Grain.size(neighbourCorrelation: Grain.lag(k, 1)) - size) < 1e-9)
        let grain = Grain(covariance: [1, 0, 0, 0, 2, 0, 0, 0, 1].map { $0 * 1e-3 },
                          neighbours: [1, 0, 0, 0, 2, 0, 0, 0, 1].map { $0 * 1e-3 * Grain.lag(k, 1) })
        #expect(abs(grain.size - size) < 1e-9)
        // White noise keeps 24/25 of its variance through the 5×5 high-pass.
        if size == 0 { #expect(abs(Grain.highPassShare(k) - 0.96) < 1e-12) }
    }

    @Test("Quickselect finds the sorted array's element, ties and all")
    func nthSmallest() {
        var random = SeededRandom(seed: 3)
        for count in [1, 2, 7, 100, 1001] {
            let values = (0..<count).map { _ in Double(Int(random.nextUnit() * 10)) / 10 }   // many ties
            let sorted = values.sorted()
            for n in Set([0, count / 2, (count - 1) / 2, count - 1]) { #expect(Grain.nthSmallest(values, n) == sorted[n]) }
        }
    }

    @Test("The grain is read from the pair's centre, at most 1024 px a side (as edit_data.grain_centre)")
    func grainCentre() {
        let (w, h) = (1030, 1027)
        let samples: [Float] = (0..<(w * h)).flatMap { p -> [Float] in [Float(p % w), Float(p / w), 0] }
        let (crop, cw, ch) = Grain.centre(samples, width: w, height: h)
        #expect(cw == 1024 && ch == 1024 && crop.count == 1024 * 1024 * 3)
        #expect(crop[0] == 3 && crop[1] == 1, "first pixel at (3, 1): (w − 1024) / 2, (h − 1024) / 2")
        #expect(crop[(1024 * 1024 - 1) * 3] == 1026 && crop[(1024 * 1024 - 1) * 3 + 1] == 1024)
        let small = [Float](repeating: 0.5, count: 30 * 20 * 3)
        #expect(Grain.centre(small, width: 30, height: 20) == (small, 30, 20))
    }

    @Test("Edits without grain measure none: a colour edit, a sharpen, a spotlight")
    func noGrain() throws {
        let exemplar = try example("coffee.png").converted(to: .rgb).converted(to: .uint8)
        let warm = mapped(exemplar) { SIMD3($0.x * 1.2, $0.y, $0.z * 0.8) }
        let sharpened = SpatialFilterTests.filtered(exemplar, SpatialFilter(sigma: 0.006, k: -1.2))
        for after in [warm, sharpened, spotlit(exemplar)] {
            let covariance = try #require(try encode(exemplar, after.converted(to: .uint8))["grain"]?.values)
            #expect(covariance.allSatisfy { $0 == 0 }, "covariance \(covariance)")
        }
    }

    @Test("The grain's colour: monochrome, colour noise, and a negative weight in delta_combine draw what the covariance allows")
    func grainCholesky() {
        let s2 = 0.0016
        let mono = Grain.cholesky(Array(repeating: s2, count: 9))
        #expect(abs(mono[0] - 0.04) < 1e-12 && abs(mono[3] - 0.04) < 1e-12 && abs(mono[6] - 0.04) < 1e-12)
        #expect(abs(mono[4]) < 1e-9 && abs(mono[7]) < 1e-9 && abs(mono[8]) < 1e-9)
        let colour = Grain.cholesky([s2, 0, 0, 0, 4 * s2, 0, 0, 0, s2])
        #expect(colour == [0.04, 0, 0, 0, 0.08, 0, 0, 0, 0.04])
        // Not positive (robust estimates, or −1 × a grain): no channel's draw exceeds its variance.
        let odd = Grain.cholesky([s2, 2 * s2, 0, 2 * s2, s2, 0, 0, 0, -s2])
        for row in 0..<3 {
            let v = (0..<3).map { odd[row * 3 + $0] * odd[row * 3 + $0] }.reduce(0, +)
            #expect(v <= max(0, [s2, s2, -s2][row]) + 1e-12)
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
        #expect(error?.message.contains("the edit model reads 'efficientnet-lite0/14' deltas") == true)
        let partial = Delta(encoder: "efficientnet-lite0/14", arrays: ["pooled": .init(shape: [2], values: [0, 1])])
        let missing = #expect(throws: NodeError.self) { try edit(photo, partial) }
        #expect(missing?.message.contains("lacks 'semantic.stride32' [7, 7, 320]") == true)
    }

    @Test("Missing weights: the path and how to install them")
    func missingWeights() throws {
        let node = AdapterEditNode(weights: EditWeights(directory: "/nonexistent/models"))
        let error = #expect(throws: ModelFileError.self) {
            try run(node, ["image": .image(try example("camera.png")), "delta": .delta(Delta(encoder: "x", arrays: [:]))])
        }
        #expect(error?.description.contains("/nonexistent/models/edit-v1.safetensors: model weights not found") == true)
        #expect(error?.description.contains("cp Models/edit-v1.safetensors /nonexistent/models/") == true)
    }
}
