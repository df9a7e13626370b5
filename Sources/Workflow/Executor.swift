import Dispatch
import Foundation
import ImageCodecs
import NodeKit
import Synchronization

/// How a run behaves.
public struct RunOptions: Sendable {
    /// Items processed at the same time.
    public var jobs: Int
    /// Stop taking new items after the first failure.
    public var failFast: Bool
    /// Records each finished item; with `resume`, items it lists as done are not run again.
    public var manifest: RunManifest?
    /// Where results of cacheable nodes are kept between runs; nil computes everything.
    public var cache: ResultCache?
    /// Only the items of this shard are processed (the nodes that run once run in every shard).
    public var shard: Shard?
    /// Once cancelled, no new item starts; items in progress finish and are recorded.
    public var cancellation: Cancellation?
    /// What happens to output files that exist before the run writes them.
    public var existing: ExistingOutputs
    /// Only this many items, evenly spread over the sorted list (the first and last included):
    /// a quick look at a batch before running it all (`--sample`).
    public var sample: Int?
    /// When set, each item's masks are kept, shrunk to this many pixels on their longer side,
    /// for a report (`ItemResult.masks`); the full-size masks are never held past their item.
    public var previewSide: Int?
    /// Where nodes may write; nil: anywhere. A workflow that would write elsewhere is refused
    /// before any item runs, where its nodes say where they write.
    public var confinement: WriteConfinement?
    /// Where the programs of `exec` nodes run; nil: as they are.
    public var sandbox: ProgramSandbox?
    /// Run the graph once per combination of these params' values (`--sweep`); nil: the
    /// workflow's own `sweep:`.
    public var sweep: [SweepAxis]? = nil

    public init(
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount, failFast: Bool = false,
        manifest: RunManifest? = nil, cache: ResultCache? = nil, shard: Shard? = nil,
        cancellation: Cancellation? = nil, existing: ExistingOutputs = .replace
    ) {
        self.jobs = max(1, jobs)
        self.failFast = failFast
        self.manifest = manifest
        self.cache = cache
        self.shard = shard
        self.cancellation = cancellation
        self.existing = existing
        self.previewSide = nil
        self.sample = nil
        self.confinement = nil
        self.sandbox = nil
    }
}

/// What a run does with an output file that is there before it writes it (`--overwrite`,
/// `--skip-existing`).
public enum ExistingOutputs: Sendable {
    case replace
    /// Refuses to replace it unless deltaflow wrote it (these paths, with their sizes then) and
    /// it is unchanged since: a user's own file is never lost to a re-run.
    case refuseUnlessWritten([String: Set<Int>])
    /// Replaces it where the item's input is newer; keeps it (and skips the item) otherwise.
    case replaceIfNewer
    /// Keeps it; an item whose outputs are all there is skipped.
    case keep
}

/// A request to stop a run early (an interrupt), shared with whoever makes it.
public final class Cancellation: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public func cancel() { state.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { state.load(ordering: .relaxed) }
}

/// Why a run stopped before every item was processed.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    /// An item failed and the run was told to stop at the first failure.
    case failFast
    /// The run was cancelled (SIGINT, SIGTERM).
    case interrupted
    /// Nothing more can be written: the output's disk is full or read-only. The message says which.
    case storage(String)

    public var description: String {
        switch self {
        case .failFast: "the run stopped at the first failure (--fail-fast)"
        case .interrupted: "the run was interrupted"
        case .storage(let message): "the run stopped: \(message)"
        }
    }
}

/// What happened to one item.
public struct ItemResult: Sendable {
    public enum Status: String, Sendable {
        case done, failed
        /// Not run: the run stopped first (--fail-fast).
        case skipped
        /// Not run: an earlier run of the same workflow and params finished it (--resume), or its
        /// outputs are there and the run keeps them (--skip-existing, --overwrite if-newer).
        case alreadyDone = "already_done"
        /// Ran, but a `when:` left out every node that writes: nothing to write for it.
        case filtered
    }

    public let item: NodeContext.Item
    /// The sweep combination it ran under (`strength-0.5`); nil without a sweep.
    public var variant: String? = nil
    public let status: Status
    /// For a failure: the node that failed and why.
    public let failedNode: String?
    public let message: String?
    public let seconds: Double
    /// The files it wrote (the path outputs of nodes with side effects), sorted.
    public var outputs: [String] = []
    /// Its masks ("node.port"), shrunk, when the run keeps previews (`RunOptions.previewSide`).
    public var masks: [String: Image] = [:]
    /// The photo as read (the iterating node's image) and as written (the image a node that
    /// writes files was given), shrunk, when the run keeps previews.
    public var inputPreview: Image?
    public var outputPreview: Image?

    /// How the log and report name it: its relative path, with its sweep combination.
    public var label: String { item.relativePath + (variant.map { " [\($0)]" } ?? "") }

    /// How the run manifest names an item: its relative path, under its sweep combination.
    static func key(_ item: NodeContext.Item, variant: String?) -> String {
        variant.map { "\($0)/\(item.relativePath)" } ?? item.relativePath
    }
}

/// Progress, reported while a run goes on (from any thread).
public enum RunEvent: Sendable {
    public enum CacheOutcome: String, Sendable {
        case hit, miss
        /// The stored entry failed its checksum; it was deleted and the result recomputed.
        case corrupt
    }

    case sharedNodeFinished(name: String, seconds: Double)
    /// A cacheable node's result was looked up: reused, or computed and stored.
    case cache(node: String, item: String?, outcome: CacheOutcome, key: String, detail: String?)
    case itemsFound(count: Int)
    case itemFinished(ItemResult, completed: Int, total: Int)
}

