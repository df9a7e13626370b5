/// Winograd F(2×2, 3×3) for stride-1 3×3 convolutions (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016, eq. 7–8): `Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A`.
///
/// Each 2×2 output tile needs 16 multiplies per channel pair instead of 36, so the GEMM work
/// drops to 4/9 of im2col's. The 16 products become 16 GEMMs of `tiles × cin` by `cin × cout`,
/// over chunks of ``chunkTiles`` tiles whose transformed input (16 × tiles × cin) and products
/// stay in per-thread scratch. The transforms only add and subtract (coefficients 0, ±1, ±½
/// live in the pre-transformed weight), so FP32 error stays at a few ulps of the inputs.
struct Winograd: Sendable {
    /// `U = G g Gᵀ`, packed `[16][cin][cout]`.
    private(set) var weight: Tensor
    let inChannels: Int, outChannels: Int

    static let chunkTiles = 128

    /// - Parameter w: `[cout, cin, 3, 3]`, PyTorch's layout.
    init(weight w: Tensor) {
        let (cout, cin) = (w.shape[0], w.shape[1])
        inChannels = cin
        outChannels = cout
        let u = Tensor(uninitialized: [16, cin, cout])
        let g: InlineArray<12, Float> = [1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1]  // G, 4×3
        for o in 0..<cout {
            for i in 0..<cin {
                let k = w.storage.pointer + (o * cin + i) * 9
                // G k (4×3), then (G k) Gᵀ (4×4).
                var gk = InlineArray<12, Float>(repeating: 0)
                for r in 0..<4 { for c in 0..<3 { for t in 0..<3 { gk[r * 3 + c] += g[r * 3 + t] * k[t * 3 + c] } } }
                for r in 0..<4 {
                    for c in 0..<4 {
                        var s: Float = 0
                        for t in 0..<3 { s += gk[r * 3 + t] * g[c * 3 + t] }
                        u.storage.pointer[((r * 4 + c) * cin + i) * cout + o] = s
                    }
                }
            }
        }
        weight = u
    }

    /// Scales output channel `o` by `factors[o]` (a batch norm folded into the convolution).
    mutating func scaleOutputs(_ factors: [Float]) {
        weight.scaleOutputChannels(by: factors, groups: 1)
    }

    func run(_ x: Tensor, into out: Tensor, padding: (y: Int, x: Int), _ c: Compute, _ epilogue: Epilogue) {
        let geometry = Geometry(x: x, out: out, padding: padding, inChannels: inChannels, outChannels: outChannels)
        let chunk = Winograd.chunkTiles
        let chunks = (geometry.tiles + chunk - 1) / chunk
        let perChunk = 16 * chunk * (inChannels + outChannels)
        let e = UncheckedSendable(epilogue)
        let cin = inChannels
        // Chunk boundaries and every GEMM call are the same in both strategies, so the result is
        // too; only who runs what differs.
        if chunks >= 2 * c.threads || c.threads == 1 {
            // Enough chunks: each worker takes whole chunks, its scratch stays in its own cache.
            let scratch = Tensor(uninitialized: [c.workers(for: chunks), perChunk])
            let sp = UncheckedSendable(scratch.storage.pointer)
            c.parallel(chunks) { piece, worker in
                let t0 = piece * chunk
                let m = min(chunk, geometry.tiles - t0)
                let v = sp.value + worker * perChunk
                let prod = v + 16 * chunk * cin
                geometry.transformInput(tiles: t0..<(t0 + m), chunkStart: t0, m: m, into: v)
                for q in 0..<16 { multiply(q, tiles: m, v, into: prod) }
                geometry.transformOutput(tiles: t0..<(t0 + m), chunkStart: t0, m: m, from: prod, epilogue: e.value)
            }
        } else {
            // Few chunks (small maps): split each chunk's three phases across the workers.
            let scratch = Tensor(uninitialized: [perChunk])
            let v = UncheckedSendable(scratch.storage.pointer)
            let prod = UncheckedSendable(scratch.storage.pointer + 16 * chunk * cin)
            let group = 16
            for piece in 0..<chunks {
                let t0 = piece * chunk
                let m = min(chunk, geometry.tiles - t0)
                let groups = (m + group - 1) / group
                c.parallel(groups) { g, _ in
                    let a = t0 + g * group
                    geometry.transformInput(tiles: a..<min(t0 + m, a + group), chunkStart: t0, m: m, into: v.value)
                }
                c.parallel(16) { q, _ in multiply(q, tiles: m, v.value, into: prod.value) }
                c.parallel(groups) { g, _ in
                    let a = t0 + g * group
                    geometry.transformOutput(
                        tiles: a..<min(t0 + m, a + group), chunkStart: t0, m: m,
                        from: prod.value, epilogue: e.value)
                }
            }
        }
    }

    /// Product `q` of the 16 for a chunk of `m` tiles: `[m × cin]·U_q → [m × cout]`.
    private func multiply(_ q: Int, tiles m: Int, _ v: UnsafePointer<Float>, into prod: UnsafeMutablePointer<Float>) {
        BLAS.gemm(
            m: m, n: outChannels, k: inChannels, v + q * m * inChannels, lda: inChannels,
            weight.storage.pointer + q * inChannels * outChannels, ldb: outChannels,
            into: prod + q * m * outChannels, ldc: outChannels)
    }

