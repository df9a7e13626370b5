import Foundation
import TensorCore

/// The shape of an ``EditModel``; mirrors `Config` in Training/edit_model.py and is read from
/// the weights file's metadata, so a retrained model of another size loads without code changes.
public struct EditModelConfiguration: Sendable, Equatable, Decodable {
    public var size = 64
    public var channels = [16, 48, 96]
    public var groups = 8
    public var heads = 4
    public var width = 128
    public var latents = 8
    public var deltaWidth = 320
    public var deltaTokens = 49
    public var resamplerDepth = 2
    public var timeDimension = 128
    public var maskChannels = [32, 64]

    /// Channels of the conditioning map: the photo, the photo under the exemplar's global colour
    /// transform, and the exemplar's change grid.
    public static let conditionChannels = 9

    public init() {}

    enum CodingKeys: String, CodingKey {
        case size, channels, groups, heads, width, latents
        case deltaWidth = "delta_width"
        case deltaTokens = "delta_tokens"
        case resamplerDepth = "resampler_depth"
        case timeDimension = "time_dim"
        case maskChannels = "mask_channels"
    }
}

/// What the model derives from an exemplar's delta and a photo before denoising: the edit tokens
/// (`[N, latents, width]`), the global vector (`[N, timeDimension]`) and the mask logits at a
/// sixteenth of the working size (`[N, size/4, size/4, 1]`).
public struct EditCondition: Sendable {
    public let tokens: Tensor
    public let global: Tensor
    public let maskLogits: Tensor
}

/// The edit models of Training/edit_model.py on the tensor core, weight for weight: a Perceiver
/// adapter (Delta-Adapter), a mask predictor (AdaptEdit) and a small bridge denoiser with the
/// decoupled adapter attention (RelationAdapter). Tensors are NHWC.
public struct EditModel: Sendable {
    public let configuration: EditModelConfiguration
    let adapter: Adapter
    let mask: MaskHead
    let denoiser: Denoiser

    /// Loads every weight by its PyTorch name; fails if one is missing, misshapen or left over.
    public init(weights w: WeightStore, configuration cfg: EditModelConfiguration = .init()) throws {
        configuration = cfg
        adapter = try Adapter(w, cfg)
        mask = try MaskHead(w, cfg)
        denoiser = try Denoiser(w, cfg)
        try w.requireAllUsed()
    }

    /// Loads a file written by Training/train_edit.py, its configuration read from the file's
    /// `config` metadata (the defaults where it has none).
    public init(path: String) throws {
        let store = try WeightStore(path: path)
        var cfg = EditModelConfiguration()
        if let json = store.file.metadata["config"] {
            do {
                cfg = try JSONDecoder().decode(EditModelConfiguration.self, from: Data(json.utf8))
            } catch {
                throw WeightsError(
                    path: path, "the 'config' metadata is not an edit model configuration: \(error)",
                    hint: "re-export the model with `python3 Training/train_edit.py --export-only`")
            }
        }
        try self.init(weights: store, configuration: cfg)
    }

    /// - Parameters: `delta` `[N, deltaTokens, deltaWidth]` (the stride-32 semantic delta),
    ///   `affine` `[N, 12]` (the fitted colour map minus identity), `condition` `[N, size, size, 9]`.
    public func condition(delta: Tensor, affine: Tensor, condition cond: Tensor, _ c: Compute) -> EditCondition {
        c.run {
            let (tokens, global) = adapter(delta, affine, c)
            return EditCondition(tokens: tokens, global: global, maskLogits: mask(cond, global, tokens, c))
        }
    }

    /// The edited photo's estimate x̂₀ at `x` (time `t` per batch element, 1 = the photo) and the
    /// logits of its gate `[N, size, size, 1]`: the photo through the exemplar's fit (its spatial
    /// filter and colour table, the condition's channels 3…5) plus the network's correction times
    /// σ(gate) — the gate is open only where the fit is wrong, so where it is shut the result is
    /// the fit exactly.
    public func estimate(
        _ x: Tensor, t: [Float], condition cond: Tensor, _ e: EditCondition, strength: [Float],
        _ c: Compute
    ) -> (estimate: Tensor, gate: Tensor) {
        c.run {
            let out = denoiser(x, t: t, cond, e, strength: strength, c)
            let channels = cond.shape[3]
            let pixels = x.count / 3
            var x0 = [Float](repeating: 0, count: pixels * 3)
            var gate = [Float](repeating: 0, count: pixels)
            cond.withUnsafeBufferPointer { condition in
                out.withUnsafeBufferPointer { o in
                    for p in 0..<pixels {
                        let logit = o[p * 4 + 3]
                        let open = 1 / (1 + Foundation.exp(-logit))
                        gate[p] = logit
                        for k in 0..<3 { x0[p * 3 + k] = condition[p * channels + 3 + k] + open * o[p * 4 + k] }
                    }
                }
            }
            return (Tensor(shape: x.shape, values: x0), Tensor(shape: Array(x.shape.dropLast()) + [1], values: gate))
        }
    }