/// What a run did.
public struct RunSummary: Sendable {
    public let items: [ItemResult]
    public let seconds: Double
    /// Why items were left unprocessed (`skipped`); nil when the run went through.
    public let stopped: StopReason?
    /// The outputs of the nodes that ran once (the exemplar, its delta), by node name.
    public let shared: [String: [String: Value]]

    public var done: Int { items.filter { $0.status == .done }.count }
    public var failed: [ItemResult] { items.filter { $0.status == .failed } }
    public var skipped: Int { items.filter { $0.status == .skipped }.count }
    public var alreadyDone: Int { items.filter { $0.status == .alreadyDone }.count }
    public var filtered: Int { items.filter { $0.status == .filtered }.count }

    public init(
        items: [ItemResult], seconds: Double, stopped: StopReason?, shared: [String: [String: Value]]
    ) {
        self.items = items
        self.seconds = seconds
        self.stopped = stopped
        self.shared = shared
    }
}

/// A failure that stops the whole run (as opposed to one item's failure).
public struct RunError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let location: SourcePosition?
    public var description: String { (location.map { "\($0): " } ?? "") + "error: " + message }
}

/// Runs a validated workflow: nodes that run once first, then every item through the per-item
/// nodes, `jobs` items at a time. Results are identical whatever `jobs` is: an item's seeds come
/// from its relative path, and items never see each other.
public struct Executor: Sendable {
    public let workflow: Workflow
    public let params: [String: Value]
    public let options: RunOptions
    /// The sweep combination this executor runs (`strength-0.5`), nil for a run without one.
    let variant: String?
    /// The sweep it runs: the options', else the workflow's.
    public var sweep: [SweepAxis] { options.sweep ?? workflow.sweep }

    public init(workflow: Workflow, params: [String: Value], options: RunOptions = RunOptions()) {
        self.init(workflow: workflow, params: params, options: options, variant: nil)
    }

    private init(workflow: Workflow, params: [String: Value], options: RunOptions, variant: String?) {
        self.workflow = workflow
        var params = params
        params["sweep"] = .string(variant ?? "")
        self.params = params
        self.options = options
        self.variant = variant
    }

    /// One executor per combination of the sweep's values, in order (the first axis varying
    /// slowest); this one alone without a sweep.
    func variants() -> [Executor] {
        guard !sweep.isEmpty else { return [self] }
        var combinations: [[(String, Value)]] = [[]]
        for axis in sweep {
            combinations = combinations.flatMap { prefix in axis.values.map { prefix + [(axis.name, $0)] } }
        }
        var single = options
        single.sweep = []
        return combinations.map { combination in
            var values = params
            for (name, value) in combination { values[name] = value }
            let label = combination.map { "\($0.0)-\($0.1.text)" }.joined(separator: "_")
            return Executor(workflow: workflow, params: values, options: single, variant: label)
        }
    }

    /// The nodes whose results differ between sweep combinations: those reading a swept param,
    /// and what reads them.
    func sweptNodes() -> Set<String> {
        let swept = Set(sweep.map(\.name) + ["sweep"])
        var found = Set<String>()
        for node in workflow.nodes {
            let references = node.expressions.flatMap(\.references)
            if references.contains(where: { ($0.port == nil && swept.contains($0.name)) || found.contains($0.name) }) {
                found.insert(node.name)
            }
        }
        return found
    }

    /// The files the iterating node runs over (none when nothing iterates), given the results
    /// of the nodes that run once.
    func listItems(shared: [String: [String: Value]]) throws(RunError) -> [NodeContext.Item] {
        guard let iterator = workflow.iterator else { return [] }
        return try files(of: iterator, shared: shared)
    }

    /// The files an iterating node's `each:` names.
    private func files(of iterator: WorkflowNode, shared: [String: [String: Value]]) throws(RunError)
        -> [NodeContext.Item]
    {
        guard let iteration = iterator.iteration else { return [] }
        let directory: String
        do {
            directory = try iteration.directory.evaluate({ try resolve($0, shared: shared, local: [:]) }, item: nil)
                .text
        } catch {
            throw RunError(message: "'each' of node '\(iterator.name)': \(error)", location: iterator.location)
        }
        let items: [NodeContext.Item]
        do {
            items = try ItemEnumerator.items(
                for: directory, patterns: iteration.patterns, recursive: iteration.recursive)
        } catch {
            throw RunError(message: error.message, location: iteration.directory.location)
        }
        guard items.isEmpty else { return items }
        throw RunError(
            message: Self.nothingToProcess(directory, patterns: iteration.patterns, recursive: iteration.recursive),
            location: iteration.directory.location)
    }

