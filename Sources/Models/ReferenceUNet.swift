import TensorCore

/// The shape of a ``ReferenceUNet``; defaults are the benchmark model (6.25M parameters,
/// 9.9 GFLOP per 64×64 forward). Mirrors `Config` in Training/reference_unet.py.
public struct ReferenceUNetConfiguration: Sendable {
    public var inChannels = 4
    public var outChannels = 4
    public var channels = [64, 128, 128]
    public var attention = [false, true, true]
    public var groups = 32
    public var heads = 4
    public var contextDimension = 128
    public var timeDimension = 256

    public init() {}
}

/// A conditional latent-diffusion-style UNet on the tensor core, weight for weight the model in
/// Training/reference_unet.py. It stands in for the project's denoiser in the tensor-core
/// parity tests and in Benchmarks/tensor_core.py until that denoiser exists.
public struct ReferenceUNet: Sendable {
    public let configuration: ReferenceUNetConfiguration
    let time1: Linear, time2: Linear
    let convIn: Conv2D
    let downResidual: [ResidualBlock]
    let downAttention: [SpatialTransformer?]
    let downsample: [Conv2D]
    let midResidual1: ResidualBlock, midAttention: SpatialTransformer, midResidual2: ResidualBlock
    let upResidual: [ResidualBlock]
    let upAttention: [SpatialTransformer?]
    let upsample: [Conv2D]
    let normOut: GroupNorm
    let convOut: Conv2D

    /// Loads every weight by its PyTorch name; fails if one is missing, misshapen or left over.
    public init(weights w: WeightStore, configuration cfg: ReferenceUNetConfiguration = .init()) throws {
        configuration = cfg
        let ch = cfg.channels
        time1 = try w.linear("time1", in: ch[0], out: cfg.timeDimension)
        time2 = try w.linear("time2", in: cfg.timeDimension, out: cfg.timeDimension)
        convIn = try w.conv("conv_in", in: cfg.inChannels, out: ch[0], kernel: 3, padding: 1)
        func transformer(_ prefix: String, _ c: Int) throws -> SpatialTransformer {
            try SpatialTransformer(w, prefix, channels: c, configuration: cfg)
        }
        var skips = [ch[0]]
        var cin = ch[0]
        var dr = [ResidualBlock]()
        var da = [SpatialTransformer?]()
        var ds = [Conv2D]()
        for (i, c) in ch.enumerated() {
            dr.append(try ResidualBlock(w, "down_res.\(i)", in: cin, out: c, configuration: cfg))
            da.append(cfg.attention[i] ? try transformer("down_attn.\(i)", c) : nil)
            skips.append(c)
            cin = c
            if i < ch.count - 1 {
                ds.append(try w.conv("downsample.\(i)", in: c, out: c, kernel: 3, stride: 2, padding: 1))
                skips.append(c)
            }
        }
        downResidual = dr
        downAttention = da
        downsample = ds
        midResidual1 = try ResidualBlock(w, "mid_res1", in: cin, out: cin, configuration: cfg)
        midAttention = try transformer("mid_attn", cin)
        midResidual2 = try ResidualBlock(w, "mid_res2", in: cin, out: cin, configuration: cfg)
        var ur = [ResidualBlock]()
        var ua = [SpatialTransformer?]()
        var us = [Conv2D]()
        for i in ch.indices.reversed() {
            let c = ch[i]
            for _ in 0..<2 {
                let j = ur.count
                ur.append(try ResidualBlock(w, "up_res.\(j)", in: cin + skips.removeLast(), out: c, configuration: cfg))
                ua.append(cfg.attention[i] ? try transformer("up_attn.\(j)", c) : nil)
                cin = c
            }
            if i > 0 { us.append(try w.conv("upsample.\(us.count)", in: c, out: c, kernel: 3, padding: 1)) }
        }
        upResidual = ur
        upAttention = ua
        upsample = us
        normOut = try w.groupNorm("norm_out", groups: cfg.groups, channels: cin)
        convOut = try w.conv("conv_out", in: cin, out: cfg.outChannels, kernel: 3, padding: 1)
        try w.requireAllUsed()
    }

    /// One evaluation: `x` is `[N, H, W, inChannels]` (H, W divisible by 2^(levels−1)),
    /// `timesteps` one per batch element, `context` `[N, tokens, contextDimension]`.
    public func callAsFunction(_ x: Tensor, timesteps: [Float], context: Tensor, _ c: Compute) -> Tensor {
        precondition(timesteps.count == x.shape[0], "one timestep per batch element")
        return c.run {
            let embedding = Tensor.timestepEmbedding(timesteps, dimension: configuration.channels[0])
            // Every residual block reads SiLU(temb); compute it once.
            let temb = time2(time1(embedding, c, activation: .silu), c, activation: .silu)
            var h = convIn(x, c)
            var skips = [h]
            let levels = configuration.channels.count
            for i in 0..<levels {
                h = downResidual[i](h, temb, c)
                if let attention = downAttention[i] { h = attention(h, context: context, c) }
                skips.append(h)
                if i < levels - 1 {
                    h = downsample[i](h, c)
                    skips.append(h)
                }
            }
            h = midResidual2(midAttention(midResidual1(h, temb, c), context: context, c), temb, c)
            var j = 0
            for level in (0..<levels).reversed() {
                for _ in 0..<2 {
                    h = upResidual[j](Tensor.concatenatingChannels([h, skips.removeLast()], c), temb, c)
                    if let attention = upAttention[j] { h = attention(h, context: context, c) }
                    j += 1
                }
                if level > 0 { h = upsample[levels - 1 - level](h.upsampledNearest(factor: 2, c), c) }
            }
            return convOut(normOut(h, c, activation: .silu), c)
        }
    }
}

