import CLCMS2
import Glibc

/// An ICC profile opened by Little CMS: the only owner of lcms2 state. Not shared between
/// threads (lcms2 profiles are not); each read or write opens its own.
final class ColorProfile {
    fileprivate let handle: cmsHPROFILE
    /// Colour samples per pixel the profile describes: 1 (gray), 3 (RGB), or 4 (CMYK); 0 otherwise.
    let colorChannels: Int

    /// nil when lcms2 cannot read the bytes as a profile.
    init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty,
            let handle = bytes.withUnsafeBytes({ cmsOpenProfileFromMem($0.baseAddress!, cmsUInt32Number($0.count)) })
        else { return nil }
        self.handle = handle
        colorChannels =
            switch cmsGetColorSpace(handle) {
            case cmsSigGrayData: 1
            case cmsSigRgbData: 3
            case cmsSigCmykData: 4
            default: 0
            }
    }

    deinit { cmsCloseProfile(handle) }

    /// The profile's own description ("Display P3", "Adobe RGB (1998)"), if it has one.
    var name: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = cmsGetProfileInfoASCII(handle, cmsInfoDescription, "en", "US", &buffer, 256)
        guard count > 1 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the profile fits pixels of `model` (an RGB profile for RGB or RGBA, a gray one for gray).
    func fits(_ model: ColorModel) -> Bool { colorChannels == model.colorChannels }

    /// sRGB for RGB pixels; for gray, a gray profile with sRGB's tone curve (what untagged gray means).
    private static func workingSpace(colorChannels: Int) -> cmsHPROFILE? {
        if colorChannels == 3 { return cmsCreate_sRGBProfile() }
        var parameters: [Double] = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
        guard let curve = cmsBuildParametricToneCurve(nil, 4, &parameters) else { return nil }
        defer { cmsFreeToneCurve(curve) }
        return cmsCreateGrayProfile(cmsD50_xyY(), curve)
    }

    /// Converts float samples between this profile and the working space, in place. Values out
    /// of 0...1 (colours outside sRGB) survive where the profiles allow, so a wide-gamut photo
    /// comes back to its own colours after editing.
    private func transform(_ samples: inout [Float], pixels: Int, model: ColorModel, toWorkingSpace: Bool) -> Bool {
        guard fits(model), let working = Self.workingSpace(colorChannels: colorChannels) else { return false }
        defer { cmsCloseProfile(working) }
        let format = df_lcms_format_float(Int32(model.colorChannels), model.hasAlpha ? 1 : 0)
        let (from, to) = toWorkingSpace ? (handle, working) : (working, handle)
        let flags = cmsUInt32Number(cmsFLAGS_NOCACHE) | (model.hasAlpha ? cmsUInt32Number(cmsFLAGS_COPY_ALPHA) : 0)
        guard
            let transform = cmsCreateTransform(
                from, format, to, format, cmsUInt32Number(INTENT_RELATIVE_COLORIMETRIC), flags)
        else { return false }
        defer { cmsDeleteTransform(transform) }
        samples.withUnsafeMutableBytes { raw in
            cmsDoTransform(transform, raw.baseAddress!, raw.baseAddress!, cmsUInt32Number(pixels))
        }
        return true
    }

    /// Interleaved 8-bit CMYK in this (CMYK) profile as 16-bit sRGB, the way a prepress tool
    /// shows it: relative colorimetric with black-point compensation (8-bit in, so lcms2 can
    /// precompute the whole conversion). nil when this is not a CMYK profile or lcms2 cannot
    /// convert.
    func rgbFromCMYK(_ cmyk: [UInt8], pixels: Int, inverted: Bool) -> [UInt16]? {
        guard colorChannels == 4, let working = Self.workingSpace(colorChannels: 3) else { return nil }
        defer { cmsCloseProfile(working) }
        guard
            let transform = cmsCreateTransform(
                handle, df_lcms_format_cmyk8(inverted ? 1 : 0), working, df_lcms_format_rgb16(),
                cmsUInt32Number(INTENT_RELATIVE_COLORIMETRIC), cmsUInt32Number(cmsFLAGS_BLACKPOINTCOMPENSATION))
        else { return nil }
        defer { cmsDeleteTransform(transform) }
        var rgb = [UInt16](repeating: 0, count: pixels * 3)
        cmyk.withUnsafeBytes { source in
            rgb.withUnsafeMutableBytes { target in
                cmsDoTransform(transform, source.baseAddress!, target.baseAddress!, cmsUInt32Number(pixels))
            }
        }
        return rgb
    }

    /// Whether pixel values mean the same colours here as in the working space (an sRGB profile
    /// under another name, such as the HP one many files carry), so converting would only cost
    /// time: no colour of a 5×5×5 grid moves by an 8-bit level.
    func isWorkingSpace(for model: ColorModel) -> Bool {
        let steps: [Float] = [0, 0.25, 0.5, 0.75, 1]
        let grid: [[Float]] =
            model.colorChannels == 1
            ? steps.map { [$0] }
            : steps.flatMap { r in steps.flatMap { g in steps.map { b in [r, g, b] } } }
        let plain = ColorModel(channels: model.colorChannels)!
        var samples = grid.flatMap { $0 }
        let original = samples
        guard transform(&samples, pixels: grid.count, model: plain, toWorkingSpace: true) else { return false }
        return zip(samples, original).allSatisfy { abs($0 - $1) < 1 / 255 }
    }

    /// `image` converted from this profile into the working space (toWorkingSpace) or back, as
    /// float samples; nil when the profile does not fit the image or lcms2 cannot convert.
    func converted(_ image: Image, toWorkingSpace: Bool) -> Image? {
        var samples = image.floatSamples()
        if let shaper = MatrixShaper(self) {
            shaper.convert(&samples, model: image.colorModel, toWorkingSpace: toWorkingSpace)
        } else {
            guard
                transform(&samples, pixels: image.pixelCount, model: image.colorModel, toWorkingSpace: toWorkingSpace)
            else { return nil }
        }
        var result = Image(width: image.width, height: image.height, colorModel: image.colorModel, samples: samples)
        result.metadata = image.metadata
        return result
    }
}

