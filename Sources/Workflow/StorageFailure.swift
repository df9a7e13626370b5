import Glibc
import ImageCodecs

/// Failures that no later item can avoid — the output's disk is full or read-only — so the run
/// stops instead of failing every remaining file the same way.
enum StorageFailure {
    static let fatalErrors: Set<Int32> = [ENOSPC, EDQUOT, EROFS]

    static func stopReason(_ error: any Error) -> StopReason? {
        guard let error = error as? ImageError, let code = error.systemError, fatalErrors.contains(code) else {
            return nil
        }
        return .storage(error.description)
    }
}
