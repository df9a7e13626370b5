/// 128 bits from two FNV-1a-64 lanes with different offsets: fast, dependency-free, and ample
/// for telling results apart (this guards against mix-ups and corruption, not adversaries).
/// Cache keys, item seeds and model-weight salts all come from it.
public struct ContentHasher {
    private var a: UInt64 = 0xcbf2_9ce4_8422_2325
    private var b: UInt64 = 0x6c62_272e_07bb_0142

    public init() {}

    /// The first lane alone: plain FNV-1a-64 of everything added (seeds are derived from it).
    public var fnv1a: UInt64 { a }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var (x, y) = (a, b)
        for byte in bytes {
            x = (x ^ UInt64(byte)) &* 0x100_0000_01b3
            y = (y ^ UInt64(byte)) &* 0x100_0000_01b3 ^ (y >> 29)
        }
        (a, b) = (x, y)
    }

    public mutating func add(_ text: String) {
        var copy = text
        copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    /// 32 lowercase hex digits.
    public var hexDigest: String {
        [SeededRandom.mix(a), SeededRandom.mix(b ^ a)].map { word in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}
