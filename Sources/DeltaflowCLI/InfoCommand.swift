import ArgumentParser
import ImageCodecs

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Decode images and print their size, colour model, bit depth, profile and metadata.")

    @Argument(help: "Image files (PNG, JPEG, TIFF or WebP).")
    var files: [String]

    @OptionGroup var limits: DecodeLimitOptions

    func run() throws {
        var failures = 0
        for path in files {
            do {
                // As stored for the layout; as deltaflow edits it for the profile it keeps.
                var asStored = limits.decodeOptions
                asStored.colorManaged = false
                let image = try ImageFile.read(path, options: asStored)
                let metadata = try ImageFile.read(path, options: limits.decodeOptions).metadata
                var line = "\(path): \(image.width)x\(image.height) \(image.colorModel), \(image.bitDepth)-bit"
                if metadata.iccProfile != nil { line += ", profile \(metadata.profileName ?? "(unnamed)")" }
                if metadata.exif != nil { line += ", EXIF" }
                if metadata.xmp != nil { line += ", XMP" }
                print(line)
            } catch {
                failures += 1
                printError("error: \(error)")
            }
        }
        if failures > 0 { throw someItemsFailed }
    }
}
