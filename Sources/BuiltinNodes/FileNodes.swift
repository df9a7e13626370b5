import Foundation
import ImageCodecs
import NodeKit

extension DecodeOptions {
    /// The decoding limits as inputs of a node that reads image files.
    static let ports = [
        PortSpec(
            "max_pixels", .integer, doc: "refuse images with more pixels than this",
            default: .integer(defaultMaxPixels), range: 1...1e12),
        PortSpec(
            "max_file_bytes", .integer, doc: "refuse files larger than this many bytes",
            default: .integer(defaultMaxFileBytes), range: 1...1e15),
    ]

    init(_ inputs: NodeInputs) throws {
        self.init(maxPixels: try inputs.integer("max_pixels"), maxFileBytes: try inputs.integer("max_file_bytes"))
    }
}

/// Reads one image file, or — with `each:` — every matching file of a directory, one per item.
struct LoadNode: Node {
    let descriptor = NodeDescriptor(
        kind: "load",
        summary:
            "Read a PNG, JPEG, TIFF or WebP file: turned upright by its orientation, converted from its ICC profile to sRGB (kept for save).",
        inputs: [
            PortSpec("path", .path, doc: "the image file; supplied per file when the node iterates with 'each'")
        ] + DecodeOptions.ports,
        outputs: [
            PortSpec("image", .image, doc: "the decoded image, in the file's own bit depth"),
            PortSpec("path", .path, doc: "the file that was read"),
            PortSpec("width", .integer, doc: "width in pixels"),
            PortSpec("height", .integer, doc: "height in pixels"),
            PortSpec("megapixels", .number, doc: "width × height in millions of pixels"),
            PortSpec("format", .string, doc: "the file's format by its content: png, jpeg, tiff or webp"),
            PortSpec("exif.make", .string, doc: "the camera's maker, if the EXIF says", optional: true),
            PortSpec("exif.model", .string, doc: "the camera's model, if the EXIF says", optional: true),
            PortSpec(
                "exif.datetime", .string, doc: "when it was taken, as EXIF writes it (2024:05:01 14:03:22), if it says",
                optional: true),
            PortSpec("exif.iso", .integer, doc: "the exposure's ISO, if the EXIF says", optional: true),
            PortSpec(
                "exif.orientation", .integer,
                doc: "the EXIF orientation the file was stored with (1 … 8; the image is already upright), if it says",
                optional: true),
        ],
        iterationInput: "path",
        example: """
            photo: {node: load, each: $input, pattern: "*.{jpg,jpeg,png,tif,tiff,webp}", recursive: true}
            """)

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let path = try inputs.string("path")
        let options = try DecodeOptions(inputs)
        let image = try ImageFile.read(path, options: options)
        var outputs: [String: Value] = [
            "image": .image(image), "path": .path(path), "width": .integer(image.width),
            "height": .integer(image.height), "megapixels": .number(Double(image.pixelCount) / 1e6),
            "format": .string(try ImageFile.format(of: path).rawValue),
        ]
        let camera = image.metadata.camera
        outputs["exif.make"] = camera.make.map(Value.string)
        outputs["exif.model"] = camera.model.map(Value.string)
        outputs["exif.datetime"] = camera.dateTime.map(Value.string)
        outputs["exif.iso"] = camera.iso.map(Value.integer)
        let orientation =
            image.metadata.orientationAsRead
            ?? image.metadata.exif.flatMap { bytes in
                bytes.withUnsafeBytes { ExifOrientation.parse(tiff: $0)?.rawValue }
            }
        outputs["exif.orientation"] = orientation.map(Value.integer)
        return outputs
    }
}

/// Reads an exemplar: one before and after, or several pairs of one edit — two directories whose
/// files pair up by name — so a photographer's few hand-edited shots teach the edit together.
struct LoadPairsNode: Node {
    static let extensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff", "webp"]

