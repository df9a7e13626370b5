import Glibc

// Colour-model conversions and alpha handling. Alpha is stored straight; filters and
// compositors work on premultiplied colour so transparent pixels never bleed their colour.

/// Rec. 601 luma weights: what JPEG's YCbCr, libjpeg and Pillow use for gray.
public let lumaWeights: (r: Float, g: Float, b: Float) = (0.299, 0.587, 0.114)

extension Image {
    /// This image in another colour model. Gray becomes equal R, G, B; colour becomes Rec. 601
    /// luma; added alpha is opaque; removed alpha is flattened over `background`.
    public func converted(to model: ColorModel, background: Float = 1) -> Image {
        if model == colorModel { return self }
        let source = (!model.hasAlpha && colorModel.hasAlpha) ? flattened(background: background) : self
        let planeSize = pixelCount
        var out = Image(width: width, height: height, colorModel: model, bitDepth: bitDepth)
        source.samples.withUnsafeBufferPointer { src in
            out.samples.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                switch (source.colorModel.colorChannels, model.colorChannels) {
                case (1, 3):
                    for c in 0..<3 { (d + c * planeSize).update(from: s, count: planeSize) }
                case (3, 1):
                    let (wr, wg, wb) = lumaWeights
                    for i in 0..<planeSize {
                        d[i] = wr * s[i] + wg * s[planeSize + i] + wb * s[2 * planeSize + i]
                    }
                default:
                    d.update(from: s, count: planeSize * model.colorChannels)
                }
                if model.hasAlpha {
                    let alpha = d + model.colorChannels * planeSize
                    if source.colorModel.hasAlpha {
                        alpha.update(from: s + source.colorModel.colorChannels * planeSize, count: planeSize)
                    } else {
                        alpha.update(repeating: 1, count: planeSize)
                    }
                }
            }
        }
        return out
    }

    /// The colour planes composited over a uniform `background` gray level, alpha removed.
    public func flattened(background: Float = 1) -> Image {
        guard colorModel.hasAlpha else { return self }
        let colors = colorModel.colorChannels
        let planeSize = pixelCount
        var out = Image(width: width, height: height, colorModel: colors == 1 ? .gray : .rgb, bitDepth: bitDepth)
        samples.withUnsafeBufferPointer { src in
            out.samples.withUnsafeMutableBufferPointer { dst in
                let alpha = src.baseAddress! + colors * planeSize
                for c in 0..<colors {
                    let s = src.baseAddress! + c * planeSize, d = dst.baseAddress! + c * planeSize
                    for i in 0..<planeSize { d[i] = s[i] * alpha[i] + background * (1 - alpha[i]) }
                }
            }
        }
        return out
    }

    /// Colour planes multiplied by alpha (unchanged when there is no alpha).
    public func premultiplied() -> Image {
        guard colorModel.hasAlpha else { return self }
        var out = self
        out.scaleColorPlanes { color, alpha in color * alpha }
        return out
    }

    /// The inverse of `premultiplied()`; fully transparent pixels get colour 0.
    public func unpremultiplied() -> Image {
        guard colorModel.hasAlpha else { return self }
        var out = self
        out.scaleColorPlanes { color, alpha in alpha > 0 ? min(color / alpha, 1) : 0 }
        return out
    }

    private mutating func scaleColorPlanes(_ combine: (Float, Float) -> Float) {
        let colors = colorModel.colorChannels
        let planeSize = pixelCount
        samples.withUnsafeMutableBufferPointer { buffer in
            let alpha = buffer.baseAddress! + colors * planeSize
            for c in 0..<colors {
                let plane = buffer.baseAddress! + c * planeSize
                for i in 0..<planeSize { plane[i] = combine(plane[i], alpha[i]) }
            }
        }
    }

    /// Colour planes decoded from sRGB to linear light (alpha untouched); blending and
    /// resampling in linear light avoid darkened edges.
    public func srgbToLinear() -> Image { mapColorPlanes(srgbToLinear(_:)) }

    /// Colour planes encoded from linear light to sRGB (alpha untouched).
    public func linearToSRGB() -> Image { mapColorPlanes(linearToSRGB(_:)) }

    /// Applies `transform` to every colour sample, leaving alpha as it is.
    public func mapColorPlanes(_ transform: (Float) -> Float) -> Image {
        var out = self
        let count = colorModel.colorChannels * pixelCount
        out.samples.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<count { buffer[i] = transform(buffer[i]) }
        }
        return out
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