extension ImageMetadata {
    /// The ICC profile's own description ("Display P3"), or nil when there is none or it is unreadable.
    public var profileName: String? { iccProfile.flatMap { ColorProfile($0)?.name } }
}

extension Image {
    /// These pixels as read from a file, in the sRGB working space: converted from the file's
    /// profile when it has one that differs.
    func inWorkingSpace() -> Image { againstProfile(toWorkingSpace: true) }

    /// These working-space pixels in the profile they are to be written with.
    func forWriting() -> Image { againstProfile(toWorkingSpace: false) }

    /// Converted between the working space and `metadata`'s profile. A profile lcms2 cannot read,
    /// or that does not fit the pixels (a CMYK profile on a JPEG made RGB, an RGB one on a gray
    /// result), is dropped: untagged means sRGB, which is what the pixels are.
    private func againstProfile(toWorkingSpace: Bool) -> Image {
        guard let bytes = metadata.iccProfile else { return self }
        guard let profile = ColorProfile(bytes), profile.fits(colorModel) else {
            var result = self
            result.metadata.iccProfile = nil
            return result
        }
        if profile.isWorkingSpace(for: colorModel) { return self }
        return profile.converted(self, toWorkingSpace: toWorkingSpace) ?? self
    }
}

/// The conversion of a matrix/TRC profile — what cameras, phones and editors tag photos with
/// (Display P3, Adobe RGB, ProPhoto) — done here rather than by lcms2's float pipeline, which
/// evaluates every curve per sample (Benchmarks/README.md): tone curves become tables, the two
/// matrices one. The result is what lcms2 gives for relative colorimetric between two
/// matrix/TRC profiles; working-space values outside 0...1 (colours sRGB cannot show) are kept by
/// extending sRGB's curve, so they come back on writing.
private struct MatrixShaper {
    static let tableSize = 4096
    /// Per colour channel: the profile's tone curve (encoded → linear) at `tableSize` points.
    let toLinear: [[Float]]
    /// Per colour channel: its inverse (linear → encoded).
    let fromLinear: [[Float]]
    /// Linear profile RGB → linear sRGB (row-major), and back; identity for gray.
    let toSRGB: [Float]
    let fromSRGB: [Float]

