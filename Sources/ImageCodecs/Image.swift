/// How an image's channels are to be read.
public enum ColorModel: Int, Sendable, CaseIterable, CustomStringConvertible {
    case gray = 1
    case grayAlpha = 2
    case rgb = 3
    case rgba = 4

    /// Number of samples per pixel.
    public var channels: Int { rawValue }
    public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }
    /// The colour samples per pixel, without alpha.
    public var colorChannels: Int { hasAlpha ? channels - 1 : channels }

    public init?(channels: Int) { self.init(rawValue: channels) }

    public var description: String {
        switch self {
        case .gray: "gray"
        case .grayAlpha: "gray+alpha"
        case .rgb: "RGB"
        case .rgba: "RGBA"
        }
    }
}

/// What one sample is stored as.
public enum SampleFormat: Sendable, CaseIterable, CustomStringConvertible {
    /// 0...255, what 8-bit PNG and every JPEG hold.
    case uint8
    /// 0...65535, what 16-bit PNG holds.
    case uint16
    /// Nominally 0...1; what filters and model nodes compute in.
    case float32

    /// Bits per sample.
    public var bitDepth: Int {
        switch self {
        case .uint8: 8
        case .uint16: 16
        case .float32: 32
        }
    }

    public var description: String {
        switch self {
        case .uint8: "8-bit"
        case .uint16: "16-bit"
        case .float32: "32-bit float"
        }
    }
}

/// An image's samples, interleaved pixel by pixel (row-major, channels adjacent).
public enum PixelStorage: Sendable, Equatable {
    case uint8([UInt8])
    case uint16([UInt16])
    case float32([Float])

    public var format: SampleFormat {
        switch self {
        case .uint8: .uint8
        case .uint16: .uint16
        case .float32: .float32
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let s): s.count
        case .uint16(let s): s.count
        case .float32(let s): s.count
        }
    }
}

/// A decoded image: interleaved samples (row-major, `channels` per pixel) in the format the
/// file had — 8-bit, 16-bit — or Float32 once an operation needs real numbers.
///
/// Why not always Float32: a 12-megapixel photo is 36 MB as 8-bit and 144 MB as Float32, and
/// filling the larger buffer tripled decode time next to Pillow on the same libjpeg-turbo
/// (Benchmarks/codecs.py). So codecs hand over exactly what libpng/libjpeg produce, with no
/// copy, and conversion happens once, where a node asks for floats.
///
/// Alpha, when present, is the last channel and *straight* (not premultiplied);
/// `premultiplied()` gives the form that filtering and compositing need.
///
/// Two images are equal when their pixels are: `metadata` travels beside them (the workflow
/// engine hands a node's input metadata on to the images it makes) and is not compared.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let colorModel: ColorModel
    public private(set) var storage: PixelStorage
    /// The profile, EXIF and XMP of the file these pixels came from, written back on save.
    public var metadata = ImageMetadata()

    public static func == (lhs: Image, rhs: Image) -> Bool {
        lhs.width == rhs.width && lhs.height == rhs.height && lhs.colorModel == rhs.colorModel
            && lhs.storage == rhs.storage
    }

    public var channels: Int { colorModel.channels }
    public var pixelCount: Int { width * height }
    public var sampleFormat: SampleFormat { storage.format }
    /// Bits per sample: 8, 16 or 32 (float).
    public var bitDepth: Int { storage.format.bitDepth }

    /// An image over existing interleaved samples; the count must be `width × height × channels`.
    public init(width: Int, height: Int, colorModel: ColorModel, storage: PixelStorage) {
        precondition(width >= 0 && height >= 0, "image dimensions must not be negative")
        precondition(
            storage.count == width * height * colorModel.channels,
            "expected \(width * height * colorModel.channels) samples, got \(storage.count)")
        self.width = width
        self.height = height
        self.colorModel = colorModel
        self.storage = storage
    }

    /// An image with every sample set to `value` (on the 0...1 scale).
    public init(width: Int, height: Int, colorModel: ColorModel, format: SampleFormat = .float32, value: Float = 0) {
        let count = width * height * colorModel.channels
        let storage: PixelStorage =
            switch format {
            case .uint8: .uint8([UInt8](repeating: quantize8(value), count: count))
            case .uint16: .uint16([UInt16](repeating: quantize16(value), count: count))
            case .float32: .float32([Float](repeating: value, count: count))
            }
        self.init(width: width, height: height, colorModel: colorModel, storage: storage)
    }

    /// Float32 samples on the 0...1 scale, interleaved.
    public init(width: Int, height: Int, colorModel: ColorModel, samples: [Float]) {
        self.init(width: width, height: height, colorModel: colorModel, storage: .float32(samples))
    }

    /// The sample at column `x`, row `y`, channel `channel`, on the 0...1 scale. Setting it
    /// rounds to the storage format. For whole-image work use `floatSamples()` or the storage.
    public subscript(x: Int, y: Int, channel: Int) -> Float {
        get {
            let i = (y * width + x) * channels + channel
            switch storage {
            case .uint8(let s): return Float(s[i]) / 255
            case .uint16(let s): return Float(s[i]) / 65535
            case .float32(let s): return s[i]
            }
        }
        set {
            let i = (y * width + x) * channels + channel
            switch storage {
            case .uint8(var s):
                storage = .float32([])  // release the reference so `s` is mutated in place
                s[i] = quantize8(newValue)
                storage = .uint8(s)
            case .uint16(var s):
                storage = .float32([])
                s[i] = quantize16(newValue)
                storage = .uint16(s)
            case .float32(var s):
                storage = .float32([])
                s[i] = newValue
                storage = .float32(s)
            }
        }
    }
}

/// Rounds a 0...1 value to the nearest 8-bit level, clamping out-of-range values (NaN gives 0).
@inline(__always)
func quantize8(_ value: Float) -> UInt8 {
    UInt8(truncatingIfNeeded: floorOfClamped(value * 255 + 0.5, 255))
}

/// Rounds a 0...1 value to the nearest 16-bit level, clamping out-of-range values (NaN gives 0).
@inline(__always)
func quantize16(_ value: Float) -> UInt16 {
    UInt16(truncatingIfNeeded: floorOfClamped(value * 65535 + 0.5, 65535))
}

/// ⌊min(max(y, 0), top)⌋ for `top` < 2²³, with compares, selects and adds only: `Int32(_:)` of a
/// Float checks for NaN and range on every sample, which kept the quantising loops scalar (a
/// 12-MP photo's 8-bit conversion took twice as long).
@inline(__always)
private func floorOfClamped(_ y: Float, _ top: Float) -> UInt32 {
    let clamped = y > 0 ? (y < top ? y : top) : 0
    // Adding 2²³ leaves the integer nearest to `clamped` in the low mantissa bits.
    let magic: Float = 8_388_608
    let nearest = (clamped + magic) - magic
    return ((nearest > clamped ? nearest - 1 : nearest) + magic).bitPattern & 0x7F_FFFF
}
