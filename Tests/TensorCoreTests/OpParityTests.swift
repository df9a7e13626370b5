import Foundation
import Testing

@testable import TensorCore

/// Goldens from PyTorch 2.13 (CPU): `python3 Training/export_goldens.py`. Every case holds the
/// inputs, PyTorch-layout parameters and PyTorch's output (NCHW); the tests run the same operation
/// in the tensor core (NHWC) and require max |error| ≤ 1e-4 × max(1, max |output|).
let goldens: SafeTensorsFile = {
    let url = Bundle.module.url(forResource: "ops", withExtension: "safetensors", subdirectory: "Goldens")!
    return try! SafeTensorsFile(path: url.path)
}()

func golden(_ name: String) -> Tensor { try! goldens.tensor(name) }
func nhwc(_ t: Tensor) -> Tensor { t.permuted([0, 2, 3, 1]) }

func expectClose(
    _ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-4,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == expected.shape, sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let error = actual.maxAbsDifference(expected)
    let bound = tolerance * max(1, expected.maxAbs)
    #expect(error <= bound, "max |error| \(error) > \(bound)", sourceLocation: sourceLocation)
}

/// SplitMix64, for reproducible random test tensors.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct ConvCase: Sendable, CustomStringConvertible {
    let name: String, stride: Int, padding: Int, groups: Int
    var description: String { name }
}

@Suite("Operations match PyTorch")
struct OpParityTests {
    @Test(
        "conv2d",
        arguments: [
            ConvCase(name: "conv3x3", stride: 1, padding: 1, groups: 1),
            ConvCase(name: "conv3x3s2", stride: 2, padding: 1, groups: 1),
            ConvCase(name: "conv1x1", stride: 1, padding: 0, groups: 1),
            ConvCase(name: "conv5x5g2", stride: 1, padding: 2, groups: 2),
            ConvCase(name: "conv7x7s2", stride: 2, padding: 3, groups: 1),
            ConvCase(name: "conv1x1s2", stride: 2, padding: 0, groups: 1),
            ConvCase(name: "depthwise3x3s2", stride: 2, padding: 1, groups: 20),
            ConvCase(name: "depthwise5x5", stride: 1, padding: 2, groups: 12),
        ], [1, 2])
    func conv(_ k: ConvCase, threads: Int) {
        let conv = Conv2D(
            weight: golden("\(k.name).weight"), bias: golden("\(k.name).bias"),
            stride: k.stride, padding: k.padding, groups: k.groups)
        let y = Compute(threads: threads).run { conv(nhwc(golden("\(k.name).x")), Compute(threads: threads)) }
        expectClose(y, nhwc(golden("\(k.name).y")))
    }

