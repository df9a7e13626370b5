/// Limits and choices that apply when decoding.
public struct DecodeOptions: Sendable, Equatable {
    /// Images with more pixels than this are refused after reading the header and before any
    /// pixel memory is allocated, so a small "decompression bomb" cannot exhaust memory.
    public var maxPixels: Int
    /// Files larger than this are refused before they are read into memory.
    public var maxFileBytes: Int
    /// Turn JPEGs upright according to their EXIF orientation tag (what viewers show).
    public var applyOrientation: Bool
    /// Convert pixels from the file's ICC profile to sRGB, keeping the profile to write them
    /// back in. Without it the numbers are read as stored and the profile is dropped (so a
    /// write never converts them), which is how a file looks to a tool that ignores profiles.
    public var colorManaged: Bool

    public static let defaultMaxPixels = 100_000_000
    /// 1 GiB: above any real photo at the default pixel limit (100 MP of 16-bit RGBA PNG
    /// compresses to well under this), small enough to keep a stray disk image out of memory.
    public static let defaultMaxFileBytes = 1 << 30

    public init(
        maxPixels: Int = DecodeOptions.defaultMaxPixels,
        maxFileBytes: Int = DecodeOptions.defaultMaxFileBytes,
        applyOrientation: Bool = true, colorManaged: Bool = true
    ) {
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
        self.applyOrientation = applyOrientation
        self.colorManaged = colorManaged
    }
}

/// How to write a PNG.
public struct PNGOptions: Sendable, Equatable {
    /// 8 or 16; `nil` keeps the image's own `bitDepth`.
    public var bitDepth: Int?
    /// zlib level 0 (stored, no compression) to 9 (smallest). It applies to images that compress
    /// like graphics; a photo is written run-length over Paeth-filtered rows at any level but 0 —
    /// the encoder tries both on a sample of rows and keeps the smaller: on photos (grain and
    /// sensor noise leave LZ77 few matches) that is as small as level 6 or smaller and 2–3× faster
    /// (a 12-MP photo 0.7 s against 1.5 s at level 4), on graphics LZ77 is several times smaller.
    public var compressionLevel: Int

    /// zlib's own default.
    public static let defaultCompressionLevel = 6

    public init(bitDepth: Int? = nil, compressionLevel: Int = PNGOptions.defaultCompressionLevel) {
        self.bitDepth = bitDepth
        self.compressionLevel = compressionLevel
    }
}

/// How to write a JPEG.
public struct JPEGOptions: Sendable, Equatable {
    public enum ChromaSubsampling: Int, Sendable {
        case none = 0  // 4:4:4
        case horizontal = 1  // 4:2:2
        case both = 2  // 4:2:0, what cameras and most encoders write
    }

    /// 1 (smallest) to 100 (best).
    public var quality: Int
    public var progressive: Bool
    public var chromaSubsampling: ChromaSubsampling
    /// JPEG has no alpha: transparent images are flattened over this gray level (0...1).
    public var background: Float

    public init(
        quality: Int = 92, progressive: Bool = false,
        chromaSubsampling: ChromaSubsampling = .both, background: Float = 1
    ) {
        self.quality = quality
        self.progressive = progressive
        self.chromaSubsampling = chromaSubsampling
        self.background = background
    }
}

/// How to write a TIFF (always lossless: Deflate with the horizontal predictor).
public struct TIFFOptions: Sendable, Equatable {
    /// 8 or 16; `nil` keeps 8-bit images at 8 bits and writes others at 16.
    public var bitDepth: Int?

    public init(bitDepth: Int? = nil) { self.bitDepth = bitDepth }
}

/// How to write a WebP.
public struct WebPOptions: Sendable, Equatable {
    /// 0 (smallest) to 100 (best), for lossy files.
    public var quality: Int
    /// Exact pixels (at 8 bits) instead of lossy compression.
    public var lossless: Bool

    public init(quality: Int = 90, lossless: Bool = false) {
        self.quality = quality
        self.lossless = lossless
    }
}

/// A format together with its options.
public enum EncodeOptions: Sendable, Equatable {
    case png(PNGOptions)
    case jpeg(JPEGOptions)
    case tiff(TIFFOptions)
    case webp(WebPOptions)

    public var format: ImageFormat {
        switch self {
        case .png: .png
        case .jpeg: .jpeg
        case .tiff: .tiff
        case .webp: .webp
        }
    }

    /// The default options for `format`.
    public init(format: ImageFormat) {
        switch format {
        case .png: self = .png(PNGOptions())
        case .jpeg: self = .jpeg(JPEGOptions())
        case .tiff: self = .tiff(TIFFOptions())
        case .webp: self = .webp(WebPOptions())
        }
    }
}
