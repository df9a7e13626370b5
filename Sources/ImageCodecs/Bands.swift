/// Whole-image work in bands of rows, so that a large photo never exists as Float32 at full
/// size: each band is converted to floats, worked on and stored back in the image's own format.
/// Per-pixel work gives the same samples however the image is banded.
extension Image {
    /// Rows `rows` of this image, in its colour model and sample format.
    public func rows(_ rows: Range<Int>) -> Image {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= height, "rows \(rows) outside 0..<\(height)")
        let stride = width * channels
        let range = (rows.lowerBound * stride)..<(rows.upperBound * stride)
        let part: PixelStorage =
            switch storage {
            case .uint8(let s): .uint8(Array(s[range]))
            case .uint16(let s): .uint16(Array(s[range]))
            case .float32(let s): .float32(Array(s[range]))
            }
        return Image(width: width, height: rows.count, colorModel: colorModel, storage: part)
    }

    /// The default band: enough rows to keep every core busy, few enough to stay small (64 rows
    /// of a 4000-pixel RGB photo are 3 MB of floats).
    public static let bandRows = 64

    /// An image built band by band: `band(rows)` gives the Float32 samples (0...1, interleaved,
    /// in `colorModel`) of those rows, which are stored in `format` at once, as
    /// ``converted(to:)-(SampleFormat)`` would round them.
    public init(
        width: Int, height: Int, colorModel: ColorModel, format: SampleFormat, bandRows: Int = Image.bandRows,
        _ band: (_ rows: Range<Int>) -> [Float]
    ) {
        let stride = width * colorModel.channels
        func bands<Sample>(_ store: (_ samples: [Float], _ into: UnsafeMutablePointer<Sample>) -> Void) -> [Sample] {
            [Sample](unsafeUninitializedCapacity: height * stride) { out, initialized in
                for y0 in Swift.stride(from: 0, to: height, by: max(1, bandRows)) {
                    let rows = y0..<min(height, y0 + max(1, bandRows))
                    let samples = band(rows)
                    precondition(
                        samples.count == rows.count * stride,
                        "a band of \(rows.count) rows needs \(rows.count * stride) samples")
                    store(samples, out.baseAddress! + y0 * stride)
                    initialized = rows.upperBound * stride
                }
                initialized = height * stride
            }
        }
        let storage: PixelStorage
        switch format {
        case .uint8: storage = .uint8(bands { s, out in for i in s.indices { out[i] = quantize8(s[i]) } })
        case .uint16: storage = .uint16(bands { s, out in for i in s.indices { out[i] = quantize16(s[i]) } })
        case .float32: storage = .float32(bands { s, out in for i in s.indices { out[i] = s[i] } })
        }
        self.init(width: width, height: height, colorModel: colorModel, storage: storage)
    }
}
