import BuiltinNodes
import Foundation
import ImageCodecs
import NodeKit
import Testing
import Workflow

@testable import PluginHost

/// A small image whose every sample differs, so misplaced pixels show.
func pattern(width: Int = 9, height: Int = 6, model: ColorModel = .rgb) -> Image {
    var samples: [Float] = []
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<model.channels { samples.append(Float((x * 7 + y * 13 + c * 29) % 64) / 63) }
        }
    }
    return Image(width: width, height: height, colorModel: model, samples: samples)
}

func node(_ kind: String, in path: String) throws -> PluginNode {
    try #require(try PluginLibrary.load(path).nodes.first { $0.descriptor.kind == kind })
}

let context = NodeContext(item: nil, seed: 42)

@Suite("Running plugin nodes")
struct RunningTests {
    /// The C box blur against the definition: the mean over a clamped (2r+1)² window.
    @Test(arguments: [0, 1, 3, 20])
    func boxBlur(radius: Int) throws {
        let blur = try node("examples.box_blur", in: try Plugins.boxBlur())
        let image = pattern()
        let out = try blur.run(NodeInputs(["image": .image(image), "radius": .integer(radius)]), context: context)
        guard case .image(let result)? = out["image"] else {
            Issue.record("no image")
            return
        }
        #expect(result.width == 9 && result.height == 6 && result.colorModel == .rgb && result.sampleFormat == .float32)
        var worst: Float = 0
        for y in 0..<6 {
            for x in 0..<9 {
                for c in 0..<3 {
                    var sum: Float = 0
                    for dy in -radius...radius {
                        for dx in -radius...radius {
                            sum += image[min(max(x + dx, 0), 8), min(max(y + dy, 0), 5), c]
                        }
                    }
                    worst = max(worst, abs(sum / Float((2 * radius + 1) * (2 * radius + 1)) - result[x, y, c]))
                }
            }
        }
        #expect(worst < 1e-5)
    }

    /// The posterize port asks for 8-bit samples: a float image arrives converted, and the
    /// 8-bit output comes back as an 8-bit image; alpha passes through.
    @Test func posterizeEightBit() throws {
        let poster = try node("examples.posterize", in: try Plugins.boxBlur())
        let image = pattern(model: .rgba)
        let out = try poster.run(NodeInputs(["image": .image(image), "levels": .integer(2)]), context: context)
        guard case .image(let result)? = out["image"] else {
            Issue.record("no image")
            return
        }
        #expect(result.sampleFormat == .uint8 && result.colorModel == .rgba)
        let source = image.converted(to: .uint8)
        for y in 0..<6 {
            for x in 0..<9 {
                for c in 0..<3 { #expect(result[x, y, c] == (source[x, y, c] >= 0.5 ? 1 : 0)) }
                #expect(result[x, y, 3] == source[x, y, 3])
            }
        }
    }

    @Test func swiftToneCurve() throws {
        let curve = try node("examples.tone_curve", in: try Plugins.toneCurve())
        let image = pattern(model: .grayAlpha).converted(to: .uint16)
        let inputs: [String: Value] = [
            "image": .image(image), "black": .number(0.1), "white": .number(0.8), "gamma": .number(2),
        ]
        let out = try curve.run(NodeInputs(inputs), context: context)
        guard case .image(let result)? = out["image"] else {
            Issue.record("no image")
            return
        }
        for y in 0..<6 {
            for x in 0..<9 {
                let expected = pow(min(max((image[x, y, 0] - 0.1) / 0.7, 0), 1), 0.5)
                #expect(abs(result[x, y, 0] - expected) < 1e-5)
                #expect(result[x, y, 1] == image[x, y, 1], "alpha passes through")
            }
        }
        let error = #expect(throws: NodeError.self) {
            try curve.run(
                NodeInputs(["image": .image(image), "black": .number(0.6), "white": .number(0.4), "gamma": .number(1)]),
                context: context)
        }
        #expect(error?.message == "examples.tone_curve: white (0.4) must be above black (0.6)")
    }

    /// Every input type reaches the plugin, defaults included; outputs come back typed.
    @Test func marshalling() throws {
        let describe = try node("test.describe", in: try Plugins.test())
        let out = try describe.run(
            NodeInputs([
                "mode": .string("exact"), "count": .integer(7), "words": .strings(["héllo wörld", "b"]),
                "gain": .number(2.5), "flag": .bool(false),
            ]), context: context)
        #expect(out["text"] == .string("exact|7|2.5|0|2|héllo wörld|0"))
        #expect(out["seed"] == .integer(42))
    }

    /// Deltas cross the ABI as named float arrays and come back intact.
    @Test func deltaRoundTrip() throws {
        let double = try node("test.double_delta", in: try Plugins.test())
        let delta = Delta(
            encoder: "efficientnet-lite0/21",
            arrays: [
                "color.affine": Delta.Array(shape: [3, 4], values: (0..<12).map { Float($0) / 10 }),
                "pooled": Delta.Array(shape: [5], values: [1, -2, 3, -4, 5]),
            ])
        let out = try double.run(NodeInputs(["delta": .delta(delta)]), context: context)
        #expect(out["delta"] == .delta(try Delta.combination([(delta, 2)])))
    }

    @Test func maskOutput() throws {
        let threshold = try node("test.threshold", in: try Plugins.test())
        let image = pattern()
        let out = try threshold.run(NodeInputs(["image": .image(image)]), context: context)
        guard case .mask(let mask)? = out["mask"] else {
            Issue.record("no mask")
            return
        }
        #expect(mask.colorModel == .gray && mask.sampleFormat == .uint8)
        for y in 0..<6 { for x in 0..<9 { #expect(mask[x, y, 0] == (image[x, y, 0] >= 0.5 ? 1 : 0)) } }
    }

    /// How plugin failures read: the plugin's own message, or what it did wrong.
    @Test(arguments: [
        ("test.fail", "test.fail: cannot process (no item): the test plugin always refuses"),
        ("test.fail_silently", "plugin node 'test.fail_silently' failed (it returned 7) without saying why"),
        (
            "test.forget_output",
            "plugin node 'test.forget_output' returned success without setting its output 'image' (image)"
        ),
        (
            "test.wrong_setter",
            "plugin node 'test.wrong_setter' misused the host API: output_number was used for output 'image', which is declared image"
        ),
    ])
    func failures(kind: String, message: String) throws {
        let failing = try node(kind, in: try Plugins.test())
        let error = #expect(throws: NodeError.self) {
            try failing.run(NodeInputs(["image": .image(pattern())]), context: context)
        }
        #expect(error?.message == message)
    }
}
