import CTensorKernels

/// Vectorised elementwise math on Float buffers, eight lanes at a time.
///
/// Every element, including a buffer's ragged tail, goes through the same SIMD code, so a value
/// does not change with where a work split happens to fall.
typealias Vec = SIMD8<Float>

/// Whether this CPU runs CTensorKernels (x86-64 with AVX2 and FMA); where it does not, every
/// caller takes its portable Swift path.
let vectorKernelsAvailable = df_kernels_available() != 0

@inline(__always) func load(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

@inline(__always) func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}

/// The first `lanes` (1…8) floats at `p`, zero-padded: the ragged end of a row.
@inline(__always) func load(_ p: UnsafePointer<Float>, lanes: Int) -> Vec {
    if lanes == 8 { return load(p) }
    var v = Vec()
    for l in 0..<lanes { v[l] = p[l] }
    return v
}

/// Stores the first `lanes` (1…8) lanes of `v` at `p`.
@inline(__always) func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>, lanes: Int) {
    if lanes == 8 { return store(v, p) }
    for l in 0..<lanes { p[l] = v[l] }
}

/// Calls `body(start, lanes)` for consecutive blocks of eight floats covering `0..<count`, the
/// last one possibly shorter. Blocks before the last pass the literal 8, so once inlined the
/// `lanes` checks in ``load(_:lanes:)`` and ``store(_:_:lanes:)`` fold away on the hot path.
@inline(__always) func forEachBlock(_ count: Int, _ body: (_ start: Int, _ lanes: Int) -> Void) {
    var start = 0
    while start + 8 <= count {
        body(start, 8)
        start += 8
    }
    if start < count { body(start, count - start) }
}

/// `v` with lanes from `lanes` on set to zero (so padding never reaches a sum).
@inline(__always) func keeping(_ v: Vec, lanes: Int) -> Vec {
    if lanes == 8 { return v }
    var out = Vec()
    for l in 0..<lanes { out[l] = v[l] }
    return out
}

/// e^x for each lane; relative error below 2e-7 on [-87, 88] (Cephes expf: range reduction by
/// ln 2 in two parts, then a degree-6 polynomial), 0 below -87.3 and clamped above 88.3.
///
/// Written with lane-wise `+ − × ÷`, comparisons and selects only: Swift lowers those to vector
/// instructions, while `clamped`, `rounded` and int/float conversions on SIMD types compile to
/// per-lane library calls (measured: they made softmax 20× slower).
@inline(__always) func vexp(_ x: Vec) -> Vec {
    var v = x.replacing(with: 88.3, where: x .> 88.3)
    v = v.replacing(with: -87.3, where: v .< -87.3)
    // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
    let magic: Float = 12_582_912
    let shifted = v * 1.442695040888963 + magic
    let n = shifted - magic
    let r = v - n * 0.693359375 + n * 2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let poly = p * r * r + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Vec.self)
    return (poly * scale).replacing(with: 0, where: x .< -87.3)
}

/// e^x for x ≤ 0 (softmax's shifted scores), 35% cheaper than ``vexp(_:)``: 2^(x·log₂e) split
/// into 2ⁿ·2ᶠ with f ∈ [−½, ½] and a degree-5 minimax polynomial for 2ᶠ. Relative error below
/// 4e-6 (measured over [−27, 0]; most of it is the rounding of x·log₂e), far inside the 1e-4
/// parity bound, and attention spends most of its non-GEMM time here.
@inline(__always) func vexpNonPositive(_ x: Vec) -> Vec {
    let v = x.replacing(with: -87.3, where: x .< -87.3)
    let magic: Float = 12_582_912
    let y = v * 1.442695040888963
    let shifted = y + magic
    let f = y - (shifted - magic)
    var p = Vec(repeating: 1.3333558146e-3)
    p = p * f + 9.6181291076e-3
    p = p * f + 5.5504108665e-2
    p = p * f + 2.4022650696e-1
    p = p * f + 6.9314718056e-1
    p = p * f + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Vec.self)
    return (p * scale).replacing(with: 0, where: x .< -87.3)
}

/// Lane-wise minimum / maximum as compare-and-select (see ``vexp(_:)`` on why not `min`).
@inline(__always) func vmin(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .< a) }
@inline(__always) func vmax(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .> a) }

/// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
@inline(__always) func verf(_ x: Vec) -> Vec {
    let a = x.replacing(with: -x, where: x .< 0)
    let t = 1 / (1 + 0.3275911 * a)
    var p = Vec(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    let y: Vec = 1 - p * t * vexp(-a * a)
    return y.replacing(with: -y, where: x .< 0)
}

/// The activations a layer's output can pass through on its way out of a GEMM.
public enum Activation: String, Sendable, CaseIterable {
    case none, relu, relu6, sigmoid, silu
    /// The exact (erf) GELU, PyTorch's default.
    case gelu

    @inline(__always) func apply(_ x: Vec) -> Vec {
        switch self {
        case .none: return x
        case .relu: return vmax(x, Vec())
        case .relu6: return vmin(vmax(x, Vec()), Vec(repeating: 6))
        case .sigmoid: return 1 / (1 + vexp(-x))
        case .silu: return x / (1 + vexp(-x))
        case .gelu: return 0.5 * x * (1 + verf(x * 0.7071067811865476))
        }
    }

    /// `count` floats at `p` through the activation, in place. Sigmoid, SiLU and GELU go to
    /// CTensorKernels where the CPU has AVX2 and FMA: the portable build's eight-lane `vexp` and
    /// `verf` are pairs of SSE operations without FMA, and a GELU cost 40 ns per eight floats
    /// (the edit models' 256×96→384 layer spent 0.5 ms of its 0.9 in it).
    func apply(to p: UnsafeMutablePointer<Float>, count: Int) {
        guard self != .none else { return }
        let kernel: Int32? =
            switch self {
            case .none, .relu, .relu6: nil
            case .sigmoid: Int32(DF_ACTIVATION_SIGMOID)
            case .silu: Int32(DF_ACTIVATION_SILU)
            case .gelu: Int32(DF_ACTIVATION_GELU)
            }
        if let kernel, vectorKernelsAvailable {
            df_activate(p, count, kernel)
        } else {
            mapInPlace(p, count) { apply($0) }
        }
    }
}

/// Applies `f` to `count` floats at `p`, in place.
@inline(__always)
func mapInPlace(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ f: (Vec) -> Vec) {
    var sum = Vec()
    mapInPlace(p, count, summingInto: &sum, f)
}

/// Like ``mapInPlace(_:_:_:)``, also adding the results (padding lanes excluded) to `sum`.
@inline(__always)
func mapInPlace(_ p: UnsafeMutablePointer<Float>, _ count: Int, summingInto sum: inout Vec, _ f: (Vec) -> Vec) {
    forEachBlock(count) { i, lanes in
        let y = f(load(p + i, lanes: lanes))
        store(y, p + i, lanes: lanes)
        sum += keeping(y, lanes: lanes)
    }
}

/// What happens to a block of GEMM output before it leaves the cache:
/// `y = activation(y + bias) + residual`.
struct Epilogue {
    var bias: UnsafePointer<Float>?
    var activation: Activation = .none
    /// Laid out like the output: row `r` starts `r · ldo` floats in.
    var residual: UnsafePointer<Float>?

    var isEmpty: Bool { bias == nil && activation == .none && residual == nil }

    /// Applies the epilogue to rows `rows` (each `cols` floats) of the matrix at `out`, whose
    /// rows are `ldo` floats apart, as are the residual's. `bias` and `residual` are already
    /// offset to the block's first column.
    func apply(rows: Range<Int>, cols: Int, _ out: UnsafeMutablePointer<Float>, ldo: Int) {
        if isEmpty { return }
        if activation == .none {
            // Bias and residual in one pass.
            for r in rows {
                let row = out + r * ldo
                let res = residual.map { $0 + r * ldo }
                forEachBlock(cols) { j, lanes in
                    var v = load(row + j, lanes: lanes)
                    if let bias { v += load(bias + j, lanes: lanes) }
                    if let res { v += load(res + j, lanes: lanes) }
                    store(v, row + j, lanes: lanes)
                }
            }
            return
        }
        // Bias, activation, residual as passes over the block in cache, the activation as one
        // call (``Activation/apply(to:count:)``) over the block where its rows are contiguous: a
        // call per row of a 64-column layer cost 20 ns a row (a tenth of a 4096×64→64 layer).
        if let bias {
            for r in rows {
                let row = out + r * ldo
                forEachBlock(cols) { j, lanes in
                    store(load(row + j, lanes: lanes) + load(bias + j, lanes: lanes), row + j, lanes: lanes)
                }
            }
        }
        if ldo == cols {
            activation.apply(to: out + rows.lowerBound * ldo, count: rows.count * cols)
        } else {
            for r in rows { activation.apply(to: out + r * ldo, count: cols) }
        }
        if let residual {
            for r in rows {
                let (row, res) = (out + r * ldo, residual + r * ldo)
                forEachBlock(cols) { j, lanes in
                    store(load(row + j, lanes: lanes) + load(res + j, lanes: lanes), row + j, lanes: lanes)
                }
            }
        }
    }
}
