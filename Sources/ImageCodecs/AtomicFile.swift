import Glibc
import Synchronization

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
            try AtomicFile.writeAll(bytes, to: descriptor, path: destination)
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
        // Created and registered in one step, so an abandoning exit either sees the file or
        // holds the lock until the process is gone.
        let (descriptor, temporary) = inProgress.withLock { files -> (Int32, String) in
            let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard descriptor >= 0 else { return (descriptor, "") }
            let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            files.insert(temporary)
            return (descriptor, temporary)
        }
        guard descriptor >= 0 else { throw failure(errno, writing: path) }
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
            _ = inProgress.withLock { $0.remove(temporary) }
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

    /// Writes all of `bytes` to the open file `descriptor` (of `path`, for the error), retrying
    /// short writes and interrupted calls; errors carry their errno and a hint.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure(errno, writing: path)
            }
            offset += written
        }
    }

    /// Temporary files being written now, by any thread.
    private static let inProgress = Mutex<Set<String>>([])

    /// Ends the process at once (status `status`) without leaving temporary files behind: for
    /// abandoning a run on a second interrupt. Writes in progress are dropped; finished files
    /// stay as they are.
    public static func exitRemovingTemporaries(status: Int32) -> Never {
        inProgress.withLock { files in
            for file in files { unlink(file) }
            // Still holding the lock: no thread can create another temporary file before the exit.
            _exit(status)
        }
    }

    /// Removes temporary files that earlier, killed writers of `paths` left beside them (a
    /// SIGKILL or power loss mid-write leaves `.NAME.deltaflow-XXXXXX`). Call it once the files
    /// are written: a temporary of a path nobody else writes can then only be stale. One
    /// directory listing per directory.
    public static func removeStaleTemporaries(of paths: [String]) {
        var names: [String: Set<String>] = [:]
        for path in paths {
            let (directory, name) = split(path)
            names[directory, default: []].insert(name)
        }
        for (directory, written) in names {
            guard let stream = opendir(directory) else { continue }
            defer { closedir(stream) }
            var stale: [String] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
                }
                guard let original = temporaryOriginal(name), written.contains(original) else { continue }
                stale.append(name)
            }
            for name in stale { unlink(directory + "/" + name) }
        }
    }

    /// The file name a temporary file was writing (".a.png.deltaflow-x1Y2z3" → "a.png"), or nil.
    public static func temporaryOriginal(_ name: String) -> String? {
        let suffix = ".deltaflow-"
        guard name.hasPrefix("."), name.utf8.count > 1 + suffix.utf8.count + 6 else { return nil }
        let body = name.dropFirst().dropLast(6)
        guard body.hasSuffix(suffix) else { return nil }
        return String(body.dropLast(suffix.count))
    }

    /// Creates `path` and any missing parents, with errors that say what to do.
    public static func createDirectories(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw ImageError(.writeFailed, "cannot create the directory: a file has this name", path: path)
            }
            return
        }
        let (parent, _) = split(path)
        if parent != path, parent != "." { try createDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            let code = errno
            throw ImageError(
                .writeFailed, "cannot create the directory: \(String(cString: strerror(code)))", path: path,
                help: help(code), systemError: code)
        }
    }

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    static func failure(_ code: Int32, writing path: String) -> ImageError {
        ImageError(
            .writeFailed, "cannot write the file: \(String(cString: strerror(code)))",
            path: path, help: help(code), systemError: code)
    }

    private static func help(_ code: Int32) -> String? {
        switch code {
        case ENOENT: "the output directory does not exist; create it first"
        case EACCES, EPERM: "no permission to write there; choose another output directory"
        case EROFS: "the file system is read-only; choose another output directory"
        case ENOSPC: "the disk is full; free some space and run again with --resume"
        case EDQUOT: "the disk quota is used up; free some space and run again with --resume"
        case EFBIG: "the file is larger than this process may write (ulimit -f)"
        default: nil
        }
    }
}
