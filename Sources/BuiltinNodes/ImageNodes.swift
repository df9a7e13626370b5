import Foundation
import ImageCodecs
import NodeKit

struct ResizeNode: Node {
    let descriptor = NodeDescriptor(
        kind: "resize",
        summary: "Change an image's size: to a width and/or height, a longest side, or a scale.",
        inputs: [
            PortSpec("image", .image, doc: "the image to resize"),
            PortSpec(
                "width", .integer, doc: "new width; with only a height, keeps the aspect ratio", optional: true,
                range: 1...100_000),
            PortSpec(
                "height", .integer, doc: "new height; with only a width, keeps the aspect ratio", optional: true,
                range: 1...100_000),
            PortSpec(
                "max_side", .integer, doc: "shrink so the longer side is at most this (never enlarges)",
                optional: true, range: 1...100_000),
            PortSpec("scale", .number, doc: "multiply both sides by this", optional: true, range: 0.001...100),
            PortSpec(
                "filter", .string, doc: "resampling filter", default: .string("automatic"),
                choices: ResizeFilter.allCases.map(\.rawValue)),
        ],
        outputs: [
            PortSpec("image", .image, doc: "the resized image"),
            PortSpec("width", .integer, doc: "its width in pixels"),
            PortSpec("height", .integer, doc: "its height in pixels"),
        ],
        example: """
            small: {node: resize, image: $photo.image, max_side: 1024}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let filter = ResizeFilter(rawValue: try inputs.string("filter")) ?? .automatic
        let width = inputs.optionalInteger("width")
        let height = inputs.optionalInteger("height")
        let maxSide = inputs.optionalInteger("max_side")
        let scale = inputs.optionalNumber("scale")
        let ways = [width != nil || height != nil, maxSide != nil, scale != nil].filter { $0 }.count
        guard ways == 1 else {
            throw NodeError("give exactly one of width/height, max_side or scale")
        }
        func sized(_ image: Image) -> [String: Value] {
            ["image": .image(image), "width": .integer(image.width), "height": .integer(image.height)]
        }
        if let maxSide { return sized(image.fitting(maxSide: maxSide, filter: filter)) }
        let aspect = Double(image.width) / Double(image.height)
        let (w, h): (Int, Int)
        if let scale {
            (w, h) = (Int((Double(image.width) * scale).rounded()), Int((Double(image.height) * scale).rounded()))
        } else {
            w = width ?? Int((Double(height!) * aspect).rounded())
            h = height ?? Int((Double(width!) / aspect).rounded())
        }
        return sized(image.resized(width: max(1, w), height: max(1, h), filter: filter))
    }
}

struct CompositeNode: Node {
    let descriptor = NodeDescriptor(
        kind: "composite",
        summary: "Blend an overlay onto a base image through a mask; where the mask is 0 the base is kept exactly.",
        inputs: [
            PortSpec("base", .image, doc: "the image underneath"),
            PortSpec("overlay", .image, doc: "the image on top; same size as the base (its alpha is honoured)"),
            PortSpec(
                "mask", .mask, doc: "how much of the overlay shows, per pixel; default everywhere", optional: true),
            PortSpec("opacity", .number, doc: "scales the mask", default: .number(1), range: 0...1),
        ],
        outputs: [
            PortSpec(
                "image", .image,
                doc:
                    "the blend, in the base's colour model (made colour when a grey base gets a coloured overlay) and bit depth"
            )
        ],
        example: """
            blended: {node: composite, base: $photo.image, overlay: $graded.image, opacity: 0.5}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        var base = try inputs.image("base")
        let overlay = try inputs.image("overlay")
        // A grey photo under a colour edit (a warm grade) takes the edit's colours; under a
        // neutral one (black and white) it stays grey.
        if base.colorModel.colorChannels == 1 && overlay.holdsColour {
            base = base.converted(to: base.colorModel.hasAlpha ? .rgba : .rgb)
        }
        guard overlay.width == base.width && overlay.height == base.height else {
            throw NodeError(
                "overlay is \(overlay.width)x\(overlay.height) but base is \(base.width)x\(base.height); resize one first"
            )
        }
        let opacity = Float(try inputs.number("opacity"))
        let mask = inputs.optionalImage("mask")
        if let mask, mask.width != base.width || mask.height != base.height {
            throw NodeError("mask is \(mask.width)x\(mask.height) but base is \(base.width)x\(base.height)")
        }
        let channels = base.channels
        let colors = base.colorModel.colorChannels
        // The overlay in the base's colours, keeping its alpha as alpha: converting it to an
        // opaque model would flatten it over a background, and the blend would apply alpha twice.
        let overlayModel: ColorModel =
            switch (colors, overlay.colorModel.hasAlpha) {
            case (1, false): .gray
            case (1, true): .grayAlpha
            case (_, false): .rgb
            case (_, true): .rgba
            }
        let overChannels = overlayModel.channels
        // Band by band: three full-size Float32 copies of a 12-MP photo would be 430 MB.
        let result = Image(
            width: base.width, height: base.height, colorModel: base.colorModel, format: base.sampleFormat
        ) { rows in
            var out = base.floatSamples(rows: rows)
            let over = overlay.rows(rows).converted(to: overlayModel).floatSamples()
            let weights = mask.map { $0.rows(rows).converted(to: .gray).floatSamples() }
            for p in 0..<(rows.count * base.width) {
                var w = opacity * (weights?[p] ?? 1)
                if overlayModel.hasAlpha { w *= over[p * overChannels + colors] }
                if w <= 0 { continue }  // untouched: the base's samples stay exactly as they were
                w = min(w, 1)
                for c in 0..<colors {
                    let i = p * channels + c
                    out[i] += w * (over[p * overChannels + c] - out[i])
                }
            }
            return out
        }
        return ["image": .image(result)]
    }
}

