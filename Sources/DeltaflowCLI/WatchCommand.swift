import ArgumentParser
import Dispatch
import Foundation
import Glibc
import NodeKit
import Synchronization
import Workflow

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Keep a workflow ready and process files as they arrive in its input folder (a hot folder).",
        discussion: """
            The nodes that run once (the exemplar's delta) run when it starts; then every file already \
            in the folder, and every file that arrives, is processed once it is complete: written and \
            closed (or moved in) and its size unchanged for --settle seconds. Files an earlier watch or \
            run of the same workflow and params finished are not processed again, so a watch stopped \
            with SIGINT or SIGTERM (which lets the files in progress finish) picks up where it left \
            off when started again.
            """)

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("set"), help: "Set a param: NAME=VALUE (repeatable).")
    var overrides: [String] = []

    @Option(name: .customLong("sweep"), help: "Process each file once per value: NAME=V1,V2,… (repeatable).")
    var sweeps: [String] = []

    @Option(help: "Seconds a file's size must stay the same after it is written before it is read.")
    var settle: Double = 1

    @Option(help: "Files processed at the same time; the default is the number of cores.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Stop at the first file that fails.")
    var failFast = false

    @Option(
        help: "Where run manifests and cached results are kept; default $DELTAFLOW_CACHE_DIR or ~/.cache/deltaflow.")
    var cacheDir: String?

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(help: "text for people, json for one JSON object per line.")
    var logFormat: RunLog.Format = .text

    @OptionGroup var models: ModelDirectoryOption
    @OptionGroup var plugins: PluginOptions
    @OptionGroup var allow: ConsentOptions

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
        guard settle >= 0, settle.isFinite else { throw ValidationError("--settle must be 0 or more seconds") }
    }

    func run() throws {
        let json = logFormat == .json
        let registry = standardRegistry(modelsDirectory: models.directory, plugins: plugins)
        let consent = try Consent(file: file, registry: registry, plugins: plugins, options: allow, json: json)
        try consent.require(json: json)
        let workflow = try loadWorkflow(file, registry: registry, consent: consent, json: json)
        let (params, sweep) = try bindParamsAndSweep(workflow, overrides, sweeps, json: json)
        let cacheRoot = CacheDirectory.resolve(cacheDir)
        let interrupts = Interrupts()
        var options = RunOptions(
            jobs: jobs, failFast: failFast, cache: ResultCache(directory: cacheRoot),
            cancellation: interrupts.cancellation,
            existing: .refuseUnlessWritten(RunManifest.writtenFiles(directory: cacheRoot)))
        options.sweep = sweep
        options.confinement = consent.confinement(
            workflow, overrides: overrides, sweep: sweep, cacheDirectory: cacheRoot)
        do {
            // Always resumed: a watch restarted goes on from what the last one finished.
            options.manifest = try RunManifest(
                directory: cacheRoot,
                runID: RunManifest.runID(
                    workflow: workflow,
                    params: params, sweep: sweep,
                    engineVersion: DeltaflowCommand.configuration.version),
                resume: true)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let log = RunLog(format: logFormat, quiet: quiet)
        let session: WatchSession
        do {
            session = try WatchSession(
                executor: Executor(workflow: workflow, params: params, options: options),
                written: Set(RunManifest.writtenFiles(directory: cacheRoot).keys), onEvent: { log.record($0) })
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
        let hotFolder: HotFolder
        do {
            hotFolder = try HotFolder(session.directory, recursive: session.recursive, settle: settle)
        } catch {
            printError("error: cannot watch \(session.directory): \(error)")
            throw ExitCode.failure
        }
        if json {
            printJSON(["event": "watching", "directory": session.directory])
        } else if !quiet {
            print("watching \(session.directory) (SIGINT or SIGTERM stops, letting the files in progress finish)")
        }
        let started = Date()
        let results = Mutex<[ItemResult]>([])
        // `jobs` workers take files from one queue: a folder of thousands at start waits as a
        // list, not as thousands of blocked threads.
        let queue = Mutex<[String]>([])
        let available = DispatchSemaphore(value: 0)
        let workers = DispatchGroup()
        let seen = Mutex<Set<String>>([])
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / jobs)
        let submit: @Sendable (String) -> Void = { relative in
            guard session.accepts(relative), seen.withLock({ $0.insert(relative).inserted }) else { return }
            queue.withLock { $0.append(relative) }
            available.signal()
        }
        for _ in 0..<jobs {
            DispatchQueue.global().async(group: workers) {
                while !interrupts.cancellation.isCancelled {
                    guard available.wait(timeout: .now() + 0.1) == .success,
                        !interrupts.cancellation.isCancelled,
                        let relative = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() })
                    else { continue }
                    // Looked at again: an output this session wrote may have been reported meanwhile.
                    guard session.accepts(relative) else { continue }
                    for result in session.process(relative, threads: threads, onEvent: { log.record($0) }) {
                        let count = results.withLock { all in
                            all.append(result)
                            return all.count
                        }
                        log.record(.itemFinished(result, completed: count, total: count))
                        if result.status == .failed && failFast { interrupts.cancellation.cancel() }
                    }
                }
            }
        }
        // Files already there settle like arrivals: one may be mid-copy as the watch starts.
        hotFolder.start(existing: session.existingFiles(), onReady: submit)
        while !interrupts.cancellation.isCancelled { usleep(50_000) }
        hotFolder.stop()
        // Files queued but not started are left for the next watch, which finds them there.
        workers.wait()
        let all = results.withLock { $0 }
        log.finish(
            RunSummary(
                items: all, seconds: Date().timeIntervalSince(started), stopped: nil, shared: [:]),
            manifest: options.manifest?.path ?? "", resume: nil)
        if failFast && all.contains(where: { $0.status == .failed }) { throw someItemsFailed }
    }
}

