import TensorCore

/// The median, minimum or maximum of each channel over the `(2r+1)²` square around each pixel,
/// edges replicated: the window photo editors' "median", "minimum" and "maximum" use, and
/// Training/edits.py's. Same as `rank_filter` in Training/edit_data.py.
enum RankFilter {
    /// The median reads values quantised to 1/levels, one histogram bin each: 8-bit photos' values
    /// to 0.12 of a level, with histograms of a few KB.
    static let levels = 1023
    /// Up to this radius the running histogram (work ∝ r per pixel) beats the column histograms'
    /// constant work (Docs/exemplar-fit.md); both give the same values.
    static let runningLimit = 12
    /// The column histograms' coarse bins: each holds `fine` consecutive levels.
    private static let fine = 32

    /// Rows `rows` of `source` filtered by `kind` (not `.gaussian`) with window radius `radius`
    /// pixels: each band reads its rows and the window's reach around them.
    static func bands(
        _ source: RGBRows, _ kind: SpatialFilter.Kind, radius r: Int, _ c: Compute
    ) -> (_ rows: Range<Int>) -> [Float] {
        let (w, h) = (source.width, source.height)
        return { rows in
            let reach = max(0, rows.lowerBound - r)..<min(h, rows.upperBound + r)
            let samples = source.read(reach)
            // Row `y`'s window rows, as indices into `samples`, edges replicated.
            func windowRow(_ y: Int, _ dy: Int) -> Int { min(h - 1, max(0, y + dy)) - reach.lowerBound }
            switch kind {
            case .median:
                let bins = samples.map { UInt16(min(Float(levels), max(0, ($0 * Float(levels) + 0.5).rounded(.down)))) }
                return bins.withUnsafeBufferPointer { bins in
                    r <= runningLimit
                        ? median(bins, width: w, rows: rows, windowRow, radius: r, c)
                        : columnMedian(bins, width: w, rows: rows, windowRow, radius: r, c)
                }
            case .minimum: return extremum(samples, width: w, rows: rows, windowRow, radius: r, maximum: false, c)
            case .maximum: return extremum(samples, width: w, rows: rows, windowRow, radius: r, maximum: true, c)
            case .gaussian, .luma, .bilateral: preconditionFailure("\(kind) is not a rank filter")
            }
        }
    }

    /// Huang, Yang & Tang (1979), "A fast two-dimensional median filtering algorithm": a running
    /// histogram along each row, two rows per pass.
    private static func median(
        _ bins: UnsafeBufferPointer<UInt16>, width w: Int, rows: Range<Int>, _ windowRow: (Int, Int) -> Int,
        radius r: Int, _ c: Compute
    ) -> [Float] {
        // Moving one pixel right takes one column of the window out and one in; the median's bin
        // moves by what they changed below it. Two rows' windows share all but one row each, so
        // one histogram of the shared rows and one of each row's own serve a pair: half the
        // updates of two passes.
        let half = ((2 * r + 1) * (2 * r + 1) - 1) / 2
        let (size, scale) = (levels + 1, Float(levels))
        let pairs = (rows.count + 1) / 2
        return c.array(rows.count * w * 3, runs: pairs, of: 8) { range, out in
            // Per channel: the shared rows' histogram, then each row's own.
            let histogram = UnsafeMutablePointer<Int32>.allocate(capacity: 9 * size)
            defer { histogram.deallocate() }
            for pair in range {
                let first = 2 * pair
                let y = rows.lowerBound + first
                let single = first + 1 == rows.count
                // A single row's window is all shared; a pair's shares its middle 2r rows.
                let shared = (single ? -r : -r + 1)...r
                let starts = shared.map { 3 * w * windowRow(y, $0) }
                let (ownA, ownB) = (3 * w * windowRow(y, -r), 3 * w * windowRow(y, r + 1))
                histogram.update(repeating: 0, count: 9 * size)
                for k in 0..<3 {
                    let (hs, ha, hb) = (
                        histogram + 3 * k * size, histogram + (3 * k + 1) * size, histogram + (3 * k + 2) * size
                    )
                    for dx in -r...r {
                        let column = 3 * max(0, min(w - 1, dx)) + k
                        for start in starts { hs[Int(bins[start + column])] &+= 1 }
                        if !single {
                            ha[Int(bins[ownA + column])] &+= 1
                            hb[Int(bins[ownB + column])] &+= 1
                        }
                    }
                }
                for k in 0..<3 {
                    let hs = histogram + 3 * k * size
                    let (ha, hb) = (hs + size, hs + 2 * size)
                    var (ma, mb, belowA, belowB) = (0, 0, 0, 0)
                    /// Moves `m` to the median's bin of the shared rows and `own`: the values under
                    /// it at most half the window, with it over half.
                    @inline(__always) func settle(own: UnsafeMutablePointer<Int32>, _ m: inout Int, _ below: inout Int)
                    {
                        while below > half {
                            m -= 1
                            below -= Int(hs[m] &+ own[m])
                        }
                        while below + Int(hs[m] &+ own[m]) <= half {
                            below += Int(hs[m] &+ own[m])
                            m += 1
                        }
                    }
                    for x in 0..<w {
                        if x > 0 {
                            let (g, n) = (3 * max(0, x - r - 1) + k, 3 * min(w - 1, x + r) + k)
                            for start in starts {
                                let (b0, b1) = (Int(bins[start + g]), Int(bins[start + n]))
                                hs[b0] &-= 1
                                hs[b1] &+= 1
                                belowA &+= (b1 < ma ? 1 : 0) &- (b0 < ma ? 1 : 0)
                                belowB &+= (b1 < mb ? 1 : 0) &- (b0 < mb ? 1 : 0)
                            }
                            if !single {
                                let (a0, a1) = (Int(bins[ownA + g]), Int(bins[ownA + n]))
                                ha[a0] &-= 1
                                ha[a1] &+= 1
                                belowA &+= (a1 < ma ? 1 : 0) &- (a0 < ma ? 1 : 0)
                                let (b0, b1) = (Int(bins[ownB + g]), Int(bins[ownB + n]))
                                hb[b0] &-= 1
                                hb[b1] &+= 1
                                belowB &+= (b1 < mb ? 1 : 0) &- (b0 < mb ? 1 : 0)
                            }
                        }
                        settle(own: ha, &ma, &belowA)
                        out[3 * (first * w + x) + k] = Float(ma) / scale
                        guard !single else { continue }
                        settle(own: hb, &mb, &belowB)
                        out[3 * ((first + 1) * w + x) + k] = Float(mb) / scale
                    }
                }
            }
        }
    }