    init?(_ profile: ColorProfile) {
        let handle = profile.handle
        guard cmsIsMatrixShaper(handle) != 0 else { return nil }
        let curveTags =
            profile.colorChannels == 1
            ? [cmsSigGrayTRCTag] : [cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag]
        var toLinear: [[Float]] = []
        var fromLinear: [[Float]] = []
        for tag in curveTags {
            guard let raw = cmsReadTag(handle, tag) else { return nil }
            let curve = OpaquePointer(raw)
            guard let inverse = cmsReverseToneCurve(curve) else { return nil }
            defer { cmsFreeToneCurve(inverse) }
            // Sampled at squares (see `lookup`).
            let last = Float(Self.tableSize - 1)
            let points = (0..<Self.tableSize).map { Float($0) / last * Float($0) / last }
            toLinear.append(points.map { cmsEvalToneCurveFloat(curve, $0) })
            fromLinear.append(points.map { cmsEvalToneCurveFloat(inverse, $0) })
        }
        self.toLinear = toLinear
        self.fromLinear = fromLinear
        guard profile.colorChannels == 3 else {
            (toSRGB, fromSRGB) = ([1], [1])
            return
        }
        func colorants(_ handle: cmsHPROFILE) -> [Double]? {
            var columns: [[Double]] = []
            for tag in [cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag] {
                guard let raw = cmsReadTag(handle, tag) else { return nil }
                let xyz = raw.assumingMemoryBound(to: cmsCIEXYZ.self).pointee
                columns.append([xyz.X, xyz.Y, xyz.Z])
            }
            return (0..<3).flatMap { row in (0..<3).map { column in columns[column][row] } }
        }
        guard let sRGB = cmsCreate_sRGBProfile() else { return nil }
        defer { cmsCloseProfile(sRGB) }
        guard let source = colorants(handle), let target = colorants(sRGB), let inverseTarget = inverted(target),
            let inverseSource = inverted(source)
        else { return nil }
        toSRGB = multiplied(inverseTarget, source).map(Float.init)
        fromSRGB = multiplied(inverseSource, target).map(Float.init)
    }

