// Conversions between the codecs' interleaved integer samples and `Image`'s planar floats.
// These run over every pixel of every decoded and encoded photo, so they work on raw buffers
// in simple loops the compiler vectorises.

private let unitFrom8Bit: [Float] = (0..<256).map { Float($0) / 255 }

extension Image {
    /// Planar floats from interleaved 8-bit samples.
    init(interleaved8 source: UnsafeBufferPointer<UInt8>, width: Int, height: Int, colorModel: ColorModel) {
        let channels = colorModel.channels
        let planeSize = width * height
        precondition(source.count >= planeSize * channels)
        var samples = [Float](repeating: 0, count: planeSize * channels)
        samples.withUnsafeMutableBufferPointer { out in
            unitFrom8Bit.withUnsafeBufferPointer { table in
                for c in 0..<channels {
                    let plane = out.baseAddress! + c * planeSize
                    var s = c
                    for i in 0..<planeSize {
                        plane[i] = table[Int(source[s])]
                        s += channels
                    }
                }
            }
        }
        self.init(width: width, height: height, colorModel: colorModel, bitDepth: 8, samples: samples)
    }

    /// Planar floats from interleaved 16-bit samples in host byte order.
    init(interleaved16 source: UnsafeBufferPointer<UInt16>, width: Int, height: Int, colorModel: ColorModel) {
        let channels = colorModel.channels
        let planeSize = width * height
        precondition(source.count >= planeSize * channels)
        var samples = [Float](repeating: 0, count: planeSize * channels)
        samples.withUnsafeMutableBufferPointer { out in
            for c in 0..<channels {
                let plane = out.baseAddress! + c * planeSize
                var s = c
                for i in 0..<planeSize {
                    plane[i] = Float(source[s]) / 65535  // divide, not multiply: v/65535 exactly
                    s += channels
                }
            }
        }
        self.init(width: width, height: height, colorModel: colorModel, bitDepth: 16, samples: samples)
    }

    /// Interleaved 8-bit samples, rounded to nearest and clamped to [0, 255].
    func interleaved8() -> [UInt8] {
        let channels = self.channels
        let planeSize = pixelCount
        var out = [UInt8](repeating: 0, count: planeSize * channels)
        out.withUnsafeMutableBufferPointer { dst in
            samples.withUnsafeBufferPointer { src in
                for c in 0..<channels {
                    let plane = src.baseAddress! + c * planeSize
                    var d = c
                    for i in 0..<planeSize {
                        let scaled = min(max(plane[i] * 255 + 0.5, 0), 255)
                        dst[d] = UInt8(truncatingIfNeeded: Int32(scaled))
                        d += channels
                    }
                }
            }
        }
        return out
    }

    /// Interleaved 16-bit samples in host byte order, rounded to nearest and clamped.
    func interleaved16() -> [UInt16] {
        let channels = self.channels
        let planeSize = pixelCount
        var out = [UInt16](repeating: 0, count: planeSize * channels)
        out.withUnsafeMutableBufferPointer { dst in
            samples.withUnsafeBufferPointer { src in
                for c in 0..<channels {
                    let plane = src.baseAddress! + c * planeSize
                    var d = c
                    for i in 0..<planeSize {
                        let scaled = min(max(plane[i] * 65535 + 0.5, 0), 65535)
                        dst[d] = UInt16(truncatingIfNeeded: Int32(scaled))
                        d += channels
                    }
                }
            }
        }
        return out
    }
}