struct AdjustNode: Node {
    let descriptor = NodeDescriptor(
        kind: "adjust",
        summary: "Exposure, contrast, saturation and gamma, applied in that order.",
        inputs: [
            PortSpec("image", .image, doc: "the image to adjust"),
            PortSpec("exposure", .number, doc: "stops; +1 doubles the light", default: .number(0), range: -8...8),
            PortSpec("contrast", .number, doc: "around mid-gray; 1 leaves it", default: .number(1), range: 0...4),
            PortSpec("saturation", .number, doc: "0 is gray, 1 leaves it", default: .number(1), range: 0...4),
            PortSpec(
                "gamma", .number, doc: "output = input^(1/gamma); 1 leaves it", default: .number(1), range: 0.1...10),
        ],
        outputs: [PortSpec("image", .image, doc: "the adjusted image, in the input's bit depth")],
        example: """
            warmer: {node: adjust, image: $photo.image, exposure: 0.3, saturation: 1.2}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let gain = Float(pow(2.0, try inputs.number("exposure")))
        let contrast = Float(try inputs.number("contrast"))
        let saturation = Float(try inputs.number("saturation"))
        let inverseGamma = Float(1 / (try inputs.number("gamma")))
        let channels = image.channels
        let colors = image.colorModel.colorChannels
        let (wr, wg, wb) = lumaWeights
        let result = image.transformingFloatSamples { samples in
            for p in 0..<image.pixelCount {
                let i = p * channels
                for c in 0..<colors { samples[i + c] = (samples[i + c] * gain - 0.5) * contrast + 0.5 }
                if colors == 3 && saturation != 1 {
                    let luma = wr * samples[i] + wg * samples[i + 1] + wb * samples[i + 2]
                    for c in 0..<3 { samples[i + c] = luma + (samples[i + c] - luma) * saturation }
                }
                for c in 0..<colors {
                    let v = min(max(samples[i + c], 0), 1)
                    samples[i + c] = inverseGamma == 1 ? v : pow(v, inverseGamma)
                }
            }
        }
        return ["image": .image(result)]
    }
}

struct GrayscaleNode: Node {
    let descriptor = NodeDescriptor(
        kind: "grayscale",
        summary: "Convert to gray (Rec. 601 luma), keeping alpha.",
        inputs: [PortSpec("image", .image, doc: "the image to convert")],
        outputs: [PortSpec("image", .image, doc: "gray, or gray+alpha")],
        example: """
            gray: {node: grayscale, image: $photo.image}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        return ["image": .image(image.converted(to: image.colorModel.hasAlpha ? .grayAlpha : .gray))]
    }
}