    func convert(_ samples: inout [Float], model: ColorModel, toWorkingSpace: Bool) {
        let colors = model.colorChannels
        let stride = model.channels
        let m = toWorkingSpace ? toSRGB : fromSRGB
        let (m0, m1, m2, m3, m4, m5, m6, m7, m8) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
        let pixels = samples.count / stride
        // Flat tables read through pointers: indexing nested arrays retains them per sample.
        let curves = (toWorkingSpace ? toLinear : fromLinear).flatMap { $0 }
        let n = Self.tableSize
        curves.withUnsafeBufferPointer { curves in
            sRGBEncodeTable.withUnsafeBufferPointer { encodeTable in
                sRGBDecodeTable.withUnsafeBufferPointer { decodeTable in
                    samples.withUnsafeMutableBufferPointer { buffer in
                        let base = curves.baseAddress!
                        let (c0, c1, c2) = (base, base + (colors == 3 ? n : 0), base + (colors == 3 ? 2 * n : 0))
                        let out = buffer.baseAddress!
                        for p in 0..<pixels {
                            let at = out + p * stride
                            if colors == 1 {
                                at[0] =
                                    toWorkingSpace
                                    ? sRGBEncode(Self.lookup(c0, n, at[0]), encodeTable)
                                    : Self.lookup(c0, n, sRGBDecode(at[0], decodeTable))
                                continue
                            }
                            let r: Float
                            let g: Float
                            let b: Float
                            if toWorkingSpace {
                                (r, g, b) = (
                                    Self.lookup(c0, n, at[0]), Self.lookup(c1, n, at[1]), Self.lookup(c2, n, at[2])
                                )
                            } else {
                                (r, g, b) = (
                                    sRGBDecode(at[0], decodeTable), sRGBDecode(at[1], decodeTable),
                                    sRGBDecode(at[2], decodeTable)
                                )
                            }
                            let x = m0 * r + m1 * g + m2 * b
                            let y = m3 * r + m4 * g + m5 * b
                            let z = m6 * r + m7 * g + m8 * b
                            if toWorkingSpace {
                                at[0] = sRGBEncode(x, encodeTable)
                                at[1] = sRGBEncode(y, encodeTable)
                                at[2] = sRGBEncode(z, encodeTable)
                            } else {
                                at[0] = Self.lookup(c0, n, x)
                                at[1] = Self.lookup(c1, n, y)
                                at[2] = Self.lookup(c2, n, z)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The table at `x` (clamped to 0...1), interpolated linearly in √x: a gamma curve's inverse
    /// is so steep near black that even steps lose the darkest levels; in √x it is nearly straight.
    @inline(__always)
    private static func lookup(_ table: UnsafePointer<Float>, _ count: Int, _ x: Float) -> Float {
        let position = (min(max(x, 0), 1)).squareRoot() * Float(count - 1)
        let index = min(Int(position), count - 2)
        let fraction = position - Float(index)
        return table[index] + (table[index + 1] - table[index]) * fraction
    }
}

/// sRGB's curve, linear → encoded, extended past 0...1 by symmetry and by its power law: a table
/// inside (fine enough that interpolation stays under 1e-5 of the formula), the formula outside.
@inline(__always)
private func sRGBEncode(_ linear: Float, _ table: UnsafeBufferPointer<Float>) -> Float {
    extended(linear, table, sRGBEncodeFormula)
}

/// sRGB's curve, encoded → linear, extended like `sRGBEncode`.
@inline(__always)
private func sRGBDecode(_ encoded: Float, _ table: UnsafeBufferPointer<Float>) -> Float {
    extended(encoded, table, sRGBDecodeFormula)
}

/// `formula` at `x`: from `table` (its values at 0...1, evenly spaced) inside, computed outside,
/// odd-symmetric for negative `x`.
@inline(__always)
private func extended(_ x: Float, _ table: UnsafeBufferPointer<Float>, _ formula: (Float) -> Float) -> Float {
    let magnitude = abs(x)
    let y: Float
    if magnitude <= 1 {
        let position = magnitude * Float(table.count - 1)
        let index = min(Int(position), table.count - 2)
        y = table[index] + (table[index + 1] - table[index]) * (position - Float(index))
    } else {
        y = formula(magnitude)
    }
    return x < 0 ? -y : y
}

private func sRGBEncodeFormula(_ magnitude: Float) -> Float {
    magnitude <= 0.0031308 ? magnitude * 12.92 : 1.055 * powf(magnitude, 1 / 2.4) - 0.055
}

private func sRGBDecodeFormula(_ magnitude: Float) -> Float {
    magnitude <= 0.04045 ? magnitude / 12.92 : powf((magnitude + 0.055) / 1.055, 2.4)
}

private let sRGBEncodeTable: [Float] = (0..<65536).map { sRGBEncodeFormula(Float($0) / 65535) }
private let sRGBDecodeTable: [Float] = (0..<4096).map { sRGBDecodeFormula(Float($0) / 4095) }

private func multiplied(_ a: [Double], _ b: [Double]) -> [Double] {
    var product = [Double](repeating: 0, count: 9)
    for row in 0..<3 {
        for column in 0..<3 {
            for k in 0..<3 { product[row * 3 + column] += a[row * 3 + k] * b[k * 3 + column] }
        }
    }
    return product
}

private func inverted(_ m: [Double]) -> [Double]? {
    let cofactors = [
        m[4] * m[8] - m[5] * m[7], m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8], m[0] * m[8] - m[2] * m[6], m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6], m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3],
    ]
    let determinant = m[0] * cofactors[0] + m[1] * cofactors[3] + m[2] * cofactors[6]
    guard abs(determinant) > 1e-12 else { return nil }
    return cofactors.map { $0 / determinant }
}