/// GroupNorm → SiLU → conv3×3, + time projection, GroupNorm → SiLU → conv3×3, + skip.
struct ResidualBlock: Sendable {
    let norm1: GroupNorm, conv1: Conv2D, time: Linear, norm2: GroupNorm, conv2: Conv2D
    let skip: Conv2D?

    init(_ w: WeightStore, _ p: String, in cin: Int, out cout: Int, configuration cfg: ReferenceUNetConfiguration)
        throws
    {
        try self.init(w, p, in: cin, out: cout, groups: cfg.groups, timeDimension: cfg.timeDimension)
    }

    init(_ w: WeightStore, _ p: String, in cin: Int, out cout: Int, groups: Int, timeDimension: Int) throws {
        norm1 = try w.groupNorm("\(p).norm1", groups: groups, channels: cin)
        conv1 = try w.conv("\(p).conv1", in: cin, out: cout, kernel: 3, padding: 1)
        time = try w.linear("\(p).time", in: timeDimension, out: cout)
        norm2 = try w.groupNorm("\(p).norm2", groups: groups, channels: cout)
        conv2 = try w.conv("\(p).conv2", in: cout, out: cout, kernel: 3, padding: 1)
        skip = cin != cout ? try w.conv("\(p).skip", in: cin, out: cout, kernel: 1) : nil
    }

    /// `siluTime` is SiLU(time embedding), `[N, timeDimension]`.
    func callAsFunction(_ x: Tensor, _ siluTime: Tensor, _ c: Compute) -> Tensor {
        var h = conv1(norm1(x, c, activation: .silu), c)
        h.addChannelVector(time(siluTime, c), c)
        return conv2(norm2(h, c, activation: .silu), c, residual: skip.map { $0(x, c) } ?? x)
    }
}

/// GroupNorm, tokens in, one transformer block (self-attention, cross-attention, GELU MLP),
/// tokens out, + input. NHWC maps are already `[N, pixels, channels]` token matrices.
struct SpatialTransformer: Sendable {
    let norm: GroupNorm, projIn: Linear, projOut: Linear
    let norm1: LayerNorm, selfAttention: MultiHeadAttention
    let norm2: LayerNorm, crossAttention: MultiHeadAttention
    let norm3: LayerNorm, ff1: Linear, ff2: Linear

    init(_ w: WeightStore, _ p: String, channels c: Int, configuration cfg: ReferenceUNetConfiguration) throws {
        norm = try w.groupNorm("\(p).norm", groups: cfg.groups, channels: c)
        projIn = try w.linear("\(p).proj_in", in: c, out: c)
        projOut = try w.linear("\(p).proj_out", in: c, out: c)
        func attention(_ name: String, contextWidth: Int, isSelf: Bool) throws -> MultiHeadAttention {
            MultiHeadAttention(
                heads: cfg.heads,
                query: try w.linear("\(p).block.\(name).to_q", in: c, out: c, bias: false),
                key: try w.linear("\(p).block.\(name).to_k", in: contextWidth, out: c, bias: false),
                value: try w.linear("\(p).block.\(name).to_v", in: contextWidth, out: c, bias: false),
                output: try w.linear("\(p).block.\(name).to_out", in: c, out: c),
                isSelfAttention: isSelf)
        }
        norm1 = try w.layerNorm("\(p).block.norm1", features: c)
        selfAttention = try attention("attn1", contextWidth: c, isSelf: true)
        norm2 = try w.layerNorm("\(p).block.norm2", features: c)
        crossAttention = try attention("attn2", contextWidth: cfg.contextDimension, isSelf: false)
        norm3 = try w.layerNorm("\(p).block.norm3", features: c)
        ff1 = try w.linear("\(p).block.ff1", in: c, out: 4 * c)
        ff2 = try w.linear("\(p).block.ff2", in: 4 * c, out: c)
    }

    func callAsFunction(_ x: Tensor, context: Tensor, _ c: Compute) -> Tensor {
        let (n, h, wd, ch) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var t = projIn(norm(x, c).reshaped([n, h * wd, ch]), c)
        t = selfAttention(norm1(t, c), c, residual: t)
        t = crossAttention(norm2(t, c), context: context, c, residual: t)
        t = ff2(ff1(norm3(t, c), c, activation: .gelu), c, residual: t)
        return projOut(t, c, residual: x.reshaped([n, h * wd, ch])).reshaped(x.shape)
    }
}
