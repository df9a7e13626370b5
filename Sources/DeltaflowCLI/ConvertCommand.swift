import ArgumentParser
import Dispatch
import Foundation
import ImageCodecs
import Synchronization

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Decode images, optionally shrink them, and write them to a directory.",
        discussion: """
            Inputs may be files or directories (their *.png, *.jpg and *.jpeg files, sorted by \
            name). Each output is written atomically as OUTPUT/<name>.<format>; an input file is \
            never overwritten. A file that fails is reported and the rest are still converted.
            """)

    @Argument(help: "Image files or directories of images.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Directory for the converted images (created if missing).")
    var output: String

    @Option(help: "Shrink each image so its longer side is at most this many pixels.")
    var maxSide: Int?

    @Option(help: "Output format: png or jpeg (default: the input's own format).")
    var format: String?

    @Option(help: "JPEG quality, 1-100.")
    var quality: Int = 92

    @OptionGroup var limits: DecodeLimitOptions

    @Option(help: "Images converted at the same time; the default is the number of cores.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if let maxSide, maxSide < 1 { throw ValidationError("--max-side must be at least 1, not \(maxSide)") }
        if let format, ImageFormat(pathExtension: format) == nil {
            throw ValidationError("--format must be png or jpeg, not '\(format)'")
        }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1 to 100, not \(quality)") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
    }

    func run() throws {
        let files = try collectInputs()
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let outputDirectory = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath()
        // Every input, not just the file being converted: b.jpg → b.png must not replace an
        // input b.png that another worker may be reading.
        let inputPaths = Set(files.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path })
        let failures = Mutex<[(Int, String)]>([])
        let started = Date()
        let workers = min(jobs, max(files.count, 1))
        // Each worker takes every `workers`-th file: no shared queue, and the order of
        // outputs never depends on scheduling.
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: files.count, by: workers) {
                do {
                    try convert(files[index], into: outputDirectory, inputs: inputPaths)
                } catch {
                    failures.withLock { $0.append((index, "\(error)")) }
                }
            }
        }
        let failed = failures.withLock { $0.sorted { $0.0 < $1.0 } }
        for (_, message) in failed { printError("error: \(message)") }
        let seconds = Date().timeIntervalSince(started)
        print("converted \(files.count - failed.count) of \(files.count) images into \(output) "
              + "in \(String(format: "%.2f", seconds)) s" + (failed.isEmpty ? "" : "; \(failed.count) failed"))
        if !failed.isEmpty { throw someItemsFailed }
    }

    private func convert(_ input: String, into directory: URL, inputs: Set<String>) throws {
        var image = try ImageFile.read(input, options: limits.decodeOptions)
        if let maxSide { image = image.fitting(maxSide: maxSide) }
        let source = URL(fileURLWithPath: input)
        let chosen = format.flatMap(ImageFormat.init(pathExtension:))
            ?? ImageFormat(pathExtension: source.pathExtension) ?? .png
        let options: EncodeOptions = switch chosen {
        case .png: .png(PNGOptions())
        case .jpeg: .jpeg(JPEGOptions(quality: quality))
        }
        let name = source.deletingPathExtension().lastPathComponent + (chosen == .png ? ".png" : ".jpg")
        let destination = directory.appendingPathComponent(name)
        if inputs.contains(destination.path) {
            throw ImageError(.writeFailed, "refusing to overwrite the input file", path: input,
                             hint: "choose an output directory other than the input's")
        }
        try ImageFile.write(image, to: destination.path, options: options)
    }

    private func collectInputs() throws -> [String] {
        var files: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or directory: \(input)")
            }
            guard isDirectory.boolValue else {
                files.append(input)
                continue
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: input).sorted()
            files += names.filter { name in
                !name.hasPrefix(".") && ImageFormat(pathExtension: (name as NSString).pathExtension) != nil
            }.map { (input as NSString).appendingPathComponent($0) }
        }
        if files.isEmpty { throw ValidationError("no PNG or JPEG files found in \(inputs.joined(separator: ", "))") }
        return files
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
