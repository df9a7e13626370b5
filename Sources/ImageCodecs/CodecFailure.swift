import CCodecGuards

/// Maps a guarded C call's error class and message to an `ImageError`.
func codecFailure(_ status: Int32, message: String, format: String, maxPixels: Int) -> ImageError {
    switch status {
    case Int32(DF_ERR_TRUNCATED):
        return ImageError(
            .truncated, "truncated \(format) data",
            help: "the file ends before the image does; copy or export it again")
    case Int32(DF_ERR_TOO_LARGE):
        return ImageError(
            .tooLarge, "image is \(message), above the limit of \(describePixelCount(maxPixels))",
            help: "raise the limit with --max-pixels if the file is trusted")
    case Int32(DF_ERR_NO_MEMORY):
        return ImageError(.corrupt, "out of memory while decoding \(format) data")
    case Int32(DF_ERR_UNSUPPORTED):
        return ImageError(.unsupportedFormat, message)
    default:
        return ImageError(
            .corrupt, "corrupt \(format) data: \(message)",
            help: "the file is damaged; open it in an image editor and save it again")
    }
}

/// "100 megapixels", "2.5 megapixels", or "850 pixels" for limits under one megapixel.
func describePixelCount(_ pixels: Int) -> String {
    if pixels < 1_000_000 { return "\(pixels) pixels" }
    if pixels % 1_000_000 == 0 { return "\(pixels / 1_000_000) megapixels" }
    return "\((Double(pixels) / 10_000).rounded() / 100) megapixels"
}

/// The text of a NUL-terminated message buffer that a C encoder filled in.
func messageText(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