    /// Perreault & Hébert (2007), "Median filtering in constant time" (IEEE TIP): a histogram per
    /// column, the window's moved right a column at a time, its work the same at any radius.
    private static func columnMedian(
        _ bins: UnsafeBufferPointer<UInt16>, width w: Int, rows: Range<Int>, _ windowRow: (Int, Int) -> Int,
        radius r: Int, _ c: Compute
    ) -> [Float] {
        // Each column's histogram holds the window's rows and moves down by two updates a row; the
        // window's histogram adds one column's and takes one off, in coarse bins of `fine` levels,
        // and only the coarse bin that holds the median is read at fine resolution, caught up from
        // where that bin was last read. The fine counts are stored coarse bin by coarse bin, so
        // the columns the window passes over lie side by side (stored column by column, each read
        // missed the cache). Runs of rows go in parallel, each from its own column histograms.
        let half = ((2 * r + 1) * (2 * r + 1) - 1) / 2
        let (coarseCount, scale) = ((levels + 1) / fine, Float(levels))
        // Short runs: a photo comes in 64-row bands, and one run per band left a core idle; a run's
        // start costs about its window's rows once.
        let run = 16
        return c.array(rows.count * w * 3, runs: (rows.count + run - 1) / run, of: 1) { range, out in
            let columnFine = UnsafeMutablePointer<UInt16>.allocate(capacity: w * (levels + 1))
            let columnCoarse = UnsafeMutablePointer<UInt16>.allocate(capacity: w * coarseCount)
            let kernelCoarse = UnsafeMutablePointer<Int32>.allocate(capacity: coarseCount)
            let kernelFine = UnsafeMutablePointer<Int32>.allocate(capacity: levels + 1)
            var readAt = [Int](repeating: 0, count: coarseCount)
            defer {
                columnFine.deallocate()
                columnCoarse.deallocate()
                kernelCoarse.deallocate()
                kernelFine.deallocate()
            }
            @inline(__always) func column(_ x: Int) -> Int { max(0, min(w - 1, x)) }
            /// `into[j] += sign · from[j]` for `count` entries: a loop that vectorises.
            @inline(__always) func add(
                _ from: UnsafeMutablePointer<UInt16>, to into: UnsafeMutablePointer<Int32>, _ count: Int, _ sign: Int32
            ) {
                for j in 0..<count { into[j] &+= sign &* Int32(from[j]) }
            }
            for piece in range {
                let span = (piece * run)..<min(rows.count, (piece + 1) * run)
                for k in 0..<3 {
                    let y0 = rows.lowerBound + span.lowerBound
                    columnFine.update(repeating: 0, count: w * (levels + 1))
                    columnCoarse.update(repeating: 0, count: w * coarseCount)
                    for dy in -r...r {
                        let start = 3 * w * windowRow(y0, dy) + k
                        for x in 0..<w {
                            let b = Int(bins[start + 3 * x])
                            columnFine[(b / fine * w + x) * fine + b % fine] &+= 1
                            columnCoarse[x * coarseCount + b / fine] &+= 1
                        }
                    }
                    for i in span {
                        let y = rows.lowerBound + i
                        if i > span.lowerBound {
                            let (gone, new) = (3 * w * windowRow(y - 1, -r) + k, 3 * w * windowRow(y, r) + k)
                            for x in 0..<w {
                                let (b0, b1) = (Int(bins[gone + 3 * x]), Int(bins[new + 3 * x]))
                                columnFine[(b0 / fine * w + x) * fine + b0 % fine] &-= 1
                                columnCoarse[x * coarseCount + b0 / fine] &-= 1
                                columnFine[(b1 / fine * w + x) * fine + b1 % fine] &+= 1
                                columnCoarse[x * coarseCount + b1 / fine] &+= 1
                            }
                        }
                        kernelCoarse.update(repeating: 0, count: coarseCount)
                        for dx in -r...r {
                            add(columnCoarse + column(dx) * coarseCount, to: kernelCoarse, coarseCount, 1)
                        }
                        for j in readAt.indices { readAt[j] = Int.min }
                        for x in 0..<w {
                            if x > 0 {
                                add(columnCoarse + column(x + r) * coarseCount, to: kernelCoarse, coarseCount, 1)
                                add(columnCoarse + column(x - r - 1) * coarseCount, to: kernelCoarse, coarseCount, -1)
                            }
                            var (bin, below) = (0, 0)
                            while below + Int(kernelCoarse[bin]) <= half {
                                below += Int(kernelCoarse[bin])
                                bin += 1
                            }
                            // The median's coarse bin, at fine resolution: caught up column by
                            // column where it was read lately, summed afresh otherwise.
                            let segment = kernelFine + bin * fine
                            let last = readAt[bin]
                            if last != Int.min && x - last <= 2 * r + 1 {
                                for t in (last + 1)...x {
                                    add(columnFine + (bin * w + column(t + r)) * fine, to: segment, fine, 1)
                                    add(columnFine + (bin * w + column(t - r - 1)) * fine, to: segment, fine, -1)
                                }
                            } else {
                                segment.update(repeating: 0, count: fine)
                                for dx in -r...r {
                                    add(columnFine + (bin * w + column(x + dx)) * fine, to: segment, fine, 1)
                                }
                            }
                            readAt[bin] = x
                            var level = 0
                            while below + Int(segment[level]) <= half {
                                below += Int(segment[level])
                                level += 1
                            }
                            out[3 * (i * w + x) + k] = Float(bin * fine + level) / scale
                        }
                    }
                }
            }
        }
    }

