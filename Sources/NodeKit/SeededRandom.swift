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