    /// The bridge velocity (x − x̂₀)/t: `B − B′` on the straight path from the edit (t = 0) to the photo.
    public func velocity(
        _ x: Tensor, t: [Float], condition cond: Tensor, _ e: EditCondition, strength: [Float],
        _ c: Compute
    ) -> Tensor {
        velocityAndGate(x, t: t, condition: cond, e, strength: strength, c).velocity
    }

    private func velocityAndGate(
        _ x: Tensor, t: [Float], condition cond: Tensor, _ e: EditCondition, strength: [Float],
        _ c: Compute
    ) -> (velocity: Tensor, gate: Tensor) {
        let (estimate, gate) = self.estimate(x, t: t, condition: cond, e, strength: strength, c)
        let xv = x.values
        let x0 = estimate.values
        let perItem = x.count / x.shape[0]
        return (Tensor(shape: x.shape, values: xv.indices.map { (xv[$0] - x0[$0]) / t[$0 / perItem] }), gate)
    }

    /// Integrates the bridge from t = 1 (the photo) to 0 in `steps` Euler steps; `noise` adds the
    /// bridge's Brownian term `amount·√(t(1−t))·ε` between steps, ε drawn from `normal` (the
    /// caller's seeded generator, so results are reproducible). Returns the edit and the last
    /// step's gate logits (where the correction of the exemplar's fit applies).
    public func edit(
        _ photo: Tensor, condition cond: Tensor, _ e: EditCondition, strength: [Float], steps: Int,
        noise: (amount: Float, normal: () -> Float)? = nil, _ c: Compute
    ) -> (image: Tensor, gate: Tensor) {
        precondition(steps >= 1, "at least one step")
        let n = photo.shape[0]
        var x = photo.values
        var gate: Tensor?
        for i in 0..<steps {
            let t = 1 - Float(i) / Float(steps)
            let next = 1 - Float(i + 1) / Float(steps)
            let step = velocityAndGate(
                Tensor(shape: photo.shape, values: x), t: Array(repeating: t, count: n),
                condition: cond, e, strength: strength, c)
            let v = step.velocity.values
            gate = step.gate
            let dt = t - next
            for k in x.indices { x[k] -= dt * v[k] }
            if let noise, noise.amount > 0, next > 0 {
                let s = noise.amount * (next * (1 - next)).squareRoot()
                for k in x.indices { x[k] += s * noise.normal() }
            }
        }
        return (Tensor(shape: photo.shape, values: x), gate!)
    }
}

/// `[N, T₁, C]` and `[N, T₂, C]` → `[N, T₁+T₂, C]`.
func concatenatingTokens(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (n, ta, tb, ch) = (a.shape[0], a.shape[1], b.shape[1], a.shape[2])
    let av = a.values
    let bv = b.values
    var out = [Float]()
    out.reserveCapacity((ta + tb) * ch * n)
    for i in 0..<n {
        out += av[(i * ta * ch)..<((i + 1) * ta * ch)]
        out += bv[(i * tb * ch)..<((i + 1) * tb * ch)]
    }
    return Tensor(shape: [n, ta + tb, ch], values: out)
}

func attention(
    _ w: WeightStore, _ p: String, channels: Int, contextWidth: Int, heads: Int,
    outputBias: Bool = true
) throws -> MultiHeadAttention {
    MultiHeadAttention(
        heads: heads,
        query: try w.linear("\(p).to_q", in: channels, out: channels, bias: false),
        key: try w.linear("\(p).to_k", in: contextWidth, out: channels, bias: false),
        value: try w.linear("\(p).to_v", in: contextWidth, out: channels, bias: false),
        output: try w.linear("\(p).to_out", in: channels, out: channels, bias: outputBias),
        isSelfAttention: false)
}