    /// Where tiles are, and the two transforms.
    struct Geometry: @unchecked Sendable {
        let xp: UnsafePointer<Float>, op: UnsafeMutablePointer<Float>
        let n: Int, h: Int, w: Int, ho: Int, wo: Int, cin: Int, cout: Int, py: Int, px: Int
        let tilesY: Int, tilesX: Int
        var tiles: Int { n * tilesY * tilesX }

        init(x: Tensor, out: Tensor, padding: (y: Int, x: Int), inChannels: Int, outChannels: Int) {
            xp = UnsafePointer(x.storage.pointer)
            op = out.storage.pointer
            (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
            (ho, wo) = (out.shape[1], out.shape[2])
            (cin, cout, py, px) = (inChannels, outChannels, padding.y, padding.x)
            tilesY = (ho + 1) / 2
            tilesX = (wo + 1) / 2
        }

        /// `Bᵀ d B` for each tile, eight channels at a time, into `v` (`[16][m][cin]`).
        func transformInput(tiles range: Range<Int>, chunkStart t0: Int, m: Int, into v: UnsafeMutablePointer<Float>) {
            for tile in range {
                let t = tile - t0
                let b = tile / (tilesY * tilesX)
                let ty = (tile / tilesX) % tilesY
                let tx = tile % tilesX
                let y0 = 2 * ty - py
                let x0 = 2 * tx - px
                let interior = y0 >= 0 && y0 + 4 <= h && x0 >= 0 && x0 + 4 <= w
                let origin = xp + ((b * h + max(0, y0)) * w + max(0, x0)) * cin
                forEachBlock(cin) { j, lanes in
                    var d = InlineArray<16, Vec>(repeating: Vec())
                    if interior {
                        // Most tiles: no bounds to check, 16 straight loads.
                        for r in 0..<4 {
                            for s in 0..<4 { d[r * 4 + s] = load(origin + (r * w + s) * cin + j, lanes: lanes) }
                        }
                    } else {
                        for r in 0..<4 where (0..<h).contains(y0 + r) {
                            for s in 0..<4 where (0..<w).contains(x0 + s) {
                                d[r * 4 + s] = load(xp + ((b * h + y0 + r) * w + x0 + s) * cin + j, lanes: lanes)
                            }
                        }
                    }
                    var bd = InlineArray<16, Vec>(repeating: Vec())
                    for s in 0..<4 {
                        bd[s] = d[s] - d[8 + s]
                        bd[4 + s] = d[4 + s] + d[8 + s]
                        bd[8 + s] = d[8 + s] - d[4 + s]
                        bd[12 + s] = d[4 + s] - d[12 + s]
                    }
                    for r in 0..<4 {
                        let row: InlineArray<4, Vec> = [
                            bd[r * 4] - bd[r * 4 + 2], bd[r * 4 + 1] + bd[r * 4 + 2],
                            bd[r * 4 + 2] - bd[r * 4 + 1], bd[r * 4 + 1] - bd[r * 4 + 3],
                        ]
                        for s in 0..<4 {
                            let dst = v + ((r * 4 + s) * m + t) * cin + j
                            store(row[s], dst, lanes: lanes)
                        }
                    }
                }
            }
        }

        /// `Aᵀ M A` for each tile from `prod` (`[16][m][cout]`), then the epilogue, written to
        /// the tile's in-bounds output pixels.
        func transformOutput(
            tiles range: Range<Int>, chunkStart t0: Int, m: Int, from prod: UnsafePointer<Float>,
            epilogue: Epilogue
        ) {
            for tile in range {
                let t = tile - t0
                let b = tile / (tilesY * tilesX)
                let ty = (tile / tilesX) % tilesY
                let tx = tile % tilesX
                forEachBlock(cout) { j, lanes in
                    var mm = InlineArray<16, Vec>(repeating: Vec())
                    for q in 0..<16 {
                        let src = prod + (q * m + t) * cout + j
                        mm[q] = load(src, lanes: lanes)
                    }
                    var am = InlineArray<8, Vec>(repeating: Vec())
                    for s in 0..<4 {
                        am[s] = mm[s] + mm[4 + s] + mm[8 + s]
                        am[4 + s] = mm[4 + s] - mm[8 + s] - mm[12 + s]
                    }
                    for r in 0..<2 where 2 * ty + r < ho {
                        let pair: InlineArray<2, Vec> = [
                            am[r * 4] + am[r * 4 + 1] + am[r * 4 + 2],
                            am[r * 4 + 1] - am[r * 4 + 2] - am[r * 4 + 3],
                        ]
                        for s in 0..<2 where 2 * tx + s < wo {
                            let dst = op + ((b * ho + 2 * ty + r) * wo + 2 * tx + s) * cout + j
                            store(pair[s], dst, lanes: lanes)
                        }
                    }
                }
                if !epilogue.isEmpty {
                    for r in 0..<2 where 2 * ty + r < ho {
                        let first = (b * ho + 2 * ty + r) * wo + 2 * tx
                        epilogue.apply(rows: first..<(first + min(2, wo - 2 * tx)), cols: cout, op, ldo: cout)
                    }
                }
            }
        }
    }
}