    let descriptor = NodeDescriptor(
        kind: "load_pairs",
        summary:
            "Read exemplar pairs for encode_delta: a before and an after file, or two directories of photos paired by file name.",
        inputs: [
            PortSpec("before", .path, doc: "the photo before the edit, or a directory of photos before it"),
            PortSpec(
                "after", .path,
                doc:
                    "the photo after the edit, or a directory of the edited photos: each paired with the before of the same name, whatever its extension"
            ),
            PortSpec(
                "max_pairs", .integer, doc: "refuse more pairs than this (each adds to the exemplar's encoding time)",
                default: .integer(8), range: 1...64),
        ] + DecodeOptions.ports,
        outputs: [
            PortSpec("before", .images, doc: "the befores, in the order of their names"),
            PortSpec("after", .images, doc: "the afters, in the same order"),
            PortSpec("count", .integer, doc: "how many pairs"),
        ],
        example: """
            exemplar: {node: load_pairs, before: shoot/originals, after: shoot/edited}
            """,
        readInputs: ["before", "after"])

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        let (before, after) = (try inputs.string("before"), try inputs.string("after"))
        let options = try DecodeOptions(inputs)
        let pairs = try Self.pairs(before: before, after: after, limit: try inputs.integer("max_pairs"))
        var befores: [Image] = []
        var afters: [Image] = []
        for (b, a) in pairs {
            befores.append(try ImageFile.read(b, options: options))
            afters.append(try ImageFile.read(a, options: options))
        }
        return ["before": .images(befores), "after": .images(afters), "count": .integer(pairs.count)]
    }

    /// The files to read, in pairs: two files as they are, or two directories' photos
    /// matched by name without extension (`IMG_1.jpg` with `IMG_1.png`), every file paired.
    static func pairs(before: String, after: String, limit: Int) throws(NodeError) -> [(String, String)] {
        func isDirectory(_ path: String) throws(NodeError) -> Bool {
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else {
                throw NodeError("cannot read \(path): no such file or directory")
            }
            return directory.boolValue
        }
        switch (try isDirectory(before), try isDirectory(after)) {
        case (false, false): return [(before, after)]
        case (true, true): break
        case (let b, _):
            throw NodeError(
                """
                the exemplar's before (\(before)) is a \(b ? "directory" : "file") but its after (\(after)) is \
                a \(b ? "file" : "directory"): give two files (one pair) or two directories (pairs matched by name)
                """)
        }
        let (befores, afters) = (try photos(in: before), try photos(in: after))
        var problems: [String] = []
        for (directory, names) in [(before, befores), (after, afters)] {
            for (stem, files) in names.sorted(by: { $0.key < $1.key }) where files.count > 1 {
                problems.append("\(files.joined(separator: " and ")) in \(directory) are both '\(stem)'")
            }
        }
        let onlyBefore = befores.keys.filter { afters[$0] == nil }.sorted()
        let onlyAfter = afters.keys.filter { befores[$0] == nil }.sorted()
        func listed(_ stems: [String], _ names: [String: [String]]) -> String {
            let shown = stems.prefix(10).flatMap { names[$0]! }.joined(separator: ", ")
            return stems.count > 10 ? shown + " … and \(stems.count - 10) more" : shown
        }
        if !onlyBefore.isEmpty { problems.append("no after in \(after) for \(listed(onlyBefore, befores))") }
        if !onlyAfter.isEmpty { problems.append("no before in \(before) for \(listed(onlyAfter, afters))") }
        guard problems.isEmpty else {
            throw NodeError(
                "the exemplar pairs do not match one to one by file name: \(problems.joined(separator: "; ")) — "
                    + "each photo in one directory needs exactly one of the same name in the other")
        }
        guard !befores.isEmpty else {
            throw NodeError("\(before) and \(after) hold no PNG, JPEG, TIFF or WebP file: nothing to pair")
        }
        guard befores.count <= limit else {
            throw NodeError(
                """
                \(before) and \(after) hold \(befores.count) pairs, more than max_pairs (\(limit)): a few varied \
                shots (different scenes and colours) teach an edit as well as many, and each adds encoding time — \
                keep the most varied \(limit) or raise max_pairs
                """)
        }
        return befores.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { stem in
            (before + "/" + befores[stem]![0], after + "/" + afters[stem]![0])
        }
    }

    /// A directory's photos (hidden ones left out) by name without extension.
    private static func photos(in directory: String) throws(NodeError) -> [String: [String]] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw NodeError("cannot read directory \(directory): \(error.localizedDescription)")
        }
        var byStem: [String: [String]] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            let url = URL(fileURLWithPath: name)
            guard extensions.contains(url.pathExtension.lowercased()) else { continue }
            byStem[url.deletingPathExtension().lastPathComponent, default: []].append(name)
        }
        return byStem
    }
}

