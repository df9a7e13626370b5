import TensorCore

/// The median, minimum or maximum of each channel over the `(2r+1)²` square around each pixel,
/// edges replicated: the window photo editors' "median", "minimum" and "maximum" use, and
/// Training/edits.py's. Same as `rank_filter` in Training/edit_data.py.
enum RankFilter {
    /// The median reads values quantised to 1/levels, one histogram bin each: exact for 8-bit
    /// photos' values (to 0.12 of a level) and a 1 KB histogram that stays in L1.
    static let levels = 1023

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
            case .median: return median(samples, width: w, rows: rows, windowRow, radius: r, c)
            case .minimum: return extremum(samples, width: w, rows: rows, windowRow, radius: r, maximum: false, c)
            case .maximum: return extremum(samples, width: w, rows: rows, windowRow, radius: r, maximum: true, c)
            case .gaussian: preconditionFailure("a gaussian is not a rank filter")
            }
        }
    }

    /// Huang's running histogram along each row: moving one pixel right takes one column of the
    /// window out and one in, and the median's bin moves by what they changed below it.
    private static func median(
        _ samples: [Float], width w: Int, rows: Range<Int>, _ windowRow: (Int, Int) -> Int, radius r: Int,
        _ c: Compute
    ) -> [Float] {
        let bins = samples.map { UInt16(min(Float(levels), max(0, ($0 * Float(levels) + 0.5).rounded(.down)))) }
        let half = ((2 * r + 1) * (2 * r + 1) - 1) / 2
        let scale = 1 / Float(levels)
        return bins.withUnsafeBufferPointer { bins in
            c.array(rows.count * w * 3, runs: rows.count, of: 1) { range, out in
                var histogram = [Int32](repeating: 0, count: levels + 1)
                histogram.withUnsafeMutableBufferPointer { histogram in
                    for i in range {
                        let y = rows.lowerBound + i
                        let starts = (-r...r).map { 3 * w * windowRow(y, $0) }
                        for k in 0..<3 {
                            for b in 0...levels { histogram[b] = 0 }
                            for start in starts {
                                for dx in -r...r { histogram[Int(bins[start + 3 * max(0, min(w - 1, dx)) + k])] += 1 }
                            }
                            var (m, below) = (0, 0)
                            while below + Int(histogram[m]) <= half {
                                below += Int(histogram[m])
                                m += 1
                            }
                            out[3 * (i * w) + k] = Float(m) * scale
                            for x in 1..<max(1, w) {
                                let (gone, new) = (3 * max(0, x - r - 1) + k, 3 * min(w - 1, x + r) + k)
                                for start in starts {
                                    let (b0, b1) = (Int(bins[start + gone]), Int(bins[start + new]))
                                    histogram[b0] -= 1
                                    histogram[b1] += 1
                                    below += (b1 < m ? 1 : 0) - (b0 < m ? 1 : 0)
                                }
                                while below > half {
                                    m -= 1
                                    below -= Int(histogram[m])
                                }
                                while below + Int(histogram[m]) <= half {
                                    below += Int(histogram[m])
                                    m += 1
                                }
                                out[3 * (i * w + x) + k] = Float(m) * scale
                            }
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
        let across = c.array(samples.count, runs: count, of: 1) { range, out in
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
