import ArgumentParser
import Foundation
import NodeKit
import Workflow

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

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("set"), help: "Set a param: NAME=VALUE (repeatable).")
    var overrides: [String] = []

    @Option(
        name: .customLong("sweep"),
        help: ArgumentHelp(
            "Run once per value of a param: NAME=V1,V2,… (repeatable: every combination).",
            discussion: "Name outputs with {sweep} (strength-0.5) or {NAME} so each combination keeps its own files.",
            valueName: "NAME=V1,V2"))
    var sweeps: [String] = []

    @OptionGroup var execution: ExecutionOptions

    @Option(
        help: ArgumentHelp(
            "Process only shard INDEX/COUNT of the files (INDEX from 0), to split one batch over COUNT workers.",
            discussion:
                "Every worker runs the same command with its own INDEX; each file belongs to exactly one shard, "
                + "chosen by a stable hash of its relative path. Share --cache-dir so the exemplar is encoded once. "
                + "See Examples/cluster for Kubernetes and Slurm.",
            valueName: "INDEX/COUNT"))
    var shard: String?

    @Flag(help: "Compute every result; neither read nor write cached results.")
    var noCache = false

    @Flag(help: "Print the plan — what runs once, what runs per file, how many files — and stop.")
    var dryRun = false

    @OptionGroup var models: ModelDirectoryOption
    @OptionGroup var plugins: PluginOptions
    @OptionGroup var allow: ConsentOptions

    func validate() throws {
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
        let json = execution.logFormat == .json
        let registry = standardRegistry(modelsDirectory: models.directory, plugins: plugins)
        let consent = try Consent(file: file, registry: registry, plugins: plugins, options: allow, json: json)
        // A dry run shows what the workflow would do; only running it needs consent.
        if !dryRun { try consent.require(json: json) }
        let workflow = try loadWorkflow(file, registry: registry, consent: consent, json: json)
        let (params, sweep) = try bindParamsAndSweep(workflow, overrides, sweeps, json: json)
        let shard = try parsedShard()
        let cacheRoot = CacheDirectory.resolve(execution.cacheDir)
        let confinement = consent.confinement(
            workflow, overrides: overrides, sweep: sweep, cacheDirectory: cacheRoot)
        if dryRun {
            let cache = noCache ? nil : ResultCache(directory: cacheRoot)
            var options = RunOptions(jobs: execution.jobs, cache: cache, shard: shard)
            options.confinement = confinement
            options.sweep = sweep
            try printPlan(workflow, Executor(workflow: workflow, params: params, options: options))
            let listing = consent.listing()
            if !listing.isEmpty {
                print("beyond image processing, it:\n" + listing.map { "  " + $0 }.joined(separator: "\n"))
            }
            return
        }
        try execution.run(
            workflow, params: params, sweep: sweep, shard: shard, cacheResults: !noCache, confinement: confinement)
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
            let what: String =
                switch step {
                case .once: "once"
                case .cached(let key): "once — cached result \(key.prefix(12)) will be reused"
                case .willCompute(let reason): "once — will be computed (\(reason))"
                case .leftOut(let reason): "once — left out: \(reason)"
                case .perItem:
                    "per file"
                        + (node.iteration.map {
                            " — iterates over files matching \($0.patterns.joined(separator: ", "))\($0.recursive ? ", recursively" : "")"
                        } ?? "")
                }
            print("  \(node.name) (\(node.kind)): \(what)")
        }
        if let count = plan.itemCount {
            let combinations = executor.sweep.reduce(1) { $0 * $1.values.count }
            print(
                "\(count) file\(count == 1 ? "" : "s") to process"
                    + (executor.sweep.isEmpty
                        ? ""
                        : ", each \(combinations) time\(combinations == 1 ? "" : "s") (sweep: "
                            + executor.sweep.map { "\($0.name) = \($0.values.map(\.text).joined(separator: ", "))" }
                            .joined(separator: "; ") + ")"))
        } else {
            print("the files to process are known only once the nodes above have run")
        }
    }
}

/// How a batch runs, for every command that runs one (`run`, `convert`): the engine's pool,
/// failure policy, manifest and `--resume`, interrupts, full-disk stop and run log.
struct ExecutionOptions: ParsableArguments {
    @Option(help: "Files processed at the same time; the default is the number of cores.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Stop at the first file that fails.")
    var failFast = false

    @Flag(help: "Skip files that an earlier, interrupted run of the same workflow and params finished.")
    var resume = false

