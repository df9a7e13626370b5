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
    /// Every offset is bounds-checked: camera files and hostile files alike reach this code.
    public static func parse(exifPayload bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        let header = 6  // "Exif\0\0"
        guard bytes.count >= header + 8 else { return nil }
        let tiff = header
        let littleEndian: Bool
        switch (bytes[tiff], bytes[tiff + 1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
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
        guard u16(tiff + 2) == 42, let ifdOffset = u32(tiff + 4) else { return nil }
        let ifd = tiff + ifdOffset
        guard let count = u16(ifd) else { return nil }
        for entry in 0..<count {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at), let type = u16(at + 2) else { return nil }
            if tag == 0x0112 {
                // SHORT (3) is what the standard says; some writers use LONG (4).
                let value: Int?
                switch type {
                case 3: value = u16(at + 8)
                case 4: value = u32(at + 8)
                default: value = nil
                }
                return value.flatMap(ExifOrientation.init(rawValue:))
            }
        }
        return nil
    }
}

extension Image {
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
