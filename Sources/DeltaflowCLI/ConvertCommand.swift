import ArgumentParser
import BuiltinNodes
import Foundation
import ImageCodecs
import NodeKit
import Workflow

/// `convert`: the load → resize → save workflow, written for the user and run by the engine, so
/// it has everything `run` has (interrupts, manifest and `--resume`, full-disk stop, the run
/// log) instead of a batch loop of its own.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Decode images, optionally shrink them, and write them to a directory.",
        discussion: """
            Inputs may be files or directories (their PNG, JPEG, TIFF and WebP files). Each output \
            is written atomically as OUTPUT/<name>.<format>; an input file is never overwritten. A \
            file that fails is reported and the rest are still converted. The same as running \
            Workflows/resize-batch.yaml, which shows the graph to copy and change.
            """)

    @Argument(help: "Image files or directories of images.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Directory for the converted images (created if missing).")
    var output: String

    @Option(help: "Shrink each image so its longer side is at most this many pixels.")
    var maxSide: Int?

    @Option(help: "Output format: png, jpeg, tiff or webp (default: the input's own format).")
    var format: String?

    @Option(help: "JPEG or WebP quality, 1-100.")
    var quality: Int = 92

    @OptionGroup var limits: DecodeLimitOptions
    @OptionGroup var execution: ExecutionOptions

    func validate() throws {
        if let maxSide, maxSide < 1 { throw ValidationError("--max-side must be at least 1, not \(maxSide)") }
        if let format, ImageFormat(pathExtension: format) == nil {
            throw ValidationError("--format must be png, jpeg, tiff or webp, not '\(format)'")
        }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1 to 100, not \(quality)") }
    }

    func run() throws {
        // One run per directory: a named file runs with its directory and a pattern naming it.
        let registry = try! NodeRegistry(Builtins.nodes)
        var failed: ExitCode?
        for (directory, patterns) in try batches() {
            let workflow: Workflow
            do {
                workflow = try Workflow.parse(source(patterns: patterns), file: "deltaflow convert", registry: registry)
            } catch {
                throw ValidationError("cannot read \(directory) with convert (\(error)); give the files another name")
            }
            do {
                try execution.run(
                    workflow, params: try bindParams(workflow, ["input=\(directory)", "output=\(output)"]))
            } catch let code as ExitCode where code == someItemsFailed {
                failed = code  // the other directories still run
            }
        }
        if let failed { throw failed }
    }

    /// The workflow, as a user would write it.
    func source(patterns: [String]) -> String {
        // A YAML double-quoted scalar: every character YAML would refuse or read specially escaped.
        func quoted(_ text: String) -> String {
            let body = text.unicodeScalars.map { scalar -> String in
                switch scalar {
                case "\"", "\\": return "\\" + String(scalar)
                case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                    return String(format: "\\u%04X", scalar.value)
                default: return String(scalar)
                }
            }
            return "\"" + body.joined() + "\""
        }
        let extensionTemplate =
            switch format.flatMap(ImageFormat.init(pathExtension:)) {
            case .png?: "png"
            case .jpeg?: "jpg"
            case .tiff?: "tif"
            case .webp?: "webp"
            case nil: "{ext}"
            }
        var nodes = [
            "photo: {node: load, each: $input, pattern: [\(patterns.map(quoted).joined(separator: ", "))], "
                + "max_pixels: \(limits.maxPixels), max_file_bytes: \(limits.maxFileBytes)}"
        ]
        var image = "$photo.image"
        if let maxSide {
            nodes.append("small: {node: resize, image: $photo.image, max_side: \(maxSide)}")
            image = "$small.image"
        }
        nodes.append(
            "out: {node: save, image: \(image), dir: $output, name: \"{stem}.\(extensionTemplate)\", quality: \(quality)}"
        )
        return """
            version: 1
            name: convert
            params:
              input: {type: dir}
              output: {type: dir}
            nodes:
            \(nodes.map { "  " + $0 }.joined(separator: "\n"))

            """
    }

    /// Each directory to read, and the patterns of the files to read there.
    private func batches() throws -> [(directory: String, patterns: [String])] {
        let everything = "*.{jpg,jpeg,png,tif,tiff,webp}"
        func isImage(_ name: String) -> Bool {
            !name.hasPrefix(".") && ImageFormat(pathExtension: (name as NSString).pathExtension) != nil
        }
        var directories: [String] = []
        var named: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or directory: \(input)")
            }
            if isDirectory.boolValue { directories.append(input) } else { named.append(input) }
        }
        var batches = directories.map { (directory: $0, patterns: [everything]) }
        var files = try directories.reduce(0) {
            $0 + (try FileManager.default.contentsOfDirectory(atPath: $1).filter(isImage).count)
        }
        let whole = Set(directories.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        for input in named {
            let url = URL(fileURLWithPath: input).standardizedFileURL
            let (name, directory) = (url.lastPathComponent, url.deletingLastPathComponent().path)
            if whole.contains(directory) { continue }  // converted with its directory
            guard !name.hasPrefix(".") else {
                throw ValidationError("\(input): a hidden file (its name starts with '.') is never read; rename it")
            }
            guard !name.contains("{"), !name.contains("}") else {
                throw ValidationError("\(input): a file name with braces cannot be named alone; give its directory")
            }
            // Names match without regard to case (IMG_1.JPG is a .jpg): a twin differing only in
            // case would be converted too.
            let twins = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0 != name && $0.lowercased() == name.lowercased() }
            guard twins.isEmpty else {
                throw ValidationError(
                    "\(input): \(twins[0]) beside it differs only in case; give the directory, or rename one")
            }
            // The name, matched literally.
            let pattern = name.reduce(into: "") { pattern, character in
                if "\\*?[]".contains(character) { pattern.append("\\") }
                pattern.append(character)
            }
            files += 1
            if let index = batches.firstIndex(where: { $0.directory == directory && $0.patterns.first != everything }) {
                batches[index].patterns.append(pattern)
            } else {
                batches.append((directory, [pattern]))
            }
        }
        if files == 0 {
            throw ValidationError("no PNG, JPEG, TIFF or WebP files found in \(inputs.joined(separator: ", "))")
        }
        return batches
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
