import Foundation
import ImageCodecs
import NodeKit

/// Reads one image file, or — with `each:` — every matching file of a directory, one per item.
struct LoadNode: Node {
    let descriptor = NodeDescriptor(
        kind: "load",
        summary: "Read a PNG or JPEG file (turned upright by its EXIF orientation).",
        inputs: [
            PortSpec("path", .path, doc: "the image file; supplied per file when the node iterates with 'each'"),
            PortSpec(
                "max_pixels", .integer, doc: "refuse images with more pixels than this",
                default: .integer(DecodeOptions.defaultMaxPixels), range: 1...1e12),
            PortSpec(
                "max_file_bytes", .integer, doc: "refuse files larger than this many bytes",
                default: .integer(DecodeOptions.defaultMaxFileBytes), range: 1...1e15),
        ],
        outputs: [
            PortSpec("image", .image, doc: "the decoded image, in the file's own bit depth"),
            PortSpec("path", .path, doc: "the file that was read"),
            PortSpec("width", .integer, doc: "width in pixels"),
            PortSpec("height", .integer, doc: "height in pixels"),
        ],
        iterationInput: "path",
        example: """
            photo: {node: load, each: $input, pattern: "*.{jpg,jpeg,png}", recursive: true}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let path = try inputs.string("path")
        let options = DecodeOptions(
            maxPixels: try inputs.integer("max_pixels"), maxFileBytes: try inputs.integer("max_file_bytes"))
        let image = try ImageFile.read(path, options: options)
        return [
            "image": .image(image), "path": .path(path), "width": .integer(image.width),
            "height": .integer(image.height),
        ]
    }
}

/// Writes an image atomically; never over a file the run reads.
struct SaveNode: Node {
    let descriptor = NodeDescriptor(
        kind: "save",
        summary: "Write an image as PNG or JPEG, atomically (a crash never leaves a partial file).",
        inputs: [
            PortSpec("image", .image, doc: "what to write"),
            PortSpec("dir", .path, doc: "output directory; created if missing"),
            PortSpec(
                "name", .string, doc: "file name, may hold {stem}, {relpath}, {index}…; default {relpath}.png",
                optional: true),
            PortSpec(
                "format", .string, doc: "png or jpeg; default: from the name's extension", optional: true,
                choices: ["png", "jpeg"]),
            PortSpec("quality", .integer, doc: "JPEG quality", default: .integer(92), range: 1...100),
            PortSpec(
                "bit_depth", .integer, doc: "PNG bits per sample, 8 or 16; default: the image's own",
                optional: true, range: 8...16),
            PortSpec(
                "compression", .integer,
                doc:
                    "PNG zlib level, 0 (none) to 9 (smallest), for images that compress like graphics; photos are written run-length at any level but 0 (as small, 2-3x faster)",
                default: .integer(PNGOptions.defaultCompressionLevel), range: 0...9),
        ],
        outputs: [PortSpec("path", .path, doc: "the file written")],
        hasSideEffects: true,
        example: """
            out: {node: save, image: $photo.image, dir: $output, name: "{relpath}.jpg", quality: 90}
            """,
        plannedOutput: .init(inputs: ["dir", "name"]) { inputs, item in try Self.path(inputs, item: item).path })

    /// The file written and its name within `dir`: `name`, or by default the item's relative path
    /// as PNG.
    static func path(_ inputs: NodeInputs, item: NodeContext.Item?) throws -> (path: String, name: String) {
        let directory = try inputs.string("dir")
        let name: String
        if let given = inputs.optionalString("name") {
            name = given
        } else if let item {
            name = (item.relativeDirectory.isEmpty ? "" : item.relativeDirectory + "/") + item.stem + ".png"
        } else {
            throw NodeError("'name' is needed when saving outside an iteration")
        }
        guard !name.isEmpty, !name.split(separator: "/").contains("..") else {
            throw NodeError("output name '\(name)' must be a relative path inside the output directory")
        }
        return (URL(fileURLWithPath: directory).appendingPathComponent(name).standardizedFileURL.path, name)
    }

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let image = try inputs.image("image")
        let (path, name) = try Self.path(inputs, item: context.item)
        let format: ImageFormat
        if let chosen = inputs.optionalString("format") {
            format = chosen == "png" ? .png : .jpeg
        } else {
            guard let inferred = ImageFormat(pathExtension: URL(fileURLWithPath: name).pathExtension) else {
                throw NodeError("cannot tell the format of '\(name)'; end it in .png or .jpg, or set 'format'")
            }
            format = inferred
        }
        if let depth = inputs.optionalInteger("bit_depth"), depth != 8 && depth != 16 {
            throw NodeError("bit_depth must be 8 or 16, not \(depth)")
        }
        if context.inputFiles.contains(URL(fileURLWithPath: path).resolvingSymlinksInPath().path) {
            throw NodeError("refusing to write \(path): it is one of this run's input files")
        }
        try AtomicFile.createDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        let options: EncodeOptions =
            switch format {
            case .png:
                .png(
                    PNGOptions(
                        bitDepth: inputs.optionalInteger("bit_depth"),
                        compressionLevel: try inputs.integer("compression")))
            case .jpeg: .jpeg(JPEGOptions(quality: try inputs.integer("quality")))
            }
        try ImageFile.write(image, to: path, options: options)
        return ["path": .path(path)]
    }
}
