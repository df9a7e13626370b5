import Foundation
import ImageCodecs
import Models
import NodeKit
import TestSupport
import Testing

@testable import ExemplarFit
@testable import ModelNodes
@testable import Workflow

/// `image` moved right and down by (dx, dy) pixels, edges repeated.
func shifted(_ image: Image, dx: Int, dy: Int) -> Image {
    let rgb = image.converted(to: .rgb)
    let s = rgb.floatSamples()
    var out = s
    for y in 0..<rgb.height {
        for x in 0..<rgb.width {
            let sx = min(rgb.width - 1, max(0, x - dx))
            let sy = min(rgb.height - 1, max(0, y - dy))
            for c in 0..<3 { out[(y * rgb.width + x) * 3 + c] = s[(sy * rgb.width + sx) * 3 + c] }
        }
    }
    return Image(width: rgb.width, height: rgb.height, colorModel: .rgb, samples: out)
}

let encoder = EncodeDeltaNode(
    weights: EncoderWeights(directory: ModelFiles.directory()),
    editWeights: EditWeights(directory: ModelFiles.directory()))

func encode(_ before: Image, _ after: Image, threads: Int = 2) throws -> Delta {
    let out = try encoder.run(
        NodeInputs(["before": .image(before), "after": .image(after)]),
        context: NodeContext(item: nil, seed: 0, threads: threads))
    guard case .delta(let d)? = out["delta"] else { throw NodeError("no delta") }
    return d
}

func encode(pairs: [(Image, Image)], threads: Int = 2) throws -> Delta {
    let out = try encoder.run(
        NodeInputs(["before": .images(pairs.map(\.0)), "after": .images(pairs.map(\.1))]),
        context: NodeContext(item: nil, seed: 0, threads: threads))
    guard case .delta(let d)? = out["delta"] else { throw NodeError("no delta") }
    return d
}

func maxAbs(_ a: Delta.Array) -> Float { a.values.map(abs).max() ?? 0 }

/// How far `color.affine` values `d` (3×4, `M − [I | 0]`) take RGB `before` from `after` (RMS).
func affineRMS(_ d: [Float], _ before: Image, _ after: Image) -> Float {
    let (x, y) = (before.floatSamples(), after.floatSamples())
    var squared: Float = 0
    for p in 0..<(before.width * before.height) {
        for c in 0..<3 {
            var v = d[c * 4 + 3] + x[3 * p + c]
            for i in 0..<3 { v += d[c * 4 + i] * x[3 * p + i] }
            squared += (v - y[3 * p + c]) * (v - y[3 * p + c])
        }
    }
    return (squared / Float(x.count)).squareRoot()
}

@Suite("encode_delta")
struct EncodeDeltaTests {
    @Test("The colour fit's pair is every s-th pixel from s/2, s the least that fits 512 (as edit_data.subsampled)")
    func subsampling() {
        let (w, h) = (1030, 7)
        let rgb = (0..<(w * h * 3)).map { Float($0) }
        let small = ExemplarPair.subsampled(rgb, width: w, height: h, side: 512)
        // s = 3: columns 1, 4, …, 1027 (343 of them), rows 1 and 4.
        #expect((small.width, small.height) == (343, 2))
        let samples = small.floatSamples()
        #expect(Array(samples[0..<3]) == Array(rgb[((1 * w + 1) * 3)..<((1 * w + 1) * 3 + 3)]))
        let last = samples.count - 3
        #expect(Array(samples[last...]) == Array(rgb[((4 * w + 1027) * 3)..<((4 * w + 1027) * 3 + 3)]))
        // Small enough already: the pair itself.
        #expect(ExemplarPair.subsampled(rgb, width: w, height: h, side: 2048).floatSamples() == rgb)
    }

