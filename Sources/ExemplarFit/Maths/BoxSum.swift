/// Sums over every cell's (2r+1)ᵈ window of a d-dimensional grid (clipped at its faces), through
/// a summed-area table: the cost per cell is 2ᵈ lookups whatever the radius. The colour table
/// borrows from a node's 3×3×3 neighbours; the guided upsampling and the grain's high-pass
/// average 5×5 windows of an image.
struct BoxSum {
    /// Cells per axis, outermost first.
    let shape: [Int]
    /// Values per cell.
    let channels: Int
    /// The window's reach along every axis.
    let radius: Int

    /// Window sums of `values` (`shape`, `channels` per cell, interleaved); `mean` divides each
    /// by the number of cells its window holds.
    func callAsFunction(_ values: [Double], mean: Bool = false) -> [Double] {
        let d = shape.count
        let cells = shape.reduce(1, *)
        let subsets = 1 << d
        precondition(values.count == cells * channels)
        if d == 2 { return planar(values, mean: mean) }
        // The table has one more entry along every axis: entry p + 1 sums the cells up to p.
        var strides = [Int](repeating: channels, count: d)
        for axis in stride(from: d - 2, through: 0, by: -1) {
            strides[axis] = strides[axis + 1] * (shape[axis + 1] + 1)
        }
        // Inclusion–exclusion over the subsets of axes (bit i: axis i), in a fixed order.
        var offsets = [Int](repeating: 0, count: subsets)
        var signs = [Double](repeating: 1, count: subsets)
        for mask in 0..<subsets {
            for axis in 0..<d where mask >> axis & 1 == 1 { offsets[mask] += strides[axis] }
            signs[mask] = mask.nonzeroBitCount % 2 == 0 ? 1 : -1
        }
        var table = [Double](repeating: 0, count: strides[0] * (shape[0] + 1))
        var out = [Double](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: d)
        var corners = [Int](repeating: 0, count: subsets)
        // Pointers: the loops run once per cell and channel, where array checks would dominate.
        table.withUnsafeMutableBufferPointer { table in
            values.withUnsafeBufferPointer { values in
                offsets.withUnsafeBufferPointer { offsets in
                    signs.withUnsafeBufferPointer { signs in
                        for cell in 0..<cells {
                            var entry = 0
                            for axis in 0..<d { entry += (index[axis] + 1) * strides[axis] }
                            for j in 0..<channels {
                                var sum = values[cell * channels + j]
                                for mask in 1..<subsets { sum -= signs[mask] * table[entry - offsets[mask] + j] }
                                table[entry + j] = sum
                            }
                            Self.advance(&index, shape)
                        }
                        out.withUnsafeMutableBufferPointer { out in
                            corners.withUnsafeMutableBufferPointer { corners in
                                for cell in 0..<cells {
                                    // Each corner takes the window's far side along the axes outside its
                                    // subset, the near side along those in it.
                                    var count = 1
                                    for mask in 0..<subsets { corners[mask] = 0 }
                                    for axis in 0..<d {
                                        let low = max(0, index[axis] - radius)
                                        let high = min(shape[axis], index[axis] + radius + 1)
                                        count *= high - low
                                        for mask in 0..<subsets {
                                            corners[mask] += (mask >> axis & 1 == 1 ? low : high) * strides[axis]
                                        }
                                    }
                                    for j in 0..<channels {
                                        var sum = table[corners[0] + j]
                                        for mask in 1..<subsets { sum += signs[mask] * table[corners[mask] + j] }
                                        out[cell * channels + j] = mean ? sum / Double(count) : sum
                                    }
                                    Self.advance(&index, shape)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The same for an image (d = 2) with the loops written out: the grain's high-pass runs it
    /// on a megapixel, where the general loops' bookkeeping cost more than the sums. The same
    /// additions in the same order, so the same results.
    private func planar(_ values: [Double], mean: Bool) -> [Double] {
        let (h, w, c, r) = (shape[0], shape[1], channels, radius)
        var table = [Double](repeating: 0, count: (w + 1) * (h + 1) * c)
        var out = [Double](repeating: 0, count: values.count)
        table.withUnsafeMutableBufferPointer { t in
            values.withUnsafeBufferPointer { v in
                for y in 0..<h {
                    for x in 0..<w {
                        let (here, up, left, diagonal) = (
                            ((y + 1) * (w + 1) + x + 1) * c, (y * (w + 1) + x + 1) * c, ((y + 1) * (w + 1) + x) * c,
                            (y * (w + 1) + x) * c
                        )
                        for j in 0..<c {
                            t[here + j] = v[(y * w + x) * c + j] + t[up + j] + t[left + j] - t[diagonal + j]
                        }
                    }
                }
            }
            out.withUnsafeMutableBufferPointer { o in
                for y in 0..<h {
                    let (y0, y1) = (max(0, y - r), min(h, y + r + 1))
                    for x in 0..<w {
                        let (x0, x1) = (max(0, x - r), min(w, x + r + 1))
                        let count = Double((y1 - y0) * (x1 - x0))
                        let (a, b, e, f) = (
                            (y1 * (w + 1) + x1) * c, (y0 * (w + 1) + x1) * c, (y1 * (w + 1) + x0) * c,
                            (y0 * (w + 1) + x0) * c
                        )
                        for j in 0..<c {
                            let sum = t[a + j] - t[b + j] - t[e + j] + t[f + j]
                            o[(y * w + x) * c + j] = mean ? sum / count : sum
                        }
                    }
                }
            }
        }
        return out
    }

    private static func advance(_ index: inout [Int], _ shape: [Int]) {
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { return }
            index[axis] = 0
            axis -= 1
        }
    }
}
