import ExemplarFit
import Foundation
import ImageCodecs
import NodeKit
import TensorCore

/// The exemplar's colour step (tone curves, hue shift, colour table) as a function of colour: what a
/// 3D LUT can carry of the edit, and nothing position-dependent.
struct ColourLook {
    let fit: ExemplarFit
    let strength: Float

    init(_ delta: Delta, strength: Double) throws {
        guard delta.encoder == ExemplarDelta.encoder else {
            throw NodeError(
                "this delta is from '\(delta.encoder)', not encode_delta (\(ExemplarDelta.encoder)): it has no colour step"
            )
        }
        fit = try ExemplarDelta(delta).fit
        self.strength = Float(strength)
    }

    /// Interleaved RGB (0…1) through the colour step, blended with the input by `strength`, and
    /// clamped to 0…1 unless `clamped` is false: a .cube's grid keeps what lies beyond, so tools
    /// that interpolate it and then clamp (ffmpeg, Resolve) give what `color_grade` gives.
    func apply(_ rgb: [Float], _ c: Compute, clamped: Bool = true) -> [Float] {
        let full = fit.colour.apply(to: rgb, c, clamped: false)
        let (low, high): (Float, Float) = clamped ? (0, 1) : (-.infinity, .infinity)
        return zip(rgb, full).map { min(high, max(low, $0 + strength * ($1 - $0))) }
    }

    /// What the exemplar's edit does that a LUT cannot carry, for the user to hear about.
    var leftOut: [String] {
        var parts: [String] = []
        if fit.spatial != .none {
            parts.append("a \(fit.spatial.words)")
        }
        if !fit.field.isNone { parts.append("a change across the frame (vignette, graduated filter)") }
        if !fit.learned.isNone { parts.append("a learned local operator (texture, neighbourhood or position)") }
        if !fit.grain.isNone { parts.append("grain") }
        return parts
    }
}

/// `color_grade`: only the colour of the exemplar's edit — what `save_lut` exports — applied to a photo.
struct ColorGradeNode: Node {
    let descriptor = NodeDescriptor(
        kind: "color_grade",
        summary:
            "Apply only the colour of an exemplar's edit (its colour step, as save_lut exports it) to an image: no filter, operator or grain.",
        inputs: [
            PortSpec("image", .image, doc: "the photo to grade"),
            PortSpec("delta", .delta, doc: "from encode_delta (or delta_combine)"),
            PortSpec(
                "strength", .number, doc: "0 leaves the photo as it is, 1 applies the exemplar's colour",
                default: .number(1), range: 0...2),
        ],
        outputs: [PortSpec("image", .image, doc: "the graded photo (RGB; alpha kept), in float")],
        example: """
            graded: {node: color_grade, image: $photo.image, delta: $warm.delta}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let look = try ColourLook(try inputs.delta("delta"), strength: try inputs.number("strength"))
        let rgbModel: ColorModel = image.colorModel.hasAlpha ? .rgba : .rgb
        let source = image.converted(to: rgbModel)
        var samples = source.floatSamples()
        let pixels = source.pixelCount
        let stride = source.channels
        let rgb = (0..<(pixels * 3)).map { samples[($0 / 3) * stride + $0 % 3] }
        let graded = look.apply(rgb, Compute(threads: context.threads))
        for p in 0..<pixels {
            for c in 0..<3 { samples[p * stride + c] = graded[p * 3 + c] }
        }
        return [
            "image": .image(Image(width: image.width, height: image.height, colorModel: rgbModel, samples: samples))
        ]
    }
}

/// `save_lut`: the exemplar's colour as a file other tools apply — a `.cube` 3D LUT (Resolve,
/// darktable, ffmpeg's lut3d) or a Hald CLUT `.png` (ImageMagick's -hald-clut, GIMP, RawTherapee).
struct SaveLUTNode: Node {
    let descriptor = NodeDescriptor(
        kind: "save_lut",
        summary:
            "Write the colour of an exemplar's edit as a 3D LUT: .cube (Resolve, darktable, ffmpeg lut3d) or a Hald CLUT .png (ImageMagick -hald-clut).",
        inputs: [
            PortSpec("delta", .delta, doc: "from encode_delta (or delta_combine)"),
            PortSpec("path", .path, doc: "the file: .cube for a cube LUT, .png for a Hald CLUT"),
            PortSpec(
                "size", .integer, doc: "colours per axis of the .cube (33 is what editors expect)",
                default: .integer(33), range: 2...129),
            PortSpec(
                "level", .integer, doc: "Hald level: level² colours per axis, a level³ × level³ image (8: 64, 512×512)",
                default: .integer(8), range: 2...16),
            PortSpec(
                "strength", .number, doc: "0 the identity, 1 the exemplar's colour", default: .number(1), range: 0...2),
        ],
        outputs: [PortSpec("path", .path, doc: "the file written")],
        hasSideEffects: true,
        example: """
            lut: {node: save_lut, delta: $warm.delta, path: looks/warm.cube}
            """,
        writeInputs: ["path"])

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let path = try inputs.string("path")
        let look = try ColourLook(try inputs.delta("delta"), strength: try inputs.number("strength"))
        let c = Compute(threads: context.threads)
        try context.checkWrite(path)
        try AtomicFile.createDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "cube":
            let size = try inputs.integer("size")
            try AtomicFile.write(Array(Self.cube(look, size: size, c).utf8), to: path)
        case "png":
            let level = try inputs.integer("level")
            try ImageFile.write(Self.hald(look, level: level, c), to: path, options: .png(PNGOptions(bitDepth: 16)))
        default:
            throw NodeError("cannot tell the LUT format of '\(path)': end it in .cube (cube LUT) or .png (Hald CLUT)")
        }
        return ["path": .path(path)]
    }

    /// A grid of `n` colours per axis, red changing fastest (the order .cube and Hald share).
    static func grid(_ n: Int) -> [Float] {
        let step = 1 / Float(n - 1)
        var rgb = [Float](repeating: 0, count: n * n * n * 3)
        for b in 0..<n {
            for g in 0..<n {
                for r in 0..<n {
                    let i = ((b * n + g) * n + r) * 3
                    (rgb[i], rgb[i + 1], rgb[i + 2]) = (Float(r) * step, Float(g) * step, Float(b) * step)
                }
            }
        }
        return rgb
    }

    /// The Adobe/Resolve cube format: a header, then one "r g b" line per grid colour.
    static func cube(_ look: ColourLook, size n: Int, _ c: Compute) -> String {
        let values = look.apply(grid(n), c, clamped: false)
        var text = "# Made by deltaflow save_lut: the colour of an exemplar's edit.\n"
        if !look.leftOut.isEmpty {
            text += "# Not in this LUT (a LUT holds colour only): \(look.leftOut.joined(separator: ", ")).\n"
        }
        text +=
            "TITLE \"deltaflow exemplar colour\"\nLUT_3D_SIZE \(n)\nDOMAIN_MIN 0.0 0.0 0.0\nDOMAIN_MAX 1.0 1.0 1.0\n"
        text.reserveCapacity(text.utf8.count + n * n * n * 27)
        for i in 0..<(n * n * n) {
            text += String(format: "%.6f %.6f %.6f\n", values[3 * i], values[3 * i + 1], values[3 * i + 2])
        }
        return text
    }

    /// A Hald CLUT: the grid of level² colours per axis laid out row by row in a level³-square image.
    static func hald(_ look: ColourLook, level: Int, _ c: Compute) -> Image {
        let n = level * level
        let side = level * level * level
        return Image(width: side, height: side, colorModel: .rgb, samples: look.apply(grid(n), c))
    }
}