/// The Perceiver resampler and the global vector.
struct Adapter: Sendable {
    struct Layer: Sendable {
        let normX: LayerNorm, normLatents: LayerNorm, attention: MultiHeadAttention
        let ffNorm: LayerNorm, ff1: Linear, ff2: Linear
    }

    let projIn: Linear, refineNorm: LayerNorm, refine1: Linear, refine2: Linear, refineGate: Float
    let latents: Tensor
    let layers: [Layer]
    let projOut: Linear, normOut: LayerNorm, global1: Linear, global2: Linear

    init(_ w: WeightStore, _ cfg: EditModelConfiguration) throws {
        let d = cfg.width
        projIn = try w.linear("adapter.proj_in", in: cfg.deltaWidth, out: d)
        refineNorm = try w.layerNorm("adapter.refine_norm", features: d)
        refine1 = try w.linear("adapter.refine1", in: d, out: d)
        refine2 = try w.linear("adapter.refine2", in: d, out: d)
        refineGate = Foundation.tanh(try w.tensor("adapter.refine_gate", shape: [1]).values[0])
        latents = try w.tensor("adapter.latents", shape: [cfg.latents, d])
        layers = try (0..<cfg.resamplerDepth).map { i in
            let p = "adapter.layers.\(i)"
            return Layer(
                normX: try w.layerNorm("\(p).norm_x", features: d),
                normLatents: try w.layerNorm("\(p).norm_latents", features: d),
                attention: try attention(w, p, channels: d, contextWidth: d, heads: cfg.heads, outputBias: false),
                ffNorm: try w.layerNorm("\(p).ff_norm", features: d),
                ff1: try w.linear("\(p).ff1", in: d, out: 4 * d), ff2: try w.linear("\(p).ff2", in: 4 * d, out: d))
        }
        projOut = try w.linear("adapter.proj_out", in: d, out: d)
        normOut = try w.layerNorm("adapter.norm_out", features: d)
        global1 = try w.linear("adapter.global1", in: d + 12, out: cfg.timeDimension)
        global2 = try w.linear("adapter.global2", in: cfg.timeDimension, out: cfg.timeDimension)
    }

    func callAsFunction(_ delta: Tensor, _ affine: Tensor, _ c: Compute) -> (tokens: Tensor, global: Tensor) {
        let n = delta.shape[0]
        let tokens = delta.shape[1]
        var x = projIn(delta, c)
        let refined = refine2(refine1(refineNorm(x, c), c, activation: .gelu), c).values
        x = Tensor(shape: x.shape, values: zip(x.values, refined).map { $0 + refineGate * $1 })
        var lat = Tensor(
            shape: [n] + latents.shape, values: Array([[Float]](repeating: latents.values, count: n).joined()))
        for layer in layers {
            let normed = layer.normLatents(lat, c)
            let kv = concatenatingTokens(layer.normX(x, c), normed)
            lat = layer.attention(normed, context: kv, c, residual: lat)
            lat = layer.ff2(layer.ff1(layer.ffNorm(lat, c), c, activation: .gelu), c, residual: lat)
        }
        let out = normOut(projOut(lat, c), c)
        // The global vector reads the mean refined delta token and the fitted colour map.
        let d = x.shape[2]
        let xv = x.values
        let av = affine.values
        var pooled = [Float]()
        for i in 0..<n {
            var mean = [Float](repeating: 0, count: d)
            for t in 0..<tokens { for k in 0..<d { mean[k] += xv[(i * tokens + t) * d + k] } }
            pooled += mean.map { $0 / Float(tokens) }
            pooled += av[(i * 12)..<((i + 1) * 12)]
        }
        let global = global2(global1(Tensor(shape: [n, d + 12], values: pooled), c, activation: .silu), c)
        return (out, global)
    }
}

/// Scales and shifts each channel by a per-batch vector `[N, 2C]` (scale, shift), then SiLU.
func filmSiLU(_ h: Tensor, _ film: Tensor) -> Tensor {
    let n = h.shape[0]
    let ch = h.shape[3]
    let pixels = h.count / n / ch
    var v = h.values
    let f = film.values
    for i in 0..<n {
        for p in 0..<pixels {
            for k in 0..<ch {
                let j = (i * pixels + p) * ch + k
                let y = v[j] * (1 + f[i * 2 * ch + k]) + f[i * 2 * ch + ch + k]
                v[j] = y / (1 + Foundation.exp(-y))
            }
        }
    }
    return Tensor(shape: h.shape, values: v)
}

