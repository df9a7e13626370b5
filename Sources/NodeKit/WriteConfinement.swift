import Foundation

/// Where a run may write: under the directories the user named (a workflow someone else wrote
/// must not drop files into `~/.ssh`), never into deltaflow's own cache. Paths are compared after
/// symlinks are resolved, so a link inside an allowed directory cannot lead out of it.
public struct WriteConfinement: Sendable, Equatable {
    /// Directories (or single files) that may be written, as the user named them.
    public let roots: [String]
    /// Directories never written as outputs, though under a root (the cache, the manifests).
    public let excluded: [String]
    private let resolvedRoots: [String]
    private let resolvedExcluded: [String]

    public init(roots: [String], excluded: [String] = []) {
        self.roots = roots
        self.excluded = excluded
        resolvedRoots = roots.map(Self.resolved)
        resolvedExcluded = excluded.map(Self.resolved)
    }

    /// Why `path` may not be written, or nil when it may.
    public func refusal(for path: String) -> String? {
        let target = Self.resolved(path)
        func inside(_ directory: String) -> Bool {
            target == directory || target.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/")
        }
        if let cache = zip(excluded, resolvedExcluded).first(where: { inside($0.1) }) {
            return "\(path) is inside deltaflow's cache (\(cache.0)), which is never an output directory"
        }
        guard !resolvedRoots.contains(where: inside) else { return nil }
        let resolvedNote =
            target == URL(fileURLWithPath: path).standardizedFileURL.path ? "" : " (it leads to \(target))"
        let named =
            roots.isEmpty
            ? "this run names no output directory (give one with --set NAME=DIR)"
            : "the run writes only under what it was given: \(roots.joined(separator: ", "))"
        return "refusing to write \(path)\(resolvedNote): \(named); --allow writes lets the workflow write anywhere"
    }

    /// `path` made absolute, with `..` and every symlink of its existing part resolved — a
    /// dangling link too, since creating what it points at would write there: the file a write
    /// would really create.
    public static func resolved(_ path: String) -> String {
        resolved(path, hops: 0)
    }

    private static func resolved(_ path: String, hops: Int) -> String {
        let fm = FileManager.default
        var existing = URL(fileURLWithPath: path).standardizedFileURL
        var rest: [String] = []
        // attributesOfItem does not follow links: a dangling one counts as there.
        while (try? fm.attributesOfItem(atPath: existing.path)) == nil && existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        if hops < 40, fm.fileExists(atPath: existing.path) == false,
            let target = try? fm.destinationOfSymbolicLink(atPath: existing.path)
        {
            let base = existing.deletingLastPathComponent()
            let followed = target.hasPrefix("/") ? target : base.appendingPathComponent(target).path
            return resolved(([followed] + rest).joined(separator: "/"), hops: hops + 1)
        }
        var real = existing.resolvingSymlinksInPath()
        for component in rest { real.appendPathComponent(component) }
        return real.standardizedFileURL.path
    }
}