    @Test("A known colour edit: the fitted transform recovers it, and every part has its documented shape")
    func knownEdit() throws {
        let before = try example("coffee.png")
        // A warming grade: red up, blue down, slight lift — affine, and inside 0…1 for most pixels.
        let after = mapped(before) { v in SIMD3(0.9 * v.x + 0.05, v.y, 0.8 * v.z) }
        let delta = try encode(before, after)
        #expect(delta.encoder == "efficientnet-lite0/27")
        #expect(delta["semantic.stride8"]?.shape == [28, 28, 40])
        #expect(delta["semantic.stride16"]?.shape == [14, 14, 112])
        #expect(delta["semantic.stride32"]?.shape == [7, 7, 320])
        #expect(delta["pooled"]?.shape == [1280])
        #expect(delta["change"]?.shape == [32, 32, 3])
        #expect(delta["spatial"]?.values == [0, 0, 0, 0], "a colour edit has no spatial filter")
        #expect(delta["grain"]?.values == Array(repeating: 0, count: 18), "a colour edit adds no grain")
        #expect(delta["color.lut"]?.shape == [17, 17, 17, 3])
        #expect(delta["color.hue"]?.shape == [72, 8])
        #expect(delta["model.trust"]?.values == [0], "the fit reproduces an affine grade: no learned correction")
        #expect(delta["color.hue"]?.values.allSatisfy { $0 == 0 } == true, "a warming grade is no one-colour edit")
        let m = try #require(delta["color.affine"]).values
        let expected: [Float] = [-0.1, 0, 0, 0.05, 0, 0, 0, 0, 0, 0, -0.2, 0]  // M − [I | 0]
        for i in 0..<12 { #expect(abs(m[i] - expected[i]) < 0.02, "affine[\(i)] = \(m[i]), expected \(expected[i])") }
        let change = try #require(delta["change"]).values
        let meanBlue = stride(from: 2, to: change.count, by: 3).map { change[$0] }.reduce(0, +) / 1024
        #expect(meanBlue < -0.01, "blue went down on average")
        #expect(maxAbs(try #require(delta["semantic.stride32"])) > 0.01)
    }

    @Test("No edit, no delta: every array is exactly zero")
    func identity() throws {
        let photo = try example("chelsea.png")
        let delta = try encode(photo, photo)
        for (name, array) in delta.arrays where name != "color.affine" {
            #expect(maxAbs(array) == 0, "\(name)")
        }
        #expect(maxAbs(try #require(delta["color.affine"])) < 1e-3)
    }

    @Test("The same delta on 1 and 2 threads, bit for bit")
    func threads() throws {
        let before = try example("camera.png")
        let after = mapped(before) { 1 - $0 }
        #expect(try encode(before, after, threads: 1) == encode(before, after, threads: 2))
    }

    @Test("An after exported smaller (same frame) is resized to match")
    func smallerAfter() throws {
        let before = try example("chelsea.png")
        let after = mapped(before) { $0 * 0.8 }.resized(width: before.width / 2, height: before.height / 2)
        let d = try #require(try encode(before, after)["color.affine"]).values
        // A mostly grey photo leaves the per-channel split ill-determined; what must hold is that
        // the fitted transform reproduces the after from the before.
        let rms = affineRMS(d, before.converted(to: .rgb).resized(width: after.width, height: after.height), after)
        #expect(rms < 0.005, "fit reproduces the after to \(rms) RMS; D = \(d)")
    }

    @Test("Several pairs make one delta: the semantic delta their mean, the colour map fitted on all")
    func severalPairs() throws {
        let grade: (SIMD3<Float>) -> SIMD3<Float> = { SIMD3($0.x * 0.9 + 0.08, $0.y * 0.85, $0.z * 0.7 + 0.05) }
        let photos = try ["chelsea.png", "coffee.png"].map {
            try example($0).converted(to: .rgb).resized(width: 192, height: 128)
        }
        let pairs = photos.map { ($0, mapped($0, grade)) }
        let both = try encode(pairs: pairs)
        let one = try pairs.map { try encode($0.0, $0.1) }
        for key in ["pooled", "semantic.stride32"] {
            let mean = zip(one[0][key]!.values, one[1][key]!.values).map { ($0 + $1) / 2 }
            let d = zip(both[key]!.values, mean).map { abs($0 - $1) }.max()!
            #expect(d < 1e-5, "\(key) differs from the pairs' mean by \(d)")
        }
        // One affine map reproduces both afters: fitted on both photos' colours together.
        let d = both["color.affine"]!.values
        for (before, after) in pairs {
            let rms = affineRMS(d, before, after)
            #expect(rms < 0.005, "the pooled map reproduces an after to \(rms) RMS")
        }
        // A second pair shifted (at full size: the check looks ±3 px at 128 px) is named.
        let coffee = try example("coffee.png")
        let error = #expect(throws: NodeError.self) {
            try encode(pairs: [pairs[0], (coffee, shifted(coffee, dx: 8, dy: 0))])
        }
        #expect(
            error?.message.hasPrefix("pair 2 of 2: the exemplar's after looks shifted") == true,
            "\(String(describing: error))")
        let uneven = #expect(throws: NodeError.self) {
            try encoder.run(
                NodeInputs(["before": .images(photos), "after": .images([pairs[0].1])]),
                context: NodeContext(item: nil, seed: 0, threads: 1))
        }
        #expect(uneven?.message.contains("2 befores but 1 afters") == true)
    }

    @Test("Different frames are refused with both sizes and what to do")
    func differentFrames() throws {
        let before = try example("chelsea.png")
        let after = before.resized(width: before.width, height: before.height / 2)
        let error = #expect(throws: NodeError.self) { try encode(before, after) }
        #expect(
            error?.message.contains(
                "the exemplar's before is \(before.width)x\(before.height) but its after is \(before.width)x\(before.height / 2)"
            ) == true)
        #expect(error?.message.contains("crop or resize one to match the other") == true)
    }

    @Test(
        "Two different photos are refused as an exemplar, with what was measured",
        arguments: [("chelsea.png", "coffee.png"), ("astronaut.png", "camera.png")])
    func unrelatedPhotos(before: String, after: String) throws {
        let b = try example(before)
        let a = try example(after).converted(to: .rgb).resized(width: b.width, height: b.height)
        let error = #expect(throws: NodeError.self) { try encode(b, a) }
        #expect(error?.message.hasPrefix("the exemplar's before and after look like two different photos") == true)
        #expect(error?.message.contains("check that the two files are the pair you meant") == true)
    }

    @Test("A shifted after is refused as misaligned", arguments: [(8, 0), (0, -6), (5, 5)])
    func misaligned(dx: Int, dy: Int) throws {
        let before = try example("coffee.png")
        let error = #expect(throws: NodeError.self) { try encode(before, shifted(before, dx: dx, dy: dy)) }
        #expect(error?.message.contains("looks shifted against its before") == true)
    }

    @Test(
        "Strong in-place edits are not mistaken for a shift",
        arguments: ["invert", "gray", "dark", "blur", "emboss", "emboss half"])
    func inPlaceEdits(edit: String) throws {
        // A half-mixed relief lines up a pixel over as well as a small shift does on a furry
        // photo; only the tones tell them apart.
        let before = try example(edit == "emboss half" ? "chelsea.png" : "astronaut.png")
        let after: Image =
            switch edit {
            case "invert": mapped(before) { 1 - $0 }
            case "gray": mapped(before) { v in SIMD3(repeating: 0.3 * v.x + 0.59 * v.y + 0.11 * v.z) }
            case "dark": mapped(before) { $0 * $0 * 0.5 }
            case "emboss": Self.embossed(before)
            case "emboss half": Self.embossed(before, mix: 0.5)
            default:
                before.resized(width: before.width / 6, height: before.height / 6).resized(
                    width: before.width, height: before.height)
            }
        _ = try encode(before, after)
    }

    /// A horizontal relief (the luma's difference across each pixel, around mid-gray) mixed 80 %
    /// over the photo: its structure lines up best one pixel over, a third less well than a
    /// shifted photo's does.
    static func embossed(_ image: Image, mix: Float = 0.8) -> Image {
        let (w, h) = (image.width, image.height)
        let rgb = image.converted(to: .rgb).floatSamples()
        var luma = [Float](repeating: 0, count: w * h)
        for p in 0..<(w * h) {
            let (r, g, b): (Float, Float, Float) = (rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2])
            luma[p] = 0.299 * r + 0.587 * g + 0.114 * b
        }
        var out = rgb
        for y in 0..<h {
            for x in 0..<w {
                let across: Float = luma[y * w + min(w - 1, x + 1)] - luma[y * w + max(0, x - 1)]
                let relief: Float = min(1, max(0, 0.5 + 3 * across))
                for k in 0..<3 {
                    let i = 3 * (y * w + x) + k
                    out[i] += mix * (relief - rgb[i])
                }
            }
        }
        return Image(width: w, height: h, colorModel: .rgb, samples: out)
    }
}