    @Test(
        "Winograd 3×3 agrees with im2col on maps large and small, batched, on 1 and 2 threads",
        arguments: [(1, 40, 40), (2, 33, 17), (1, 5, 3), (3, 64, 64)])
    func winograd(batch: Int, height: Int, width: Int) {
        var rng = SeededGenerator(seed: UInt64(height * 100 + width))
        let (cin, cout) = (13, 24)
        let w = Tensor(
            shape: [cout, cin, 3, 3],
            values: (0..<(cout * cin * 9)).map { _ in Float.random(in: -0.3...0.3, using: &rng) })
        let b = Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) })
        let x = Tensor(
            shape: [batch, height, width, cin],
            values: (0..<(batch * height * width * cin)).map { _ in Float.random(in: -2...2, using: &rng) })
        let residual = Tensor(
            shape: [batch, height, width, cout],
            values: (0..<(batch * height * width * cout)).map { _ in Float.random(in: -1...1, using: &rng) })
        let fast = Conv2D(weight: w, bias: b, stride: (1, 1), padding: (1, 1), groups: 1, algorithm: .winograd)
        let reference = Conv2D(weight: w, bias: b, stride: (1, 1), padding: (1, 1), groups: 1, algorithm: .im2col)
        #expect(fast.usesWinograd && !reference.usesWinograd)
        let expected = reference(x, Compute(), activation: .silu, residual: residual)
        let one = Compute(threads: 1).run { fast(x, Compute(threads: 1), activation: .silu, residual: residual) }
        let two = Compute(threads: 2).run { fast(x, Compute(threads: 2), activation: .silu, residual: residual) }
        expectClose(one, expected, tolerance: 1e-5)
        #expect(one.values == two.values)
    }

    /// (kernel, stride, cin, cout, height, width): output channels in whole and partial vectors,
    /// rows shorter than a block of pixels, strides, asymmetric padding.
    @Test(
        "The direct path (few channels) agrees with im2col, with and without batch norm folded, on 1 and 2 threads",
        arguments: [
            (3, 1, 12, 16, 20, 21), (3, 1, 16, 4, 9, 7), (3, 2, 9, 32, 17, 18), (3, 1, 48, 40, 5, 3),
            (5, 2, 3, 24, 11, 30), (3, 1, 7, 1, 6, 13), (3, 1, 8, 12, 7, 9),
        ])
    func direct(kernel: Int, stride: Int, cin: Int, cout: Int, height: Int, width: Int) {
        var rng = SeededGenerator(seed: UInt64(cin * 100 + cout))
        let w = Tensor(
            shape: [cout, cin, kernel, kernel],
            values: (0..<(cout * cin * kernel * kernel)).map { _ in Float.random(in: -0.3...0.3, using: &rng) })
        let b = Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) })
        let x = Tensor(
            shape: [2, height, width, cin],
            values: (0..<(2 * height * width * cin)).map { _ in Float.random(in: -2...2, using: &rng) })
        var direct = Conv2D(
            weight: w, bias: b, stride: (stride, stride), padding: (1, 1), groups: 1, paddingEnd: (2, 1),
            algorithm: .direct)
        var reference = Conv2D(
            weight: w, bias: b, stride: (stride, stride), padding: (1, 1), groups: 1, paddingEnd: (2, 1),
            algorithm: .im2col)
        // Where the CPU lacks AVX2 and FMA, the direct path is never taken and this compares im2col with itself.
        #expect(direct.usesDirect == vectorKernelsAvailable && !reference.usesDirect)
        let (ho, wo) = direct.outputSize(height: height, width: width)
        let residual = Tensor(
            shape: [2, ho, wo, cout],
            values: (0..<(2 * ho * wo * cout)).map { _ in Float.random(in: -1...1, using: &rng) })
        func check() {
            let expected = reference(x, Compute(), activation: .silu, residual: residual)
            let one = Compute(threads: 1).run { direct(x, Compute(threads: 1), activation: .silu, residual: residual) }
            let two = Compute(threads: 2).run { direct(x, Compute(threads: 2), activation: .silu, residual: residual) }
            expectClose(one, expected, tolerance: 1e-5)
            #expect(one.values == two.values)
        }
        check()
        let (gamma, beta) = (
            Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: 0.5...2, using: &rng) }),
            Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) })
        )
        let (mean, variance) = (
            Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) }),
            Tensor(shape: [cout], values: (0..<cout).map { _ in Float.random(in: 0.5...2, using: &rng) })
        )
        // Folded into a copy: the original keeps its own weights.
        let unfolded = direct
        let before = direct(x, Compute())
        direct.foldBatchNorm(scale: gamma, shift: beta, mean: mean, variance: variance)
        reference.foldBatchNorm(scale: gamma, shift: beta, mean: mean, variance: variance)
        check()
        #expect(unfolded(x, Compute()).values == before.values)
        // No padding: the kernel reads the input itself, not a padded copy.
        let tight = Conv2D(weight: w, bias: b, stride: (stride, stride), padding: (0, 0), groups: 1, algorithm: .direct)
        let plain = Conv2D(weight: w, bias: b, stride: (stride, stride), padding: (0, 0), groups: 1, algorithm: .im2col)
        expectClose(tight(x, Compute(threads: 2)), plain(x, Compute()), tolerance: 1e-5)
    }

    @Test("Few channels take the direct path where the CPU has it; many take Winograd")
    func pathChoice() {
        func conv(_ cin: Int, _ cout: Int) -> Conv2D {
            Conv2D(weight: Tensor(zeros: [cout, cin, 3, 3]), bias: nil, padding: 1)
        }
        #expect(conv(16, 16).usesDirect == vectorKernelsAvailable)
        #expect(conv(96, 96).usesWinograd && !conv(96, 96).usesDirect)
    }

    /// (kernel, stride, groups, channels): the depthwise and direct paths (few channels), or im2col
    /// where the CPU lacks the direct kernel.
    @Test(
        "Asymmetric padding equals convolving an explicitly zero-padded input",
        arguments: [(3, 2, 6, 6), (5, 2, 6, 6), (3, 2, 1, 3), (3, 1, 1, 4), (5, 1, 6, 6)])
    func asymmetricPadding(kernel: Int, stride: Int, groups: Int, channels: Int) {
        var rng = SeededGenerator(seed: UInt64(kernel * 10 + stride))
        let (h, w, cout) = (10, 12, groups == 1 ? 5 : channels)
        let (before, after) = (1, 2)
        let weight = Tensor(
            shape: [cout, channels / groups, kernel, kernel],
            values: (0..<(cout * channels / groups * kernel * kernel)).map { _ in Float.random(in: -1...1, using: &rng)
            })
        let x = Tensor(
            shape: [1, h, w, channels],
            values: (0..<(h * w * channels)).map { _ in Float.random(in: -1...1, using: &rng) })
        var padded = Tensor(zeros: [1, h + before + after, w + before + after, channels])
        padded.withUnsafeMutableBufferPointer { p in
            for y in 0..<h {
                for xx in 0..<w {
                    for ch in 0..<channels {
                        p[((y + before) * (w + before + after) + xx + before) * channels + ch] =
                            x.values[(y * w + xx) * channels + ch]
                    }
                }
            }
        }
        let asymmetric = Conv2D(
            weight: weight, bias: nil, stride: (stride, stride), padding: (before, before),
            groups: groups, paddingEnd: (after, after))
        let plain = Conv2D(weight: weight, bias: nil, stride: (stride, stride), padding: (0, 0), groups: groups)
        let expected = plain(padded, Compute())
        #expect(asymmetric.outputSize(height: h, width: w) == (expected.shape[1], expected.shape[2]))
        expectClose(asymmetric(x, Compute(threads: 2)), expected, tolerance: 1e-5)
    }

    @Test("conv2d with fused ReLU6 and residual add")
    func convEpilogue() {
        let c = Compute()
        let conv = Conv2D(
            weight: golden("conv_relu6_residual.weight"), bias: golden("conv_relu6_residual.bias"), padding: 1)
        let y = conv(
            nhwc(golden("conv_relu6_residual.x")), c, activation: .relu6,
            residual: nhwc(golden("conv_relu6_residual.residual")))
        expectClose(y, nhwc(golden("conv_relu6_residual.y")))
    }

    @Test("batch norm folds into the preceding convolution")
    func batchNormFold() {
        var conv = Conv2D(weight: golden("conv_bn.weight"), bias: golden("conv_bn.bias"), padding: 1)
        conv.foldBatchNorm(
            scale: golden("conv_bn.bn_weight"), shift: golden("conv_bn.bn_bias"),
            mean: golden("conv_bn.bn_mean"), variance: golden("conv_bn.bn_var"), epsilon: 1e-3)
        expectClose(conv(nhwc(golden("conv_bn.x")), Compute()), nhwc(golden("conv_bn.y")))
    }

    @Test("linear, and linear + exact GELU over tiles", arguments: [1, 2])
    func linear(threads: Int) {
        let c = Compute(threads: threads)
        let plain = Linear(weight: golden("linear.weight"), bias: golden("linear.bias"))
        expectClose(c.run { plain(golden("linear.x"), c) }, golden("linear.y"))
        let gelu = Linear(weight: golden("linear_gelu.weight"), bias: golden("linear_gelu.bias"))
        expectClose(c.run { gelu(golden("linear_gelu.x"), c, activation: .gelu) }, golden("linear_gelu.y"))
    }

    @Test("group norm + SiLU, layer norm")
    func norms() {
        let c = Compute(threads: 2)
        let gn = GroupNorm(groups: 8, gamma: golden("groupnorm_silu.weight"), beta: golden("groupnorm_silu.bias"))
        expectClose(gn(nhwc(golden("groupnorm_silu.x")), c, activation: .silu), nhwc(golden("groupnorm_silu.y")))
        let ln = LayerNorm(gamma: golden("layernorm.weight"), beta: golden("layernorm.bias"))
        expectClose(ln(golden("layernorm.x"), c), golden("layernorm.y"))
    }

    @Test("activations over [-12, 12]", arguments: [Activation.silu, .gelu, .relu6, .sigmoid, .relu])
    func activation(_ a: Activation) {
        expectClose(
            golden("activations.x").activated(a, Compute()), golden("activations.\(a.rawValue)"), tolerance: 2e-6)
    }

    @Test(
        "Activations over a run (the AVX2 kernels where the CPU has them) match the portable eight-lane code, extremes and ragged tail included",
        arguments: [Activation.silu, .gelu, .sigmoid, .relu6])
    func activationRun(_ a: Activation) {
        // -100…100 in uneven steps, then the bounds where exp saturates, ±∞ and NaN; 1,003 values.
        var values = (0..<990).map { Float($0) * 0.2021 - 100 }
        values += [-87.4, -87.3, -87.2, 88.2, 88.3, 88.4, 0, -0, .infinity, -.infinity, .nan, 1e-30, -1e-30]
        var run = values
        run.withUnsafeMutableBufferPointer { a.apply(to: $0.baseAddress!, count: $0.count) }
        for (x, y) in zip(values, run) {
            let expected = a.apply(Vec(repeating: x))[0]
            if expected.isNaN {
                #expect(y.isNaN, "\(a)(\(x)) = \(y), expected NaN")
                continue
            }
            let error = abs(y - expected)
            let scale = max(1, abs(expected))
            #expect(
                error <= 1e-6 * scale || (expected.isInfinite && y == expected),
                "\(a)(\(x)) = \(y), portable \(expected)")
        }
    }

    @Test(
        "Softmax's row exponentials (the AVX2 kernel where the CPU has it) match the portable code",
        arguments: [1, 7, 8, 37, 1024])
    func exponentials(cols: Int) {
        var rng = SeededGenerator(seed: UInt64(cols))
        let (rows, ld) = (5, cols + 3)
        var values = (0..<(rows * ld)).map { _ in Float.random(in: -40...40, using: &rng) }
        if cols > 1 { values[ld + cols / 2] = -.infinity }  // a masked score (not a whole row)
        var (fast, portable) = (values, values)
        var (fastSums, portableSums) = ([Float](repeating: 0, count: rows), [Float](repeating: 0, count: rows))
        fast.withUnsafeMutableBufferPointer { p in
            fastSums.withUnsafeMutableBufferPointer {
                exponentiateRows(p.baseAddress!, rows: rows, cols: cols, ld: ld, sums: $0.baseAddress!)
            }
        }
        portable.withUnsafeMutableBufferPointer { p in
            portableSums.withUnsafeMutableBufferPointer {
                exponentiateRowsPortably(p.baseAddress!, rows: rows, cols: cols, ld: ld, sums: $0.baseAddress!)
            }
        }
        for r in 0..<rows {
            #expect(
                abs(fastSums[r] - portableSums[r]) <= 1e-5 * portableSums[r],
                "row \(r): sum \(fastSums[r]) against \(portableSums[r])")
            for j in 0..<ld {
                let (a, b) = (fast[r * ld + j], portable[r * ld + j])
                // Past `cols` the row's padding is left as it was.
                #expect(
                    j < cols ? abs(a - b) <= 1e-6 : a == values[r * ld + j], "row \(r) column \(j): \(a) against \(b)")
            }
        }
    }

    @Test("multi-head attention, self and cross", arguments: ["attention_self", "attention_cross"], [1, 2])
    func attention(_ name: String, threads: Int) {
        let c = Compute(threads: threads)
        let attention = MultiHeadAttention(
            heads: name == "attention_self" ? 4 : 2,
            query: Linear(weight: golden("\(name).to_q"), bias: nil),
            key: Linear(weight: golden("\(name).to_k"), bias: nil),
            value: Linear(weight: golden("\(name).to_v"), bias: nil),
            output: Linear(weight: golden("\(name).to_out_weight"), bias: golden("\(name).to_out_bias")),
            isSelfAttention: name == "attention_self")
        let x = golden("\(name).x")
        let y = c.run {
            attention(x, context: name == "attention_self" ? nil : golden("\(name).context"), c, residual: x)
        }
        expectClose(y, golden("\(name).y"))
    }

    @Test("pooling, upsampling, timestep embedding")
    func dataOps() {
        let c = Compute()
        let x = nhwc(golden("pool.x"))
        expectClose(x.pooled(.average, kernel: 3, stride: 2, padding: 1, c), nhwc(golden("pool.avg3s2p1")))
        expectClose(x.pooled(.max, kernel: 2, stride: 2, c), nhwc(golden("pool.max2s2")))
        expectClose(x.globalAveragePooled(c), golden("pool.global_avg"))
        expectClose(x.upsampledNearest(factor: 2, c), nhwc(golden("pool.upsample2")))
        let embedding = Tensor.timestepEmbedding(golden("timestep.t").values, dimension: 64)
        // Arguments reach 999 rad, where one Float32 ulp is 6e-5: a 1-ulp difference in PyTorch's
        // vectorised exp moves cos/sin by that much, so this case uses the plain 1e-4 bound.
        expectClose(embedding, golden("timestep.embedding"))
    }

    @Test("Results are bit-identical on 1 and 2 threads")
    func determinism() {
        let conv = Conv2D(weight: golden("conv3x3.weight"), bias: golden("conv3x3.bias"), padding: 1)
        let gn = GroupNorm(groups: 4, gamma: Tensor(repeating: 1, shape: [12]), beta: Tensor(zeros: [12]))
        func run(_ threads: Int) -> [Float] {
            let c = Compute(threads: threads)
            return c.run { gn(conv(nhwc(golden("conv3x3.x")), c), c, activation: .silu).values }
        }
        #expect(run(1) == run(2))
    }
}
