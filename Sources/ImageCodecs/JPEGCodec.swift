import CCodecGuards

/// libjpeg(-turbo), through the guarded C entry points in `CCodecGuards`. The only owner of
/// libjpeg state.
final class JPEGCodec {
    private let reader: OpaquePointer

    private init(reader: OpaquePointer) { self.reader = reader }
    deinit { df_jpeg_reader_destroy(reader) }

    private var message: String { String(cString: df_jpeg_reader_message(reader)) }

    private func failure(_ status: Int32, _ options: DecodeOptions) -> ImageError {
        codecFailure(status, message: message, format: "JPEG", maxPixels: options.maxPixels)
    }

    /// Decodes baseline, progressive, grayscale and CMYK/YCCK JPEGs; CMYK becomes RGB. With
    /// `options.applyOrientation` the result is turned upright by its EXIF orientation.
    static func decode(_ bytes: UnsafeRawBufferPointer, options: DecodeOptions) throws -> Image {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let handle = df_jpeg_reader_create(base, bytes.count) else {
            throw ImageError(.corrupt, "out of memory while creating a JPEG reader")
        }
        let codec = JPEGCodec(reader: handle)
        var info = df_jpeg_info()
        let header = df_jpeg_read_header(handle, UInt64(options.maxPixels), &info)
        guard header == DF_OK else { throw codec.failure(header, options) }

        // Read now: the EXIF payload lives in libjpeg's per-image memory, which reading the
        // pixels (jpeg_finish_decompress) frees. (Parsing it afterwards was a use-after-free,
        // found by fuzzing under AddressSanitizer.)
        let metadata = ImageMetadata(info.metadata)
        let orientation =
            options.applyOrientation
            ? metadata.exif.flatMap { exif in exif.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } } : nil
        let width = Int(info.width)
        let height = Int(info.height)
        let channels = Int(info.channels)
        let count = width * height * channels
        let raw = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let status = df_jpeg_read_pixels(handle, buffer.baseAddress!)
            guard status == DF_OK else { throw codec.failure(status, options) }
            initialized = count
        }
        var image: Image
        var kept = metadata
        if info.cmyk != 0 {
            let inverted = info.adobe_inverted != 0
            // A print file's CMYK means what its profile says; without one (or reading numbers
            // as stored) the plain formula stands. Either way the result is RGB, which the CMYK
            // profile cannot describe, so it is not kept.
            if options.colorManaged, let bytes = metadata.iccProfile, let profile = ColorProfile(bytes),
                let rgb = profile.rgbFromCMYK(raw, pixels: width * height, inverted: inverted)
            {
                image = Image(width: width, height: height, colorModel: .rgb, storage: .uint16(rgb))
            } else {
                image = Image(cmyk: raw, width: width, height: height, inverted: inverted)
            }
            kept.iccProfile = nil
        } else {
            image = Image(width: width, height: height, colorModel: channels == 1 ? .gray : .rgb, storage: .uint8(raw))
        }
        if let orientation { image = image.applying(orientation) }
        image.metadata = orientation == nil ? kept : kept.upright()
        return image
    }

    /// Encodes gray or RGB at 8 bits; alpha is flattened over `options.background` first.
    static func encode(_ image: Image, options: JPEGOptions) throws -> [UInt8] {
        guard (1...100).contains(options.quality) else {
            throw ImageError(.invalidArgument, "JPEG quality must be 1 to 100, not \(options.quality)")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError(.invalidArgument, "cannot write an empty \(image.width)x\(image.height) image")
        }
        let opaque = image.colorModel.hasAlpha ? image.flattened(background: options.background) : image
        guard case .uint8(let samples) = opaque.converted(to: .uint8).storage else {
            preconditionFailure("converted to 8-bit above")
        }
        var output = df_buffer()
        defer { df_buffer_free(&output) }
        var message = [CChar](repeating: 0, count: Int(DF_MESSAGE_CAPACITY))
        let status = samples.withUnsafeBufferPointer { pixels in
            image.metadata.withC { metadata in
                df_jpeg_write(
                    pixels.baseAddress!, UInt32(opaque.width), UInt32(opaque.height), Int32(opaque.channels),
                    Int32(options.quality), options.progressive ? 1 : 0,
                    Int32(options.chromaSubsampling.rawValue), metadata, &output, &message)
            }
        }
        guard status == DF_OK else {
            throw ImageError(.writeFailed, "JPEG encoding failed: \(messageText(message))")
        }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.count))
    }
}

extension Image {
    /// RGB from interleaved CMYK. Adobe-inverted files store 255 − C (and so on), so that
    /// R = C′·K′/255; plain CMYK gives R = (255 − C)(255 − K)/255.
    fileprivate init(cmyk source: [UInt8], width: Int, height: Int, inverted: Bool) {
        let pixels = width * height
        let rgb = [UInt8](unsafeUninitializedCapacity: pixels * 3) { out, initialized in
            for i in 0..<pixels {
                var k = Int(source[4 * i + 3])
                if !inverted { k = 255 - k }
                for c in 0..<3 {
                    let value = inverted ? Int(source[4 * i + c]) : 255 - Int(source[4 * i + c])
                    out[3 * i + c] = UInt8((value * k + 127) / 255)
                }
            }
            initialized = pixels * 3
        }
        self.init(width: width, height: height, colorModel: .rgb, storage: .uint8(rgb))
    }
}
