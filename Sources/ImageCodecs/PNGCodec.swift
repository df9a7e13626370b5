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
            throw codecFailure(header, message: codec.message, format: "PNG", maxPixels: options.maxPixels)
        }
        let width = Int(info.width)
        let height = Int(info.height)
        guard let model = ColorModel(channels: Int(info.channels)) else {
            throw ImageError(.unsupportedFormat, "PNG with \(info.channels) channels")
        }
        let metadata = ImageMetadata(info.metadata)
        let count = width * height * model.channels
        let rowBytes = width * model.channels * Int(info.bit_depth) / 8
        let storage: PixelStorage
        if info.bit_depth == 16 {
            storage = .uint16(
                try [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
                    let status = df_png_read_pixels(
                        handle, UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                        rowBytes)
                    guard status == DF_OK else {
                        throw codecFailure(status, message: codec.message, format: "PNG", maxPixels: options.maxPixels)
                    }
                    initialized = count
                })
        } else {
            storage = .uint8(
                try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    let status = df_png_read_pixels(handle, buffer.baseAddress!, rowBytes)
                    guard status == DF_OK else {
                        throw codecFailure(status, message: codec.message, format: "PNG", maxPixels: options.maxPixels)
                    }
                    initialized = count
                })
        }
        var image = Image(width: width, height: height, colorModel: model, storage: storage)
        image.metadata = metadata
        return options.applyOrientation ? image.uprightByExif() : image
    }

    /// Encodes `image` at 8 or 16 bits per sample, keeping its colour model (alpha included).
    /// Without an explicit depth, 16-bit and float images are written at 16 bits, others at 8.
    static func encode(_ image: Image, options: PNGOptions) throws -> [UInt8] {
        let depth = options.bitDepth ?? (image.sampleFormat == .uint8 ? 8 : 16)
        guard depth == 8 || depth == 16 else {
            throw ImageError(.invalidArgument, "PNG bit depth must be 8 or 16, not \(depth)")
        }
        guard (0...9).contains(options.compressionLevel) else {
            throw ImageError(
                .invalidArgument,
                "PNG compression level must be 0 to 9, not \(options.compressionLevel)")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError(.invalidArgument, "cannot write an empty \(image.width)x\(image.height) image")
        }
        var output = df_buffer()
        defer { df_buffer_free(&output) }
        var message = [CChar](repeating: 0, count: Int(DF_MESSAGE_CAPACITY))
        let status: Int32
        switch image.converted(to: depth == 16 ? .uint16 : .uint8).storage {
        case .uint16(let samples):
            status = samples.withUnsafeBytes { raw in
                image.metadata.withC { metadata in
                    df_png_write(
                        raw.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(image.width),
                        UInt32(image.height), Int32(image.channels), 16, image.width * image.channels * 2,
                        Int32(options.compressionLevel), metadata, &output, &message)
                }
            }
        case .uint8(let samples):
            status = samples.withUnsafeBufferPointer { raw in
                image.metadata.withC { metadata in
                    df_png_write(
                        raw.baseAddress!, UInt32(image.width), UInt32(image.height),
                        Int32(image.channels), 8, image.width * image.channels,
                        Int32(options.compressionLevel), metadata, &output, &message)
                }
            }
        case .float32:
            preconditionFailure("converted to an integer format above")
        }
        guard status == DF_OK else {
            throw ImageError(.writeFailed, "PNG encoding failed: \(messageText(message))")
        }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.count))
    }
}