    @Option(
        help: "Where run manifests (and cached results) are kept; default $DELTAFLOW_CACHE_DIR or ~/.cache/deltaflow.")
    var cacheDir: String?

    @Option(
        help: """
            An output file already there: never (refuse, unless deltaflow wrote it and it is unchanged), always \
            (replace it), if-newer (replace it when its input is newer, else keep it and skip the input).
            """)
    var overwrite: Overwrite = .never

    @Flag(help: "Keep output files already there and skip the inputs that made them (incremental batches).")
    var skipExisting = false

    enum Overwrite: String, ExpressibleByArgument, CaseIterable {
        case never, always
        case ifNewer = "if-newer"
    }

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(
        help: """
            Write a self-contained HTML page of the run here: the exemplar and what its fit found, \
            every photo beside its result (a before/after slider), masks, statuses, errors, timings.
            """)
    var report: String?

    @Option(help: "Process only N photos, evenly spread over the batch: a quick look (with --report) first.")
    var sample: Int?

    @Option(help: "text for people, json for one JSON object per line.")
    var logFormat: RunLog.Format = .text

    @Flag(
        help: """
            Run the programs of exec nodes inside bubblewrap: the file system read-only but for the node's             scratch folder, no network. Refused, with the reason, where the machine cannot make a sandbox.
            """)
    var sandbox = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
        if let sample, sample < 1 { throw ValidationError("--sample must be at least 1, not \(sample)") }
        if let report, URL(fileURLWithPath: report).pathExtension.lowercased() != "html" {
            throw ValidationError("--report writes an HTML page: end '\(report)' in .html")
        }
        if skipExisting && overwrite != .never {
            throw ValidationError(
                "--skip-existing keeps every output already there; --overwrite \(overwrite.rawValue) replaces some: give one"
            )
        }
    }

    /// Runs `workflow` to its end and throws the exit code its outcome calls for. The run joins
    /// `report` (or `--report`'s page), which is written as soon as the run ends.
    func run(
        _ workflow: Workflow, params: [String: Value], sweep: [SweepAxis] = [], shard: Shard? = nil,
        cacheResults: Bool = true,
        report given: RunReport? = nil, confinement: WriteConfinement? = nil
    ) throws {
        let report = given ?? report.map(RunReport.init(path:))
        let cacheRoot = CacheDirectory.resolve(cacheDir)
        // Read before this run's own manifest starts afresh: its earlier outputs are replaceable.
        let existing: ExistingOutputs =
            switch (skipExisting, overwrite) {
            case (true, _): .keep
            case (false, .always): .replace
            case (false, .ifNewer): .replaceIfNewer
            case (false, .never): .refuseUnlessWritten(RunManifest.writtenFiles(directory: cacheRoot))
            }
        let manifest: RunManifest
        do {
            manifest = try RunManifest(
                directory: cacheRoot,
                runID: RunManifest.runID(
                    workflow: workflow,
                    params: params, sweep: sweep,
                    engineVersion: DeltaflowCommand.configuration.version),
                shard: shard, resume: resume)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let interrupts = Interrupts()
        var options = RunOptions(
            jobs: jobs, failFast: failFast, manifest: manifest,
            cache: cacheResults ? ResultCache(directory: cacheRoot) : nil,
            shard: shard, cancellation: interrupts.cancellation, existing: existing)
        options.sample = sample
        options.confinement = confinement
        options.sweep = sweep
        if sandbox { options.sandbox = try programSandbox() }
        options.previewSide = report == nil ? nil : RunReport.thumbnailSide
        let executor = Executor(workflow: workflow, params: params, options: options)
        let log = RunLog(format: logFormat, quiet: quiet)
        let summary: RunSummary
        do {
            summary = try executor.run { log.record($0) }
        } catch {
            if logFormat == .json {
                printJSON(["event": "error", "message": error.message], at: error.location)
            }
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
        if let report {
            report.add(summary, workflow: workflow)
            do {
                try report.write()
                if logFormat == .json {
                    printJSON(["event": "report", "path": report.path])
                } else {
                    print("report: \(report.path)")
                }
            } catch {
                printError("warning: could not write the report \(report.path): \(error)")
            }
        }
        if let signal = interrupts.received, summary.stopped == .interrupted { throw ExitCode(128 + signal) }
        if case .storage? = summary.stopped { throw storageStopped }
        if !summary.failed.isEmpty || summary.skipped > 0 { throw someItemsFailed }
    }
}
