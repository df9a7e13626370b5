import Glibc

// Colour-model conversions and alpha handling. Alpha is stored straight; filters and
// compositors work on premultiplied colour so transparent pixels never bleed their colour.

/// Rec. 601 luma weights: what JPEG's YCbCr, libjpeg and Pillow use for gray.
public let lumaWeights: (r: Float, g: Float, b: Float) = (0.299, 0.587, 0.114)

extension Image {
    /// This image in another colour model, in the same sample format. Gray becomes equal
    /// R, G, B; colour becomes Rec. 601 luma; added alpha is opaque; removed alpha is
    /// flattened over `background`.
    public func converted(to model: ColorModel, background: Float = 1) -> Image {
        if model == colorModel { return self }
        let source = (!model.hasAlpha && colorModel.hasAlpha) ? flattened(background: background) : self
        let inChannels = source.channels
        let outChannels = model.channels
        let inColors = source.colorModel.colorChannels
        let outColors = model.colorChannels
        let (wr, wg, wb) = lumaWeights
        // Band by band: a 12-MP gray photo made RGB would otherwise pass through 190 MB of floats.
        return Image(width: width, height: height, colorModel: model, format: sampleFormat) { rows in
            let input = source.floatSamples(rows: rows)
            let pixels = rows.count * width
            return [Float](unsafeUninitializedCapacity: pixels * outChannels) { out, initialized in
                for p in 0..<pixels {
                    let s = p * inChannels
                    let d = p * outChannels
                    switch (inColors, outColors) {
                    case (1, 3):
                        out[d] = input[s]
                        out[d + 1] = input[s]
                        out[d + 2] = input[s]
                    case (3, 1):
                        out[d] = wr * input[s] + wg * input[s + 1] + wb * input[s + 2]
                    default:
                        for c in 0..<outColors { out[d + c] = input[s + c] }
                    }
                    if model.hasAlpha {
                        out[d + outColors] = source.colorModel.hasAlpha ? input[s + inColors] : 1
                    }
                }
                initialized = pixels * outChannels
            }
        }
    }

    /// The colour composited over a uniform `background` gray level, alpha removed; the
    /// sample format is kept.
    public func flattened(background: Float = 1) -> Image {
        guard colorModel.hasAlpha else { return self }
        let colors = colorModel.colorChannels
        let channels = self.channels
        return Image(width: width, height: height, colorModel: colors == 1 ? .gray : .rgb, format: sampleFormat) {
            rows in
            let input = floatSamples(rows: rows)
            let pixels = rows.count * width
            return [Float](unsafeUninitializedCapacity: pixels * colors) { out, initialized in
                for p in 0..<pixels {
                    let alpha = input[p * channels + colors]
                    for c in 0..<colors {
                        out[p * colors + c] = input[p * channels + c] * alpha + background * (1 - alpha)
                    }
                }
                initialized = pixels * colors
            }
        }
    }

    /// Colour multiplied by alpha, as Float32 so no precision is lost (unchanged when there
    /// is no alpha).
    public func premultiplied() -> Image {
        guard colorModel.hasAlpha else { return self }
        return scalingColor { color, alpha in color * alpha }
    }

    /// The inverse of `premultiplied()`, as Float32; fully transparent pixels get colour 0.
    public func unpremultiplied() -> Image {
        guard colorModel.hasAlpha else { return self }
        return scalingColor { color, alpha in alpha > 0 ? min(color / alpha, 1) : 0 }
    }

    private func scalingColor(_ combine: (Float, Float) -> Float) -> Image {
        var samples = floatSamples()
        let colors = colorModel.colorChannels
        let channels = self.channels
        samples.withUnsafeMutableBufferPointer { buffer in
            for p in 0..<pixelCount {
                let alpha = buffer[p * channels + colors]
                for c in 0..<colors { buffer[p * channels + c] = combine(buffer[p * channels + c], alpha) }
            }
        }
        return Image(width: width, height: height, colorModel: colorModel, samples: samples)
    }

    /// Colour decoded from sRGB to linear light, as Float32 (alpha untouched); blending and
    /// resampling in linear light avoid darkened edges.
    public func srgbToLinear() -> Image { mappingColor(ImageCodecs.srgbToLinear(_:)) }

    /// Colour encoded from linear light to sRGB, as Float32 (alpha untouched).
    public func linearToSRGB() -> Image { mappingColor(ImageCodecs.linearToSRGB(_:)) }

    /// `transform` applied to every colour sample, alpha untouched, as Float32.
    public func mappingColor(_ transform: (Float) -> Float) -> Image {
        var samples = floatSamples()
        let colors = colorModel.colorChannels
        let channels = self.channels
        samples.withUnsafeMutableBufferPointer { buffer in
            for p in 0..<pixelCount {
                for c in 0..<colors { buffer[p * channels + c] = transform(buffer[p * channels + c]) }
            }
        }
        return Image(width: width, height: height, colorModel: colorModel, samples: samples)
    }
}

/// The sRGB transfer function's inverse (IEC 61966-2-1).
@inlinable
public func srgbToLinear(_ value: Float) -> Float {
    value <= 0.04045 ? value / 12.92 : pow((value + 0.055) / 1.055, 2.4)
}

/// The sRGB transfer function (IEC 61966-2-1).
@inlinable
public func linearToSRGB(_ value: Float) -> Float {
    value <= 0.0031308 ? value * 12.92 : 1.055 * pow(value, 1 / 2.4) - 0.055
}

extension Image {
    /// Whether any pixel is not a shade of grey (its channels more than half an 8-bit level
    /// apart), read band by band: what decides that a grey photo's edit made it colour.
    public var holdsColour: Bool {
        guard colorModel.colorChannels == 3 else { return false }
        for start in stride(from: 0, to: height, by: 64) {
            let band = rows(start..<min(height, start + 64)).floatSamples()
            for p in stride(from: 0, to: band.count, by: channels) {
                let (r, g, b) = (band[p], band[p + 1], band[p + 2])
                if max(r, g, b) - min(r, g, b) > 0.5 / 255 { return true }
            }
        }
        return false
    }
}