@Suite("delta_combine")
struct DeltaCombineTests {
    static func delta(_ values: [Float], encoder: String = "e") -> Delta {
        Delta(encoder: encoder, arrays: ["x": Delta.Array(shape: [values.count], values: values)])
    }

    func combine(_ inputs: [String: Value]) throws -> Delta {
        guard
            case .delta(let d)? = try DeltaCombineNode().run(
                NodeInputs(inputs), context: NodeContext(item: nil, seed: 0))["delta"]
        else { throw NodeError("no delta") }
        return d
    }

    @Test("Scaling and adding, array by array")
    func arithmetic() throws {
        let a = Self.delta([1, -2, 4])
        let b = Self.delta([0.5, 0.5, 0.5])
        #expect(
            try combine(["a": .delta(a), "weight_a": .number(0.5), "weight_b": .number(1)]) == Self.delta([0.5, -1, 2]))
        #expect(
            try combine(["a": .delta(a), "weight_a": .number(1), "b": .delta(b), "weight_b": .number(-2)])
                == Self.delta([0, -3, 3]))
    }

    @Test("Deltas from different encoders or shapes do not combine")
    func mismatch() throws {
        let a = Self.delta([1])
        let other = Self.delta([1], encoder: "f")
        let longer = Self.delta([1, 2])
        let e1 = #expect(throws: NodeError.self) {
            try combine(["a": .delta(a), "weight_a": .number(1), "b": .delta(other), "weight_b": .number(1)])
        }
        #expect(e1?.message == "cannot combine a 'e' delta with a 'f' delta: they describe edits in different terms")
        #expect(throws: NodeError.self) {
            try combine(["a": .delta(a), "weight_a": .number(1), "b": .delta(longer), "weight_b": .number(1)])
        }
    }

    @Test("Two real edits compose: the colour transforms add as offsets from identity")
    func composition() throws {
        let photo = try example("coffee.png")
        let redder = try encode(photo, mapped(photo) { v in SIMD3(v.x * 1.1, v.y, v.z) })
        let bluer = try encode(photo, mapped(photo) { v in SIMD3(v.x, v.y, v.z * 0.9) })
        let both = try combine([
            "a": .delta(redder), "weight_a": .number(1), "b": .delta(bluer), "weight_b": .number(1),
        ])
        let m = try #require(both["color.affine"]).values
        #expect(abs(m[0] - 0.1) < 0.03 && abs(m[10] + 0.1) < 0.03, "\(m)")
    }
}

