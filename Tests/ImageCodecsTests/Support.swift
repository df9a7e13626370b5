import Foundation
import Testing

@testable import ImageCodecs

/// Path of a committed fixture, e.g. `fixture("png/rgb8.png")`.
func fixture(_ relative: String) -> String {
    Bundle.module.url(forResource: "Fixtures/\(relative)", withExtension: nil)!.path
}

/// Path of a photo in the repository's `Examples/` folder.
func example(_ name: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples").appendingPathComponent(name).path
}

/// A fresh empty directory, removed when `body` returns.
func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("deltaflow-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(path)
}

/// Largest absolute difference between two images' samples, in 8-bit steps.
func maxDifference(_ a: Image, _ b: Image, sourceLocation: SourceLocation = #_sourceLocation) -> Float {
    #expect(
        a.width == b.width && a.height == b.height && a.colorModel == b.colorModel,
        "\(a.width)x\(a.height) \(a.colorModel) vs \(b.width)x\(b.height) \(b.colorModel)",
        sourceLocation: sourceLocation)
    let (x, y) = (a.floatSamples(), b.floatSamples())
    guard x.count == y.count else { return .infinity }
    return zip(x, y).reduce(0) { max($0, abs($1.0 - $1.1)) } * 255
}

/// Peak signal-to-noise ratio in dB over all samples (peak 1.0).
func psnr(_ a: Image, _ b: Image) -> Double {
    let (x, y) = (a.floatSamples(), b.floatSamples())
    let mse = zip(x, y).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
    return mse == 0 ? .infinity : 10 * log10(1 / mse)
}

/// An 8- or 16-bit image whose samples vary in x, y and channel.
func syntheticImage(width: Int, height: Int, model: ColorModel, bitDepth: Int = 8) -> Image {
    let levels = Float(bitDepth == 16 ? 65535 : 255)
    var image = Image(width: width, height: height, colorModel: model, format: bitDepth == 16 ? .uint16 : .uint8)
    for c in 0..<model.channels {
        for y in 0..<height {
            for x in 0..<width {
                let value = (x * 131 + y * 71 + c * 997 + x * y * 3) % (Int(levels) + 1)
                image[x, y, c] = Float(value) / levels
            }
        }
    }
    return image
}
