import Dispatch
import Synchronization

/// How a model runs: on how many threads, and whether to time each kind of operation.
///
/// Work is split into pieces whose boundaries never depend on the thread count, and each output
/// element is computed by exactly one piece in a fixed order, so results are bit-identical on 1
/// or N threads. OpenBLAS runs single-threaded inside a piece: the tensor core owns all the
/// parallelism (one pool, no oversubscription, and small GEMMs — one attention head, one tile —
/// still use every core), so nothing else in the process needs to manage OpenBLAS's threads.
public struct Compute: Sendable {
    public var threads: Int
    public var profile: OpProfile?

    public init(threads: Int = 1, profile: OpProfile? = nil) {
        self.threads = max(1, threads)
        self.profile = profile
    }

    /// Runs a model invocation. OpenBLAS is set to one thread (idempotent, never restored:
    /// items running concurrently would otherwise restore each other's setting mid-call).
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        BLAS.threadCount = 1
        return try body()
    }

    /// Calls `body(piece, worker)` for every piece in `0..<pieces`, on up to `threads` threads.
    /// `worker` is in `0..<min(threads, pieces)` and is unique among concurrent calls, so it can
    /// index per-thread scratch memory.
    public func parallel(_ pieces: Int, _ body: (_ piece: Int, _ worker: Int) -> Void) {
        let workers = min(threads, pieces)
        if workers <= 1 {
            for piece in 0..<pieces { body(piece, 0) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while true {
                    let piece = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if piece >= pieces { break }
                    box.value(piece, worker)
                }
            }
        }
    }

    /// Number of worker slots ``parallel(_:_:)`` may use for `pieces`.
    public func workers(for pieces: Int) -> Int { max(1, min(threads, pieces)) }

    /// Times `body` under `kind` when profiling.
    @inline(__always)
    func timed<R>(_ kind: OpKind, _ body: () -> R) -> R {
        guard let profile else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        profile.add(kind, nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
        return result
    }
}

/// Raw pointers and closures cross into Dispatch workers; the work split guarantees each worker
/// writes only its own pieces.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The classes of work a forward pass is made of, for the benchmark's per-class table.
public enum OpKind: String, CaseIterable, Sendable {
    case conv3x3 = "conv 3x3"
    case convOther = "conv other"
    case linear
    case attention
    case normalization
    case elementwise
    case data = "copy/concat/resize"
}

/// Accumulated time per ``OpKind``.
public final class OpProfile: Sendable {
    private let totals = Mutex([OpKind: UInt64]())
    public init() {}
    func add(_ kind: OpKind, nanoseconds: UInt64) { totals.withLock { $0[kind, default: 0] += nanoseconds } }
    public var seconds: [OpKind: Double] { totals.withLock { $0.mapValues { Double($0) / 1e9 } } }
    public func reset() { totals.withLock { $0 = [:] } }
}
