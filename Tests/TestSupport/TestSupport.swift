import ExemplarFit
import Foundation
import ImageCodecs
import NodeKit
import TensorCore

/// What the test targets share: the repository's example photos, and edits made by hand.
public let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A photo from the repository's Examples/, its numbers as stored: the fit's tests measure edits
/// of 0…1 colours, and rocket.jpg's Adobe RGB, converted to sRGB, puts some outside.
public func example(_ name: String) throws -> Image {
    try ImageFile.read(
        repository.appendingPathComponent("Examples/\(name)").path, options: DecodeOptions(colorManaged: false))
}

/// Applies `f` to every RGB pixel (0…1).
public func mapped(_ image: Image, _ f: (SIMD3<Float>) -> SIMD3<Float>) -> Image {
    let rgb = image.converted(to: .rgb)
    var s = rgb.floatSamples()
    for p in 0..<(rgb.width * rgb.height) {
        let v = f(SIMD3(s[3 * p], s[3 * p + 1], s[3 * p + 2]))
        for c in 0..<3 { s[3 * p + c] = min(1, max(0, v[c])) }
    }
    return Image(width: rgb.width, height: rgb.height, colorModel: .rgb, samples: s)
}

/// Mean squared error → PSNR (dB) between two RGB images of one size.
public func psnr(_ a: Image, _ b: Image) -> Double {
    let x = a.converted(to: .rgb).floatSamples()
    let y = b.converted(to: .rgb).floatSamples()
    let mse = zip(x, y).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(x.count)
    return -10 * log10(max(mse, 1e-12))
}

/// `image` (RGB) through a spatial filter.
package func filtered(_ image: Image, _ filter: SpatialFilter) -> Image {
    Image(
        width: image.width, height: image.height, colorModel: .rgb,
        samples: filter.apply(to: image.floatSamples(), width: image.width, height: image.height, Compute(threads: 2)))
}

/// A photo plus monochrome grain of σ `sigma` (as 8-bit RGB): one normal draw per pixel on
/// every channel, blurred by the unit-energy `kernel` along rows, then columns (edges clamped).
public func grained(_ image: Image, sigma: Double = 0.04, kernel k: [Double] = [1], seed: UInt64 = 5) -> Image {
    let rgb = image.converted(to: .rgb)
    let (w, h) = (rgb.width, rgb.height)
    let r = k.count / 2
    var random = SeededRandom(seed: seed)
    var n = (0..<(w * h)).map { _ in Double(random.nextGaussian()) }
    var across = n
    for y in 0..<h {
        for x in 0..<w {
            var sum = 0.0
            for t in -r...r { sum += k[t + r] * n[y * w + min(w - 1, max(0, x + t))] }
            across[y * w + x] = sum
        }
    }
    for y in 0..<h {
        for x in 0..<w {
            var sum = 0.0
            for t in -r...r { sum += k[t + r] * across[min(h - 1, max(0, y + t)) * w + x] }
            n[y * w + x] = sum
        }
    }
    let s = rgb.floatSamples()
    return Image(
        width: w, height: h, colorModel: .rgb,
        samples: s.indices.map { min(1, max(0, s[$0] + Float(sigma * n[$0 / 3]))) }
    ).converted(to: .uint8)
}

/// Hermite smoothstep from `e0` to `e1` (either order), as `_smoothstep` in Training/edits.py.
public func smoothstep(_ e0: Double, _ e1: Double, _ x: Double) -> Double {
    let t = min(1, max(0, (x - e0) / (e1 - e0)))
    return t * t * (3 - 2 * t)
}
