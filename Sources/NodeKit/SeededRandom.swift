import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): small, fast and reproducible. Nodes that need
/// randomness seed one from `NodeContext.seed`; the engine uses `mix` to derive those seeds.
public struct SeededRandom: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The SplitMix64 finaliser: a well-spread 64-bit hash of `value`.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        defer { state &+= 0x9e37_79b9_7f4a_7c15 }
        return Self.mix(state)
    }

    /// Uniform in (0, 1].
    public mutating func nextUnit() -> Float { Float((next() >> 40) + 1) / Float(1 << 24) }

    /// Standard normal, by Box–Muller.
    public mutating func nextGaussian() -> Float {
        let (u, v) = (nextUnit(), nextUnit())
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}

extension SeededRandom {
    /// Row `row` of a field of standard normals: each row from its own stream of `seed`, so rows
    /// drawn in any order, on any thread, in any bands, are alike. Marsaglia's polar method, both
    /// normals of each accepted pair (one logarithm per pair and no trigonometry: a third of the
    /// time of Box–Muller's). The `grain` node and the exemplar's grain draw from it.
    public static func normalRow(_ values: inout [Float], row: Int, seed: UInt64) {
        var random = SeededRandom(seed: mix(seed ^ UInt64(row)))
        var i = 0
        while i < values.count {
            let (u, v) = (2 * random.nextUnit() - 1, 2 * random.nextUnit() - 1)
            let s = u * u + v * v
            guard s < 1, s > 0 else { continue }
            let factor = (-2 * log(s) / s).squareRoot()
            values[i] = u * factor
            if i + 1 < values.count { values[i + 1] = v * factor }
            i += 2
        }
    }
}
