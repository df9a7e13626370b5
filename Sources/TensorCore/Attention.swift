/// Multi-head scaled dot-product attention, self or cross, on `[batch, tokens, channels]`.
///
/// Query rows are processed in blocks of ``blockRows``: a block's scores against every key
/// (`blockRows × keys`, 256 KB for 1024 keys) are computed by one GEMM into a per-thread buffer,
/// soft-maxed in place and multiplied by V straight into the output, so no `tokens × tokens`
/// matrix ever exists. Blocks of every head run in parallel — one head's GEMMs are too small
/// to split further. Heads are read in place from the projected `tokens × channels` matrices
/// through GEMM leading dimensions; self-attention projects Q, K and V with one fused GEMM.
public struct MultiHeadAttention: Sendable {
    public let heads: Int
    public let channels: Int
    let projection: Projection
    let output: Linear

    /// Self-attention projects q, k, v from one input in one GEMM; cross-attention projects q
    /// from the tokens and k, v together from the context.
    enum Projection: Sendable {
        case fused(queryKeyValue: Linear)
        case separate(query: Linear, keyValue: Linear)
    }

    static let blockRows = 64

    /// - Parameters: PyTorch-layout (`[out, in]`) projections; `isSelfAttention` fuses q, k, v.
    public init(heads: Int, query: Linear, key: Linear, value: Linear, output: Linear, isSelfAttention: Bool) {
        precondition(query.outFeatures % heads == 0, "\(query.outFeatures) channels do not split into \(heads) heads")
        precondition(
            key.outFeatures == query.outFeatures && value.outFeatures == query.outFeatures,
            "query, key and value widths differ")
        self.heads = heads
        channels = query.outFeatures
        self.output = output
        projection =
            isSelfAttention
            ? .fused(queryKeyValue: Linear(concatenating: [query, key, value]))
            : .separate(query: query, keyValue: Linear(concatenating: [key, value]))
    }

    /// `output(attention(q(x), k(context), v(context))) + residual`; context defaults to `x`.
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, _ c: Compute, residual: Tensor? = nil) -> Tensor {
        let batch = x.shape[0]
        let tokens = x.shape[1]
        let attended: Tensor
        switch projection {
        case .fused(let queryKeyValue):
            precondition(context == nil, "this attention was built as self-attention")
            let qkv = queryKeyValue(x, c)
            attended = MultiHeadAttention.attend(
                q: qkv, qOffset: 0, k: qkv, kOffset: channels, v: qkv, vOffset: 2 * channels,
                batch: batch, tokens: tokens, keys: tokens, heads: heads, channels: channels, c)
        case .separate(let query, let keyValue):
            let context = context ?? x
            precondition(context.shape[0] == batch, "context batch \(context.shape[0]) ≠ \(batch)")
            let q = query(x, c)
            let kv = keyValue(context, c)
            attended = MultiHeadAttention.attend(
                q: q, qOffset: 0, k: kv, kOffset: 0, v: kv, vOffset: channels,
                batch: batch, tokens: tokens, keys: context.shape[1], heads: heads, channels: channels, c)
        }
        return output(attended, c, residual: residual)
    }

    /// softmax(Q·Kᵀ/√d)·V for every head; Q, K, V are column ranges (at the offsets) of the
    /// given row-major `[batch, rows, width]` tensors.
    static func attend(
        q: Tensor, qOffset: Int, k: Tensor, kOffset: Int, v: Tensor, vOffset: Int,
        batch: Int, tokens: Int, keys: Int, heads: Int, channels: Int, _ c: Compute
    ) -> Tensor {
        let d = channels / heads
        let (ldq, ldk, ldv) = (q.shape.last!, k.shape.last!, v.shape.last!)
        let out = Tensor(uninitialized: [batch, tokens, channels])
        let blocks = (tokens + blockRows - 1) / blockRows
        let pieces = batch * heads * blocks
        let scratch = Tensor(uninitialized: [c.workers(for: pieces), blockRows * (keys + 1)])
        let (qp, kp, vp, op, sp) = (
            UncheckedSendable(UnsafePointer(q.storage.pointer)),
            UncheckedSendable(UnsafePointer(k.storage.pointer)),
            UncheckedSendable(UnsafePointer(v.storage.pointer)),
            UncheckedSendable(out.storage.pointer),
            UncheckedSendable(scratch.storage.pointer)
        )
        let scale = 1 / Float(d).squareRoot()
        c.timed(.attention) {
            c.parallel(pieces) { piece, worker in
                let b = piece / (heads * blocks)
                let h = (piece / blocks) % heads
                let block = piece % blocks
                let r0 = block * blockRows
                let m = min(blockRows, tokens - r0)
                let scores = sp.value + worker * blockRows * (keys + 1)
                let qBlock = qp.value + (b * tokens + r0) * ldq + qOffset + h * d
                let kHead = kp.value + b * keys * ldk + kOffset + h * d
                let vHead = vp.value + b * keys * ldv + vOffset + h * d
                BLAS.gemm(
                    m: m, n: keys, k: d, qBlock, lda: ldq, kHead, ldb: ldk, transposeB: true,
                    into: scores, ldc: keys, alpha: scale)
                // Normalising after P·V touches m × d values instead of m × keys.
                let sums = scores + blockRows * keys
                exponentiateRows(scores, rows: m, cols: keys, ld: keys, sums: sums)
                let o = op.value + (b * tokens + r0) * channels + h * d
                BLAS.gemm(m: m, n: d, k: keys, scores, lda: keys, vHead, ldb: ldv, into: o, ldc: channels)
                for r in 0..<m {
                    let inv = 1 / sums[r]
                    mapInPlace(o + r * channels, d) { $0 * inv }
                }
            }
        }
        return out
    }
}