/// A mask from an image: a painted mask, or a matte, read from a file beside each photo.
struct ToMaskNode: Node {
    let descriptor = NodeDescriptor(
        kind: "to_mask",
        summary: "Use an image as a mask: its gray level (white = 1) or its alpha, resized to a given size.",
        inputs: [
            PortSpec("image", .image, doc: "the image to read the mask from"),
            PortSpec(
                "channel", .string, doc: "gray: the luma; alpha: the alpha (1 where the image has none)",
                default: .string("gray"), choices: ["gray", "alpha"]),
            PortSpec(
                "width", .integer, doc: "resize the mask to this width (the photo's)", optional: true, range: 1...100000
            ),
            PortSpec("height", .integer, doc: "resize the mask to this height", optional: true, range: 1...100000),
        ],
        outputs: [PortSpec("mask", .mask, doc: "one channel in [0, 1]")],
        example: """
            matte: {node: to_mask, image: $graded.image, width: $photo.width, height: $photo.height}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        var image = try inputs.image("image")
        let (width, height) = (inputs.optionalInteger("width"), inputs.optionalInteger("height"))
        if width != nil || height != nil {
            image = image.resized(width: width ?? image.width, height: height ?? image.height, filter: .automatic)
        }
        let gray: Image
        if try inputs.string("channel") == "alpha" {
            let channels = image.channels
            // Band by band: a full Float32 copy of a large RGBA matte is hundreds of megabytes.
            gray =
                image.colorModel.hasAlpha
                ? Image(width: image.width, height: image.height, colorModel: .gray, format: .float32) { rows in
                    let samples = image.floatSamples(rows: rows)
                    return Swift.stride(from: channels - 1, to: samples.count, by: channels).map { samples[$0] }
                }
                : Image(width: image.width, height: image.height, colorModel: .gray, value: 1)
        } else {
            gray = image.converted(to: .gray).converted(to: .float32)
        }
        return ["mask": .mask(gray)]
    }
}

struct FlipNode: Node {
    let descriptor = NodeDescriptor(
        kind: "flip",
        summary: "Mirror an image left-right or top-bottom.",
        inputs: [
            PortSpec("image", .image, doc: "the image to mirror"),
            PortSpec(
                "direction", .string, doc: "which way", default: .string("horizontal"),
                choices: ["horizontal", "vertical"]),
        ],
        outputs: [PortSpec("image", .image, doc: "the mirrored image")],
        example: """
            mirrored: {node: flip, image: $photo.image, direction: vertical}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let orientation: ExifOrientation = try inputs.string("direction") == "vertical" ? .downMirrored : .upMirrored
        return ["image": .image(image.applying(orientation))]
    }
}

/// Film grain: Gaussian noise from the node's seed, so the same file gets the same grain in
/// every run and at any `--jobs`.
struct GrainNode: Node {
    let descriptor = NodeDescriptor(
        kind: "grain",
        summary: "Add film grain (Gaussian noise), reproducible from the seed.",
        inputs: [
            PortSpec("image", .image, doc: "the image to add grain to"),
            PortSpec(
                "amount", .number, doc: "standard deviation, as a fraction of full scale", default: .number(0.04),
                range: 0...1),
            PortSpec(
                "seed", .integer, doc: "fixes the grain; default: derived from the workflow seed and the file",
                optional: true, range: 0...9.007e15),
        ],
        outputs: [PortSpec("image", .image, doc: "the image with grain")],
        example: """
            grainy: {node: grain, image: $photo.image, amount: 0.05}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let amount = Float(try inputs.number("amount"))
        let seed = inputs.optionalInteger("seed").map(UInt64.init) ?? context.seed
        let (width, channels, colors) = (image.width, image.channels, image.colorModel.colorChannels)
        let result = Image(
            width: width, height: image.height, colorModel: image.colorModel, format: image.sampleFormat
        ) { rows in
            var samples = image.floatSamples(rows: rows)
            var noise = [Float](repeating: 0, count: width)
            for (i, y) in rows.enumerated() {
                SeededRandom.normalRow(&noise, row: y, seed: seed)
                // One noise value per pixel, shared by its colour channels: grain, not colour speckle.
                for x in 0..<width {
                    for c in 0..<colors { samples[(i * width + x) * channels + c] += amount * noise[x] }
                }
            }
            return samples
        }
        return ["image": .image(result)]
    }
}
