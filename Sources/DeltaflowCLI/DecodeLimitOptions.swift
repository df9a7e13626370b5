import ArgumentParser
import ImageCodecs

/// The decoding limits every command that reads images accepts.
struct DecodeLimitOptions: ParsableArguments {
    @Option(help: "Refuse images with more pixels than this (decompression bombs).")
    var maxPixels: Int = DecodeOptions.defaultMaxPixels

    @Option(help: "Refuse image files larger than this many bytes.")
    var maxFileBytes: Int = DecodeOptions.defaultMaxFileBytes

    func validate() throws {
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1, not \(maxPixels)") }
        guard maxFileBytes >= 1 else {
            throw ValidationError("--max-file-bytes must be at least 1, not \(maxFileBytes)")
        }
    }

    var decodeOptions: DecodeOptions { DecodeOptions(maxPixels: maxPixels, maxFileBytes: maxFileBytes) }
}
