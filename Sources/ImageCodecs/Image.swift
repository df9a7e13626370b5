/// How an image's channels are to be read.
public enum ColorModel: Int, Sendable, CaseIterable, CustomStringConvertible {
    case gray = 1
    case grayAlpha = 2
    case rgb = 3
    case rgba = 4

    /// Number of planes an image of this model stores.
    public var channels: Int { rawValue }
    public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }
    /// The colour planes, without alpha.
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

/// A decoded image: Float32 samples in [0, 1], stored plane by plane (channel, row, column).
///
/// Planar Float32 is what the model nodes consume (NCHW without the batch), it represents
/// 8- and 16-bit sources exactly (16 bits fit in Float32's 24-bit mantissa), and per-plane
/// loops vectorise well. Alpha, when present, is the last plane and is *straight* (not
/// premultiplied); `premultiplied()` gives the form that filtering and compositing need.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let colorModel: ColorModel
    /// Bits per sample the image came from (8 or 16); writers use it as their default depth.
    public var bitDepth: Int
    /// `channels × height × width` samples, plane after plane.
    public var samples: [Float]

    public var channels: Int { colorModel.channels }
    public var pixelCount: Int { width * height }

    /// An image filled with `value` in every sample.
    public init(width: Int, height: Int, colorModel: ColorModel, bitDepth: Int = 8, value: Float = 0) {
        precondition(width >= 0 && height >= 0, "image dimensions must not be negative")
        self.width = width
        self.height = height
        self.colorModel = colorModel
        self.bitDepth = bitDepth
        self.samples = [Float](repeating: value, count: width * height * colorModel.channels)
    }

    /// An image over existing planar samples; `samples.count` must be `channels × height × width`.
    public init(width: Int, height: Int, colorModel: ColorModel, bitDepth: Int = 8, samples: [Float]) {
        precondition(samples.count == width * height * colorModel.channels,
                     "expected \(width * height * colorModel.channels) samples, got \(samples.count)")
        self.width = width
        self.height = height
        self.colorModel = colorModel
        self.bitDepth = bitDepth
        self.samples = samples
    }

    /// The sample at column `x`, row `y` of plane `channel`.
    @inlinable
    public subscript(x: Int, y: Int, channel: Int) -> Float {
        get { samples[(channel * height + y) * width + x] }
        set { samples[(channel * height + y) * width + x] = newValue }
    }

    /// Range of `samples` that holds one plane.
    @inlinable
    public func planeRange(_ channel: Int) -> Range<Int> {
        let size = width * height
        return channel * size ..< (channel + 1) * size
    }
}
