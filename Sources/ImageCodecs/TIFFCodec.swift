import CCodecGuards

/// libtiff, through the C glue in `CCodecGuards` (memory I/O, per-handle error handlers). The
/// only owner of libtiff state.
final class TIFFCodec {
    private let reader: OpaquePointer

    private init(reader: OpaquePointer) { self.reader = reader }
    deinit { df_tiff_reader_destroy(reader) }

    private var message: String { String(cString: df_tiff_reader_message(reader)) }

    /// Decodes a TIFF's first image: 8/16-bit gray, gray+alpha, RGB and RGBA as they are; any
    /// other layout libtiff reads (tiles, palette, YCbCr, CMYK, 1-bit) as 8-bit RGBA. Turned
    /// upright by its orientation tag; its ICC profile and XMP kept, and its camera tags
    /// gathered as EXIF (for a JPEG or PNG written from it).
    static func decode(_ bytes: UnsafeRawBufferPointer, options: DecodeOptions) throws -> Image {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let handle = df_tiff_reader_create(base, bytes.count) else {
            throw ImageError(.corrupt, "out of memory while creating a TIFF reader")
        }
        let codec = TIFFCodec(reader: handle)
        var info = df_tiff_info()
        let header = df_tiff_read_header(handle, UInt64(options.maxPixels), &info)
        guard header == DF_OK else {
            throw codecFailure(header, message: codec.message, format: "TIFF", maxPixels: options.maxPixels)
        }
        var metadata = ImageMetadata(info.metadata)
        if metadata.exif == nil { metadata.exif = TIFFExif.extract(bytes) }
        let (width, height) = (Int(info.width), Int(info.height))
        guard let model = ColorModel(channels: Int(info.channels)) else {
            throw ImageError(.unsupportedFormat, "TIFF with \(info.channels) channels")
        }
        let count = width * height * model.channels
        func read(_ pointer: UnsafeMutableRawPointer) throws {
            let status = df_tiff_read_pixels(handle, pointer.assumingMemoryBound(to: UInt8.self))
            guard status == DF_OK else {
                throw codecFailure(status, message: codec.message, format: "TIFF", maxPixels: options.maxPixels)
            }
        }
        let storage: PixelStorage =
            info.bit_depth == 16
            ? .uint16(
                try [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
                    try read(UnsafeMutableRawPointer(buffer.baseAddress!))
                    initialized = count
                })
            : .uint8(
                try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    try read(UnsafeMutableRawPointer(buffer.baseAddress!))
                    initialized = count
                })
        var image = Image(width: width, height: height, colorModel: model, storage: storage)
        let orientation = options.applyOrientation ? ExifOrientation(rawValue: Int(info.orientation)) : nil
        if let orientation { image = image.applying(orientation) }
        image.metadata = orientation == nil ? metadata : metadata.upright()
        return image
    }

    /// Encodes at 8 or 16 bits (Deflate with the horizontal predictor, lossless), keeping the
    /// colour model, with the ICC profile and XMP. Without an explicit depth, 8-bit images are
    /// written at 8 bits and others at 16.
    static func encode(_ image: Image, options: TIFFOptions) throws -> [UInt8] {
        let depth = options.bitDepth ?? (image.sampleFormat == .uint8 ? 8 : 16)
        guard depth == 8 || depth == 16 else {
            throw ImageError(.invalidArgument, "TIFF bit depth must be 8 or 16, not \(depth)")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError(.invalidArgument, "cannot write an empty \(image.width)x\(image.height) image")
        }
        var output = df_buffer()
        defer { df_buffer_free(&output) }
        var message = [CChar](repeating: 0, count: Int(DF_MESSAGE_CAPACITY))
        let converted = image.converted(to: depth == 16 ? .uint16 : .uint8)
        let status: Int32 = image.metadata.withC { metadata in
            switch converted.storage {
            case .uint16(let samples):
                samples.withUnsafeBytes { raw in
                    df_tiff_write(
                        raw.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(image.width),
                        UInt32(image.height), Int32(image.channels), 16, metadata, &output, &message)
                }
            case .uint8(let samples):
                samples.withUnsafeBufferPointer { raw in
                    df_tiff_write(
                        raw.baseAddress!, UInt32(image.width), UInt32(image.height), Int32(image.channels), 8,
                        metadata, &output, &message)
                }
            case .float32:
                preconditionFailure("converted to an integer format above")
            }
        }
        guard status == DF_OK else {
            throw ImageError(.writeFailed, "TIFF encoding failed: \(messageText(message))")
        }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.count))
    }
}
