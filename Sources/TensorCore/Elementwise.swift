import CTensorKernels

extension Tensor {
    /// Element count per piece for elementwise work: big enough to amortise a dispatch.
    static let elementwisePiece = 1 << 16

    /// `activation(self)`.
    public func activated(_ activation: Activation, _ c: Compute) -> Tensor {
        var out = self
        out.apply(activation, c)
        return out
    }

    /// Applies an activation in place.
    public mutating func apply(_ activation: Activation, _ c: Compute) {
        if activation == .none { return }
        let n = count
        withUnsafeMutableBufferPointer { buffer in
            let p = UncheckedSendable(buffer.baseAddress!)
            c.timed(.elementwise) {
                let pieces = (n + Tensor.elementwisePiece - 1) / Tensor.elementwisePiece
                c.parallel(pieces) { piece, _ in
                    let start = piece * Tensor.elementwisePiece
                    activation.apply(to: p.value + start, count: min(Tensor.elementwisePiece, n - start))
                }
            }
        }
    }

    /// Adds a vector along the last axis in place (a per-channel bias, or a time embedding per
    /// channel) — one vector per batch element when `vector` is `[batch, channels]`. In place,
    /// so a freshly computed map is not copied just to be offset.
    public mutating func addChannelVector(_ vector: Tensor, _ c: Compute) {
        let channels = shape.last!
        let batch = shape[0]
        precondition(
            vector.count == channels || vector.count == batch * channels,
            "vector \(vector.shape) does not match channels of \(shape)")
        let perBatch = vector.count == channels ? 0 : channels
        let rowsPerBatch = count / channels / batch
        withUnsafeMutableBufferPointer { buffer in
            c.timed(.elementwise) {
                for n in 0..<batch {
                    Epilogue(bias: vector.storage.pointer + n * perBatch)
                        .apply(
                            rows: (n * rowsPerBatch)..<((n + 1) * rowsPerBatch), cols: channels,
                            buffer.baseAddress!, ldo: channels)
                }
            }
        }
    }
}

/// Row-wise `exp(x − max)` of `rows × cols` floats in place (rows `ld` apart), writing each
/// row's sum to `sums[row]`: a softmax whose division is left to the caller.
/// CTensorKernels' AVX2/FMA loop where the CPU has it (see ``Activation/apply(to:count:)``).
func exponentiateRows(
    _ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, sums: UnsafeMutablePointer<Float>
) {
    if vectorKernelsAvailable { return df_exp_rows(p, rows, cols, ld, sums) }
    exponentiateRowsPortably(p, rows: rows, cols: cols, ld: ld, sums: sums)
}

/// ``exponentiateRows(_:rows:cols:ld:sums:)`` in portable eight-lane Swift.
func exponentiateRowsPortably(
    _ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, sums: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        let row = p + r * ld
        var m = -Float.infinity
        var j = 0
        if cols >= 8 {
            var mv = load(row)
            j = 8
            while j + 8 <= cols {
                mv = vmax(mv, load(row + j))
                j += 8
            }
            m = mv.max()
        }
        while j < cols {
            m = max(m, row[j])
            j += 1
        }
        var sv = Vec()
        mapInPlace(row, cols, summingInto: &sv) { vexpNonPositive($0 - m) }
        sums[r] = sv.sum()
    }
}