    /// Each item's partners in the matched directories (`match:`), by item and node; items
    /// without one are refused, left out or kept as each node's `unmatched:` says.
    /// `partial`: the items are some of the files (watch mode), so files without an item are
    /// not a mismatch.
    func pair(_ items: [NodeContext.Item], shared: [String: [String: Value]], partial: Bool = false) throws(RunError)
        -> (
            items: [NodeContext.Item], partners: [String: [String: String]]
        )
    {
        var partners: [String: [String: String]] = [:]
        var kept = items
        let itemKeys = items.map { Self.matchKey($0.relativePath) }
        let keys = Set(itemKeys)
        for node in workflow.matchedIterators {
            guard let iteration = node.iteration, let primary = iteration.match else { continue }
            let candidates = try files(of: node, shared: shared)
            let candidateKeys = candidates.map { Self.matchKey($0.relativePath) }
            var byKey: [String: [NodeContext.Item]] = [:]
            for (candidate, key) in zip(candidates, candidateKeys) { byKey[key, default: []].append(candidate) }
            let ambiguous = byKey.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
            if !ambiguous.isEmpty {
                let lines = ambiguous.map { "  \($0.value.map(\.relativePath).joined(separator: ", "))" }
                throw RunError(
                    message: """
                        node '\(node.name)' pairs files with '\(primary)' by name without extension, but some names \
                        are there more than once:
                        \(lines.joined(separator: "\n"))
                        keep one of each, or narrow the node's 'pattern'
                        """,
                    location: iteration.directory.location)
            }
            let lonely = zip(items, itemKeys).filter { byKey[$0.1] == nil }.map(\.0)
            let extra = zip(candidates, candidateKeys).filter { !keys.contains($0.1) }.map(\.0)
            if iteration.unmatched == .error && !(lonely.isEmpty && (extra.isEmpty || partial)) {
                var lines: [String] = []
                if !lonely.isEmpty {
                    lines.append(
                        "\(lonely.count) of '\(primary)''s files \(lonely.count == 1 ? "has" : "have") no partner:")
                    lines += lonely.map { "  \($0.relativePath)" }
                }
                if !extra.isEmpty && !partial {
                    lines.append(
                        "\(extra.count) of '\(node.name)''s files \(extra.count == 1 ? "has" : "have") no partner:")
                    lines += extra.map { "  \($0.relativePath)" }
                }
                throw RunError(
                    message: """
                        node '\(node.name)' pairs its files with '\(primary)''s by name without extension, and some \
                        are unmatched; nothing was processed:
                        \(lines.joined(separator: "\n"))
                        add the missing files, or write 'unmatched: skip' (leave such items out) or 'unmatched: optional' \
                        (run them without '\(node.name)')
                        """,
                    location: iteration.directory.location)
            }
            for (item, key) in zip(items, itemKeys) {
                if let partner = byKey[key]?.first {
                    partners[item.relativePath, default: [:]][node.name] = partner.path
                }
            }
            if iteration.unmatched == .skip {
                let unpaired = Set(lonely.map(\.relativePath))
                kept = kept.filter { !unpaired.contains($0.relativePath) }
            }
        }
        return (kept, partners)
    }

    /// A relative path without its extension: `day1/IMG_1.jpg` and `day1/IMG_1.png` pair up.
    static func matchKey(_ relativePath: String) -> String {
        let item = NodeContext.Item(path: relativePath, relativePath: relativePath, index: 0)
        return item.relativeDirectory.isEmpty ? item.stem : item.relativeDirectory + "/" + item.stem
    }

    /// What can be checked of the files a run reads before anything runs — what it iterates over
    /// and the files the nodes that run once read (`load`'s path, `load_pairs`' directories) —
    /// where those come from params and constants alone: `validate --set` reports them.
    public func checkInputs() -> [RunError] {
        var problems: [RunError] = []
        if let iteration = workflow.iterator?.iteration, iteration.directory.isFixed {
            do { _ = try listItems(shared: [:]) } catch { problems.append(error) }
        }
        for node in workflow.nodes where node.scope == .once {
            for (port, path) in fixedPaths(of: node, node.node.descriptor.readInputs)
            where !FileManager.default.fileExists(atPath: path) {
                problems.append(
                    RunError(
                        message: "node '\(node.name)' (\(node.kind)) reads \(path), which does not exist",
                        location: node.inputs[port]?.location ?? node.location))
            }
        }
        return problems
    }

    /// Where nodes would write outside ``RunOptions/confinement``, as far as params and
    /// constants alone say (a `save`'s `dir: $output`): `validate --set` reports them.
    public func checkWrites() -> [RunError] {
        guard let confinement = options.confinement else { return [] }
        return workflow.nodes.flatMap { node in
            fixedPaths(of: node, node.node.descriptor.writeInputs).compactMap { port, path in
                confinement.refusal(for: path).map { reason in
                    RunError(
                        message: "node '\(node.name)' (\(node.kind)): \(reason)",
                        location: node.inputs[port]?.location ?? node.location)
                }
            }
        }
    }

    /// The paths that `ports` of `node` name, for the ports whose values come from params and
    /// constants alone (and evaluate).
    private func fixedPaths(of node: WorkflowNode, _ ports: [String]) -> [(port: String, path: String)] {
        let fixed = ports.filter { node.inputs[$0]?.isFixed ?? false }
        guard !fixed.isEmpty,
            let inputs = try? evaluateInputs(of: node, item: nil, shared: [:], local: [:], only: Set(fixed))
        else { return [] }
        return fixed.compactMap { port in
            guard case .path(let path)? = inputs[port] else { return nil }
            return (port, path)
        }
    }

    /// Why a directory gave no file, from what it does hold: a run that would silently do nothing
    /// is most often the wrong folder, a format deltaflow does not read, or files one level down.
    static func nothingToProcess(_ directory: String, patterns: [String], recursive: Bool) -> String {
        let (extensions, deeper) = ItemEnumerator.survey(directory, patterns: patterns, recursive: recursive)
        let wanted = "no file in \(directory) matches \(patterns.joined(separator: ", "))"
        if deeper > 0 {
            let these = deeper == 1 ? "1 file in its subdirectories does" : "\(deeper) files in its subdirectories do"
            return "\(wanted), but \(these): add 'recursive: true' to the node that iterates"
        }
        let total = extensions.values.reduce(0, +)
        guard total > 0 else { return "\(wanted): the directory is empty" }
        let counts = extensions.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .map { "\($0.value) \($0.key.isEmpty ? "without an extension" : "." + $0.key)" }
        let unread = extensions.keys.filter {
            ["heic", "heif", "avif", "gif", "bmp", "dng", "cr2", "nef", "arw"].contains($0)
        }
        .sorted()
        let found = "\(wanted): it holds \(total) \(total == 1 ? "file" : "files") (\(counts.joined(separator: ", ")))"
        if !unread.isEmpty {
            return found
                + "; deltaflow reads PNG, JPEG, TIFF and WebP, not yet \(unread.map { "." + $0 }.joined(separator: ", ")) — convert them first (e.g. mogrify -format png *.\(unread[0]))"
        }
        return found + "; change the node's 'pattern' to match them, or point it at another directory"
    }

