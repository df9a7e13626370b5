import TensorCore

extension Compute {
    /// Calls `body(range, out)` for consecutive runs of `run` indices of `0..<count` (pixels, rows,
    /// bands: the caller's unit), in parallel. Each call writes `out` only where its own range maps
    /// to, so runs never race and the result does not depend on the thread count.
    func runs(
        _ count: Int, of run: Int, writing out: UnsafeMutableBufferPointer<Float>,
        _ body: (_ range: Range<Int>, _ out: UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        parallel((count + run - 1) / run) { piece, _ in body((piece * run)..<min(count, (piece + 1) * run), out) }
    }

    /// A new array of `length` floats, written by ``runs(_:of:writing:_:)``.
    func array(
        _ length: Int, runs count: Int, of run: Int,
        _ body: (_ range: Range<Int>, _ out: UnsafeMutableBufferPointer<Float>) -> Void
    ) -> [Float] {
        [Float](unsafeUninitializedCapacity: length) { buffer, initialized in
            runs(count, of: run, writing: buffer, body)
            initialized = length
        }
    }

    /// `values` rewritten in place by ``runs(_:of:writing:_:)``.
    func update(
        _ values: inout [Float], runs count: Int, of run: Int,
        _ body: (_ range: Range<Int>, _ out: UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        values.withUnsafeMutableBufferPointer { runs(count, of: run, writing: $0, body) }
    }
}
