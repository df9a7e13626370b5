import CTensorKernels

/// A 2-D convolution on NHWC tensors: any kernel size, stride, padding and group count.
///
/// Five paths, chosen once at load (``Path``), each keeping only the weight layout it reads:
/// - **few channels** (``prefersDirect(inChannels:outChannels:)``), where the CPU has AVX2 and
///   FMA: a direct convolution over a zero-padded copy of the input, six output pixels by sixteen
///   channels in registers (CTensorKernels) — GEMMs this thin spend their time packing and
///   Winograd's transforms outweigh its savings.
/// - **3×3, stride 1, no groups**: Winograd F(2×2, 3×3); see ``Winograd``.
/// - **1×1, stride 1**: the input *is* the `pixels × channels` matrix — one GEMM per row tile.
/// - **depthwise** (one input channel per group): a direct loop vectorised across channels;
///   a GEMM with k = 9 would waste most of its time packing.
/// - **everything else**: tiled im2col — a tile of output pixels is unfolded into a per-thread
///   buffer (`tile × kh·kw·cin`) that stays in L2, then multiplied by the pre-packed weight
///   (`kh·kw·cin × cout`), and bias/activation/residual are applied to the tile in cache.
public struct Conv2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: (height: Int, width: Int)
    public let stride: (y: Int, x: Int)
    /// Zeros before the first row and column.
    public let padding: (y: Int, x: Int)
    /// Zeros after the last row and column: equal to `padding` unless asked otherwise, as for
    /// TensorFlow's "SAME" padding of a stride-2 layer (one less before than after).
    public let paddingEnd: (y: Int, x: Int)
    public let groups: Int
    private(set) var path: Path
    private(set) var bias: Tensor?

    /// How this convolution is computed, with its weights packed for that path.
    enum Path: Sendable {
        /// `[kh·kw][channels]`.
        case depthwise(Tensor)
        case winograd(Winograd)
        /// `[cin][cout]`.
        case pointwise(Tensor)
        /// `[groups][kh·kw·cin/groups][cout/groups]`.
        case unfolded(Tensor)
        /// `[kh·kw·cin][cout rounded up to 8]` and the bias `[cout rounded up to 8]` (the kernel
        /// starts its sums from it), zeros past `cout`.
        case direct(Tensor, bias: Tensor)
    }

    /// Which path to take; ``automatic`` everywhere but in tests and benchmarks that compare them.
    public enum Algorithm: Sendable {
        case automatic, winograd, im2col, direct
    }

    /// Whether the Winograd path was chosen.
    var usesWinograd: Bool { if case .winograd = path { true } else { false } }
    /// Whether the direct path was chosen.
    var usesDirect: Bool { if case .direct = path { true } else { false } }

    /// Output pixels per im2col tile. Fixed (thread-count independent); 128 keeps a tile of a
    /// 3×3×128-channel input (590 KB) near Zen 3's 512 KB L2 and gives OpenBLAS tall enough blocks.
    static let tilePixels = 128

    /// - Parameters:
    ///   - weight: `[out, in/groups, kh, kw]`, PyTorch's layout.
    ///   - bias: `[out]` or nil.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        self.init(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding), groups: groups)
    }

    /// - Parameters:
    ///   - paddingEnd: zeros after the last row/column; nil pads both ends by `padding`.
    ///   - algorithm: the path to take where it applies (tests and benchmarks compare them);
    ///     im2col applies everywhere but to depthwise layers.
    public init(
        weight w: Tensor, bias: Tensor?, stride: (y: Int, x: Int), padding: (y: Int, x: Int), groups: Int,
        paddingEnd: (y: Int, x: Int)? = nil, algorithm: Algorithm = .automatic
    ) {
        precondition(w.rank == 4, "a conv weight is [out, in/groups, kh, kw], got \(w.shape)")
        precondition(
            groups >= 1 && w.shape[0] % groups == 0, "\(w.shape[0]) outputs do not split into \(groups) groups")
        let paddingEnd = paddingEnd ?? padding
        precondition(
            stride.y >= 1 && stride.x >= 1 && padding.y >= 0 && padding.x >= 0
                && paddingEnd.y >= 0 && paddingEnd.x >= 0, "bad stride or padding")
        let (cout, cinG, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        inChannels = cinG * groups
        outChannels = cout
        kernel = (kh, kw)
        self.stride = stride
        self.padding = padding
        self.paddingEnd = paddingEnd
        self.groups = groups
        if let bias { precondition(bias.shape == [cout], "bias \(bias.shape) for \(cout) outputs") }
        self.bias = bias
        let coutG = cout / groups
        let winograd =
            kh == 3 && kw == 3 && stride == (1, 1) && groups == 1
            && padding.y <= 2 && padding.x <= 2 && paddingEnd.y <= 2 && paddingEnd.x <= 2
        let direct = groups == 1 && vectorKernelsAvailable && kh * kw > 1
        if groups > 1 && cinG == 1 && cout == groups {
            let packed = Tensor(uninitialized: [kh * kw, cout])
            for o in 0..<cout {
                for t in 0..<(kh * kw) { packed.storage.pointer[t * cout + o] = w.storage.pointer[o * kh * kw + t] }
            }
            path = .depthwise(packed)
        } else if direct
            && (algorithm == .direct
                || algorithm == .automatic && Conv2D.prefersDirect(inChannels: cinG, outChannels: cout))
        {
            let padded = (cout + 7) / 8 * 8
            let rows = kh * kw * cinG
            let packed = Tensor(zeros: [rows, padded])
            for o in 0..<cout {
                for i in 0..<cinG {
                    for y in 0..<kh {
                        for x in 0..<kw {
                            packed.storage.pointer[((y * kw + x) * cinG + i) * padded + o] =
                                w.storage.pointer[((o * cinG + i) * kh + y) * kw + x]
                        }
                    }
                }
            }
            path = .direct(packed, bias: Conv2D.padded(bias, outChannels: cout, to: padded))
        } else if winograd && (algorithm == .automatic || algorithm == .winograd) {
            path = .winograd(Winograd(weight: w))
        } else {
            let k = kh * kw * cinG
            let packed = Tensor(uninitialized: [groups, k, coutG])
            for g in 0..<groups {
                for o in 0..<coutG {
                    for i in 0..<cinG {
                        for y in 0..<kh {
                            for x in 0..<kw {
                                let src = (((g * coutG + o) * cinG + i) * kh + y) * kw + x
                                let row = (y * kw + x) * cinG + i
                                packed.storage.pointer[(g * k + row) * coutG + o] = w.storage.pointer[src]
                            }
                        }
                    }
                }
            }
            let pointwise =
                kh == 1 && kw == 1 && stride == (1, 1) && padding == (0, 0) && paddingEnd == (0, 0)
                && groups == 1
            path = pointwise ? .pointwise(packed) : .unfolded(packed)
        }
    }

    /// Folds an inference-mode batch norm that follows this convolution into its weight and bias.
    public mutating func foldBatchNorm(
        scale gamma: Tensor, shift beta: Tensor, mean: Tensor, variance: Tensor,
        epsilon: Float = 1e-5
    ) {
        precondition(
            [gamma, beta, mean, variance].allSatisfy { $0.shape == [outChannels] },
            "batch norm parameters must be [\(outChannels)]")
        var factors = [Float](repeating: 0, count: outChannels)
        var newBias = [Float](repeating: 0, count: outChannels)
        for o in 0..<outChannels {
            let f = gamma.storage.pointer[o] / (variance.storage.pointer[o] + epsilon).squareRoot()
            factors[o] = f
            newBias[o] = beta.storage.pointer[o] + ((bias?.storage.pointer[o] ?? 0) - mean.storage.pointer[o]) * f
        }
        switch path {
        case .depthwise(var w):
            w.scaleOutputChannels(by: factors, groups: 1)
            path = .depthwise(w)
        case .winograd(var w):
            w.scaleOutputs(factors)
            path = .winograd(w)
        case .pointwise(var w):
            w.scaleOutputChannels(by: factors, groups: 1)
            path = .pointwise(w)
        case .unfolded(var w):
            w.scaleOutputChannels(by: factors, groups: groups)
            path = .unfolded(w)
        case .direct(var w, _):
            // Rows padded past `cout`, so not `scaleOutputChannels`; through the mutable buffer, so
            // a copy of this layer sharing the weights keeps its own.
            let (rows, padded, cout) = (w.shape[0], w.shape[1], outChannels)
            w.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows { for o in 0..<cout { p[r * padded + o] *= factors[o] } }
            }
            path = .direct(
                w, bias: Conv2D.padded(Tensor(shape: [outChannels], values: newBias), outChannels: cout, to: padded))
        }
        bias = Tensor(shape: [outChannels], values: newBias)
    }

    /// Output size for an input of `height × width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (
            (height + padding.y + paddingEnd.y - kernel.height) / stride.y + 1,
            (width + padding.x + paddingEnd.x - kernel.width) / stride.x + 1
        )
    }

    /// Convolves `x` (`[N, H, W, inChannels]`); returns `activation(conv(x) + bias) + residual`.
    public func callAsFunction(
        _ x: Tensor, _ c: Compute, activation: Activation = .none,
        residual: Tensor? = nil
    ) -> Tensor {
        precondition(
            x.rank == 4 && x.shape[3] == inChannels,
            "convolution expects [N, H, W, \(inChannels)], got \(x.shape)")
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (ho, wo) = outputSize(height: h, width: w)
        precondition(ho > 0 && wo > 0, "input \(h)×\(w) is smaller than the \(kernel) kernel")
        let outShape = [n, ho, wo, outChannels]
        if let residual { precondition(residual.shape == outShape, "residual \(residual.shape) ≠ \(outShape)") }
        let out = Tensor(uninitialized: outShape)
        let epilogue = Epilogue(
            bias: bias.map { UnsafePointer($0.storage.pointer) }, activation: activation,
            residual: residual.map { UnsafePointer($0.storage.pointer) })
        let kind: OpKind = kernel == (3, 3) ? .conv3x3 : .convOther
        c.timed(kind) {
            switch path {
            case .depthwise(let w): depthwise(x, w, into: out, c, epilogue)
            case .winograd(let w): w.run(x, into: out, padding: padding, c, epilogue)
            case .pointwise(let w): pointwise(x, w, into: out, c, epilogue)
            case .unfolded(let w): unfolded(x, w, into: out, c, epilogue)
            case .direct(let w, let bias): direct(x, w, bias, into: out, c, epilogue)
            }
        }
        return out
    }

    private func pointwise(_ x: Tensor, _ weight: Tensor, into out: Tensor, _ c: Compute, _ epilogue: Epilogue) {
        let pixels = x.count / inChannels
        let (k, nOut) = (inChannels, outChannels)
        let (xp, wp, op) = (
            UncheckedSendable(UnsafePointer(x.storage.pointer)),
            UncheckedSendable(UnsafePointer(weight.storage.pointer)),
            UncheckedSendable(out.storage.pointer)
        )
        let e = UncheckedSendable(epilogue)
        let tiles = (pixels + Conv2D.tilePixels - 1) / Conv2D.tilePixels
        c.parallel(tiles) { tile, _ in
            let p0 = tile * Conv2D.tilePixels
            let m = min(Conv2D.tilePixels, pixels - p0)
            BLAS.gemm(
                m: m, n: nOut, k: k, xp.value + p0 * k, lda: k, wp.value, ldb: nOut,
                into: op.value + p0 * nOut, ldc: nOut)
            e.value.apply(rows: p0..<(p0 + m), cols: nOut, op.value, ldo: nOut)
        }
    }

    private func unfolded(_ x: Tensor, _ weight: Tensor, into out: Tensor, _ c: Compute, _ epilogue: Epilogue) {
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let (ho, wo) = (out.shape[1], out.shape[2])
        let pixels = n * ho * wo
        let cin = inChannels
        let cinG = inChannels / groups
        let coutG = outChannels / groups
        let cout = outChannels
        let (kh, kw) = kernel
        let k = kh * kw * cinG
        let tiles = (pixels + Conv2D.tilePixels - 1) / Conv2D.tilePixels
        let workers = c.workers(for: tiles)
        let scratch = Tensor(uninitialized: [workers, Conv2D.tilePixels * k])
        let (xp, wp, op, sp) = (
            UncheckedSendable(UnsafePointer(x.storage.pointer)),
            UncheckedSendable(UnsafePointer(weight.storage.pointer)),
            UncheckedSendable(out.storage.pointer),
            UncheckedSendable(scratch.storage.pointer)
        )
        let e = UncheckedSendable(epilogue)
        let (sy, sx, py, px) = (stride.y, stride.x, padding.y, padding.x)
        let groups = self.groups
        c.parallel(tiles) { tile, worker in
            let p0 = tile * Conv2D.tilePixels
            let m = min(Conv2D.tilePixels, pixels - p0)
            let col = sp.value + worker * Conv2D.tilePixels * k
            for g in 0..<groups {
                // Unfold: row r of the tile holds, tap by tap, the group's input channels under
                // the kernel centred on output pixel p0 + r (zeros outside the image).
                for r in 0..<m {
                    let p = p0 + r
                    let b = p / (ho * wo)
                    let oy = (p / wo) % ho
                    let ox = p % wo
                    var dst = col + r * k
                    for ky in 0..<kh {
                        let iy = oy * sy - py + ky
                        for kx in 0..<kw {
                            let ix = ox * sx - px + kx
                            if iy >= 0 && iy < h && ix >= 0 && ix < w {
                                dst.update(from: xp.value + ((b * h + iy) * w + ix) * cin + g * cinG, count: cinG)
                            } else {
                                dst.update(repeating: 0, count: cinG)
                            }
                            dst += cinG
                        }
                    }
                }
                BLAS.gemm(
                    m: m, n: coutG, k: k, col, lda: k, wp.value + g * k * coutG, ldb: coutG,
                    into: op.value + p0 * cout + g * coutG, ldc: cout)
            }
            e.value.apply(rows: p0..<(p0 + m), cols: cout, op.value, ldo: cout)
        }
    }

    /// The direct path where the channel counts are small: on the edit models' and the reference
    /// UNet's 3×3 layers (`tensor-bench ops`, one thread) it ran 75–86 GFLOP/s from 12 → 16 to
    /// 64 → 64 channels where Winograd ran 15–78 and im2col 30–70, and as fast as either at
    /// 96 → 48; Winograd won at 96 → 96 (97–106 against 75–81).
    static func prefersDirect(inChannels cin: Int, outChannels cout: Int) -> Bool {
        cin * cout <= 96 * 48
    }

    /// `bias` (or zeros) padded with zeros to `count`: what the direct kernel loads eight lanes at a time.
    static func padded(_ bias: Tensor?, outChannels cout: Int, to count: Int) -> Tensor {
        var values = [Float](repeating: 0, count: count)
        if let bias { for o in 0..<cout { values[o] = bias.storage.pointer[o] } }
        return Tensor(shape: [count], values: values)
    }

    private func direct(
        _ x: Tensor, _ weight: Tensor, _ bias: Tensor, into out: Tensor, _ c: Compute, _ epilogue: Epilogue
    ) {
        let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], inChannels)
        let (ho, wo, cout) = (out.shape[1], out.shape[2], outChannels)
        let (hp, wp) = (h + padding.y + paddingEnd.y, w + padding.x + paddingEnd.x)
        // A zero-padded copy, so the kernel reads every tap without testing the image's bounds.
        let source: Tensor
        if (hp, wp) == (h, w) {
            source = x
        } else {
            source = Tensor(zeros: [n, hp, wp, cin])
            for b in 0..<n {
                for y in 0..<h {
                    (source.storage.pointer + ((b * hp + y + padding.y) * wp + padding.x) * cin)
                        .update(from: x.storage.pointer + (b * h + y) * w * cin, count: w * cin)
                }
            }
        }
        let padded = weight.shape[1]
        // The kernel starts its sums from the bias; what follows it is elementwise, so it runs over
        // each output row as one run of floats (a few-channel pixel is too short a row for it).
        let rest = UncheckedSendable(Epilogue(bias: nil, activation: epilogue.activation, residual: epilogue.residual))
        let (sp, wt, op) = (
            UncheckedSendable(UnsafePointer(source.storage.pointer)),
            UncheckedSendable(UnsafePointer(weight.storage.pointer)), UncheckedSendable(out.storage.pointer)
        )
        let bp = UncheckedSendable(UnsafePointer(bias.storage.pointer))
        let (kh, kw) = kernel
        let (sy, sx) = (stride.y, stride.x)
        // One output row per piece: its sums are the same whichever thread computes it.
        c.parallel(n * ho) { row, _ in
            let (b, oy) = (row / ho, row % ho)
            df_conv_direct_row(
                sp.value + (b * hp + oy * sy) * wp * cin, wp * cin, Int32(cin), Int32(sx), Int32(kh),
                Int32(kw), wt.value, bp.value, Int32(padded), op.value + row * wo * cout, Int32(wo), Int32(cout))
            rest.value.apply(rows: row..<(row + 1), cols: wo * cout, op.value, ldo: wo * cout)
        }
        withExtendedLifetime(source) {}
    }

    private func depthwise(_ x: Tensor, _ weight: Tensor, into out: Tensor, _ c: Compute, _ epilogue: Epilogue) {
        let (n, h, w, ch) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (ho, wo) = (out.shape[1], out.shape[2])
        let (kh, kw) = kernel
        let (xp, wp, op) = (
            UncheckedSendable(UnsafePointer(x.storage.pointer)),
            UncheckedSendable(UnsafePointer(weight.storage.pointer)),
            UncheckedSendable(out.storage.pointer)
        )
        let e = UncheckedSendable(epilogue)
        let (sy, sx, py, px) = (stride.y, stride.x, padding.y, padding.x)
        // One piece per output row. Each pixel's valid taps are found once (not tested tap by
        // tap), and channels go sixteen at a time in two accumulators: per tap, two input and
        // two weight loads feed two independent multiply-adds.
        c.parallel(n * ho) { row, _ in
            let b = row / ho
            let oy = row % ho
            let iy0 = oy * sy - py
            let (ky0, ky1) = (max(0, -iy0), min(kh, h - iy0))
            let dstRow = op.value + row * wo * ch
            let x = xp.value
            let wt = wp.value
            for ox in 0..<wo {
                let ix0 = ox * sx - px
                let (kx0, kx1) = (max(0, -ix0), min(kw, w - ix0))
                // Offset of tap (0, 0), possibly outside the image; only valid taps are added to it.
                let base = ((b * h + iy0) * w + ix0) * ch
                let dst = dstRow + ox * ch
                var j = 0
                while j + 16 <= ch {
                    var (a0, a1) = (Vec(), Vec())
                    for ky in ky0..<ky1 {
                        for kx in kx0..<kx1 {
                            let src = x + base + (ky * w + kx) * ch + j
                            let tap = wt + (ky * kw + kx) * ch + j
                            a0 += load(src) * load(tap)
                            a1 += load(src + 8) * load(tap + 8)
                        }
                    }
                    store(a0, dst + j)
                    store(a1, dst + j + 8)
                    j += 16
                }
                while j < ch {
                    let lanes = min(8, ch - j)
                    var acc = Vec()
                    for ky in ky0..<ky1 {
                        for kx in kx0..<kx1 {
                            acc +=
                                load(x + base + (ky * w + kx) * ch + j, lanes: lanes)
                                * load(wt + (ky * kw + kx) * ch + j, lanes: lanes)
                        }
                    }
                    store(acc, dst + j, lanes: lanes)
                    j += lanes
                }
            }
            e.value.apply(rows: (row * wo)..<((row + 1) * wo), cols: ch, op.value, ldo: ch)
        }
    }
}

extension Tensor {
    /// Scales packed weights whose last axis holds output channels — `cout/groups` of them per
    /// row, group g's rows forming the g-th contiguous slice — by one factor per output channel.
    mutating func scaleOutputChannels(by factors: [Float], groups: Int) {
        let perRow = factors.count / groups
        let rowsPerGroup = count / factors.count
        withUnsafeMutableBufferPointer { w in
            for r in 0..<(w.count / perRow) {
                let first = (r / rowsPerGroup) * perRow
                for j in 0..<perRow { w[r * perRow + j] *= factors[first + j] }
            }
        }
    }
}
