import Foundation
import Glibc
import ImageCodecs
import NodeKit
import Synchronization

/// Where deltaflow keeps what outlives a run: run manifests today, cached results later.
public enum CacheDirectory {
    /// `--cache-dir`, else `$DELTAFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/deltaflow`, else
    /// `~/.cache/deltaflow`.
    public static func resolve(_ explicit: String?) -> String {
        if let explicit { return explicit }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["DELTAFLOW_CACHE_DIR"], !path.isEmpty { return path }
        if let path = environment["XDG_CACHE_HOME"], !path.isEmpty { return path + "/deltaflow" }
        return NSHomeDirectory() + "/.cache/deltaflow"
    }
}

/// One line per finished item: what it wrote, so `--resume` can skip it. Lines are appended as
/// items finish, each with one write; a run killed mid-write leaves at most one torn last line,
/// which is ignored. Each shard of a sharded run keeps its own manifest.
public final class RunManifest: Sendable {
    /// A file an item wrote, with the size it had then.
    struct Output: Codable, Equatable {
        let path: String
        let bytes: Int
    }

    struct Record: Codable {
        let key: String
        let status: String
        let seed: UInt64
        let seconds: Double
        let outputs: [Output]
        let node: String?
        let error: String?
    }

    public let path: String
    private let descriptor: Mutex<Int32>
    /// Items a previous run of the same workflow and params finished, by relative path.
    let finished: [String: [Output]]

    /// Opens the manifest of the run `runID` under `directory`; keeps earlier records when
    /// `resume`, else starts afresh.
    public init(directory: String, runID: String, shard: Shard? = nil, resume: Bool) throws {
        let folder = directory + "/runs"
        try AtomicFile.createDirectories(folder)
        path = folder + "/\(runID)" + (shard.map { ".shard-\($0.index)-of-\($0.count)" } ?? "") + ".jsonl"
        var finished: [String: [Output]] = [:]
        if resume, let data = FileManager.default.contents(atPath: path) {
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let record = try? JSONDecoder().decode(Record.self, from: Data(line)) else { continue }
                // A filtered item has nothing to write: it is as finished as a done one.
                if record.status == ItemResult.Status.done.rawValue
                    || record.status == ItemResult.Status.filtered.rawValue
                {
                    finished[record.key] = record.outputs
                } else {
                    finished[record.key] = nil
                }
            }
        }
        self.finished = finished
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (resume ? 0 : O_TRUNC), 0o644)
        guard descriptor >= 0 else {
            throw RunError(
                message: "cannot write the run manifest \(path): \(String(cString: strerror(errno)))", location: nil)
        }
        self.descriptor = Mutex(descriptor)
    }

    deinit { descriptor.withLock { _ = close($0) } }

    /// Whether `key` finished in an earlier run and every file it wrote is still there, unchanged in size.
    func alreadyDone(_ key: String) -> Bool {
        guard let outputs = finished[key] else { return false }
        return outputs.allSatisfy { output in
            let attributes = try? FileManager.default.attributesOfItem(atPath: output.path)
            return (attributes?[.size] as? Int) == output.bytes
        }
    }

    /// Records a finished item. Throws when the record cannot be written (the disk is full):
    /// then --resume could not know the item is done.
    func append(_ result: ItemResult, seed: UInt64, outputs: [String]) throws {
        let files = outputs.map { path in
            Output(path: path, bytes: ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1)
        }
        let record = Record(
            key: ItemResult.key(result.item, variant: result.variant), status: result.status.rawValue, seed: seed,
            seconds: result.seconds, outputs: files, node: result.failedNode, error: result.message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        // One writer per manifest (shards keep their own), so completing a short write is safe.
        try descriptor.withLock { descriptor in
            try line.withUnsafeBytes { try AtomicFile.writeAll($0, to: descriptor, path: path) }
        }
    }

    /// Every file the runs recorded under `directory` wrote, with its sizes then: the files a
    /// new run may replace without `--overwrite always`. Read before a run's own manifest is reset.
    public static func writtenFiles(directory: String) -> [String: Set<Int>] {
        let folder = directory + "/runs"
        var written: [String: Set<Int>] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names.sorted() where name.hasSuffix(".jsonl") {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let record = try? JSONDecoder().decode(Record.self, from: Data(line)) else { continue }
                for output in record.outputs { written[output.path, default: []].insert(output.bytes) }
            }
        }
        return written
    }

    /// A stable identity for "this workflow with these params": the file's text, every param
    /// value and the engine version.
    public static func runID(
        workflow: Workflow, params: [String: Value], sweep: [SweepAxis] = [], engineVersion: String
    ) -> String {
        var hasher = ContentHasher()
        hasher.add(engineVersion + "\u{0}" + workflow.source + "\u{0}")
        // A sub-workflow changed is a different run too.
        for (file, text) in workflow.sources.sorted(by: { $0.key < $1.key }) where file != workflow.file {
            hasher.add(file + "\u{0}" + text + "\u{0}")
        }
        // A rebuilt or upgraded plugin makes a different run: --resume must not trust its old outputs.
        for node in workflow.nodes where workflow.origins[node.kind] != NodeRegistry.builtIn {
            hasher.add("\(node.kind) \(node.node.descriptor.version) \(node.node.cacheSalt)\u{0}")
        }
        for name in params.keys.sorted() {
            hasher.add(name + "\u{0}")
            hasher.add(params[name]!)
        }
        // The same params swept over other values is another run.
        for axis in sweep {
            hasher.add("sweep " + axis.name + "\u{0}")
            hasher.add(.strings(axis.values.map(\.text)))
        }
        return hasher.hexDigest
    }
}
