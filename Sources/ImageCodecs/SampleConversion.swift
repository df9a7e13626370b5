// Conversions between sample formats. They run over every sample of a full-resolution photo,
// so they are plain loops over buffers that the compiler vectorises.

private let unitFrom8Bit: [Float] = (0..<256).map { Float($0) / 255 }

extension Image {
    /// All samples as Float32 on the 0...1 scale, interleaved (a copy unless already float).
    public func floatSamples() -> [Float] {
        if case .float32(let samples) = storage { return samples }
        return floatSamples(rows: 0..<height)
    }

    /// Float32 samples on the 0...1 scale of rows `rows` only, interleaved: what a band of a
    /// large image needs, without a Float32 copy of the whole (a 12-MP photo's is 144 MB).
    public func floatSamples(rows: Range<Int>) -> [Float] {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= height, "rows \(rows) outside 0..<\(height)")
        let stride = width * channels
        let start = rows.lowerBound * stride
        let count = rows.count * stride
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch storage {
            case .float32(let samples):
                for i in 0..<count { out[i] = samples[start + i] }
            case .uint8(let samples):
                unitFrom8Bit.withUnsafeBufferPointer { table in
                    samples.withUnsafeBufferPointer { samples in
                        for i in 0..<count { out[i] = table[Int(samples[start + i])] }
                    }
                }
            case .uint16(let samples):
                // Divide rather than multiply by 1/65535, so v/65535 is exact and 16-bit round-trips.
                samples.withUnsafeBufferPointer { samples in
                    for i in 0..<count { out[i] = Float(samples[start + i]) / 65535 }
                }
            }
            initialized = count
        }
    }

    /// This image with its samples in `format`; rounds to nearest (clamped) when narrowing.
    public func converted(to format: SampleFormat) -> Image {
        if format == sampleFormat { return self }
        let storage: PixelStorage
        switch (self.storage, format) {
        case (.uint8(let s), .uint16):
            storage = .uint16(s.map { UInt16($0) * 257 })  // 255 · 257 = 65535
        case (.uint16(let s), .uint8):
            storage = .uint8(s.map { UInt8((UInt32($0) * 255 + 32767) / 65535) })
        case (_, .float32):
            storage = .float32(floatSamples())
        case (.float32(let s), .uint8):
            storage = .uint8(
                [UInt8](unsafeUninitializedCapacity: s.count) { out, initialized in
                    for i in 0..<s.count { out[i] = quantize8(s[i]) }
                    initialized = s.count
                })
        case (.float32(let s), .uint16):
            storage = .uint16(
                [UInt16](unsafeUninitializedCapacity: s.count) { out, initialized in
                    for i in 0..<s.count { out[i] = quantize16(s[i]) }
                    initialized = s.count
                })
        default:
            preconditionFailure("unreachable: \(sampleFormat) to \(format)")
        }
        return Image(width: width, height: height, colorModel: colorModel, storage: storage)
    }
}

extension Image {
    /// This image after `transform` edits its samples as Float32 (0...1, interleaved), returned
    /// in the sample format it came in: the shape of every per-pixel operation.
    public func transformingFloatSamples(_ transform: (inout [Float]) throws -> Void) rethrows -> Image {
        var samples = floatSamples()
        try transform(&samples)
        return Image(width: width, height: height, colorModel: colorModel, samples: samples).converted(to: sampleFormat)
    }
}
