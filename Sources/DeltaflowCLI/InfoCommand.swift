import ArgumentParser
import ImageCodecs

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Decode images and print their size, colour model and bit depth.")

    @Argument(help: "Image files (PNG or JPEG).")
    var files: [String]

    @OptionGroup var limits: DecodeLimitOptions

    func run() throws {
        var failures = 0
        for path in files {
            do {
                let image = try ImageFile.read(path, options: limits.decodeOptions)
                print("\(path): \(image.width)x\(image.height) \(image.colorModel), \(image.bitDepth)-bit")
            } catch {
                failures += 1
                printError("error: \(error)")
            }
        }
        if failures > 0 { throw someItemsFailed }
    }
}
