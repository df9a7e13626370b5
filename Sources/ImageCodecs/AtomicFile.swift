import Glibc

/// Writes files so that a reader (or a crash) never sees a partial file under the final name:
/// the bytes go to a hidden temporary file in the same directory, are flushed to disk, and
/// only then renamed over the destination — rename within one directory is atomic on POSIX.
public enum AtomicFile {
    /// An open temporary file that a producer writes into.
    public struct Sink: ~Copyable {
        fileprivate let descriptor: Int32
        fileprivate let destination: String

        /// Appends `bytes`, retrying short writes and interrupted calls.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFile.failure(errno, writing: destination)
                }
                offset += written
            }
        }

        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { sink in try sink.write(bytes) }
    }

    /// Runs `produce` against a temporary file beside `path`, then renames it to `path`.
    /// If `produce` throws, or anything fails, the temporary file is removed and `path` is left
    /// exactly as it was (absent, or holding its previous contents).
    public static func write(to path: String, _ produce: (borrowing Sink) throws -> Void) throws {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError(.writeFailed, "cannot write the file: a directory has this name", path: path)
        }
        let (directory, name) = split(path)
        var template = Array("\(directory)/.\(name).deltaflow-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw failure(errno, writing: path) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        do {
            let sink = Sink(descriptor: descriptor, destination: path)
            try produce(sink)
            // mkstemp creates 0600; outputs are ordinary files others may read.
            fchmod(descriptor, 0o644)
            guard fsync(descriptor) == 0 else { throw failure(errno, writing: path) }
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw failure(errno, writing: path) }
        guard rename(temporary, path) == 0 else { throw failure(errno, writing: path) }
        renamed = true
    }

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    static func failure(_ code: Int32, writing path: String) -> ImageError {
        let hint: String?
        switch code {
        case ENOENT: hint = "the output directory does not exist; create it first"
        case EACCES, EPERM: hint = "no permission to write there; choose another output directory"
        case EROFS: hint = "the file system is read-only; choose another output directory"
        case ENOSPC, EDQUOT: hint = "the disk is full; free some space and run again"
        default: hint = nil
        }
        return ImageError(.writeFailed, "cannot write the file: \(String(cString: strerror(code)))",
                          path: path, hint: hint)
    }
}
