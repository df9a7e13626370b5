import ArgumentParser
import BuiltinNodes
import ModelNodes
import Models
import Foundation
import NodeKit
import Synchronization
import Workflow
import Spelling

/// Built-in and model-backed nodes (model weights are read only when a node runs), plus the
/// plugins on the search path; a plugin that fails to load is a warning, not the end of the run.
func standardRegistry(modelsDirectory: String = ModelFiles.directory(), plugins: PluginOptions) -> NodeRegistry {
    // Built-in kinds are distinct by construction; a clash is a programming error.
    var registry = try! NodeRegistry(Builtins.nodes + ModelNodes.nodes(modelsDirectory: modelsDirectory))
    for node in DeltaflowCLI.extraNodes.withLock({ $0 }) {
        do {
            try registry.register(node, origin: "this program")
        } catch {
            printError("warning: node kind not added: \(error.message)")
        }
    }
    let report = plugins.searchPath.load(into: &registry)
    for failure in report.failures { printError("warning: plugin not loaded: \(failure)") }
    return registry
}

/// Loads and validates a workflow, printing every diagnostic and exiting 1 if it is invalid.
func loadWorkflow(_ path: String, registry: NodeRegistry, plugins: PluginOptions) throws -> Workflow {
    do {
        let workflow = try Workflow.load(path, registry: registry, plugins: plugins.searchPath)
        for warning in workflow.warnings { printError(warning.rendered(source: workflow.source) + "\n") }
        return workflow
    } catch {
        printError(error.description)
        throw ExitCode.failure
    }
}