    /// Runs the nodes that run once and lists the items, without processing any item.
    /// `reusing`: results of nodes that ran once for an earlier sweep combination and do not
    /// depend on the swept params.
    func prepare(
        onEvent: @Sendable (RunEvent) -> Void = { _ in }, reusing: Prepared? = nil, reused: Set<String> = [],
        announce: Bool = true, listing: Bool = true
    ) throws(RunError) -> Prepared {
        var shared: [String: [String: Value]] = [:]
        var skipped = Set<String>()
        var inputFiles = reusing?.inputFiles ?? Set<String>()
        for node in workflow.nodes where node.scope == .once {
            if let earlier = reusing, reused.contains(node.name), let outputs = earlier.shared[node.name] {
                shared[node.name] = outputs
                if earlier.skipped.contains(node.name) { skipped.insert(node.name) }
                continue
            }
            if options.cancellation?.isCancelled == true {
                throw RunError(
                    message: "interrupted before node '\(node.name)' ran; no file was processed", location: nil)
            }
            let started = Date()
            do {
                let context = NodeContext(
                    item: nil, seed: Seeds.seed(workflow: workflow.seed, relativePath: nil, node: node.name),
                    threads: options.jobs, existingFile: existingFile(for: nil), confinement: options.confinement,
                    sandbox: options.sandbox)
                if case .skip(let fallback, _) = try gate(node, item: nil, shared: shared, local: [:], skipped: skipped)
                {
                    shared[node.name] = fallback
                    skipped.insert(node.name)
                    continue
                }
                let inputs = try evaluateInputs(of: node, item: nil, shared: shared, local: [:])
                // What a node reads (load's path, load_pairs' directories) is never an output.
                for input in node.node.descriptor.readInputs {
                    guard case .path(let p)? = inputs[input] else { continue }
                    let read = URL(fileURLWithPath: p).resolvingSymlinksInPath()
                    inputFiles.insert(read.path)
                    for name in (try? FileManager.default.contentsOfDirectory(atPath: read.path)) ?? [] {
                        inputFiles.insert(read.appendingPathComponent(name).resolvingSymlinksInPath().path)
                    }
                }
                shared[node.name] = try invoke(node, inputs, context, onEvent: onEvent)
            } catch {
                throw RunError(message: "node '\(node.name)' (\(node.kind)) failed: \(error)", location: node.location)
            }
            onEvent(.sharedNodeFinished(name: node.name, seconds: Date().timeIntervalSince(started)))
        }
        // Watch mode lists no files: they arrive one by one.
        var (items, partners) = listing ? try pair(try listItems(shared: shared), shared: shared) : ([], [:])
        // Every item, not only this shard's: two shards must not write one file either.
        try refusePlannedWrites(items, shared: shared)
        inputFiles.formUnion(Self.inputFiles(items, partners: partners))
        // Filtered after listing, so items keep their index in the whole list ({index} names agree).
        if let shard = options.shard { items = items.filter { shard.contains($0.relativePath) } }
        if let sample = options.sample, sample < items.count {
            let picked = Set((0..<max(sample, 1)).map { sample <= 1 ? 0 : $0 * (items.count - 1) / (sample - 1) })
            items = picked.sorted().map { items[$0] }
        }
        // A workflow that iterates over nothing (export-lut's) has no files to count.
        if workflow.iterator != nil && announce { onEvent(.itemsFound(count: items.count)) }
        return Prepared(shared: shared, skipped: skipped, items: items, partners: partners, inputFiles: inputFiles)
    }

    /// Whether a node runs: it does unless its `when:` is false or it reads an output that a
    /// node left out by its own `when:` did not produce.
    enum Gate {
        /// Runs, without the optional inputs in `leaveOut` (they read what a left-out node did not make).
        case run(leaveOut: Set<String>)
        /// Its `otherwise:` outputs stand in for its outputs; why, for the run log.
        case skip([String: Value], reason: String)
    }

