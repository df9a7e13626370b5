/// Group normalisation over NHWC feature maps (Wu & He 2018): each group of `channels/groups`
/// channels is normalised over all its pixels, then scaled and shifted per channel.
///
/// Two passes over memory: per-channel sums over fixed pixel chunks (combined in chunk order in
/// Double, so the statistics do not depend on the thread count), then one fused
/// `x·scale + shift` (+ optional activation) pass.
public struct GroupNorm: Sendable {
    public let groups: Int
    public let channels: Int
    public let epsilon: Float
    let gamma: [Float]
    let beta: [Float]

    static let chunkPixels = 256

    public init(groups: Int, gamma: Tensor, beta: Tensor, epsilon: Float = 1e-5) {
        precondition(gamma.rank == 1 && gamma.shape == beta.shape, "group norm scale/shift must be [channels]")
        precondition(gamma.count % groups == 0, "\(gamma.count) channels do not split into \(groups) groups")
        self.groups = groups
        channels = gamma.count
        self.epsilon = epsilon
        self.gamma = gamma.values
        self.beta = beta.values
    }

    /// Normalises `x` (`[N, ..., channels]`), then applies `activation` (e.g. the SiLU that
    /// follows almost every group norm in a UNet).
    public func callAsFunction(_ x: Tensor, _ c: Compute, activation: Activation = .none) -> Tensor {
        precondition(x.shape.last == channels, "group norm expects \(channels) channels, got \(x.shape)")
        let batch = x.shape[0]
        let pixels = x.count / channels / batch
        let chunks = (pixels + GroupNorm.chunkPixels - 1) / GroupNorm.chunkPixels
        let ch = channels
        let partial = Tensor(uninitialized: [batch * chunks, 2, ch])
        let out = Tensor(uninitialized: x.shape)
        let (xp, pp, op) = (
            UncheckedSendable(UnsafePointer(x.storage.pointer)),
            UncheckedSendable(partial.storage.pointer), UncheckedSendable(out.storage.pointer)
        )
        c.timed(.normalization) {
            c.parallel(batch * chunks) { piece, _ in
                let b = piece / chunks
                let chunk = piece % chunks
                let first = chunk * GroupNorm.chunkPixels
                let count = min(GroupNorm.chunkPixels, pixels - first)
                let sums = pp.value + piece * 2 * ch
                let squares = sums + ch
                sums.update(repeating: 0, count: 2 * ch)
                for p in 0..<count {
                    let row = xp.value + (b * pixels + first + p) * ch
                    forEachBlock(ch) { j, lanes in
                        let v = load(row + j, lanes: lanes)
                        store(load(sums + j, lanes: lanes) + v, sums + j, lanes: lanes)
                        store(load(squares + j, lanes: lanes) + v * v, squares + j, lanes: lanes)
                    }
                }
            }
            var scale = [Float](repeating: 0, count: batch * ch)
            var shift = [Float](repeating: 0, count: batch * ch)
            let perGroup = ch / groups
            let n = Double(pixels * perGroup)
            for b in 0..<batch {
                for g in 0..<groups {
                    var s = 0.0
                    var q = 0.0
                    for chunk in 0..<chunks {
                        let sums = pp.value + (b * chunks + chunk) * 2 * ch
                        for j in (g * perGroup)..<((g + 1) * perGroup) {
                            s += Double(sums[j])
                            q += Double(sums[ch + j])
                        }
                    }
                    let mean = s / n
                    let variance = max(0, q / n - mean * mean)
                    let inv = 1 / (variance + Double(epsilon)).squareRoot()
                    for j in (g * perGroup)..<((g + 1) * perGroup) {
                        scale[b * ch + j] = Float(Double(gamma[j]) * inv)
                        shift[b * ch + j] = Float(Double(beta[j]) - mean * Double(gamma[j]) * inv)
                    }
                }
            }
            scale.withUnsafeBufferPointer { sc in
                shift.withUnsafeBufferPointer { sh in
                    let (scp, shp) = (UncheckedSendable(sc.baseAddress!), UncheckedSendable(sh.baseAddress!))
                    c.parallel(batch * chunks) { piece, _ in
                        let b = piece / chunks
                        let chunk = piece % chunks
                        let first = chunk * GroupNorm.chunkPixels
                        let count = min(GroupNorm.chunkPixels, pixels - first)
                        let base = (b * pixels + first) * ch
                        affineRows(
                            xp.value + base, op.value + base, rows: count, cols: ch,
                            scale: scp.value + b * ch, shift: shp.value + b * ch, activation: activation)
                    }
                }
            }
        }
        return out
    }
}

