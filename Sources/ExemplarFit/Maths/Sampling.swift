import Foundation

/// The unnormalised gaussian exp(−t²/2σ²) at t = −radius…radius: the spatial filter's blur (scaled
/// to unit sum) and the grain's shaping kernel (scaled to unit energy) both start from it.
func gaussianTaps(sigma: Double, radius: Int) -> [Double] {
    (-radius...radius).map { Foundation.exp(-Double($0 * $0) / (2 * sigma * sigma)) }
}

/// Bilinear sampling between pixel centres (half-pixel convention, as PyTorch's
/// `align_corners=False`): where index `i` of a grid lands on a grid of `count` samples, when
/// one pixel of the first spans `numerator / denominator` of the second and the second's samples
/// are shifted by `offset` (a margin it carries). Positions outside the samples clamp to the ends.
package struct HalfPixelTap: Equatable, Sendable {
    /// The two samples and the second's weight.
    package let lower: Int, upper: Int, weight: Float

    package init(_ i: Int, numerator: Int, denominator: Int, offset: Int = 0, count: Int) {
        let s = min(
            Float(count - 1), max(0, (Float(i) + 0.5) * Float(numerator) / Float(denominator) - 0.5 + Float(offset)))
        lower = max(0, min(Int(s), count - 2))
        upper = min(lower + 1, count - 1)
        weight = s - Float(lower)
    }

    /// The taps of every index of a `length`-sample axis resampled to `count` samples.
    package static func axis(_ length: Int, to count: Int) -> [HalfPixelTap] {
        (0..<length).map { HalfPixelTap($0, numerator: count, denominator: length, count: count) }
    }
}
