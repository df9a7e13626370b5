import CCodecGuards

/// libpng, through the guarded C entry points in `CCodecGuards`. The only owner of libpng state.
final class PNGCodec {
    private let reader: OpaquePointer

    private init(reader: OpaquePointer) { self.reader = reader }
    deinit { df_png_reader_destroy(reader) }

    private var message: String { String(cString: df_png_reader_message(reader)) }

    /// Decodes any PNG (1–16 bit gray, gray+alpha, RGB, RGBA, palette, interlaced) into an
    /// `Image` of 8- or 16-bit precision. Palette and tRNS transparency become RGB(A) or gray+alpha.
    static func decode(_ bytes: UnsafeRawBufferPointer, options: DecodeOptions) throws -> Image {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let handle = df_png_reader_create(base, bytes.count) else {
            throw ImageError(.corrupt, "out of memory while creating a PNG reader")
        }
        let codec = PNGCodec(reader: handle)
        var info = df_png_info()
        let header = df_png_read_header(handle, UInt64(options.maxPixels), &info)
        if header != DF_OK {
            if header == Int32(DF_ERR_CORRUPT) && codec.message == "not a PNG file" {
                throw ImageError(.notAnImage, "not a PNG file")
            }
            throw codecFailure(header, message: codec.message, format: "PNG", maxPixels: options.maxPixels)
        }
        let width = Int(info.width), height = Int(info.height)
        guard let model = ColorModel(channels: Int(info.channels)) else {
            throw ImageError(.unsupportedFormat, "PNG with \(info.channels) channels")
        }
        let channels = model.channels
        if info.bit_depth == 16 {
            var samples = [UInt16](repeating: 0, count: width * height * channels)
            let status = samples.withUnsafeMutableBytes {
                df_png_read_pixels(handle, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), width * channels * 2)
            }
            if status != DF_OK {
                throw codecFailure(status, message: codec.message, format: "PNG", maxPixels: options.maxPixels)
            }
            return samples.withUnsafeBufferPointer {
                Image(interleaved16: $0, width: width, height: height, colorModel: model)
            }
        }
        var samples = [UInt8](repeating: 0, count: width * height * channels)
        let status = samples.withUnsafeMutableBufferPointer {
            df_png_read_pixels(handle, $0.baseAddress!, width * channels)
        }
        if status != DF_OK {
            throw codecFailure(status, message: codec.message, format: "PNG", maxPixels: options.maxPixels)
        }
        return samples.withUnsafeBufferPointer {
            Image(interleaved8: $0, width: width, height: height, colorModel: model)
        }
    }

    /// Encodes `image` at 8 or 16 bits per sample, keeping its colour model (alpha included).
    static func encode(_ image: Image, options: PNGOptions) throws -> [UInt8] {
        let depth = options.bitDepth ?? image.bitDepth
        guard depth == 8 || depth == 16 else {
            throw ImageError(.invalidArgument, "PNG bit depth must be 8 or 16, not \(depth)")
        }
        guard (0...9).contains(options.compressionLevel) else {
            throw ImageError(.invalidArgument,
                             "PNG compression level must be 0 to 9, not \(options.compressionLevel)")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError(.invalidArgument, "cannot write an empty \(image.width)x\(image.height) image")
        }
        var output = df_buffer()
        defer { df_buffer_free(&output) }
        var message = [CChar](repeating: 0, count: Int(DF_MESSAGE_CAPACITY))
        let status: Int32
        if depth == 16 {
            let samples = image.interleaved16()
            status = samples.withUnsafeBytes { raw in
                df_png_write(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(image.width),
                             UInt32(image.height), Int32(image.channels), 16, image.width * image.channels * 2,
                             Int32(options.compressionLevel), &output, &message)
            }
        } else {
            let samples = image.interleaved8()
            status = samples.withUnsafeBufferPointer { raw in
                df_png_write(raw.baseAddress!, UInt32(image.width), UInt32(image.height),
                             Int32(image.channels), 8, image.width * image.channels,
                             Int32(options.compressionLevel), &output, &message)
            }
        }
        guard status == DF_OK else {
            throw ImageError(.writeFailed, "PNG encoding failed: \(messageText(message))")
        }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.count))
    }
}
