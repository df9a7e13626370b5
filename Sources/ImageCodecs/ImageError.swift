import UserFacing

/// Why an image could not be read or written: what went wrong, which file, and what to do.
///
/// A public struct over a closed set of codes, so new codes never break callers that switch
/// on `code` with a default.
public struct ImageError: UserFacingError, Equatable {
    public enum Code: String, Sendable {
        case fileNotFound = "file_not_found"
        case unreadable = "unreadable"
        case empty = "empty_file"
        case notAnImage = "not_an_image"
        case unsupportedFormat = "unsupported_format"
        case corrupt = "corrupt"
        case truncated = "truncated"
        case tooLarge = "too_large"
        case writeFailed = "write_failed"
        case invalidArgument = "invalid_argument"
    }

    public let code: Code
    /// What went wrong, in a user's words ("truncated JPEG data").
    public let reason: String
    /// The file concerned, when there is one.
    public let path: String?
    /// What the user can do about it.
    public let help: String?
    /// The `errno` of a failed system call, when that is the cause (ENOSPC: the disk is full).
    public let systemError: Int32?

    public init(_ code: Code, _ reason: String, path: String? = nil, help: String? = nil, systemError: Int32? = nil) {
        self.code = code
        self.reason = reason
        self.path = path
        self.help = help
        self.systemError = systemError
    }

    /// The same error, attributed to `path` (decoders work on bytes and learn the path later).
    public func at(_ path: String) -> ImageError {
        ImageError(code, reason, path: path, help: help, systemError: systemError)
    }

    public var location: String? { path }
}
