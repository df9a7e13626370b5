import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A dense Float32 tensor: a shape and a contiguous, 64-byte-aligned buffer.
///
/// Images and feature maps are **NHWC** (batch, height, width, channels): a 1×1 convolution is
/// then one GEMM with no reshuffling, an image's pixels are a `pixels × channels` matrix that
/// attention and linear layers use as it is, and depthwise kernels vectorise across channels.
/// Token sequences are `[batch, tokens, channels]`. (Benchmarks/README.md has the measurement.)
///
/// Tensors are values: an operation returns a new tensor, and a buffer is shared only while no
/// one writes to it. Buffers come from ``BufferPool`` and go back to it, so a model that runs the
/// same shapes again allocates nothing new in steady state.
public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    var storage: TensorStorage

    /// Number of elements.
    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// A tensor whose contents are undefined; every caller overwrites all of it.
    init(uninitialized shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(count: Tensor.elementCount(shape))
    }

    public init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: 0, count: count)
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: value, count: count)
    }

    public init(shape: [Int], values: [Float]) {
        precondition(
            Tensor.elementCount(shape) == values.count,
            "\(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    static func elementCount(_ shape: [Int]) -> Int {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        return shape.reduce(1) { $0 * $1 }
    }

    /// A copy of the elements in storage order.
    public var values: [Float] {
        [Float](UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The same elements seen through another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(
            Tensor.elementCount(newShape) == count,
            "cannot view \(shape) (\(count) elements) as \(newShape)")
        var copy = self
        copy.shape = newShape
        return copy
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Write access; copies the buffer first if another tensor shares it.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let fresh = TensorStorage(count: count)
            fresh.pointer.update(from: storage.pointer, count: count)
            storage = fresh
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Largest absolute difference to another tensor of the same shape.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var worst: Float = 0
        for i in 0..<count { worst = max(worst, abs(storage.pointer[i] - other.storage.pointer[i])) }
        return worst
    }

    /// Largest absolute element (the output scale parity tests measure error against).
    public var maxAbs: Float {
        var worst: Float = 0
        for i in 0..<count { worst = max(worst, abs(storage.pointer[i])) }
        return worst
    }
}

/// One tensor buffer; returns itself to the pool when the last tensor using it goes away.
final class TensorStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    let pool: BufferPool

    init(count: Int) {
        self.count = count
        pool = BufferPool.current
        pointer = pool.take(count)
    }

    deinit { pool.give(pointer, count: count) }
}

/// Recycles tensor buffers by exact element count.
///
/// A forward pass makes the same sequence of shapes every time, so after the first pass every
/// buffer it asks for is already here: steady-state inference does not call `malloc` for tensor
/// data. The pool holds at most ``limitBytes``; anything beyond is freed at once.
public final class BufferPool: Sendable {
    public static let shared = BufferPool()
    /// The pool new tensors take their buffers from: ``shared`` unless a caller scopes another
    /// with `BufferPool.$current.withValue(pool) { … }` (a server isolating requests, a test
    /// counting one model's allocations while other tests run).
    @TaskLocal public static var current = BufferPool.shared

    /// A buffer owned by the pool; only one party ever holds it.
    private struct Buffer: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }
    private struct State {
        var free: [Int: [Buffer]] = [:]
        var heldBytes = 0
        var fresh = 0
    }
    private let state = Mutex(State())
    /// Upper bound on memory kept for reuse.
    public let limitBytes: Int

    public init(limitBytes: Int = 1 << 30) { self.limitBytes = limitBytes }

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let reused: UnsafeMutablePointer<Float>? = state.withLock { s in
            guard let b = s.free[count]?.popLast() else {
                s.fresh += 1
                return nil
            }
            s.heldBytes -= count * 4
            return b.pointer
        }
        if let reused { return reused }
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, max(1, count) * MemoryLayout<Float>.stride)
        guard status == 0, let raw else { fatalError("out of memory allocating a \(count)-element tensor") }
        return raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let buffer = Buffer(pointer: pointer)
        let kept = state.withLock { s -> Bool in
            guard s.heldBytes + count * 4 <= limitBytes else { return false }
            s.free[count, default: []].append(buffer)
            s.heldBytes += count * 4
            return true
        }
        if !kept { free(pointer) }
    }

    /// Buffers this pool allocated fresh rather than reused; a steady-state forward adds none.
    public var freshAllocations: Int { state.withLock { $0.fresh } }

    deinit { trim() }

    /// Frees every buffer held for reuse.
    public func trim() {
        let all = state.withLock { s -> [Buffer] in
            let buffers = s.free.values.flatMap { $0 }
            s.free = [:]
            s.heldBytes = 0
            return buffers
        }
        for buffer in all { free(buffer.pointer) }
    }
}