/// `out = activation(x·scale + shift)` per row, with per-column scale and shift.
@inline(__always)
func affineRows(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, activation: Activation
) {
    for r in 0..<rows {
        let src = x + r * cols
        let dst = out + r * cols
        forEachBlock(cols) { j, lanes in
            store(
                load(src + j, lanes: lanes) * load(scale + j, lanes: lanes) + load(shift + j, lanes: lanes), dst + j,
                lanes: lanes)
        }
    }
    // The rows are contiguous: the activation in one call.
    activation.apply(to: out, count: rows * cols)
}

/// Layer normalisation over the last axis (each token on its own), with scale and shift.
public struct LayerNorm: Sendable {
    public let features: Int
    public let epsilon: Float
    let gamma: Tensor
    let beta: Tensor

    static let chunkRows = 64

    public init(gamma: Tensor, beta: Tensor, epsilon: Float = 1e-5) {
        precondition(gamma.rank == 1 && gamma.shape == beta.shape, "layer norm scale/shift must be [features]")
        features = gamma.count
        self.epsilon = epsilon
        self.gamma = gamma
        self.beta = beta
    }

    /// Without scale and shift (`elementwise_affine=False`).
    public init(features: Int, epsilon: Float = 1e-5) {
        self.init(gamma: Tensor(repeating: 1, shape: [features]), beta: Tensor(zeros: [features]), epsilon: epsilon)
    }

    public func callAsFunction(_ x: Tensor, _ c: Compute) -> Tensor {
        precondition(x.shape.last == features, "layer norm expects \(features) features, got \(x.shape)")
        let rows = x.count / features
        let out = Tensor(uninitialized: x.shape)
        let n = features
        let (xp, op) = (UncheckedSendable(UnsafePointer(x.storage.pointer)), UncheckedSendable(out.storage.pointer))
        let (gp, bp) = (
            UncheckedSendable(UnsafePointer(gamma.storage.pointer)),
            UncheckedSendable(UnsafePointer(beta.storage.pointer))
        )
        let eps = epsilon
        c.timed(.normalization) {
            let pieces = (rows + LayerNorm.chunkRows - 1) / LayerNorm.chunkRows
            c.parallel(pieces) { piece, _ in
                for r in (piece * LayerNorm.chunkRows)..<min(rows, (piece + 1) * LayerNorm.chunkRows) {
                    let src = xp.value + r * n
                    let dst = op.value + r * n
                    let mean = rowSum(src, n) { $0 } / Float(n)
                    let variance = rowSum(src, n) { ($0 - mean) * ($0 - mean) } / Float(n)
                    let inv = 1 / (variance + eps).squareRoot()
                    forEachBlock(n) { j, lanes in
                        let v = (load(src + j, lanes: lanes) - mean) * inv * load(gp.value + j, lanes: lanes)
                        store(v + load(bp.value + j, lanes: lanes), dst + j, lanes: lanes)
                    }
                }
            }
        }
        return out
    }
}

/// Σ f(x) over `n` floats, eight partial sums then a fixed-order reduction.
@inline(__always)
func rowSum(_ p: UnsafePointer<Float>, _ n: Int, _ f: (Vec) -> Vec) -> Float {
    var acc = Vec()
    forEachBlock(n) { j, lanes in
        acc += keeping(f(load(p + j, lanes: lanes)), lanes: lanes)
    }
    return acc.sum()
}