@Suite("color_transfer")
struct ColorTransferTests {
    func transferred(_ image: Image, _ offset: [Float]) throws -> Image {
        let delta = Delta(encoder: "test", arrays: ColourAffine(offset: offset).arrays)
        let out = try ColorTransferNode().run(
            NodeInputs(["image": .image(image), "delta": .delta(delta), "strength": .number(1)]),
            context: NodeContext(item: nil, seed: 0))
        guard case .image(let result)? = out["image"] else { throw NodeError("no image") }
        return result
    }

    @Test("A gray photo takes a warm transform's colours, and stays gray under a neutral one")
    func grayPhotos() throws {
        let camera = try example("camera.png").resized(width: 64, height: 64)
        #expect(camera.colorModel == .gray)
        let warm = try transferred(camera, [0.1, 0, 0, 0.05, 0, 0, 0, 0, 0, 0, -0.1, -0.05])
        #expect(warm.colorModel == .rgb && warm.holdsColour)
        let (x, y) = (camera.floatSamples(), warm.floatSamples())
        for p in [0, 100, 2000] {
            #expect(abs(y[3 * p] - min(1, max(0, 1.1 * x[p] + 0.05))) < 1 / 255 + 1e-4)
            #expect(abs(y[3 * p + 2] - min(1, max(0, 0.9 * x[p] - 0.05))) < 1 / 255 + 1e-4)
        }
        let brighter = try transferred(camera, [0.2, 0, 0, 0, 0, 0.2, 0, 0, 0, 0, 0.2, 0])
        #expect(brighter.colorModel == .gray)
        let z = brighter.floatSamples()
        #expect(abs(z[100] - min(1, 1.2 * x[100])) < 1 / 255 + 1e-4)
    }
}