    func gate(
        _ node: WorkflowNode, item: NodeContext.Item?, shared: [String: [String: Value]],
        local: [String: [String: Value]], skipped: Set<String>
    ) throws -> Gate {
        // Most nodes of most items: nothing left out, no condition.
        if node.when == nil && skipped.isEmpty { return .run(leaveOut: []) }
        func missing(_ reference: Reference) -> Bool {
            guard let port = reference.port, skipped.contains(reference.name) else { return false }
            return (local[reference.name] ?? shared[reference.name])?[port] == nil
        }
        // An optional input that is only the missing value is left unset; anything else that
        // reads it leaves the node out too.
        var leaveOut = Set<String>()
        for (port, expression) in node.inputs {
            if case .reference(let reference) = expression, missing(reference),
                node.node.descriptor.input(port).map({ !$0.isRequired }) == true
            {
                leaveOut.insert(port)
            }
        }
        let resolve = { (reference: Reference) throws -> Value in
            try self.resolve(reference, shared: shared, local: local)
        }
        // Left out, for either reason, a node's outputs are its `otherwise:` (those it can give).
        func fallback() throws -> [String: Value] {
            var values: [String: Value] = [:]
            for (port, expression) in node.otherwise where !expression.references.contains(where: missing) {
                values[port] = try expression.evaluate(resolve, item: item)
            }
            return values
        }
        let expressions =
            node.inputs.filter { !leaveOut.contains($0.key) }.map(\.value) + (node.when.map { [$0] } ?? [])
        for reference in expressions.flatMap(\.references) where missing(reference) {
            return .skip(
                try fallback(), reason: "it reads \(reference.text), which node '\(reference.name)' did not make for it"
            )
        }
        guard let when = node.when else { return .run(leaveOut: leaveOut) }
        guard case .bool(let holds) = try when.evaluate(resolve, item: item) else {
            throw NodeError("'when' did not give true or false")
        }
        if holds { return .run(leaveOut: leaveOut) }
        return .skip(try fallback(), reason: "its 'when' is false")
    }

