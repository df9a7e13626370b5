import CDeltaflowPlugin
import Foundation
import NodeKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One loaded plugin: the shared library, what it says about itself, and its nodes.
///
/// Libraries are never unloaded: node descriptors, strings and code all live in the library, and
/// a plugin written in Swift cannot be unloaded safely anyway. Loading the same file twice gives
/// the same instance.
public final class PluginLibrary: Sendable {
    /// The library's real path (symbolic links resolved).
    public let path: String
    public let name: String
    public let version: String
    public let summary: String
    public let nodes: [PluginNode]
    /// Serialises calls of the nodes that do not declare themselves thread-safe: one lock per
    /// library, since such nodes may share the library's global state.
    let lock: NSLock

    /// Who provides these nodes, as diagnostics name it.
    public var origin: String { "plugin '\(name)' \(version) (\(path))" }

    private init(path: String, description: PluginDescription, libraryHash: String) {
        self.path = path
        self.name = description.name
        self.version = description.version
        self.summary = description.summary
        let salt = "plugin \(description.name) \(description.version) \(libraryHash)"
        let lock = NSLock()
        self.lock = lock
        self.nodes = description.nodes.map { PluginNode(spec: $0, cacheSalt: salt, lock: lock) }
    }

    /// Loads the plugin at `path`, or returns the one already loaded from that file.
    public static func load(_ path: String) throws(PluginError) -> PluginLibrary {
        guard let real = realpath(path, nil) else {
            throw PluginError(
                .notFound, path: path, "no plugin file here",
                help: "check the path; plugins are shared libraries (.so)")
        }
        let resolved = String(cString: real)
        free(real)
        let result = loaded.withLock { cache in
            if let known = cache[resolved] { return known }
            let result = Result<PluginLibrary, PluginError> { () throws(PluginError) in try open(resolved) }
            cache[resolved] = result
            return result
        }
        return try result.get()
    }

    /// Every library loaded in this process, by real path, including the ones that failed (so a
    /// broken plugin is opened once and reported the same way each time).
    private static let loaded = Mutex<[String: Result<PluginLibrary, PluginError>]>([:])

    private static func open(_ path: String) throws(PluginError) -> PluginLibrary {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            var reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            if reason.hasPrefix(path + ": ") { reason.removeFirst(path.count + 2) }  // the path is said once already
            throw PluginError(
                .notALibrary, path: path, "cannot load the library: \(reason)",
                help: "a plugin is a shared library built for this machine, e.g. 'cc -shared -fPIC …'")
        }
        guard let symbol = dlsym(handle, DF_ENTRY_POINT) else {
            throw PluginError(
                .notAPlugin, path: path, "not a deltaflow plugin: it exports no '\(DF_ENTRY_POINT)' function",
                help: "a plugin defines 'const df_plugin *\(DF_ENTRY_POINT)(uint32_t)' from deltaflow_plugin.h")
        }
        let entry = unsafeBitCast(symbol, to: df_entry_fn.self)
        guard let plugin = entry(DF_ABI_VERSION) else {
            throw PluginError(
                .declined, path: path, "the plugin declined to load into this deltaflow (plugin ABI \(DF_ABI_VERSION))",
                help: "it may need a newer or older deltaflow; ask its author")
        }
        let description = try PluginDescription.read(plugin, path: path)
        // Rebuilding the library must invalidate cached results and resumable runs even when nobody
        // bumped a version. Plugins are small; hashing one costs about a millisecond.
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw PluginError(.notFound, path: path, "cannot read the library to fingerprint it")
        }
        var hasher = ContentHasher()
        bytes.withUnsafeBytes { hasher.add($0) }
        return PluginLibrary(path: path, description: description, libraryHash: hasher.hexDigest)
    }
}
