import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// glibc's allocator tuned for whole-image buffers: blocks over 32 MB (a 12-MP photo's planes)
/// are served from the heap and kept there after `free`, so the next photo reuses those pages
/// instead of faulting in and zeroing fresh ones (measured in Benchmarks/README.md, "Full
/// resolution").
///
/// A `MALLOC_MMAP_MAX_` or `MALLOC_TRIM_THRESHOLD_` in the environment (glibc's own tunables)
/// wins, so a user who prefers memory back sooner can say so.
enum Allocator {
    static func tuneForImages() {
        #if canImport(Glibc)
            let environment = ProcessInfo.processInfo.environment
            guard environment["MALLOC_MMAP_MAX_"] == nil, environment["MALLOC_TRIM_THRESHOLD_"] == nil,
                environment["GLIBC_TUNABLES"] == nil
            else { return }
            // <malloc.h> is not part of Swift's Glibc module; mallopt and its parameters are stable ABI.
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
            let (trimThreshold, mmapMax): (Int32, Int32) = (-1, -4)  // M_TRIM_THRESHOLD, M_MMAP_MAX
            _ = mallopt(mmapMax, 0)
            _ = mallopt(trimThreshold, Int32.max)
        #endif
    }
}
