import TensorCore

/// The exemplar's own held-out test: a 4×4 checkerboard of the pair, each half's fit predicting
/// the other half. Every choice the fit makes between models (curves or not, hue shift or table,
/// a colour step or none) is decided on it; where it cannot tell the colour step's curves from
/// the table, a checkerboard of the colour cube does (``colourHalves(_:)``).
enum HeldOut {
    static let blocks = 4

    /// Which half of the checkerboard pixel (x, y) of a `w × h` frame is in.
    @inline(__always)
    static func place(x: Int, y: Int, width w: Int, height h: Int) -> Int { (y * blocks / h + x * blocks / w) % 2 }

    /// 0 or 1 where pixel (x, y) is on that half of both the frame's checkerboard and a 3×3×3 one
    /// of the colour space (`colour`: the pixel's colour blurred), else 2: holding out by colour as
    /// well as by place judges a fit on content it did not see, as other photos will bring.
    static func placeAndColour(x: Int, y: Int, width w: Int, height h: Int, colour: SIMD3<Float>) -> Int {
        let place = place(x: x, y: y, width: w, height: h)
        return place == colourCell(colour) ? place : 2
    }

    /// Which half of a 3×3×3 checkerboard of the colour cube `colour` is in.
    @inline(__always)
    static func colourCell(_ colour: SIMD3<Float>) -> Int {
        var cell = 0
        for k in 0..<3 { cell += min(2, max(0, Int(colour[k] * 3))) }
        return cell % 2
    }

    /// Each half of the colour checkerboard must hold this share of the pixels to be a test: an
    /// exemplar of a few colours (one flat crop) leaves a half nearly empty, and a fit of a
    /// handful of pixels predicting the rest tells nothing about the models (not tuned).
    static let colourMinShare = 0.05

    /// The pixels (of interleaved colours `x`) on each half of the colour checkerboard, so that
    /// each half's fit is judged on colours it never saw, as other photos bring; nil where a half
    /// holds under ``colourMinShare`` (an exemplar of few colours). Same as
    /// `colour_held_out_error` in Training/edit_data.py.
    static func colourHalves(_ x: [Float]) -> [[Int]]? {
        var halves: [[Int]] = [[], []]
        for p in 0..<(x.count / 3) { halves[colourCell(SIMD3(x[3 * p], x[3 * p + 1], x[3 * p + 2]))].append(p) }
        let fewest = Double(min(halves[0].count, halves[1].count))
        return fewest >= colourMinShare * Double(x.count / 3) ? halves : nil
    }

    /// The luma's detail: the luma minus its gaussian blur of this σ (of the shorter side).
    static let textureSigma = 0.01

    /// The pixels of interleaved RGB images laid end to end (each `width × height`, in order),
    /// each split by texture within each tone: in each bin of the luma (``ColourCurves/knots``),
    /// the half of least |detail| (ties by index) and the rest. A colour model says the change
    /// depends on the colour alone; where it depends on texture (clarity, a sharpen the filter did
    /// not take all of), smooth pixels do not predict textured ones. Same as
    /// `texture_held_out_error` in Training/edit_data.py.
    static func textureHalves(_ images: [(x: [Float], width: Int, height: Int)], _ c: Compute) -> [[Int]] {
        laidEndToEnd(images.map { $0.width * $0.height }) { i in
            textureSides(images[i].x, width: images[i].width, height: images[i].height, c)
        }
    }

    /// Per pixel of `x` (`w × h`), its half of ``textureHalves(_:_:)``.
    private static func textureSides(_ x: [Float], width w: Int, height h: Int, _ c: Compute) -> [Int] {
        let clamped = x.map(ColourCurves.clamped)
        let blurred = SpatialFilter.gaussian(clamped, width: w, height: h, sigma: textureSigma * Double(min(w, h)), c)
        var bins = [[(detail: Float, pixel: Int)]](repeating: [], count: ColourCurves.knots)
        for p in 0..<(w * h) {
            let luma = ColourCurves.lumaOf(clamped[3 * p], clamped[3 * p + 1], clamped[3 * p + 2])
            let blur = ColourCurves.lumaOf(blurred[3 * p], blurred[3 * p + 1], blurred[3 * p + 2])
            bins[ColourCurves.bin(luma)].append((abs(luma - blur), p))
        }
        var sides = [Int](repeating: 1, count: w * h)
        for bin in bins {
            let sorted = bin.sorted { ($0.detail, $0.pixel) < ($1.detail, $1.pixel) }
            for (rank, entry) in sorted.enumerated() where 2 * rank < sorted.count { sides[entry.pixel] = 0 }
        }
        return sides
    }

    /// The pixels of the checkerboard's two halves.
    static func halves(width w: Int, height h: Int) -> [[Int]] {
        halves(sizes: [(w, h)])
    }

    /// The halves of several pairs' pixels laid end to end (each `width × height`, in order):
    /// each pair's own checkerboard, so the colour choices are decided as on one pair, on more
    /// colours. (Holding out whole pairs would also judge a table by colours no pair showed,
    /// which the affine prior, not the table, decides.)
    static func halves(sizes: [(width: Int, height: Int)]) -> [[Int]] {
        laidEndToEnd(sizes.map { $0.width * $0.height }) { i in
            let (w, h) = sizes[i]
            return (0..<(w * h)).map { place(x: $0 % w, y: $0 / w, width: w, height: h) }
        }
    }

    /// The two halves' pixels of images of `counts` pixels laid end to end, `sides(i)` giving
    /// each pixel of image i its half (0 or 1).
    private static func laidEndToEnd(_ counts: [Int], _ sides: (Int) -> [Int]) -> [[Int]] {
        var halves: [[Int]] = [[], []]
        var offset = 0
        for (i, count) in counts.enumerated() {
            for (p, side) in sides(i).enumerated() { halves[side].append(offset + p) }
            offset += count
        }
        return halves
    }

    /// The squared error of `predict(train, before)` — fitted on one half's pixels, mapping the
    /// other half's before colours (interleaved) — against that half's after, summed over both.
    static func error(
        _ x: [Float], _ y: [Float], halves: [[Int]], _ predict: (_ train: [Int], _ before: [Float]) -> [Float]
    ) -> Double {
        error(x, y, halves: halves) { trained, before in predict(halves[trained], before) }
    }

    /// As ``error(_:_:halves:_:)``, the fit named by its half's index (0 or 1), for fits that
    /// keep what they gathered from each half.
    static func error(
        _ x: [Float], _ y: [Float], halves: [[Int]], byIndex predict: (_ trained: Int, _ before: [Float]) -> [Float]
    ) -> Double {
        var e = 0.0
        for (train, test) in [(0, 1), (1, 0)] where !halves[train].isEmpty {
            let predicted = predict(train, halves[test].flatMap { x[(3 * $0)..<(3 * $0 + 3)] })
            for (i, p) in halves[test].enumerated() {
                for k in 0..<3 {
                    let d = Double(predicted[i * 3 + k] - y[3 * p + k])
                    e += d * d
                }
            }
        }
        return e
    }
}
