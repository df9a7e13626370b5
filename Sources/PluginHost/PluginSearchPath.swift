import Foundation
import NodeKit

/// Where plugins are looked for: `--plugins DIR` options first, then the directories of
/// `DELTAFLOW_PLUGIN_PATH` (colon-separated, like PATH).
public struct PluginSearchPath: Sendable, PluginResolver {
    public static let environmentVariable = "DELTAFLOW_PLUGIN_PATH"
    #if os(macOS)
        static let libraryExtensions = ["dylib", "so"]
    #else
        static let libraryExtensions = ["so"]
    #endif

    /// Directories given explicitly; a missing one is an error worth reporting.
    public let explicit: [String]
    /// Directories from the environment; a missing one is skipped quietly.
    public let fromEnvironment: [String]

    public init(directories: [String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        explicit = directories
        fromEnvironment = (environment[Self.environmentVariable] ?? "").split(separator: ":").map(String.init)
    }

    public var directories: [String] { explicit + fromEnvironment }

    /// Loads every plugin library in the search directories, in order. A plugin that fails —
    /// or whose kinds clash with ones already registered — is reported and left out; the others
    /// still load (one broken plugin must not take the rest down).
    public func load(into registry: inout NodeRegistry) -> PluginLoadReport {
        var report = PluginLoadReport()
        let fm = FileManager.default
        for directory in directories {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                if explicit.contains(directory) {
                    report.failures.append(
                        PluginError(
                            .notFound, path: directory, "no such plugin directory",
                            help: "check the --plugins path"))
                }
                continue
            }
            let names = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            for name in names where Self.libraryExtensions.contains((name as NSString).pathExtension) {
                let path = (directory as NSString).appendingPathComponent(name)
                let library: PluginLibrary
                do {
                    library = try PluginLibrary.load(path)
                } catch {
                    report.failures.append(error)
                    continue
                }
                if report.loaded.contains(where: { $0 === library }) { continue }
                do {
                    try registry.register(all: library.nodes, origin: library.origin)
                    report.loaded.append(library)
                } catch {
                    report.failures.append(
                        PluginError(
                            .duplicateKind, path: path, error.message,
                            help: "remove one of the two plugins from the search path, or rename the kind"))
                }
            }
        }
        return report
    }

    /// The library a workflow's `plugins:` entry names: a path (anything with a '/' or a
    /// library extension), relative to the workflow's folder; or a bare name `x`, found as
    /// `libx.so` or `x.so` in the search directories.
    public func resolve(_ reference: String, relativeTo directory: String) throws(PluginError) -> String {
        let expanded = (reference as NSString).expandingTildeInPath
        let looksLikePath =
            expanded.contains("/") || Self.libraryExtensions.contains((expanded as NSString).pathExtension)
        if looksLikePath {
            let path = URL(
                fileURLWithPath: expanded.hasPrefix("/")
                    ? expanded : (directory as NSString).appendingPathComponent(expanded)
            ).standardizedFileURL.path
            guard FileManager.default.fileExists(atPath: path) else {
                throw PluginError(
                    .notFound, path: path, "no plugin file here",
                    help: "paths in 'plugins:' are relative to the workflow file's folder")
            }
            return path
        }
        let candidates = Self.libraryExtensions.flatMap { ext in ["lib\(reference).\(ext)", "\(reference).\(ext)"] }
        for dir in directories {
            for candidate in candidates {
                let path = (dir as NSString).appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: path) { return path }
            }
        }
        let searched =
            directories.isEmpty ? "no plugin directories are set" : "searched \(directories.joined(separator: ", "))"
        throw PluginError(
            .notFound, path: reference, "no plugin named '\(reference)' (\(searched))",
            help: "pass --plugins DIR or set \(Self.environmentVariable), or write the library's path")
    }

    public func locate(_ reference: String, relativeTo directory: String) throws -> String {
        try resolve(reference, relativeTo: directory)
    }

    public func plugin(_ reference: String, relativeTo directory: String) throws -> (origin: String, nodes: [any Node])
    {
        let library = try PluginLibrary.load(try resolve(reference, relativeTo: directory))
        return (library.origin, library.nodes)
    }
}

/// What loading a search path did.
public struct PluginLoadReport: Sendable {
    public var loaded: [PluginLibrary] = []
    public var failures: [PluginError] = []
}
