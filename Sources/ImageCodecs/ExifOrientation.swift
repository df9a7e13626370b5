import Foundation

/// The eight EXIF orientations (TIFF tag 0x0112): how stored pixels map to the upright picture.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1
    case upMirrored = 2
    case down = 3
    case downMirrored = 4
    case leftMirrored = 5  // transpose
    case right = 6  // stored rotated; display turns it 90° clockwise
    case rightMirrored = 7  // transverse
    case left = 8  // display turns it 90° counter-clockwise

    /// Whether the upright picture's width is the stored height.
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// The orientation tag of an APP1 "Exif\0\0" payload, or nil when it has none or is malformed.
    public static func parse(exifPayload bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard bytes.count >= 6 else { return nil }
        return parse(tiff: UnsafeRawBufferPointer(rebasing: bytes[6...]))
    }

    /// The orientation tag of EXIF data as PNG's eXIf chunk holds it (TIFF-structured, from the
    /// byte-order mark on), or nil when it has none or is malformed.
    public static func parse(tiff bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        guard let reader = TIFFReader(bytes), let entry = reader.entry(tag: 0x0112) else { return nil }
        // SHORT (3) is what the standard says; some writers use LONG (4).
        let value: Int? =
            switch entry.type {
            case 3: reader.u16(entry.offset + 8)
            case 4: reader.u32(entry.offset + 8)
            default: nil
            }
        return value.flatMap(ExifOrientation.init(rawValue:))
    }
}

/// Bounds-checked reads of TIFF-structured EXIF: camera files and hostile files alike reach this
/// code, so every offset is checked.
struct TIFFReader {
    let bytes: UnsafeRawBufferPointer
    let littleEndian: Bool
    /// Where the first IFD (the main image's tags) starts.
    private(set) var ifd0 = 0

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 8 else { return nil }
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        self.bytes = bytes
        guard u16(2) == 42, let offset = u32(4), u16(offset) != nil else { return nil }
        ifd0 = offset
    }

    func u16(_ at: Int) -> Int? {
        guard at >= 0, at + 2 <= bytes.count else { return nil }
        let a = Int(bytes[at])
        let b = Int(bytes[at + 1])
        return littleEndian ? a | b << 8 : a << 8 | b
    }

    func u32(_ at: Int) -> Int? {
        guard let low = u16(littleEndian ? at : at + 2), let high = u16(littleEndian ? at + 2 : at) else {
            return nil
        }
        return high << 16 | low
    }

    /// One 12-byte directory entry.
    struct Entry {
        let tag: Int
        let type: Int
        let count: Int
        /// Where the entry's 12 bytes start.
        let offset: Int
    }

    /// IFD0's entry for `tag`.
    func entry(tag: Int) -> Entry? { entry(tag: tag, inIFDAt: ifd0) }

    /// The entry for `tag` in the IFD at `ifd` (IFD0, or the EXIF IFD it points to); entries
    /// before a directory cut short are still found.
    func entry(tag: Int, inIFDAt ifd: Int) -> Entry? {
        guard let count = u16(ifd) else { return nil }
        for index in 0..<count {
            let at = ifd + 2 + index * 12
            guard let found = u16(at), let type = u16(at + 2) else { return nil }
            if found == tag { return Entry(tag: tag, type: type, count: u32(at + 4) ?? 0, offset: at) }
        }
        return nil
    }

    /// `value` as `size` bytes (2 or 4) in this data's byte order.
    func encoded(_ value: Int, size: Int) -> [UInt8] {
        (0..<size).map { i in UInt8(truncatingIfNeeded: value >> (8 * (littleEndian ? i : size - 1 - i))) }
    }

    /// Where IFD0's link to the next IFD (the thumbnail's) is stored.
    var nextIFDLink: Int? {
        guard let count = u16(ifd0), ifd0 + 2 + count * 12 + 4 <= bytes.count else { return nil }
        return ifd0 + 2 + count * 12
    }
}

extension Image {
    /// Turned upright by the EXIF orientation its metadata carries (PNG's eXIf chunk, WebP's
    /// EXIF), which then says 1: formats whose orientation lives only in EXIF read like JPEG.
    func uprightByExif() -> Image {
        guard let orientation = metadata.exif.flatMap({ $0.withUnsafeBytes { ExifOrientation.parse(tiff: $0) } }),
            orientation != .up
        else { return self }
        var turned = applying(orientation)
        turned.metadata = metadata.upright()
        return turned
    }

