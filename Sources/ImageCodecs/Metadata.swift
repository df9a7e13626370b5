import CCodecGuards

/// What a photo file carries besides its pixels, kept so a written photo is still the camera's
/// photo: its ICC profile, its EXIF and its XMP, each as the file held it.
///
/// Pixels in memory are always sRGB (`ImageFile` converts on read); `iccProfile` says which
/// space to write them back in.
public struct ImageMetadata: Sendable, Equatable, Hashable {
    /// The ICC profile the photo was tagged with.
    public var iccProfile: [UInt8]?
    /// EXIF, TIFF-structured (from the byte-order mark on, as PNG's eXIf chunk holds it).
    public var exif: [UInt8]?
    /// The XMP packet (XML).
    public var xmp: [UInt8]?
    /// The EXIF orientation (1 … 8) the file said before its pixels were turned upright, which
    /// then says 1; nil when nothing was turned.
    public var orientationAsRead: Int?

    public init(iccProfile: [UInt8]? = nil, exif: [UInt8]? = nil, xmp: [UInt8]? = nil) {
        self.iccProfile = iccProfile
        self.exif = exif
        self.xmp = xmp
    }

    public var isEmpty: Bool { iccProfile == nil && exif == nil && xmp == nil }

    /// This metadata for pixels that have been turned upright: the EXIF and XMP orientation set
    /// to 1, and the EXIF thumbnail unlinked, since it shows the photo as it was before the edit.
    public func upright() -> ImageMetadata {
        var result = self
        result.orientationAsRead =
            exif.flatMap { bytes in bytes.withUnsafeBytes { ExifOrientation.parse(tiff: $0)?.rawValue } }
            ?? orientationAsRead
        if var exif {
            exif.withUnsafeMutableBytes { raw in
                guard let reader = TIFFReader(UnsafeRawBufferPointer(raw)) else { return }
                if let entry = reader.entry(tag: 0x0112) {
                    // The value is left-justified in its 4-byte field whatever its type; a field cut
                    // short by the data's end is reset as far as `parse` reads it, or it turns twice.
                    for i in 8..<12 where entry.offset + i < raw.count { raw[entry.offset + i] = 0 }
                    let at = entry.type == 4 && !reader.littleEndian ? entry.offset + 10 : entry.offset + 8
                    if at + 2 <= raw.count { raw.replace(at, with: reader.encoded(1, size: 2)) }
                }
                if let link = reader.nextIFDLink { for i in 0..<4 { raw[link + i] = 0 } }
            }
            result.exif = exif
        }
        if let xmp, var text = String(validating: xmp, as: UTF8.self) {
            // Both spellings XMP allows: an attribute and an element.
            for digit in 2...8 {
                text = text.replacingAll("tiff:Orientation=\"\(digit)\"", with: "tiff:Orientation=\"1\"")
                text = text.replacingAll(
                    "<tiff:Orientation>\(digit)</tiff:Orientation>", with: "<tiff:Orientation>1</tiff:Orientation>")
            }
            result.xmp = Array(text.utf8)
        }
        return result
    }
}

extension ImageMetadata {
    /// This metadata for an image of `width` × `height`: EXIF's pixel dimensions (and IFD0's
    /// image size, which some writers add) say the size written, not the camera's original —
    /// a resized photo otherwise claims its old size to every tool that reads EXIF.
    public func sized(width: Int, height: Int) -> ImageMetadata {
        guard var exif else { return self }
        exif.withUnsafeMutableBytes { raw in
            guard let reader = TIFFReader(UnsafeRawBufferPointer(raw)) else { return }
            func put(_ value: Int, entry: TIFFReader.Entry) {
                // SHORT holds up to 65535; past that the entry becomes a LONG (its 4-byte field
                // has room), as the standard allows for these tags.
                guard entry.type == 3 || entry.type == 4, entry.offset + 12 <= raw.count else { return }
                let long = entry.type == 4 || value > 0xFFFF
                raw.replace(entry.offset + 2, with: reader.encoded(long ? 4 : 3, size: 2))
                // The value is left-justified in its 4-byte field.
                raw.replace(entry.offset + 8, with: reader.encoded(value, size: long ? 4 : 2) + (long ? [] : [0, 0]))
            }
            for (tag, value) in [(0x0100, width), (0x0101, height)] {
                if let entry = reader.entry(tag: tag) { put(value, entry: entry) }
            }
            guard let pointer = reader.entry(tag: 0x8769), let offset = reader.u32(pointer.offset + 8) else { return }
            for (tag, value) in [(0xA002, width), (0xA003, height)] {
                if let entry = reader.entry(tag: tag, inIFDAt: offset) { put(value, entry: entry) }
            }
        }
        var result = self
        result.exif = exif
        return result
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension ImageMetadata {
    /// Metadata the C codecs read: each part copied out of libpng's or libjpeg's memory.
    init(_ c: df_metadata) {
        func copy(_ pointer: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8]? {
            guard let pointer, count > 0 else { return nil }
            return Array(UnsafeBufferPointer(start: pointer, count: count))
        }
        self.init(
            iccProfile: copy(c.icc, c.icc_size), exif: copy(c.exif, c.exif_size), xmp: copy(c.xmp, c.xmp_size))
    }

    /// Calls `body` with this metadata as the C codecs take it, valid for the call only.
    func withC<Result>(_ body: (UnsafePointer<df_metadata>) throws -> Result) rethrows -> Result {
        func with(
            _ bytes: [UInt8]?, _ next: (UnsafePointer<UInt8>?, Int) throws -> Result
        ) rethrows -> Result {
            guard let bytes, !bytes.isEmpty else { return try next(nil, 0) }
            return try bytes.withUnsafeBufferPointer { try next($0.baseAddress, $0.count) }
        }
        // NUL-terminated for libpng, which takes iTXt text's length from strlen whatever it is told.
        let terminatedXMP = xmp.map { Array($0.prefix { $0 != 0 }) + [0] }
        return try with(iccProfile) { icc, iccSize in
            try with(exif) { exif, exifSize in
                try with(terminatedXMP) { xmp, xmpSize in
                    var c = df_metadata(
                        icc: icc, icc_size: iccSize, exif: exif, exif_size: exifSize, xmp: xmp,
                        xmp_size: max(xmpSize - 1, 0))
                    return try body(&c)
                }
            }
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Overwrites bytes from `offset` on with `bytes`, as many as fit.
    fileprivate func replace(_ offset: Int, with bytes: [UInt8]) {
        for (i, byte) in bytes.enumerated() where offset + i < count { self[offset + i] = byte }
    }
}
