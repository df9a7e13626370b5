import Foundation

extension Tensor {
    /// Nearest-neighbour upsampling of an NHWC map by an integer factor.
    public func upsampledNearest(factor: Int, _ c: Compute) -> Tensor {
        precondition(rank == 4 && factor >= 1, "upsampling needs [N, H, W, C] and a factor ≥ 1")
        let (n, h, w, ch) = (shape[0], shape[1], shape[2], shape[3])
        let out = Tensor(uninitialized: [n, h * factor, w * factor, ch])
        let (xp, op) = (UncheckedSendable(UnsafePointer(storage.pointer)), UncheckedSendable(out.storage.pointer))
        c.timed(.data) {
            c.parallel(n * h) { row, _ in
                let src = xp.value + row * w * ch
                let dst = op.value + row * factor * w * factor * ch
                for x in 0..<w {
                    for f in 0..<factor { (dst + (x * factor + f) * ch).update(from: src + x * ch, count: ch) }
                }
                for f in 1..<max(1, factor) {
                    (dst + f * w * factor * ch).update(from: dst, count: w * factor * ch)
                }
            }
        }
        return out
    }

    /// Concatenation along the last axis (channels of NHWC maps, features of tokens).
    public static func concatenatingChannels(_ parts: [Tensor], _ c: Compute) -> Tensor {
        let rows = parts[0].count / parts[0].shape.last!
        precondition(
            parts.allSatisfy { Array($0.shape.dropLast()) == Array(parts[0].shape.dropLast()) },
            "concatenated tensors must agree on all but the last axis: \(parts.map(\.shape))")
        let widths = parts.map { $0.shape.last! }
        let total = widths.reduce(0, +)
        let out = Tensor(uninitialized: Array(parts[0].shape.dropLast()) + [total])
        let sources = UncheckedSendable(parts.map { UnsafePointer($0.storage.pointer) })
        let op = UncheckedSendable(out.storage.pointer)
        c.timed(.data) {
            let chunk = 256
            c.parallel((rows + chunk - 1) / chunk) { piece, _ in
                for r in (piece * chunk)..<min(rows, (piece + 1) * chunk) {
                    var column = 0
                    for (i, width) in widths.enumerated() {
                        (op.value + r * total + column).update(from: sources.value[i] + r * width, count: width)
                        column += width
                    }
                }
            }
        }
        return out
    }

    /// Average or maximum pooling of an NHWC map; padding cells are excluded from averages.
    public func pooled(_ kind: PoolKind, kernel: Int, stride: Int, padding: Int = 0, _ c: Compute) -> Tensor {
        precondition(rank == 4, "pooling needs [N, H, W, C], got \(shape)")
        let (n, h, w, ch) = (shape[0], shape[1], shape[2], shape[3])
        let ho = (h + 2 * padding - kernel) / stride + 1
        let wo = (w + 2 * padding - kernel) / stride + 1
        let out = Tensor(uninitialized: [n, ho, wo, ch])
        let (xp, op) = (UncheckedSendable(UnsafePointer(storage.pointer)), UncheckedSendable(out.storage.pointer))
        c.timed(.data) {
            c.parallel(n * ho) { row, _ in
                let b = row / ho
                let oy = row % ho
                for ox in 0..<wo {
                    let dst = op.value + (row * wo + ox) * ch
                    dst.update(repeating: kind == .max ? -.infinity : 0, count: ch)
                    var cells = 0
                    for ky in 0..<kernel {
                        let iy = oy * stride - padding + ky
                        guard iy >= 0 && iy < h else { continue }
                        for kx in 0..<kernel {
                            let ix = ox * stride - padding + kx
                            guard ix >= 0 && ix < w else { continue }
                            let src = xp.value + ((b * h + iy) * w + ix) * ch
                            cells += 1
                            for j in 0..<ch { dst[j] = kind == .max ? max(dst[j], src[j]) : dst[j] + src[j] }
                        }
                    }
                    if kind == .average {
                        let inv = 1 / Float(max(1, cells))
                        for j in 0..<ch { dst[j] *= inv }
                    }
                }
            }
        }
        return out
    }

    /// The mean over all pixels of an NHWC map: `[N, C]`.
    public func globalAveragePooled(_ c: Compute) -> Tensor {
        precondition(rank == 4, "pooling needs [N, H, W, C], got \(shape)")
        let (n, pixels, ch) = (shape[0], shape[1] * shape[2], shape[3])
        let out = Tensor(zeros: [n, ch])
        c.timed(.data) {
            for b in 0..<n {
                var sums = [Double](repeating: 0, count: ch)
                for p in 0..<pixels {
                    let src = storage.pointer + (b * pixels + p) * ch
                    for j in 0..<ch { sums[j] += Double(src[j]) }
                }
                for j in 0..<ch { out.storage.pointer[b * ch + j] = Float(sums[j] / Double(pixels)) }
            }
        }
        return out
    }

    /// Sinusoidal timestep embedding `[cos(t·fᵢ), sin(t·fᵢ)]`, `fᵢ = 10000^(−i/half)` (DDPM's
    /// transformer-style embedding): `[timesteps.count, dimension]`.
    public static func timestepEmbedding(_ timesteps: [Float], dimension: Int) -> Tensor {
        precondition(dimension % 2 == 0, "the embedding dimension must be even")
        let half = dimension / 2
        var values = [Float]()
        values.reserveCapacity(timesteps.count * dimension)
        // Frequencies and t·f rounded to Float32 as the reference does; cos/sin then evaluated
        // in Double and rounded once, so only the reference's own rounding remains.
        let logBase = Float(Foundation.log(10000.0))
        let freqs = (0..<half).map { Float(Foundation.exp(Double(-logBase * Float($0) / Float(half)))) }
        for t in timesteps {
            values += freqs.map { Float(Foundation.cos(Double(t * $0))) }
            values += freqs.map { Float(Foundation.sin(Double(t * $0))) }
        }
        return Tensor(shape: [timesteps.count, dimension], values: values)
    }
}

public enum PoolKind: Sendable { case average, max }