/// A folder watched with inotify: a file is reported once it is complete — closed after writing
/// or moved in, and its size unchanged for `settle` seconds (a copy that closes and reopens the
/// file between chunks is not read half-way).
final class HotFolder: @unchecked Sendable {
    private let root: String
    private let recursive: Bool
    private let settle: Double
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "deltaflow.watch.events")
    /// Watch descriptors → folder relative to the root ("" for the root). Used on `queue` only.
    private var folders: [Int32: String] = [:]
    /// Files written or moved in, waiting to settle: relative path → (size, when last seen changed).
    private var pending: [String: (size: Int, since: Date)] = [:]
    private var source: (any DispatchSourceRead)?
    private var timer: (any DispatchSourceTimer)?
    private var onReady: @Sendable (String) -> Void = { _ in }

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(_ root: String, recursive: Bool, settle: Double) throws {
        self.root = root
        self.recursive = recursive
        self.settle = settle
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        try queue.sync { try add("") }
    }

    deinit { close(descriptor) }

    /// Watches a folder (and, when recursive, those below it); files already in a folder added
    /// later (made by `mkdir -p` and filled at once) are reported too.
    private func add(_ relative: String) throws {
        let path = relative.isEmpty ? root : root + "/" + relative
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)
        let watch = inotify_add_watch(descriptor, path, mask)
        guard watch >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        folders[watch] = relative
        guard recursive else { return }
        for (child, isDirectory) in children(of: relative) {
            if isDirectory { try? add(child) } else if !relative.isEmpty { arrived(child) }
        }
    }

    /// The entries of folder `relative` that are not hidden, relative to the root.
    private func children(of relative: String) -> [(relative: String, isDirectory: Bool)] {
        let path = relative.isEmpty ? root : root + "/" + relative
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            let child = relative.isEmpty ? name : relative + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + child, isDirectory: &isDirectory) else {
                return nil
            }
            return (child, isDirectory.boolValue)
        }
    }

    func start(existing: [String], onReady: @escaping @Sendable (String) -> Void) {
        queue.sync {
            self.onReady = onReady
            for relative in existing { arrived(relative) }
            let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
            source.setEventHandler { [unowned self] in self.read() }
            source.resume()
            self.source = source
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + 0.1, repeating: 0.1)
            timer.setEventHandler { [unowned self] in self.check() }
            timer.resume()
            self.timer = timer
        }
    }

    func stop() {
        queue.sync {
            source?.cancel()
            timer?.cancel()
        }
    }

    private func read() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let (watch, mask, length) = buffer.withUnsafeBytes { raw in
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (event.wd, event.mask, Int(event.len))
                }
                let nameBytes = buffer[(offset + header)..<min(count, offset + header + length)]
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                offset += header + length
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    // Events were lost: every file there is looked at again (those done are skipped).
                    rescan("")
                    continue
                }
                guard let folder = folders[watch], !name.isEmpty else { continue }
                let relative = folder.isEmpty ? name : folder + "/" + name
                if mask & UInt32(IN_ISDIR) != 0 {
                    if recursive, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { try? add(relative) }
                } else if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    arrived(relative)
                }
            }
        }
    }

    private func rescan(_ relative: String) {
        for (child, isDirectory) in children(of: relative) {
            if isDirectory {
                if recursive { rescan(child) }
            } else {
                arrived(child)
            }
        }
    }

    private func arrived(_ relative: String) {
        pending[relative] = (size(relative) ?? -1, Date())
    }

    private func size(_ relative: String) -> Int? {
        var info = stat()
        return stat(root + "/" + relative, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Reports the files whose size held for `settle` seconds; restarts the wait of those that grew.
    private func check() {
        let now = Date()
        for (relative, state) in pending {
            guard let current = size(relative) else {
                pending[relative] = nil  // removed before it settled
                continue
            }
            if current != state.size {
                pending[relative] = (current, now)
            } else if now.timeIntervalSince(state.since) >= settle {
                pending[relative] = nil
                onReady(relative)
            }
        }
    }
}
