import Glibc

/// How to resample when changing an image's size.
public enum ResizeFilter: String, Sendable, CaseIterable {
    /// Area averaging when shrinking, Lanczos-3 when enlarging (per axis): sharp and alias-free.
    case automatic
    /// Each output pixel is the exact area-weighted mean of the input pixels it covers.
    case area
    /// Keys' cubic convolution (a = −0.5, Catmull–Rom).
    case bicubic
    /// Windowed sinc with three lobes.
    case lanczos3
    case nearest
}

extension Image {
    /// This image at `width` × `height`, in the same sample format. Colour is filtered
    /// premultiplied by alpha, so transparent pixels don't bleed their (invisible) colour into
    /// their neighbours. Lanczos and cubic overshoot is clamped to [0, 1].
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResizeFilter = .automatic) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "resize target must be at least 1x1")
        if newWidth == width && newHeight == height { return self }
        let channels = self.channels
        // Converted a band of rows at a time: a full-size Float32 copy of a 12-MP photo is 144 MB.
        let source = premultiplied()
        let horizontal = ResampleWeights(from: width, to: newWidth, filter: filter)
        let vertical = ResampleWeights(from: height, to: newHeight, filter: filter)
        let rowLength = newWidth * channels
        // Pass 1: every input row to the new width. Pass 2: columns to the new height, done
        // row-wise (output row += weight × input row) so the inner loop runs over contiguous
        // memory.
        var rows = [Float](repeating: 0, count: rowLength * height)
        rows.withUnsafeMutableBufferPointer { tmp in
            for y0 in stride(from: 0, to: height, by: Image.bandRows) {
                let band = y0..<min(height, y0 + Image.bandRows)
                source.floatSamples(rows: band).withUnsafeBufferPointer { input in
                    for y in band {
                        horizontal.resampleRow(
                            input.baseAddress! + (y - y0) * width * channels, channels: channels,
                            into: tmp.baseAddress! + y * rowLength)
                    }
                }
            }
        }
        var output = [Float](repeating: 0, count: rowLength * newHeight)
        output.withUnsafeMutableBufferPointer { out in
            rows.withUnsafeBufferPointer { tmp in
                vertical.weights.withUnsafeBufferPointer { weights in
                    for y in 0..<newHeight {
                        let target = out.baseAddress! + y * rowLength
                        for k in 0..<vertical.counts[y] {
                            let w = weights[vertical.offsets[y] + k]
                            let row = tmp.baseAddress! + (vertical.starts[y] + k) * rowLength
                            for i in 0..<rowLength { target[i] += w * row[i] }
                        }
                        for i in 0..<rowLength { target[i] = min(max(target[i], 0), 1) }
                    }
                }
            }
        }
        var result = Image(width: newWidth, height: newHeight, colorModel: colorModel, samples: output)
        if colorModel.hasAlpha { result = result.unpremultiplied() }
        return result.converted(to: sampleFormat)
    }

    /// This image scaled so its longer side is at most `maxSide` (never enlarged).
    public func fitting(maxSide: Int, filter: ResizeFilter = .automatic) -> Image {
        let longer = max(width, height)
        guard longer > maxSide else { return self }
        let scale = Double(maxSide) / Double(longer)
        let w = max(1, Int((Double(width) * scale).rounded()))
        let h = max(1, Int((Double(height) * scale).rounded()))
        return resized(width: w, height: h, filter: filter)
    }
}

/// Precomputed contributions of input samples to each output sample along one axis.
struct ResampleWeights {
    var starts: [Int] = []
    var counts: [Int] = []
    var offsets: [Int] = []
    var weights: [Float] = []

    init(from inSize: Int, to outSize: Int, filter: ResizeFilter) {
        let scale = Double(inSize) / Double(outSize)
        var kind = filter
        if kind == .automatic { kind = scale > 1 ? .area : .lanczos3 }
        for i in 0..<outSize {
            var contributions: [(Int, Double)] = []
            switch kind {
            case .nearest:
                let j = min(inSize - 1, Int((Double(i) + 0.5) * scale))
                contributions = [(j, 1)]
            case .area:
                // Output pixel i covers [i·s, (i+1)·s) of the input; weight = overlap length.
                let lo = Double(i) * scale
                let hi = Double(i + 1) * scale
                var j = Int(lo.rounded(.down))
                while Double(j) < hi && j < inSize {
                    let overlap = min(hi, Double(j + 1)) - max(lo, Double(j))
                    if overlap > 1e-9 { contributions.append((j, overlap)) }
                    j += 1
                }
            case .bicubic, .lanczos3, .automatic:
                let radius = kind == .bicubic ? 2.0 : 3.0
                let support = max(scale, 1)  // widen the kernel when shrinking to stay alias-free
                let center = (Double(i) + 0.5) * scale - 0.5
                let first = Int((center - radius * support).rounded(.up))
                let last = Int((center + radius * support).rounded(.down))
                for j in first...last {
                    let t = (Double(j) - center) / support
                    let w = kind == .bicubic ? cubic(t) : lanczos3(t)
                    if w != 0 { contributions.append((min(max(j, 0), inSize - 1), w)) }
                }
            }
            let total = contributions.reduce(0) { $0 + $1.1 }
            let lowest = contributions.map(\.0).min() ?? 0
            let highest = contributions.map(\.0).max() ?? 0
            var dense = [Double](repeating: 0, count: highest - lowest + 1)
            for (j, w) in contributions { dense[j - lowest] += w / total }
            starts.append(lowest)
            counts.append(dense.count)
            offsets.append(weights.count)
            weights.append(contentsOf: dense.map { Float($0) })
        }
    }

    /// One interleaved row resampled: out[i·C + c] = Σₖ wₖ · in[(startᵢ + k)·C + c].
    func resampleRow(_ input: UnsafePointer<Float>, channels: Int, into output: UnsafeMutablePointer<Float>) {
        weights.withUnsafeBufferPointer { w in
            for i in 0..<starts.count {
                let base = offsets[i]
                for c in 0..<channels {
                    var sum: Float = 0
                    var p = input + starts[i] * channels + c
                    for k in 0..<counts[i] {
                        sum += w[base + k] * p.pointee
                        p += channels
                    }
                    output[i * channels + c] = sum
                }
            }
        }
    }
}

private func cubic(_ t: Double) -> Double {
    let a = -0.5
    let x = abs(t)
    if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
    if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
    return 0
}

private func lanczos3(_ t: Double) -> Double {
    let x = abs(t)
    if x < 1e-12 { return 1 }
    if x >= 3 { return 0 }
    let pix = Double.pi * x
    return 3 * sin(pix) * sin(pix / 3) / (pix * pix)
}