struct MaskHead: Sendable {
    let conv1: Conv2D, conv2: Conv2D, film: Linear
    let norm: LayerNorm, attention: MultiHeadAttention
    let conv3: Conv2D, convOut: Conv2D

    init(_ w: WeightStore, _ cfg: EditModelConfiguration) throws {
        let (c1, c2) = (cfg.maskChannels[0], cfg.maskChannels[1])
        conv1 = try w.conv(
            "mask.conv1", in: EditModelConfiguration.conditionChannels, out: c1, kernel: 3, stride: 2, padding: 1)
        conv2 = try w.conv("mask.conv2", in: c1, out: c2, kernel: 3, stride: 2, padding: 1)
        film = try w.linear("mask.film", in: cfg.timeDimension, out: 2 * c2)
        norm = try w.layerNorm("mask.attn.norm", features: c2)
        attention = try Models.attention(w, "mask.attn", channels: c2, contextWidth: cfg.width, heads: 2)
        conv3 = try w.conv("mask.conv3", in: c2, out: c2, kernel: 3, padding: 1)
        convOut = try w.conv("mask.conv_out", in: c2, out: 1, kernel: 1)
    }

    func callAsFunction(_ cond: Tensor, _ global: Tensor, _ tokens: Tensor, _ c: Compute) -> Tensor {
        var h = conv2(conv1(cond, c, activation: .silu), c)
        h = filmSiLU(h, film(global.activated(.silu, c), c))
        let shape = h.shape
        let t = h.reshaped([shape[0], shape[1] * shape[2], shape[3]])
        h = attention(norm(t, c), context: tokens, c, residual: t).reshaped(shape)
        return convOut(conv3(h, c, activation: .silu), c)
    }
}

/// GroupNorm → tokens → self-attention + α·G⊙adapter attention (shared query, own keys and
/// values, the output projection's weights without its bias) → GELU MLP → + input.
struct AdapterBlock: Sendable {
    let norm: GroupNorm, projIn: Linear, norm1: LayerNorm
    let selfAttention: MultiHeadAttention, adapterAttention: MultiHeadAttention
    let gateWeight: [Float], gateBias: Float
    let norm2: LayerNorm, ff1: Linear, ff2: Linear, projOut: Linear

    init(_ w: WeightStore, _ p: String, channels ch: Int, _ cfg: EditModelConfiguration) throws {
        norm = try w.groupNorm("\(p).norm", groups: cfg.groups, channels: ch)
        projIn = try w.linear("\(p).proj_in", in: ch, out: ch)
        norm1 = try w.layerNorm("\(p).norm1", features: ch)
        let query = try w.linear("\(p).to_q", in: ch, out: ch, bias: false)
        selfAttention = MultiHeadAttention(
            heads: cfg.heads, query: query, key: try w.linear("\(p).to_k", in: ch, out: ch, bias: false),
            value: try w.linear("\(p).to_v", in: ch, out: ch, bias: false),
            output: try w.linear("\(p).to_out", in: ch, out: ch), isSelfAttention: true)
        adapterAttention = MultiHeadAttention(
            heads: cfg.heads, query: query, key: try w.linear("\(p).adapter_k", in: cfg.width, out: ch, bias: false),
            value: try w.linear("\(p).adapter_v", in: cfg.width, out: ch, bias: false),
            output: Linear(weight: try w.tensor("\(p).to_out.weight", shape: [ch, ch]), bias: nil),
            isSelfAttention: false)
        gateWeight = try w.tensor("\(p).gate.weight", shape: [1, ch + 1]).values
        gateBias = try w.tensor("\(p).gate.bias", shape: [1]).values[0]
        norm2 = try w.layerNorm("\(p).norm2", features: ch)
        ff1 = try w.linear("\(p).ff1", in: ch, out: 4 * ch)
        ff2 = try w.linear("\(p).ff2", in: 4 * ch, out: ch)
        projOut = try w.linear("\(p).proj_out", in: ch, out: ch)
    }