    /// The upright picture of pixels stored with `orientation`.
    public func applying(_ orientation: ExifOrientation) -> Image {
        if orientation == .up { return self }
        let outWidth = orientation.swapsDimensions ? height : width
        let outHeight = orientation.swapsDimensions ? width : height
        let storage: PixelStorage =
            switch self.storage {
            case .uint8(let s): .uint8(reoriented(s, orientation))
            case .uint16(let s): .uint16(reoriented(s, orientation))
            case .float32(let s): .float32(reoriented(s, orientation))
            }
        return Image(width: outWidth, height: outHeight, colorModel: colorModel, storage: storage)
    }

    private func reoriented<Sample>(_ samples: [Sample], _ orientation: ExifOrientation) -> [Sample] {
        let w = width
        let h = height
        let channels = self.channels
        let outWidth = orientation.swapsDimensions ? h : w
        let outHeight = orientation.swapsDimensions ? w : h
        // For each upright pixel (x, y): the index of the stored pixel it shows.
        let source: (Int, Int) -> Int =
            switch orientation {
            case .up: { x, y in y * w + x }
            case .upMirrored: { x, y in y * w + (w - 1 - x) }
            case .down: { x, y in (h - 1 - y) * w + (w - 1 - x) }
            case .downMirrored: { x, y in (h - 1 - y) * w + x }
            case .leftMirrored: { x, y in x * w + y }
            case .right: { x, y in (h - 1 - x) * w + y }
            case .rightMirrored: { x, y in (h - 1 - x) * w + (w - 1 - y) }
            case .left: { x, y in x * w + (w - 1 - y) }
            }
        return [Sample](unsafeUninitializedCapacity: samples.count) { out, initialized in
            samples.withUnsafeBufferPointer { src in
                var d = 0
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let s = source(x, y) * channels
                        for c in 0..<channels { (out.baseAddress! + d + c).initialize(to: src[s + c]) }
                        d += channels
                    }
                }
            }
            initialized = samples.count
        }
    }
}

/// What the EXIF says of the camera and the exposure, for workflows that route photos by it.
public struct CameraFields: Sendable, Equatable {
    public var make: String?
    public var model: String?
    /// When the photo was taken (DateTimeOriginal, else DateTime), as EXIF writes it:
    /// `2024:05:01 14:03:22`.
    public var dateTime: String?
    public var iso: Int?
}

extension ImageMetadata {
    /// The camera fields of the EXIF; all nil when there is none or it is malformed.
    public var camera: CameraFields {
        guard let exif else { return CameraFields() }
        return exif.withUnsafeBytes { raw in
            guard let reader = TIFFReader(raw) else { return CameraFields() }
            let exifIFD = reader.entry(tag: 0x8769).flatMap { reader.u32($0.offset + 8) }
            func number(_ entry: TIFFReader.Entry?) -> Int? {
                guard let entry else { return nil }
                return switch entry.type {
                case 3: reader.u16(entry.offset + 8)
                case 4: reader.u32(entry.offset + 8)
                default: nil
                }
            }
            return CameraFields(
                make: reader.ascii(reader.entry(tag: 0x010F)), model: reader.ascii(reader.entry(tag: 0x0110)),
                dateTime: exifIFD.flatMap { reader.ascii(reader.entry(tag: 0x9003, inIFDAt: $0)) }
                    ?? reader.ascii(reader.entry(tag: 0x0132)),
                iso: exifIFD.flatMap { number(reader.entry(tag: 0x8827, inIFDAt: $0)) })
        }
    }
}

extension TIFFReader {
    /// An ASCII entry's text, without its trailing NULs and spaces; nil when empty or malformed.
    func ascii(_ entry: Entry?) -> String? {
        guard let entry, entry.type == 2, entry.count > 0, entry.count <= 4096 else { return nil }
        let start = entry.count <= 4 ? entry.offset + 8 : (u32(entry.offset + 8) ?? -1)
        guard start >= 0, start + entry.count <= bytes.count else { return nil }
        let text = String(decoding: bytes[start..<(start + entry.count)], as: UTF8.self)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\u{0} "))
        return text.isEmpty ? nil : text
    }
}
