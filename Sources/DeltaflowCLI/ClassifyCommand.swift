import ArgumentParser
import ImageCodecs
import ModelNodes
import Models

/// A debug view of the exemplar encoder: what it recognises in a photo. If `coffee.png` does
/// not come out as "espresso", the weights or the preprocessing are wrong.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Show the encoder's top ImageNet classes for images (checks the installed EfficientNet-Lite0).")

    @Argument(help: "Image files (PNG, JPEG, TIFF or WebP).")
    var files: [String]

    @Option(help: "How many classes to show per image.")
    var top = 3

    @OptionGroup var models: ModelDirectoryOption

    @OptionGroup var limits: DecodeLimitOptions

    func validate() throws {
        guard (1...1000).contains(top) else { throw ValidationError("--top must be 1…1000, not \(top)") }
    }

    func run() throws {
        let weights = EncoderWeights(directory: models.directory)
        var failures = 0
        for path in files {
            do {
                let image = try ImageFile.read(path, options: limits.decodeOptions)
                let classes = try weights.classify(image, top: top, threads: 2)
                print(
                    "\(path): "
                        + classes.map { "\($0.name) \(String(format: "%.1f%%", $0.probability * 100))" }.joined(
                            separator: ", "))
            } catch let error as ModelFileError {
                printError("error: \(error)")
                throw ExitCode(1)
            } catch {
                failures += 1
                printError("error: \(path): \(error)")
            }
        }
        if failures > 0 { throw someItemsFailed }
    }
}
