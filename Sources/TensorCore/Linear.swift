/// A fully connected layer, `y = x·Wᵀ + b` over the last axis.
///
/// The weight is stored transposed (`in × out`) once at load, so every call is a plain
/// no-transpose GEMM; rows are split into fixed tiles that run in parallel, and bias, activation
/// and a residual add are applied to each tile while it is still in cache.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    let weight: Tensor
    let bias: Tensor?

    /// Rows per GEMM tile: fixed, so results never depend on the thread count; 256 rows keep the
    /// packed weight reused across enough rows (measured against 128 and 512 on the reference UNet).
    static let tileRows = 256
    /// Column block used when there are too few row tiles to share.
    static let columnBlock = 128

    /// - Parameters:
    ///   - weight: `[out, in]`, PyTorch's layout.
    ///   - bias: `[out]` or nil.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "a linear weight is [out, in], got \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        if let bias { precondition(bias.shape == [outFeatures], "bias \(bias.shape) for \(outFeatures) outputs") }
        self.weight = weight.transposed2D()
        self.bias = bias
    }

    /// Several layers reading the same input, fused into one wider GEMM (query/key/value).
    public init(concatenating layers: [Linear]) {
        let input = layers[0].inFeatures
        precondition(layers.allSatisfy { $0.inFeatures == input }, "fused layers must share an input width")
        inFeatures = input
        outFeatures = layers.reduce(0) { $0 + $1.outFeatures }
        let w = Tensor(uninitialized: [input, outFeatures])
        var column = 0
        for layer in layers {
            for r in 0..<input {
                for j in 0..<layer.outFeatures {
                    w.storage.pointer[r * outFeatures + column + j] =
                        layer.weight.storage.pointer[r * layer.outFeatures + j]
                }
            }
            column += layer.outFeatures
        }
        weight = w
        if layers.contains(where: { $0.bias != nil }) {
            var b = [Float]()
            for layer in layers { b += layer.bias?.values ?? [Float](repeating: 0, count: layer.outFeatures) }
            bias = Tensor(shape: [outFeatures], values: b)
        } else {
            bias = nil
        }
    }

    /// Applies the layer to `x` (`[..., in]`), returning `[..., out]`.
    public func callAsFunction(
        _ x: Tensor, _ c: Compute, activation: Activation = .none,
        residual: Tensor? = nil
    ) -> Tensor {
        precondition(x.shape.last == inFeatures, "linear layer expects \(inFeatures) features, got \(x.shape)")
        let rows = x.count / inFeatures
        var outShape = x.shape
        outShape[outShape.count - 1] = outFeatures
        if let residual { precondition(residual.shape == outShape, "residual \(residual.shape) ≠ \(outShape)") }
        let out = Tensor(uninitialized: outShape)
        let (xp, wp, op) = (
            UncheckedSendable(UnsafePointer(x.storage.pointer)),
            UncheckedSendable(UnsafePointer(weight.storage.pointer)),
            UncheckedSendable(out.storage.pointer)
        )
        let bp = UncheckedSendable(bias.map { UnsafePointer($0.storage.pointer) })
        let rp = UncheckedSendable(residual.map { UnsafePointer($0.storage.pointer) })
        let (n, k) = (outFeatures, inFeatures)
        // One to three row tiles (a 16×16 map, context tokens) would leave a core idle: split
        // the columns too. Four or more share evenly, and splitting them would only repack each
        // row panel once per column block (−4% on 1024×128→512). Shape-only, never thread count.
        let rowTiles = (rows + Linear.tileRows - 1) / Linear.tileRows
        let columnBlock = rowTiles < 4 && n >= 2 * Linear.columnBlock ? Linear.columnBlock : n
        let columnBlocks = (n + columnBlock - 1) / columnBlock
        c.timed(.linear) {
            c.parallel(rowTiles * columnBlocks) { piece, _ in
                let r0 = (piece / columnBlocks) * Linear.tileRows
                let j0 = (piece % columnBlocks) * columnBlock
                let m = min(Linear.tileRows, rows - r0)
                let width = min(columnBlock, n - j0)
                BLAS.gemm(
                    m: m, n: width, k: k, xp.value + r0 * k, lda: k, wp.value + j0, ldb: n,
                    into: op.value + r0 * n + j0, ldc: n)
                Epilogue(
                    bias: bp.value.map { $0 + j0 }, activation: activation,
                    residual: rp.value.map { $0 + j0 }
                )
                .apply(rows: r0..<(r0 + m), cols: width, op.value + j0, ldo: n)
            }
        }
        return out
    }
}

extension Tensor {
    /// The transpose of a matrix.
    public func transposed2D() -> Tensor {
        precondition(rank == 2, "transposed2D needs a matrix, got \(shape)")
        let (r, cols) = (shape[0], shape[1])
        let out = Tensor(uninitialized: [cols, r])
        for i in 0..<r { for j in 0..<cols { out.storage.pointer[j * r + i] = storage.pointer[i * cols + j] } }
        return out
    }

    /// The axes reordered: `result.shape[i] == shape[axes[i]]` (e.g. `[0, 2, 3, 1]`: NCHW → NHWC).
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<rank), "\(axes) is not a permutation of \(rank) axes")
        let newShape = axes.map { shape[$0] }
        var strides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        let sourceStrides = axes.map { strides[$0] }
        let out = Tensor(uninitialized: newShape)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var offset = 0
            for a in 0..<rank { offset += index[a] * sourceStrides[a] }
            out.storage.pointer[i] = storage.pointer[offset]
            var a = rank - 1
            while a >= 0 {
                index[a] += 1
                if index[a] < newShape[a] { break }
                index[a] = 0
                a -= 1
            }
        }
        return out
    }
}
