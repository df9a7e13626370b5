import ArgumentParser
import Foundation
import Workflow

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect or empty the cache of node results and run manifests.",
        subcommands: [Info.self, Clear.self])

    struct Location: ParsableArguments {
        @Option(help: "The cache directory; default $DELTAFLOW_CACHE_DIR or ~/.cache/deltaflow.")
        var cacheDir: String?
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where the cache is and how much it holds.")
        @OptionGroup var location: Location

        func run() throws {
            let root = CacheDirectory.resolve(location.cacheDir)
            let cache = ResultCache(directory: root)
            let (entries, bytes) = cache.usage()
            let runs = (try? FileManager.default.contentsOfDirectory(atPath: root + "/runs"))?.count ?? 0
            print("cache directory: \(root)")
            print(
                "cached results: \(entries) (\(ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .file)); "
                    + "limit \(ByteCountFormatter.string(fromByteCount: Int64(cache.maxBytes), countStyle: .file)))")
            print("run manifests: \(runs)")
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every cached result and run manifest.")
        @OptionGroup var location: Location

        func run() throws {
            let root = CacheDirectory.resolve(location.cacheDir)
            try ResultCache(directory: root).clear()
            let runs = root + "/runs"
            if FileManager.default.fileExists(atPath: runs) { try FileManager.default.removeItem(atPath: runs) }
            print("cleared \(root)")
        }
    }
}