    /// What a node does with an output file that is already there, for `item`'s run.
    func existingFile(for item: NodeContext.Item?) -> @Sendable (String) -> NodeContext.ExistingFile {
        switch options.existing {
        case .replace: return { _ in .replace }
        case .keep: return { _ in .keep }
        case .replaceIfNewer:
            let input = item.flatMap { Self.modified($0.path) }
            return { path in
                guard let input, let output = Self.modified(path) else { return .replace }
                return input > output ? .replace : .keep
            }
        case .refuseUnlessWritten(let written):
            return { path in
                let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
                if let bytes, written[path]?.contains(bytes) == true { return .replace }
                return .refuse(
                    "\(path) is already there and deltaflow did not write it (or it changed since): it was left as it is; "
                        + "--overwrite always replaces such files, --skip-existing keeps them and goes on")
            }
        }
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Whether `item` can be skipped because the run keeps existing outputs and every file it
    /// would write is there (and, for `replaceIfNewer`, newer than its input). Only items whose
    /// writers all say where they write before running qualify.
    func keepsOutputs(of item: NodeContext.Item, shared: [String: [String: Value]]) -> Bool {
        switch options.existing {
        case .keep, .replaceIfNewer: break
        case .replace, .refuseUnlessWritten: return false
        }
        let writers = workflow.nodes.filter { $0.scope == .perItem && $0.node.descriptor.hasSideEffects }
        guard !writers.isEmpty else { return false }
        let keep = existingFile(for: item)
        return writers.allSatisfy { node in
            guard let path = plannedPath(of: node, item: item, shared: shared) else { return false }
            return FileManager.default.fileExists(atPath: path) && keep(path) == .keep
        }
    }

    /// Where `node` will write for `item`, worked out before the item runs: nil when the node does
    /// not say (``NodeDescriptor/plannedOutput``), when that depends on a per-item node, or when
    /// its inputs fail (the item then fails with its own error when it runs).
    func plannedPath(of node: WorkflowNode, item: NodeContext.Item, shared: [String: [String: Value]]) -> String? {
        guard let planned = node.node.descriptor.plannedOutput,
            planned.inputs.allSatisfy({ name in
                node.inputs[name]?.references.allSatisfy { $0.port == nil || shared[$0.name] != nil } ?? true
            }),
            let inputs = try? evaluateInputs(
                of: node, item: item, shared: shared, local: [:], only: Set(planned.inputs))
        else { return nil }
        return try? planned.path(NodeInputs(inputs), item)
    }

    /// Refuses, before any item runs, a run in which two items would write one file — by default
    /// a later item replaces the earlier's output (`a.jpg` and `a.png` saved as `{relpath}.jpg`)
    /// — or one that would write outside ``RunOptions/confinement``. Only nodes that say where
    /// they write (``NodeDescriptor/plannedOutput``), and whose inputs for that depend on no
    /// per-item node, can be checked here; the rest are checked as they write.
    func refusePlannedWrites(_ items: [NodeContext.Item], shared: [String: [String: Value]]) throws(RunError) {
        for node in workflow.nodes where node.scope == .perItem && node.node.descriptor.plannedOutput != nil {
            let planned = items.compactMap { item in
                plannedPath(of: node, item: item, shared: shared).map { (item: item, path: $0) }
            }
            try refuseCollisions(planned, of: node)
            if let confinement = options.confinement { try refuseConfined(planned.map(\.path), of: node, confinement) }
        }
    }

    private func refuseCollisions(_ planned: [(item: NodeContext.Item, path: String)], of node: WorkflowNode)
        throws(RunError)
    {
        var writer: [String: NodeContext.Item] = [:]
        var clashes: [(path: String, first: NodeContext.Item, second: NodeContext.Item)] = []
        for (item, path) in planned {
            if let first = writer[path] {
                clashes.append((path, first, item))
            } else {
                writer[path] = item
            }
        }
        guard let example = clashes.first else { return }
        let shown = clashes.prefix(10).map {
            "  \($0.path) ← \($0.first.relativePath) and \($0.second.relativePath)"
        }
        let more = clashes.count > 10 ? ["  … and \(clashes.count - 10) more"] : []
        let ext = URL(fileURLWithPath: example.path).pathExtension
        throw RunError(
            message: """
                node '\(node.name)' (\(node.kind)) would write \(clashes.count == 1 ? "two inputs to one file" : "\(clashes.count) pairs of inputs to one file each"), \
                the later replacing the earlier; nothing was processed:
                \((shown + more).joined(separator: "\n"))
                give each its own name, e.g. with the extension in it: name: "{relpath}-{ext}.\(ext.isEmpty ? "png" : ext)" \
                (or leave one of \(example.first.name) and \(example.second.name) out of the input)
                """,
            location: node.inputs["name"]?.location ?? node.location)
    }

    private func refuseConfined(_ paths: [String], of node: WorkflowNode, _ confinement: WriteConfinement)
        throws(RunError)
    {
        let refused = paths.compactMap { confinement.refusal(for: $0) }
        guard let first = refused.first else { return }
        let more = refused.count > 1 ? " (and \(refused.count - 1) more files)" : ""
        throw RunError(
            message: "node '\(node.name)' (\(node.kind)): \(first)\(more); nothing was processed",
            location: node.node.descriptor.writeInputs.compactMap { node.inputs[$0]?.location }.first ?? node.location)
    }

    /// Every sweep combination's executor with its nodes that run once run (results that read
    /// no swept param are the first combination's), refused where two combinations would write
    /// one file. `listing` false (watch mode) lists no files, and checks the names on a file to come.
    func prepareVariants(onEvent: @Sendable (RunEvent) -> Void, listing: Bool = true) throws(RunError)
        -> [(executor: Executor, prepared: Prepared)]
    {
        let executors = variants()
        let swept = sweptNodes()
        let reused = Set(workflow.nodes.filter { $0.scope == .once && !swept.contains($0.name) }.map(\.name))
        var prepared: [Prepared] = []
        for (index, executor) in executors.enumerated() {
            prepared.append(
                try executor.prepare(
                    onEvent: onEvent, reusing: prepared.first, reused: index == 0 ? [] : reused,
                    announce: listing && executors.count == 1, listing: listing))
        }
        let variants = Array(zip(executors, prepared))
        guard variants.count > 1 else { return variants }
        let example = NodeContext.Item(path: "/example.jpg", relativePath: "example.jpg", index: 0)
        try refuseSweepCollisions(variants) { listing ? $0.items : [example] }
        if listing && workflow.iterator != nil { onEvent(.itemsFound(count: prepared.map(\.items.count).reduce(0, +))) }
        return variants
    }

    /// Refuses a sweep whose combinations would write the same files (a name without
    /// `{sweep}` or a swept param): each would replace the one before.
    private func refuseSweepCollisions(
        _ variants: [(executor: Executor, prepared: Prepared)], items: (Prepared) -> [NodeContext.Item]
    ) throws(RunError) {
        for node in workflow.nodes where node.scope == .perItem && node.node.descriptor.plannedOutput != nil {
            var writer: [String: String] = [:]
            for (executor, state) in variants {
                let variant = executor.variant ?? ""
                for item in items(state) {
                    guard let path = executor.plannedPath(of: node, item: item, shared: state.shared) else { continue }
                    if let first = writer[path], first != variant {
                        let which =
                            state.items.isEmpty
                            ? "the same file for \(first) and \(variant)" : "\(path) for both \(first) and \(variant)"
                        throw RunError(
                            message: """
                                node '\(node.name)' (\(node.kind)) would write \(which): each combination of the sweep \
                                needs its own files; nothing was processed (put {sweep} in the name)
                                """,
                            location: node.inputs["name"]?.location ?? node.location)
                    }
                    writer[path] = variant
                }
            }
        }
    }

    /// The state after `prepare`: shared results and the items to process.
    /// The files `items` and their `partners` read, as the protection against writing over an
    /// input compares them (symbolic links resolved).
    static func inputFiles(_ items: [NodeContext.Item], partners: [String: [String: String]]) -> [String] {
        (items.map(\.path) + partners.values.flatMap(\.values)).map {
            URL(fileURLWithPath: $0).resolvingSymlinksInPath().path
        }
    }

    struct Prepared: Sendable {
        let shared: [String: [String: Value]]
        /// Nodes that ran once and were left out by a `when:`.
        let skipped: Set<String>
        let items: [NodeContext.Item]
        /// Each item's files in the matched directories, by relative path and node.
        let partners: [String: [String: String]]
        let inputFiles: Set<String>
    }

    /// Runs the whole workflow.
    public func run(onEvent: @Sendable (RunEvent) -> Void = { _ in }) throws(RunError) -> RunSummary {
        let started = Date()
        let variants = try prepareVariants(onEvent: onEvent)
        let (executors, preparedAll) = (variants.map(\.executor), variants.map(\.prepared))
        // Work units: (combination, item), combinations outermost.
        let units = preparedAll.enumerated().flatMap { index, prepared in
            prepared.items.map { (variant: index, item: $0) }
        }
        let perItem = workflow.nodes.filter { $0.scope == .perItem }
        let items = units.map(\.item)
        let results = Mutex<[ItemResult?]>(Array(repeating: nil, count: items.count))
        let next = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let stop = Mutex<StopReason?>(nil)
        let writtenByRun = Mutex<[String]>([])
        let workers = min(options.jobs, max(items.count, 1))

        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                if options.cancellation?.isCancelled == true { stop.withLock { $0 = $0 ?? .interrupted } }
                guard stop.withLock({ $0 }) == nil else { return }
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < items.count else { return }
                let executor = executors[units[index].variant]
                let (result, written, unitStop) = executor.processRecorded(
                    items[index], nodes: perItem, prepared: preparedAll[units[index].variant],
                    threads: max(1, options.jobs / workers), onEvent: onEvent)
                var reason = unitStop
                writtenByRun.withLock { $0 += written }
                if result.status == .failed && options.failFast { reason = reason ?? .failFast }
                if let reason { stop.withLock { $0 = $0 ?? reason } }
                results.withLock { $0[index] = result }
                let count = completed.add(1, ordering: .relaxed).newValue
                onEvent(.itemFinished(result, completed: count, total: items.count))
            }
        }
        AtomicFile.removeStaleTemporaries(of: writtenByRun.withLock { $0 })
        options.cache?.evict()
        let stopped = stop.withLock { $0 }
        let final = results.withLock { results in
            results.enumerated().map { index, result in
                result
                    ?? ItemResult(
                        item: items[index], variant: executors[units[index].variant].variant, status: .skipped,
                        failedNode: nil, message: "not run: \(stopped ?? .interrupted)", seconds: 0)
            }
        }
        return RunSummary(
            items: final, seconds: Date().timeIntervalSince(started),
            stopped: final.contains { $0.status == .skipped } ? stopped : nil, shared: preparedAll[0].shared)
    }

    /// Runs one item; returns its result, the files it wrote (the path outputs of nodes with
    /// side effects), and why the whole run must stop, if its failure means that.
    /// One item of this combination as a run takes it: already done (recorded in the manifest, or
    /// its outputs kept), else processed and recorded; with the reason to stop the run, if any.
    func processRecorded(
        _ item: NodeContext.Item, nodes: [WorkflowNode], prepared: Prepared, threads: Int,
        onEvent: @Sendable (RunEvent) -> Void
    ) -> (result: ItemResult, written: [String], stop: StopReason?) {
        if let manifest = options.manifest,
            manifest.alreadyDone(ItemResult.key(item, variant: variant))
                || keepsOutputs(of: item, shared: prepared.shared)
        {
            let done = ItemResult(
                item: item, variant: variant, status: .alreadyDone, failedNode: nil, message: nil, seconds: 0)
            return (done, [], nil)
        }
        var (result, written, reason) = process(
            item, nodes: nodes, prepared: prepared, threads: threads, onEvent: onEvent)
        do {
            try options.manifest?.append(
                result, seed: Seeds.itemSeed(workflow: workflow.seed, relativePath: item.relativePath),
                outputs: written)
        } catch {
            // Unrecorded work would be redone by --resume, and everything after it too.
            reason = reason ?? .storage("cannot record progress in the run manifest: \(error)")
        }
        return (result, written, reason)
    }

    func process(
        _ item: NodeContext.Item, nodes: [WorkflowNode], prepared: Prepared, threads: Int,
        onEvent: @Sendable (RunEvent) -> Void
    ) -> (ItemResult, written: [String], stop: StopReason?) {
        let started = Date()
        var local: [String: [String: Value]] = [:]
        var written: [String] = []
        var previews: (input: Image?, output: Image?) = (nil, nil)
        let existingFile = existingFile(for: item)
        var skipped = prepared.skipped
        var (writers, filtered): (Int, String?) = (0, nil)
        for node in nodes {
            do {
                if node.node.descriptor.hasSideEffects { writers += 1 }
                var path = item.path
                if node.iteration?.match != nil {
                    guard let partner = prepared.partners[item.relativePath]?[node.name] else {
                        // unmatched: optional: the item runs without this node.
                        local[node.name] = [:]
                        skipped.insert(node.name)
                        continue
                    }
                    path = partner
                }
                var leaveOut = Set<String>()
                switch try gate(node, item: item, shared: prepared.shared, local: local, skipped: skipped) {
                case .skip(let fallback, let reason):
                    local[node.name] = fallback
                    skipped.insert(node.name)
                    if node.node.descriptor.hasSideEffects {
                        filtered = filtered ?? "node '\(node.name)' did not run: \(reason)"
                        writers -= 1
                    }
                    continue
                case .run(let unset): leaveOut = unset
                }
                var inputs = try evaluateInputs(
                    of: node, item: item, shared: prepared.shared, local: local, leaveOut: leaveOut)
                if let iteration = node.iteration { inputs[iteration.input] = .path(path) }
                let context = NodeContext(
                    item: item,
                    seed: Seeds.seed(workflow: workflow.seed, relativePath: item.relativePath, node: node.name),
                    inputFiles: prepared.inputFiles, threads: threads, existingFile: existingFile,
                    confinement: options.confinement, sandbox: options.sandbox)
                let outputs = try invoke(node, inputs, context, onEvent: onEvent)
                // A report shows the photo as read and as written: kept small now, while they are
                // in memory, rather than decoded again from the files.
                if let side = options.previewSide {
                    if node.iteration != nil, previews.input == nil, case .image(let image)? = outputs["image"] {
                        previews.input = image.fitting(maxSide: side)
                    }
                    if !node.node.descriptor.writeInputs.isEmpty, previews.output == nil,
                        case .image(let image)? = inputs["image"]
                    {
                        previews.output = image.fitting(maxSide: side)
                    }
                }
                if node.node.descriptor.hasSideEffects {
                    for case .path(let path) in outputs.values { written.append(path) }
                }
                local[node.name] = outputs
            } catch {
                var failed = ItemResult(
                    item: item, variant: variant, status: .failed, failedNode: node.name, message: "\(error)",
                    seconds: Date().timeIntervalSince(started))
                failed.inputPreview = previews.input
                return (failed, written, StorageFailure.stopReason(error))
            }
        }
        // Nothing written because every writer was left out: the item was filtered, not done.
        let wasFiltered = filtered != nil && writers == 0
        var result = ItemResult(
            item: item, variant: variant, status: wasFiltered ? .filtered : .done, failedNode: nil,
            message: wasFiltered ? filtered : nil,
            seconds: Date().timeIntervalSince(started))
        result.outputs = written.sorted()
        (result.inputPreview, result.outputPreview) = previews
        if let side = options.previewSide {
            for (node, outputs) in local {
                for (port, value) in outputs {
                    guard case .mask(let mask) = value, mask.width > 0, mask.height > 0 else { continue }
                    result.masks["\(node).\(port)"] = mask.fitting(maxSide: side)
                }
            }
        }
        return (result, result.outputs, nil)
    }

    func resolve(
        _ reference: Reference, shared: [String: [String: Value]],
        local: [String: [String: Value]]
    ) throws -> Value {
        if let port = reference.port {
            guard let outputs = local[reference.name] ?? shared[reference.name] else {
                throw NodeError("\(reference.text) has no value")
            }
            // The node ran and left an optional output out (a photo without EXIF).
            guard let value = outputs[port] else { throw AbsentValue(reference: reference) }
            return value
        }
        guard let value = params[reference.name] else { throw NodeError("param '\(reference.name)' has no value") }
        return value
    }

    /// The node's inputs: its expressions evaluated, defaults filled in, types and ranges checked.
    func evaluateInputs(
        of node: WorkflowNode, item: NodeContext.Item?, shared: [String: [String: Value]],
        local: [String: [String: Value]], only: Set<String>? = nil, leaveOut: Set<String> = []
    ) throws -> [String: Value] {
        var values: [String: Value] = [:]
        for spec in node.node.descriptor.inputs where only?.contains(spec.name) ?? true {
            guard let expression = node.inputs[spec.name], !leaveOut.contains(spec.name) else {
                if let value = spec.defaultValue { values[spec.name] = value }
                continue
            }
            let raw = try expression.evaluate({ try resolve($0, shared: shared, local: local) }, item: item)
            var value = raw.coerced(to: spec.type)
            if value == nil, spec.type == .integer, case .number(let n) = raw, n == n.rounded() {
                value = .integer(Int(n))
            }
            guard let value else { throw NodeError("input '\(spec.name)' expects \(spec.type), got \(raw)") }
            if let violation = ConstraintViolation.check(value, range: spec.range, choices: spec.choices) {
                throw NodeError("input '\(spec.name)' \(violation.requirement), \(violation.found)")
            }
            values[spec.name] = value
        }
        return values
    }

    /// Runs one node — or reuses its cached result — and checks it returned what its
    /// descriptor promises. Images it makes without metadata take their first input image's
    /// (profile, EXIF, XMP), so a photo's metadata reaches `save` through any node, plugins
    /// included. It is handed on after the cache: entries hold pixels, never another photo's EXIF.
    private func invoke(
        _ node: WorkflowNode, _ values: [String: Value], _ context: NodeContext,
        onEvent: @Sendable (RunEvent) -> Void
    ) throws -> [String: Value] {
        let outputs = try invokeOrReuse(node, values, context, onEvent: onEvent)
        let inherited = node.node.descriptor.inputs.lazy.map(\.name).compactMap { name -> ImageMetadata? in
            guard case .image(let image) = values[name], !image.metadata.isEmpty else { return nil }
            return image.metadata
        }.first
        guard let inherited else { return outputs }
        return outputs.mapValues { value in
            guard case .image(var image) = value, image.metadata.isEmpty else { return value }
            image.metadata = inherited
            return .image(image)
        }
    }

    private func invokeOrReuse(
        _ node: WorkflowNode, _ values: [String: Value], _ context: NodeContext,
        onEvent: @Sendable (RunEvent) -> Void
    ) throws -> [String: Value] {
        guard node.node.descriptor.cacheable, let cache = options.cache else {
            return try checked(node, try node.node.run(NodeInputs(values), context: context))
        }
        let key = ResultCache.key(for: node.node, inputs: values)
        let item = context.item?.relativePath
        func reused(_ lookup: ResultCache.Lookup) -> [String: Value]? {
            guard case .hit(let stored) = lookup, let valid = try? checked(node, stored) else { return nil }
            onEvent(.cache(node: node.name, item: item, outcome: .hit, key: key, detail: nil))
            return valid
        }
        let first = cache.load(key)
        if let valid = reused(first) { return valid }
        return try cache.withLock(key) {
            // Looked up again under the lock: another worker may have computed it meanwhile.
            if case .miss = first, let valid = reused(cache.load(key)) { return valid }
            var (outcome, detail): (RunEvent.CacheOutcome, String?) =
                switch first {
                case .corrupt(let reason): (.corrupt, reason)
                case .hit: (.corrupt, "the stored outputs do not match the node's ports")
                case .miss: (.miss, nil)
                }
            let outputs = try checked(node, try node.node.run(NodeInputs(values), context: context))
            do {
                try cache.store(key, outputs)
            } catch {
                detail = [detail, "could not store the result: \(error)"].compactMap { $0 }.joined(separator: "; ")
            }
            onEvent(.cache(node: node.name, item: item, outcome: outcome, key: key, detail: detail))
            return outputs
        }
    }

    /// The outputs, if they are every output the node declares, with the declared types.
    func checked(_ node: WorkflowNode, _ outputs: [String: Value]) throws -> [String: Value] {
        for spec in node.node.descriptor.outputs {
            if spec.optional, outputs[spec.name] == nil { continue }
            guard let value = outputs[spec.name], spec.type.accepts(value.type) else {
                throw NodeError("node kind '\(node.kind)' did not produce its output '\(spec.name)' (\(spec.type))")
            }
        }
        return outputs
    }
}
