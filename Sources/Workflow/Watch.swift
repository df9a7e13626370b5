import Foundation
import ImageCodecs
import NodeKit
import Synchronization

/// A workflow kept ready for files that arrive one by one (a hot folder): the nodes that run once
/// — the exemplar's delta — ran when the session began, and each file is then run through the
/// per-item nodes as it is handed in, with the run's manifest, cache and options.
public final class WatchSession: Sendable {
    private let executors: [Executor]
    private let prepared: [Executor.Prepared]
    /// The folder the iterating node reads (its `each:`), absolute.
    public let directory: String
    private let iteration: WorkflowNode.Iteration
    private let perItem: [WorkflowNode]
    private let arrived = Atomic<Int>(0)
    /// Files this session wrote: never taken for arrivals, even when written into the folder.
    private let written = Mutex<Set<String>>([])

    /// Runs the nodes that run once (for every combination of a sweep); fails when the workflow
    /// iterates over nothing, or over a glob or a file rather than a folder. `written`: files
    /// earlier runs wrote (the manifests'), never taken for arrivals.
    public init(
        executor: Executor, written: Set<String> = [], onEvent: @Sendable (RunEvent) -> Void = { _ in }
    ) throws(RunError) {
        self.written.withLock { $0 = written }
        guard let iterator = executor.workflow.iterator, let iteration = iterator.iteration else {
            throw RunError(
                message: "the workflow iterates over no folder ('each:'), so there is nothing to watch",
                location: nil)
        }
        let variants = try executor.prepareVariants(onEvent: onEvent, listing: false)
        (executors, prepared) = (variants.map(\.executor), variants.map(\.prepared))
        let folder: String
        do {
            folder = try iteration.directory.evaluate(
                { try executor.resolve($0, shared: variants[0].prepared.shared, local: [:]) }, item: nil
            ).text
        } catch {
            throw RunError(message: "'each' of node '\(iterator.name)': \(error)", location: iterator.location)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError(
                message: "\(folder) is not a folder: watch mode waits for files arriving in one",
                location: iteration.directory.location)
        }
        directory = URL(fileURLWithPath: folder).standardizedFileURL.path
        self.iteration = iteration
        perItem = executor.workflow.nodes.filter { $0.scope == .perItem }
    }

    /// Whether iterating nests into subfolders (which are then watched too).
    public var recursive: Bool { iteration.recursive }

    /// The folder's matching files now, relative, sorted.
    public func existingFiles() -> [String] {
        let found =
            (try? ItemEnumerator.items(in: directory, patterns: iteration.patterns, recursive: iteration.recursive))
            ?? []
        return found.map(\.relativePath).filter { !isOwnOutput(directory + "/" + $0) }
    }

    /// Whether a file at `relativePath` is one the workflow would process: it matches the
    /// node's patterns, is not hidden, and is not one this session wrote.
    public func accepts(_ relativePath: String) -> Bool {
        let parts = relativePath.split(separator: "/")
        guard let name = parts.last, !parts.contains(where: { $0.hasPrefix(".") }),
            iteration.recursive || parts.count == 1
        else { return false }
        return ItemEnumerator.matches(String(name), relativePath, iteration.patterns)
            && !isOwnOutput(directory + "/" + relativePath)
    }

    private func isOwnOutput(_ path: String) -> Bool { written.withLock { $0.contains(path) } }

    /// Runs the file at `relativePath` through the per-item nodes, once per sweep combination;
    /// `threads` for the nodes that use several. A file an earlier session finished (the same
    /// manifest) is reported already done.
    public func process(
        _ relativePath: String, threads: Int, onEvent: @Sendable (RunEvent) -> Void = { _ in }
    ) -> [ItemResult] {
        let index = arrived.add(1, ordering: .relaxed).oldValue
        let item = NodeContext.Item(path: directory + "/" + relativePath, relativePath: relativePath, index: index)
        var results: [ItemResult] = []
        for (executor, state) in zip(executors, prepared) {
            var result: ItemResult
            var outputs: [String] = []
            do {
                let paired = try executor.pair([item], shared: state.shared, partial: true)
                guard !paired.items.isEmpty else { continue }  // unmatched: skip
                let single = Executor.Prepared(
                    shared: state.shared, skipped: state.skipped, items: [item], partners: paired.partners,
                    inputFiles: state.inputFiles.union(Executor.inputFiles([item], partners: paired.partners)))
                let stop: StopReason?
                (result, outputs, stop) = executor.processRecorded(
                    item, nodes: perItem, prepared: single, threads: threads, onEvent: onEvent)
                // A session goes on after a file it could not record; that file is reported failed.
                if case .storage(let message)? = stop, result.status != .failed {
                    result = ItemResult(
                        item: item, variant: executor.variant, status: .failed, failedNode: nil, message: message,
                        seconds: result.seconds)
                }
            } catch {
                result = ItemResult(
                    item: item, variant: executor.variant, status: .failed, failedNode: nil, message: error.message,
                    seconds: 0)
            }
            written.withLock { $0.formUnion(outputs) }
            AtomicFile.removeStaleTemporaries(of: outputs)
            results.append(result)
        }
        return results
    }
}
