import CCodecGuards

/// libwebp (decode, encode, demux and mux), through the C glue in `CCodecGuards`.
enum WebPCodec {
    /// Decodes a still WebP (lossy or lossless) to 8-bit RGB, or RGBA when it has alpha, with
    /// its ICC profile, EXIF and XMP chunks. Animated files are refused.
    static func decode(_ bytes: UnsafeRawBufferPointer, options: DecodeOptions) throws -> Image {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var info = df_webp_info()
        var message = [CChar](repeating: 0, count: Int(DF_MESSAGE_CAPACITY))
        let header = df_webp_read_header(base, bytes.count, UInt64(options.maxPixels), &info, &message)
        guard header == DF_OK else {
            throw codecFailure(header, message: messageText(message), format: "WebP", maxPixels: options.maxPixels)
        }
        let metadata = ImageMetadata(info.metadata)
        let model: ColorModel = info.has_alpha != 0 ? .rgba : .rgb
        let (width, height) = (Int(info.width), Int(info.height))
        let count = width * height * model.channels
        let samples = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let status = df_webp_read_pixels(base, bytes.count, &info, buffer.baseAddress!, &message)
            guard status == DF_OK else {
                throw codecFailure(status, message: messageText(message), format: "WebP", maxPixels: options.maxPixels)
            }
            initialized = count
        }
        var image = Image(width: width, height: height, colorModel: model, storage: .uint8(samples))
        image.metadata = metadata
        return options.applyOrientation ? image.uprightByExif() : image
    }

    /// Encodes at 8 bits, lossy at `options.quality` or lossless; gray is written as RGB (WebP
    /// has no gray), alpha kept.
    static func encode(_ image: Image, options: WebPOptions) throws -> [UInt8] {
        guard (0...100).contains(options.quality) else {
            throw ImageError(.invalidArgument, "WebP quality must be 0 to 100, not \(options.quality)")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError(.invalidArgument, "cannot write an empty \(image.width)x\(image.height) image")
        }
        let rgb = image.converted(to: image.colorModel.hasAlpha ? .rgba : .rgb).converted(to: .uint8)
        guard case .uint8(let samples) = rgb.storage else { preconditionFailure("converted to 8-bit above") }
        var output = df_buffer()
        defer { df_buffer_free(&output) }
        var message = [CChar](repeating: 0, count: Int(DF_MESSAGE_CAPACITY))
        let status = samples.withUnsafeBufferPointer { pixels in
            image.metadata.withC { metadata in
                df_webp_write(
                    pixels.baseAddress!, UInt32(rgb.width), UInt32(rgb.height), Int32(rgb.channels),
                    Float(options.quality), options.lossless ? 1 : 0, metadata, &output, &message)
            }
        }
        guard status == DF_OK else {
            throw ImageError(.writeFailed, "WebP encoding failed: \(messageText(message))")
        }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.count))
    }
}