/// Writes an image atomically; never over a file the run reads.
struct SaveNode: Node {
    let descriptor = NodeDescriptor(
        kind: "save",
        summary:
            "Write an image as PNG, JPEG, TIFF or WebP, atomically (a crash never leaves a partial file), in the source photo's colour profile and with its EXIF and XMP.",
        inputs: [
            PortSpec("image", .image, doc: "what to write"),
            PortSpec("dir", .path, doc: "output directory; created if missing"),
            PortSpec(
                "name", .string, doc: "file name, may hold {stem}, {relpath}, {index}…; default {relpath}.png",
                optional: true),
            PortSpec(
                "format", .string, doc: "png, jpeg, tiff or webp; default: from the name's extension", optional: true,
                choices: ["png", "jpeg", "tiff", "webp"]),
            PortSpec("quality", .integer, doc: "JPEG or lossy WebP quality", default: .integer(92), range: 1...100),
            PortSpec(
                "lossless", .bool, doc: "WebP: exact 8-bit pixels instead of lossy compression",
                default: .bool(false)),
            PortSpec(
                "bit_depth", .integer, doc: "PNG or TIFF bits per sample, 8 or 16; default: the image's own",
                optional: true, range: 8...16),
            PortSpec(
                "compression", .integer,
                doc:
                    "PNG zlib level, 0 (none) to 9 (smallest), for images that compress like graphics; photos are written run-length at any level but 0 (as small, 2-3x faster)",
                default: .integer(PNGOptions.defaultCompressionLevel), range: 0...9),
            PortSpec(
                "metadata", .string,
                doc:
                    "keep: write the source photo's EXIF and XMP (camera, lens, date, GPS…; orientation set upright); strip: leave them out",
                default: .string("keep"), choices: ["keep", "strip"]),
            PortSpec(
                "profile", .string,
                doc:
                    "keep: write in the source photo's ICC profile (a Display P3 photo stays P3); srgb: convert to sRGB and write no profile, as the web expects",
                default: .string("keep"), choices: ["keep", "srgb"]),
        ],
        outputs: [PortSpec("path", .path, doc: "the file written")],
        hasSideEffects: true,
        example: """
            out: {node: save, image: $photo.image, dir: $output, name: "{relpath}.jpg", quality: 90}
            """,
        plannedOutput: .init(inputs: ["dir", "name"]) { inputs, item in try Self.path(inputs, item: item).path },
        writeInputs: ["dir"])

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
        var image = try inputs.image("image")
        if try inputs.string("metadata") == "strip" {
            image.metadata.exif = nil
            image.metadata.xmp = nil
        }
        // Pixels are sRGB in memory: without the profile they are written as they are.
        if try inputs.string("profile") == "srgb" { image.metadata.iccProfile = nil }
        let (path, name) = try Self.path(inputs, item: context.item)
        let format: ImageFormat
        if let chosen = inputs.optionalString("format"), let named = ImageFormat(rawValue: chosen) {
            format = named
        } else {
            guard let inferred = ImageFormat(pathExtension: URL(fileURLWithPath: name).pathExtension) else {
                throw NodeError(
                    "cannot tell the format of '\(name)'; end it in .png, .jpg, .tif or .webp, or set 'format'")
            }
            format = inferred
        }
        if let depth = inputs.optionalInteger("bit_depth"), depth != 8 && depth != 16 {
            throw NodeError("bit_depth must be 8 or 16, not \(depth)")
        }
        try context.checkWrite(path)
        let options: EncodeOptions =
            switch format {
            case .png:
                .png(
                    PNGOptions(
                        bitDepth: inputs.optionalInteger("bit_depth"),
                        compressionLevel: try inputs.integer("compression")))
            case .jpeg: .jpeg(JPEGOptions(quality: try inputs.integer("quality")))
            case .tiff: .tiff(TIFFOptions(bitDepth: inputs.optionalInteger("bit_depth")))
            case .webp:
                .webp(WebPOptions(quality: try inputs.integer("quality"), lossless: try inputs.bool("lossless")))
            }
        if FileManager.default.fileExists(atPath: path) {
            switch context.existingFile(path) {
            case .replace: break
            case .keep: return ["path": .path(path)]
            case .refuse(let message):
                // Exactly what this run would write is this run's own output: a run killed
                // after writing it and before recording it, now resumed.
                let bytes = try ImageFile.encode(image, options: options)
                guard FileManager.default.contents(atPath: path) == Data(bytes) else { throw NodeError(message) }
                return ["path": .path(path)]
            }
        }
        try AtomicFile.createDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        try ImageFile.write(image, to: path, options: options)
        return ["path": .path(path)]
    }
}