    func callAsFunction(_ x: Tensor, tokens: Tensor, maskLogits: Tensor, strength: [Float], _ c: Compute) -> Tensor {
        let (n, h, wd, ch) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let positions = h * wd
        precondition(maskLogits.count == n * positions, "mask logits \(maskLogits.shape) do not match \(x.shape)")
        let input = x.reshaped([n, positions, ch])
        let t = projIn(norm(x, c).reshaped([n, positions, ch]), c)
        let normed = norm1(t, c)
        var mixed = selfAttention(normed, c, residual: t).values
        let adapter = adapterAttention(normed, context: tokens, c).values
        let hv = normed.values
        let m = maskLogits.values
        for i in 0..<n {
            for p in 0..<positions {
                let row = (i * positions + p) * ch
                var z = gateBias + gateWeight[ch] * m[i * positions + p]
                for k in 0..<ch { z += gateWeight[k] * hv[row + k] }
                let g = strength[i] / (1 + Foundation.exp(-z))
                for k in 0..<ch { mixed[row + k] += g * adapter[row + k] }
            }
        }
        var u = Tensor(shape: t.shape, values: mixed)
        u = ff2(ff1(norm2(u, c), c, activation: .gelu), c, residual: u)
        return projOut(u, c, residual: input).reshaped(x.shape)
    }
}

struct Denoiser: Sendable {
    let time1: Linear, time2: Linear, convIn: Conv2D
    let res0: ResidualBlock, down0: Conv2D, res1: ResidualBlock, down1: Conv2D, res2: ResidualBlock
    let attention: AdapterBlock
    let res3: ResidualBlock, up1: Conv2D, res4: ResidualBlock, up0: Conv2D, res5: ResidualBlock
    let normOut: GroupNorm, convOut: Conv2D
    let embeddingWidth: Int

    init(_ w: WeightStore, _ cfg: EditModelConfiguration) throws {
        let (c0, c1, c2) = (cfg.channels[0], cfg.channels[1], cfg.channels[2])
        let td = cfg.timeDimension
        let g = cfg.groups
        func res(_ name: String, _ cin: Int, _ cout: Int) throws -> ResidualBlock {
            try ResidualBlock(w, "denoiser.\(name)", in: cin, out: cout, groups: g, timeDimension: td)
        }
        embeddingWidth = c0
        time1 = try w.linear("denoiser.time1", in: c0, out: td)
        time2 = try w.linear("denoiser.time2", in: td, out: td)
        convIn = try w.conv(
            "denoiser.conv_in", in: 3 + EditModelConfiguration.conditionChannels, out: c0, kernel: 3, padding: 1)
        res0 = try res("res0", c0, c0)
        down0 = try w.conv("denoiser.down0", in: c0, out: c1, kernel: 3, stride: 2, padding: 1)
        res1 = try res("res1", c1, c1)
        down1 = try w.conv("denoiser.down1", in: c1, out: c2, kernel: 3, stride: 2, padding: 1)
        res2 = try res("res2", c2, c2)
        attention = try AdapterBlock(w, "denoiser.attn", channels: c2, cfg)
        res3 = try res("res3", c2, c2)
        up1 = try w.conv("denoiser.up1", in: c2, out: c1, kernel: 3, padding: 1)
        res4 = try res("res4", 2 * c1, c1)
        up0 = try w.conv("denoiser.up0", in: c1, out: c0, kernel: 3, padding: 1)
        res5 = try res("res5", 2 * c0, c0)
        normOut = try w.groupNorm("denoiser.norm_out", groups: g, channels: c0)
        // Three channels of correction and its gate's logit.
        convOut = try w.conv("denoiser.conv_out", in: c0, out: 4, kernel: 3, padding: 1)
    }

    func callAsFunction(
        _ x: Tensor, t: [Float], _ cond: Tensor, _ e: EditCondition, strength: [Float],
        _ c: Compute
    ) -> Tensor {
        var temb = time2(
            time1(
                Tensor.timestepEmbedding(t.map { $0 * 1000 }, dimension: embeddingWidth), c,
                activation: .silu), c)
        temb = Tensor(shape: temb.shape, values: zip(temb.values, e.global.values).map { $0 + $1 })
        let st = temb.activated(.silu, c)  // every residual block reads SiLU(temb)
        let h0 = res0(convIn(Tensor.concatenatingChannels([x, cond], c), c), st, c)
        let h1 = res1(down0(h0, c), st, c)
        var h = res2(down1(h1, c), st, c)
        h = res3(attention(h, tokens: e.tokens, maskLogits: e.maskLogits, strength: strength, c), st, c)
        h = res4(Tensor.concatenatingChannels([up1(h.upsampledNearest(factor: 2, c), c), h1], c), st, c)
        h = res5(Tensor.concatenatingChannels([up0(h.upsampledNearest(factor: 2, c), c), h0], c), st, c)
        return convOut(normOut(h, c, activation: .silu), c)
    }
}