    /// Separable: the extremum along each row's window, then down the window's rows, each pass a
    /// loop over the row that vectorises.
    private static func extremum(
        _ samples: [Float], width w: Int, rows: Range<Int>, _ windowRow: (Int, Int) -> Int, radius r: Int,
        maximum: Bool, _ c: Compute
    ) -> [Float] {
        // Two loops rather than a function parameter, so each vectorises.
        func pick(_ row: UnsafeMutablePointer<Float>, _ other: UnsafePointer<Float>, _ n: Int) {
            if maximum {
                for x in 0..<n { row[x] = max(row[x], other[x]) }
            } else {
                for x in 0..<n { row[x] = min(row[x], other[x]) }
            }
        }
        let stride = 3 * w
        let count = samples.count / stride
        let across = c.array(samples.count, runs: count, of: 16) { range, out in
            var padded = [Float](repeating: 0, count: 3 * (w + 2 * r))
            for y in range {
                for i in 0..<(w + 2 * r) {
                    let p = y * stride + 3 * min(w - 1, max(0, i - r))
                    for k in 0..<3 { padded[3 * i + k] = samples[p + k] }
                }
                padded.withUnsafeBufferPointer { padded in
                    let row = out.baseAddress! + y * stride
                    for x in 0..<stride { row[x] = padded[x] }
                    for j in 1...(2 * r) { pick(row, padded.baseAddress! + 3 * j, stride) }
                }
            }
        }
        return across.withUnsafeBufferPointer { across in
            c.array(rows.count * stride, runs: rows.count, of: 1) { range, out in
                for i in range {
                    let y = rows.lowerBound + i
                    let row = out.baseAddress! + i * stride
                    let first = across.baseAddress! + windowRow(y, -r) * stride
                    for x in 0..<stride { row[x] = first[x] }
                    for dy in (-r + 1)...r { pick(row, across.baseAddress! + windowRow(y, dy) * stride, stride) }
                }
            }
        }
    }
}