func bindParams(_ workflow: Workflow, _ overrides: [String]) throws -> [String: Value] {
    do {
        return try workflow.bindParams(overrides)
    } catch {
        printError(error.description)
        throw ExitCode.failure
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a workflow without running it; report every problem with its line and column.")

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("set"), help: "Also check a param value: NAME=VALUE (repeatable).")
    var overrides: [String] = []

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        let workflow = try loadWorkflow(file, registry: standardRegistry(plugins: plugins), plugins: plugins)
        if !overrides.isEmpty { _ = try bindParams(workflow, overrides) }
        let once = workflow.nodes.filter { $0.scope == .once }.count
        print("\(file): valid (\(workflow.nodes.count) nodes: \(once) run once, \(workflow.nodes.count - once) per item)")
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow over its inputs.",
        discussion: """
            Nodes that do not depend on the iterated files run once; the rest run once per file, \
            --jobs files at a time. A file that fails is reported with the node and the reason, and \
            the others still run (unless --fail-fast). Outputs are written atomically and never over \
            an input file.
            """)

    enum LogFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("set"), help: "Set a param: NAME=VALUE (repeatable).")
    var overrides: [String] = []

    @Option(help: "Files processed at the same time; the default is the number of cores.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Stop at the first file that fails.")
    var failFast = false

    @Flag(help: "Skip files that an earlier, interrupted run of the same workflow and params finished.")
    var resume = false

    @Option(help: "Where run manifests (and cached results) are kept; default $DELTAFLOW_CACHE_DIR or ~/.cache/deltaflow.")
    var cacheDir: String?

    @Option(help: ArgumentHelp(
        "Process only shard INDEX/COUNT of the files (INDEX from 0), to split one batch over COUNT workers.",
        discussion: "Every worker runs the same command with its own INDEX; each file belongs to exactly one shard, "
            + "chosen by a stable hash of its relative path. Share --cache-dir so the exemplar is encoded once. "
            + "See Examples/cluster for Kubernetes and Slurm.",
        valueName: "INDEX/COUNT"))
    var shard: String?

    @Flag(help: "Compute every result; neither read nor write cached results.")
    var noCache = false

    @Flag(help: "Print the plan — what runs once, what runs per file, how many files — and stop.")
    var dryRun = false

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(help: "text for people, json for one JSON object per line.")
    var logFormat: LogFormat = .text

    @OptionGroup var models: ModelDirectoryOption
    @OptionGroup var plugins: PluginOptions

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
        _ = try parsedShard()
    }

    private func parsedShard() throws -> Shard? {
        do {
            return try shard.map { try Shard(parsing: $0) }
        } catch {
            throw ValidationError("--shard: \(error)")
        }
    }

    func run() throws {
        let workflow = try loadWorkflow(file, registry: standardRegistry(modelsDirectory: models.directory, plugins: plugins),
                                        plugins: plugins)
        let params = try bindParams(workflow, overrides)
        let cacheRoot = CacheDirectory.resolve(cacheDir)
        let shard = try parsedShard()
        if dryRun {
            let cache = noCache ? nil : ResultCache(directory: cacheRoot)
            try printPlan(workflow, Executor(workflow: workflow, params: params,
                                             options: RunOptions(jobs: jobs, cache: cache, shard: shard)))
            return
        }
        let manifest: RunManifest
        do {
            manifest = try RunManifest(directory: cacheRoot,
                                       runID: RunManifest.runID(workflow: workflow, params: params,
                                                                engineVersion: DeltaflowCommand.configuration.version),
                                       shard: shard, resume: resume)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let interrupts = Interrupts()
        let executor = Executor(workflow: workflow, params: params,
                                options: RunOptions(jobs: jobs, failFast: failFast, manifest: manifest,
                                                    cache: noCache ? nil : ResultCache(directory: cacheRoot),
                                                    shard: shard, cancellation: interrupts.cancellation))
        let log = RunLog(format: logFormat, quiet: quiet)
        let summary: RunSummary
        do {
            summary = try executor.run { log.record($0) }
        } catch {
            printError(error.description)
            if let signal = interrupts.received {
                printError("to run it, use: \(resumeCommand())")
                throw ExitCode(128 + signal)
            }
            throw ExitCode.failure
        }
        // After --fail-fast, resuming would only meet the same failure again.
        let resumable = summary.stopped.map { $0 != .failFast } ?? false
        log.finish(summary, manifest: manifest.path, resume: resumable ? resumeCommand() : nil)
        if let signal = interrupts.received, summary.stopped == .interrupted { throw ExitCode(128 + signal) }
        if case .storage? = summary.stopped { throw storageStopped }
        if !summary.failed.isEmpty || summary.skipped > 0 { throw someItemsFailed }
    }

    private func printPlan(_ workflow: Workflow, _ executor: Executor) throws {
        let plan: Plan
        do {
            plan = try executor.plan()
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
        print("workflow \(workflow.name) (\(file)); dry run: no file is written, nothing costly is computed")
        for (node, step) in plan.steps {
            let what: String = switch step {
            case .once: "once"
            case .cached(let key): "once — cached result \(key.prefix(12)) will be reused"
            case .willCompute(let reason): "once — will be computed (\(reason))"
            case .perItem: "per file" + (node.iteration.map {
                " — iterates over files matching \($0.patterns.joined(separator: ", "))\($0.recursive ? ", recursively" : "")"
            } ?? "")
            }
            print("  \(node.name) (\(node.kind)): \(what)")
        }
        if let count = plan.itemCount {
            print("\(count) file\(count == 1 ? "" : "s") to process")
        } else {
            print("the files to process are known only once the nodes above have run")
        }
    }
}

/// Prints run events: a live progress line on a terminal, one line per file otherwise, or JSON
/// for machines. Thread-safe.
final class RunLog: Sendable {
    private let format: RunCommand.LogFormat
    private let quiet: Bool
    /// Standard output is a terminal: redraw one progress line instead of printing a line per file.
    private let live: Bool
    /// Completion times of the latest files, for a rate (and ETA) that follows recent speed.
    private let recent = Mutex<[Date]>([])
    private let lock = Mutex(())
    private let started = Date()

    init(format: RunCommand.LogFormat, quiet: Bool) {
        self.format = format
        self.quiet = quiet
        self.live = format == .text && !quiet && isatty(STDOUT_FILENO) == 1
    }

    /// Files per second over the last 20 completions (or since the start, before that).
    private func rate(now: Date) -> Double {
        recent.withLock { times in
            times.append(now)
            if times.count > 21 { times.removeFirst(times.count - 21) }
            let span = now.timeIntervalSince(times.count > 1 ? times[0] : started)
            return Double(max(times.count - 1, 1)) / max(span, 1e-9)
        }
    }

    private func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }

    func record(_ event: RunEvent) {
        lock.withLock { _ in
            switch (format, event) {
            case (.json, .sharedNodeFinished(let name, let seconds)):
                emit(["event": "node_done", "node": name, "seconds": seconds])
            case (.json, .cache(let node, let item, let outcome, let key, let detail)):
                var object: [String: Any] = ["event": "cache", "node": node, "outcome": outcome.rawValue, "key": key]
                if let item { object["path"] = item }
                if let detail { object["detail"] = detail }
                emit(object)
            case (.text, .cache(let node, let item, let outcome, let key, let detail)):
                let subject = "\(node)" + (item.map { " (\($0))" } ?? "")
                switch outcome {
                case .hit: if !quiet { print("\(subject): reused cached result \(key.prefix(12))") }
                case .miss: if !quiet { print("\(subject): computed and cached as \(key.prefix(12))") }
                case .corrupt: printError("warning: \(subject): cached result \(key.prefix(12)) was damaged (\(detail ?? "")); recomputed")
                }
            case (.json, .itemsFound(let count)):
                emit(["event": "items", "count": count])
            case (.json, .itemFinished(let result, let completed, let total)):
                var object: [String: Any] = ["event": "item", "status": result.status.rawValue,
                                             "path": result.item.relativePath, "seconds": result.seconds,
                                             "completed": completed, "total": total]
                if let node = result.failedNode { object["node"] = node }
                if let message = result.message { object["error"] = message }
                emit(object)
            case (.text, .sharedNodeFinished(let name, let seconds)):
                if !quiet { print("ran \(name) once (\(String(format: "%.2f", seconds)) s)") }
            case (.text, .itemsFound(let count)):
                if !quiet { print("\(count) file\(count == 1 ? "" : "s") to process") }
            case (.text, .itemFinished(let result, let completed, let total)):
                let perSecond = rate(now: Date())
                let eta = clock(Double(total - completed) / max(perSecond, 1e-9))
                if result.status == .failed {
                    if live { print("\r\u{1B}[K", terminator: "") }
                    printError("failed \(result.item.relativePath): node '\(result.failedNode ?? "?")': \(result.message ?? "")")
                }
                if live {
                    let line = "[\(completed)/\(total)] \(String(format: "%.1f", perSecond)) files/s, ETA \(eta)  \(result.item.relativePath)"
                    print("\r\u{1B}[K" + String(line.prefix(120)), terminator: "")
                    fflush(nil)  // all streams: naming `stdout` is not concurrency-safe in Swift 6
                } else if !quiet && result.status != .failed {
                    let what = result.status == .alreadyDone ? "already done" : String(format: "%.2f s", result.seconds)
                    print("[\(completed)/\(total)] \(result.item.relativePath) \(what) (\(String(format: "%.1f", perSecond)) files/s, ETA \(eta))")
                }
            }
        }
    }

    /// Prints the summary; `resume` is the command that finishes a run that stopped early.
    func finish(_ summary: RunSummary, manifest: String, resume: String?) {
        lock.withLock { _ in
            if format == .json {
                var object: [String: Any] = ["event": "summary", "done": summary.done, "failed": summary.failed.count,
                                             "skipped": summary.skipped, "already_done": summary.alreadyDone,
                                             "seconds": summary.seconds, "manifest": manifest]
                if let stopped = summary.stopped { object["stopped"] = stopped.description }
                if let resume { object["resume"] = resume }
                emit(object)
                return
            }
            if live { print("\r\u{1B}[K", terminator: "") }
            var line = "done \(summary.done), failed \(summary.failed.count), skipped \(summary.skipped)"
                + (summary.alreadyDone > 0 ? ", already done \(summary.alreadyDone)" : "")
                + " in \(String(format: "%.2f", summary.seconds)) s"
            if summary.skipped > 0 || !summary.failed.isEmpty {
                line += "\nper-file record: \(manifest)"
            }
            if !summary.failed.isEmpty {
                line += "\nfailed files:"
                for failure in summary.failed {
                    line += "\n  \(failure.item.path): node '\(failure.failedNode ?? "?")': \(failure.message ?? "")"
                }
            }
            if let stopped = summary.stopped {
                line += "\n\(stopped); \(summary.skipped) file\(summary.skipped == 1 ? "" : "s") not run"
            }
            if let resume { line += "\nto finish the rest, run: \(resume)" }
            print(line)
        }
    }

    private func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        print(String(decoding: data, as: UTF8.self))
    }
}

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the node kinds, or describe one: its ports, types, defaults and an example.")

    @Argument(help: "A node kind to describe.")
    var kind: String?

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        let registry = standardRegistry(plugins: plugins)
        guard let kind else {
            let width = registry.kinds.map(\.count).max() ?? 0
            for descriptor in registry.descriptors {
                print(descriptor.kind.padding(toLength: width + 2, withPad: " ", startingAt: 0) + descriptor.summary)
            }
            return
        }
        guard let node = registry[kind] else {
            let guess = closestMatch(to: kind, in: registry.kinds).map { " (did you mean '\($0)'?)" } ?? ""
            printError("error: no node kind '\(kind)'\(guess); 'deltaflow nodes' lists them")
            throw ExitCode.failure
        }
        print(describe(node.descriptor, origin: registry.origin(of: kind)))
    }

    private func describe(_ d: NodeDescriptor, origin: String?) -> String {
        var lines = ["\(d.kind) (version \(d.version)): \(d.summary)", "", "inputs:"]
        for port in d.inputs {
            var facts = [port.type.rawValue]
            if let value = port.defaultValue { facts.append("default \(value)") }
            else if port.optional { facts.append("optional") }
            else { facts.append("required") }
            if let range = port.range { facts.append("\(formatNumber(range.lowerBound))...\(formatNumber(range.upperBound))") }
            if let choices = port.choices { facts.append("one of " + choices.joined(separator: ", ")) }
            lines.append("  \(port.name) (\(facts.joined(separator: ", "))): \(port.doc)")
        }
        if let input = d.iterationInput {
            lines.append("  with 'each: DIR' (and optional 'pattern', 'recursive') the node runs once per file, as its '\(input)'")
        }
        lines.append("outputs:")
        for port in d.outputs { lines.append("  \(port.name) (\(port.type.rawValue)): \(port.doc)") }
        if let origin, origin != NodeRegistry.builtIn { lines.append("from \(origin)") }
        if !d.example.isEmpty { lines += ["example:", "  " + d.example] }
        return lines.joined(separator: "\n")
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of workflow files (for editor completion and checking).",
        discussion: "Workflows/workflow.schema.json is this output; regenerate it after changing a node.")

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        print(WorkflowSchema.json(for: standardRegistry(plugins: plugins)), terminator: "")
    }
}

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
            print("cached results: \(entries) (\(ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .file)); "
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
