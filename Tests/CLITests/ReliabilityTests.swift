import Foundation
import Testing

/// A directory of `count` small photos (copies of the examples, shrunk) and a workflow whose
/// per-file step lasts $DELTAFLOW_TEST_DELAY seconds, so a run can be caught in the middle.
private struct SlowBatch {
    let root: URL
    let input: URL
    let workflow: URL

    init(count: Int) throws {
        root = try temporaryDirectory()
        input = root.appendingPathComponent("in")
        let small = root.appendingPathComponent("small")
        let converted = try deltaflow([
            "convert", repository.appendingPathComponent("Examples").path, "--output", small.path,
            "--max-side", "48", "--format", "png",
        ])
        #expect(converted.status == 0, "\(converted.stderr)")
        let photos = try FileManager.default.contentsOfDirectory(atPath: small.path).sorted()
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for index in 0..<count {
            try FileManager.default.copyItem(
                at: small.appendingPathComponent(photos[index % photos.count]),
                to: input.appendingPathComponent(String(format: "photo%03d.png", index)))
        }
        let script = root.appendingPathComponent("delay.sh")
        try "exec sleep \"${DELTAFLOW_TEST_DELAY:-0}\"\n".write(to: script, atomically: true, encoding: .utf8)
        workflow = root.appendingPathComponent("slow.yaml")
        try """
        version: 1
        params: {input: {type: dir}, output: {type: dir}}
        nodes:
          photo: {node: load, each: $input, pattern: "*.png"}
          waited: {node: exec, image: $photo.image, command: [sh, "\(script.path)"]}
          dimmed: {node: adjust, image: $waited.image, exposure: -0.5}
          out: {node: save, image: $dimmed.image, dir: $output, name: "{stem}.png"}
        """.write(to: workflow, atomically: true, encoding: .utf8)
    }

    func arguments(output: String, cache: String = "cache", jobs: Int = 2) -> [String] {
        [
            "run", workflow.path, "--set", "input=\(input.path)", "--set", "output=\(root.path)/\(output)",
            "--cache-dir", "\(root.path)/\(cache)", "--jobs", "\(jobs)", "--allow", "exec",
        ]
    }

    func directory(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// The run manifest's records (one JSON object per line) under cache directory `cache`.
    func manifestRecords(cache: String = "cache") throws -> [[String: Any]] {
        let runs = root.appendingPathComponent(cache).appendingPathComponent("runs")
        var records: [[String: Any]] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: runs.path) {
            let text = try String(contentsOf: runs.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") {
                records.append(try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])
            }
        }
        return records
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// The processes `parent` started that are still running.
private func childProcesses(of parent: pid_t) -> [pid_t] {
    let tasks = "/proc/\(parent)/task"
    return ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).flatMap { task in
        ((try? String(contentsOfFile: "\(tasks)/\(task)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { pid_t($0) }
    }
}

private func hiddenFiles(_ directory: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasPrefix(".") }
}

@Suite("Interruption: SIGINT and SIGTERM")
struct InterruptionTests {
    @Test(
        "The first SIGINT finishes the files in progress, records them, says how to resume; --resume completes the batch exactly"
    )
    func gracefulInterrupt() throws {
        let batch = try SlowBatch(count: 60)
        defer { batch.remove() }
        let reference = try deltaflow(batch.arguments(output: "reference", cache: "reference-cache") + ["--quiet"])
        #expect(reference.status == 0, "\(reference.stderr)")

        let run = try ProgramRun(
            deltaflow: batch.arguments(output: "out"),
            environment: ["DELTAFLOW_TEST_DELAY": "0.25"])
        run.waitForOutputs(2, in: batch.directory("out"))
        run.process.interrupt()
        let result = run.finish()
        #expect(result.status == 130, "\(result.stderr)")
        #expect(result.stderr.contains("SIGINT: finishing the files in progress; no new file starts"))
        #expect(result.stdout.contains("skipped \(60 - (try outputs(batch.directory("out"))).count)"))
        #expect(result.stdout.contains("\nthe run was interrupted\nto finish the rest, run: "), "\(result.stdout)")
        #expect(result.stdout.contains("to finish the rest, run: \(deltaflowBinary().path) run \(batch.workflow.path)"))
        #expect(result.stdout.contains("--resume\n"))

        // Consistent: every output is complete and recorded as done, no temporary file is left.
        let written = try outputs(batch.directory("out"))
        let records = try batch.manifestRecords()
        #expect(written.count >= 2 && written.count < 60)
        #expect(
            Set(records.map { "\($0["key"]!)" }) == Set(written.keys), "each finished file is recorded, nothing else")
        #expect(records.allSatisfy { $0["status"] as? String == "done" })
        let expected = try outputs(batch.directory("reference"))
        for (name, data) in written { #expect(data == expected[name], "\(name)") }
        #expect(hiddenFiles(batch.directory("out")).isEmpty)

        let resumed = try deltaflow(batch.arguments(output: "out") + ["--resume", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(
            resumed.stdout.contains("done \(60 - written.count), failed 0, skipped 0, already done \(written.count)"))
        #expect(try outputs(batch.directory("out")) == expected)
    }

    @Test("SIGTERM (what Kubernetes and Slurm send) ends the same way, with status 143")
    func terminate() throws {
        let batch = try SlowBatch(count: 30)
        defer { batch.remove() }
        let run = try ProgramRun(
            deltaflow: batch.arguments(output: "out") + ["--log-format", "json"],
            environment: ["DELTAFLOW_TEST_DELAY": "0.25"])
        run.waitForOutputs(1, in: batch.directory("out"))
        run.process.terminate()
        let result = run.finish()
        #expect(result.status == 143, "\(result.stderr)")
        let summary = try #require(result.stdout.split(separator: "\n").last)
        let object = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as! [String: Any]
        #expect(object["event"] as? String == "summary")
        #expect(object["stopped"] as? String == "the run was interrupted")
        #expect((object["resume"] as? String)?.hasSuffix(" --log-format json --resume") == true)
        #expect((object["done"] as? Int).map { $0 >= 1 } == true)
    }

    @Test("A second signal abandons the files in progress at once; no temporary file is left behind")
    func abandon() throws {
        let batch = try SlowBatch(count: 20)
        defer { batch.remove() }
        // Long enough that the files in progress are still running when the second signal comes.
        let run = try ProgramRun(
            deltaflow: batch.arguments(output: "out"),
            environment: ["DELTAFLOW_TEST_DELAY": "30"])
        var children: [pid_t] = []
        while run.process.isRunning && children.count < 2 {
            usleep(10_000)
            children = childProcesses(of: run.process.processIdentifier)
        }
        defer { for child in children { kill(child, SIGKILL) } }
        run.process.interrupt()
        while run.process.isRunning
            && !((try? String(contentsOf: run.stderr, encoding: .utf8)) ?? "").contains("SIGINT")
        {
            usleep(10_000)
        }
        run.process.terminate()
        let result = run.finish()
        #expect(result.status == 143, "\(result.stderr)")
        #expect(result.stderr.contains("SIGTERM, a second signal: abandoning the files in progress"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: batch.directory("out").path)) ?? []).isEmpty)
        // Redirected to a file, the log so far is kept, and how to go on is said.
        #expect(result.stdout.contains("20 files to process\n"), "\(result.stdout)")
        #expect(result.stderr.contains("to finish the rest, run: ") && result.stderr.hasSuffix("--resume\n"))
    }
}

@Suite("Leftovers of killed runs")
struct LeftoverTests {
    @Test("Temporary files a killed run left beside an output are removed when that output is written")
    func staleTemporaries() throws {
        let batch = try SlowBatch(count: 3)
        defer { batch.remove() }
        let out = batch.directory("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // As a SIGKILL during the write of photo001.png would leave them; the others are not ours to remove.
        for name in [
            ".photo001.png.deltaflow-a1B2c3", ".photo001.png.deltaflow-Zz9yX8", ".photo999.png.deltaflow-a1B2c3",
            ".notes.deltaflow", ".photo001.png",
        ] {
            _ = FileManager.default.createFile(
                atPath: out.appendingPathComponent(name).path, contents: Data([1, 2, 3]))
        }
        let result = try deltaflow(batch.arguments(output: "out") + ["--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(hiddenFiles(out).sorted() == [".notes.deltaflow", ".photo001.png", ".photo999.png.deltaflow-a1B2c3"])
    }
}

@Suite("Sharded runs")
struct ShardTests {
    @Test(
        "N processes with --shard K/N over one directory: every file once, outputs equal to one process, the exemplar encoded once"
    )
    func shards() throws {
        let batch = try SlowBatch(count: 24)
        defer { batch.remove() }
        let workflow = repository.appendingPathComponent("Workflows/exemplar-color.yaml").path
        func arguments(output: String, cache: String) -> [String] {
            [
                "run", workflow, "--set", "input=\(batch.input.path)", "--set", "output=\(batch.root.path)/\(output)",
                "--set", "before=\(repository.path)/Examples/astronaut.png",
                "--set", "after=\(repository.path)/Exemplars/astronaut-graded.png",
                "--cache-dir", "\(batch.root.path)/\(cache)", "--jobs", "1", "--log-format", "json",
            ]
        }
        let single = try deltaflow(arguments(output: "single", cache: "single-cache"))
        #expect(single.status == 0, "\(single.stderr)")

        let count = 3
        let runs = try (0..<count).map { index in
            try ProgramRun(
                deltaflow: arguments(output: "sharded", cache: "shared-cache") + ["--shard", "\(index)/\(count)"])
        }
        var processed: [String] = []
        var computed = 0
        var reused = 0
        for (index, run) in runs.enumerated() {
            let result = run.finish()
            #expect(result.status == 0, "shard \(index): \(result.stderr)")
            var mine: [String] = []
            for line in result.stdout.split(separator: "\n") {
                let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                switch event["event"] as? String {
                case "item":
                    #expect(event["status"] as? String == "done", "\(event)")
                    mine.append(event["path"] as! String)
                case "cache" where event["node"] as? String == "delta":
                    if event["outcome"] as? String == "miss" { computed += 1 } else { reused += 1 }
                default: break
                }
            }
            #expect(!mine.isEmpty, "shard \(index) got no file: the hash spreads 24 files badly")
            processed += mine
        }
        #expect(processed.count == 24, "no file twice")
        #expect(Set(processed) == Set((0..<24).map { String(format: "photo%03d.png", $0) }), "none missed")
        #expect(computed == 1 && reused == count - 1, "the exemplar is encoded once, by one of the workers")
        #expect(try outputs(batch.directory("sharded")) == (try outputs(batch.directory("single"))))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: batch.directory("shared-cache/runs").path).sorted()
                .map { $0.split(separator: ".").dropFirst().joined(separator: ".") }
                == ["shard-0-of-3.jsonl", "shard-1-of-3.jsonl", "shard-2-of-3.jsonl"], "one manifest per shard")
    }

    @Test("Examples/cluster/slurm-array.sh, run as three array tasks, processes every file once")
    func slurmScript() throws {
        let batch = try SlowBatch(count: 12)
        defer { batch.remove() }
        for task in 0..<3 {
            let result = try runProgram(
                "/bin/bash", [repository.appendingPathComponent("Examples/cluster/slurm-array.sh").path],
                environment: [
                    "SLURM_ARRAY_TASK_ID": "\(task)", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_CPUS_PER_TASK": "1",
                    "WORKFLOW": batch.workflow.path, "INPUT": batch.input.path, "OUTPUT": batch.directory("out").path,
                    "CACHE": batch.directory("cache").path, "DELTAFLOW": deltaflowBinary().path, "ALLOW": "exec",
                ])
            #expect(result.status == 0, "task \(task)")
        }
        #expect(try outputs(batch.directory("out")).count == 12)
        let records = try batch.manifestRecords()
        #expect(records.count == 12 && Set(records.map { "\($0["key"]!)" }).count == 12, "each file once")
    }

    @Test("Examples/cluster/kubernetes-indexed-job.yaml: its pods' command lines run, and cover every file once")
    func kubernetesManifest() throws {
        let text = try String(
            contentsOf: repository.appendingPathComponent("Examples/cluster/kubernetes-indexed-job.yaml"),
            encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let completions = try #require(
            lines.first { $0.hasPrefix("completions:") }
                .flatMap { Int($0.split(separator: " ")[1]) })
        #expect(lines.contains("command: [deltaflow]"))
        let start = try #require(lines.firstIndex(of: "args:"))
        let end = try #require(lines.firstIndex(of: "resources:"))
        let arguments = lines[(start + 1)..<end].map { line in
            String(line.dropFirst(2)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        #expect(arguments.contains("$(JOB_COMPLETION_INDEX)/\(completions)"), "the shard count must equal completions")

        // /data is the pods' shared volume: here a scratch folder with the same layout.
        let batch = try SlowBatch(count: 20)
        defer { batch.remove() }
        let data = batch.directory("data")
        try FileManager.default.createDirectory(
            at: data.appendingPathComponent("workflows"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: data.appendingPathComponent("photos"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Workflows/exemplar-color.yaml"),
            to: data.appendingPathComponent("workflows/exemplar-color.yaml"))
        try FileManager.default.copyItem(at: batch.input, to: data.appendingPathComponent("photos/shoot-2026-11"))
        for index in 0..<completions {
            let pod = arguments.map {
                $0.replacingOccurrences(of: "$(JOB_COMPLETION_INDEX)", with: "\(index)")
                    .replacingOccurrences(of: "/data/", with: data.path + "/")
            }
            // The workflow's default exemplar paths are relative to the repository.
            let result = try deltaflow(
                pod + [
                    "--set", "before=\(repository.path)/Examples/astronaut.png",
                    "--set", "after=\(repository.path)/Exemplars/astronaut-graded.png",
                ])
            #expect(result.status == 0, "pod \(index): \(result.stderr)")
        }
        #expect(try outputs(data.appendingPathComponent("photos/shoot-2026-11-graded")).count == 20)
    }

    @Test(
        "A bad --shard is a usage error that says what is allowed",
        arguments: [
            ("4/4", "shard 4 does not exist: with 4 shards the index is 0 to 3"),
            ("1/0", "the shard count must be at least 1, not 0"),
            ("2", "'2' is not a shard; write INDEX/COUNT with INDEX from 0, e.g. 0/4"),
            ("-1/3", "shard -1 does not exist"),
        ])
    func badShard(value: String, message: String) throws {
        let result = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
            "--set", "input=Examples", "--set", "output=/tmp/never", "--shard=\(value)",
        ])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--shard: \(message)"), "\(result.stderr)")
    }

    @Test("--dry-run counts the files of the shard")
    func dryRun() throws {
        let batch = try SlowBatch(count: 24)
        defer { batch.remove() }
        var total = 0
        for index in 0..<4 {
            let result = try deltaflow(batch.arguments(output: "out") + ["--dry-run", "--shard", "\(index)/4"])
            let line = try #require(result.stdout.split(separator: "\n").last { $0.hasSuffix(" to process") })
            total += Int(line.split(separator: " ")[0])!
        }
        #expect(total == 24)
    }
}

/// Runs `command` as root in a private mount namespace with a fresh tmpfs (mount options
/// `options`) at `directory`; nil where this machine does not allow that.
private func inPrivateTmpfs(_ directory: URL, options: String, _ command: [String]) throws -> (
    status: Int32, stdout: String, stderr: String
)? {
    guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return nil }
    let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    let result = try runProgram(
        "/usr/bin/unshare",
        ["-m", "sh", "-c", "mount -t tmpfs -o \(options) tmpfs '\(directory.path)' || exit 99; exec \(quoted)"])
    return result.status == 99 ? nil : result
}

@Suite("Outputs that cannot be written")
struct StorageTests {
    private func fullRun(options: String) throws -> (
        result: (status: Int32, stdout: String, stderr: String), out: URL, root: URL
    )? {
        let root = try temporaryDirectory()
        let out = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // 16-bit PNGs of the example photos: well over 100 kB each, so a 256 kB disk holds about one.
        let workflow = root.appendingPathComponent("copy.yaml")
        try """
        version: 1
        params: {input: {type: dir}, output: {type: dir}}
        nodes:
          photo: {node: load, each: $input, pattern: "*.{jpg,png}"}
          out: {node: save, image: $photo.image, dir: $output, name: "{stem}.png", bit_depth: 16}
        """.write(to: workflow, atomically: true, encoding: .utf8)
        let command = [
            deltaflowBinary().path, "run", workflow.path, "--set", "input=\(repository.path)/Examples",
            "--set", "output=\(out.path)", "--cache-dir", root.appendingPathComponent("cache").path,
            "--jobs", "1", "--quiet",
        ]
        // The listing runs inside the namespace too: the tmpfs is gone once it exits.
        guard
            let result = try inPrivateTmpfs(
                out, options: options,
                [
                    "sh", "-c", "\"$@\"; status=$?; echo; echo LISTING; ls -a \"\(out.path)\"; exit $status",
                    "sh",
                ] + command)
        else {
            try? FileManager.default.removeItem(at: root)
            return nil
        }
        return (result, out, root)
    }

    @Test("A full disk stops the run with what happened and how to go on; nothing partial is left")
    func diskFull() throws {
        guard let (result, _, root) = try fullRun(options: "size=256k") else { return }  // no mount namespaces here
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(result.status == 4, "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stderr.contains(
                "No space left on device (the disk is full; free some space and run again with --resume)"),
            "\(result.stderr)")
        #expect(result.stdout.contains("the run stopped: "), "\(result.stdout)")
        #expect(result.stdout.contains("to finish the rest, run: "))
        let listing = result.stdout.components(separatedBy: "LISTING\n").last ?? ""
        let files = listing.split(separator: "\n").filter { $0 != "." && $0 != ".." }
        #expect(files.allSatisfy { !$0.hasPrefix(".") }, "temporary files left: \(files)")
        #expect(files.count < 5)
    }

    @Test("A read-only output directory stops the run at the first file with a clear error")
    func readOnly() throws {
        guard let (result, _, root) = try fullRun(options: "ro") else { return }
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(result.status == 4, "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stderr.contains(
                "Read-only file system (the file system is read-only; choose another output directory)"),
            "\(result.stderr)")
        #expect(result.stdout.contains("done 0, failed 1, skipped 4"), "\(result.stdout)")
    }
}

@Suite("Hostile input directories")
struct HostileInputTests {
    /// The outcome the run must report for each file: nil = processed, else part of the reason.
    static let expected: [String: String?] = [
        "good1.png": nil, "good2.jpg": nil, "sub/good3.png": nil,
        "jpeg-named.png": nil,  // formats are recognised by content, not by the extension
        "truncated.png": "truncated", "truncated.jpg": "truncated JPEG data",
        "bad_crc.png": "corrupt PNG data", "corrupt_scan.jpg": "JPEG",
        "empty.png": "empty file", "text.jpg": "not a PNG, JPEG, TIFF or WebP file",
        "gif-named.png": "GIF", "bomb.png": "above the limit", "bomb.jpg": "above the limit",
        "dangling.png": "no such file", "self-loop.png": "too many levels of symbolic links",
        "fifo.png": "not a regular file", "unreadable.png": "permission denied",
    ]

    @Test(
        "Each broken, huge, mislabelled, looping, special or unreadable file is reported by path and reason; the rest complete"
    )
    func hostileDirectory() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("in")
        let fixtures = repository.appendingPathComponent("Tests/ImageCodecsTests/Fixtures")
        try FileManager.default.createDirectory(
            at: input.appendingPathComponent("sub"), withIntermediateDirectories: true)
        func copy(_ from: String, _ to: String) throws {
            try FileManager.default.copyItem(
                at: repository.appendingPathComponent(from), to: input.appendingPathComponent(to))
        }
        try copy("Tests/ImageCodecsTests/Fixtures/png/rgb8.png", "good1.png")
        try copy("Tests/ImageCodecsTests/Fixtures/jpeg/baseline.jpg", "good2.jpg")
        try copy("Tests/ImageCodecsTests/Fixtures/png/rgba16.png", "sub/good3.png")
        try copy("Tests/ImageCodecsTests/Fixtures/jpeg/gray.jpg", "jpeg-named.png")
        for name in [
            "truncated.png", "truncated.jpg", "bad_crc.png", "corrupt_scan.jpg", "empty.png", "text.jpg",
            "bomb.png", "bomb.jpg",
        ] {
            try FileManager.default.copyItem(
                at: fixtures.appendingPathComponent("broken/\(name)"), to: input.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("broken/really_a_gif.png"),
            to: input.appendingPathComponent("gif-named.png"))
        let fm = FileManager.default
        try fm.createSymbolicLink(
            atPath: input.appendingPathComponent("dangling.png").path, withDestinationPath: "nowhere.png")
        try fm.createSymbolicLink(
            atPath: input.appendingPathComponent("self-loop.png").path, withDestinationPath: "self-loop.png")
        try fm.createSymbolicLink(atPath: input.appendingPathComponent("sub/loop").path, withDestinationPath: "..")
        #expect(mkfifo(input.appendingPathComponent("fifo.png").path, 0o644) == 0)
        try copy("Tests/ImageCodecsTests/Fixtures/png/rgb8.png", "unreadable.png")
        try fm.setAttributes([.posixPermissions: 0], ofItemAtPath: input.appendingPathComponent("unreadable.png").path)

        let workflow = root.appendingPathComponent("copy.yaml")
        try """
        version: 1
        params: {input: {type: dir}, output: {type: dir}}
        nodes:
          photo: {node: load, each: $input, pattern: "*.{png,jpg}", recursive: true, max_pixels: 20000000}
          out: {node: save, image: $photo.image, dir: $output, name: "{reldir}/{stem}-{ext}.png"}
        """.write(to: workflow, atomically: true, encoding: .utf8)
        let output = root.appendingPathComponent("out")
        var command = [
            deltaflowBinary().path, "run", workflow.path, "--set", "input=\(input.path)", "--set",
            "output=\(output.path)",
            "--cache-dir", root.appendingPathComponent("cache").path, "--log-format", "json",
        ]
        // Root reads any file; without the capability to override permissions it cannot read unreadable.png either.
        if geteuid() == 0 {
            command = ["/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search"] + command
        }
        let result = try runProgram(command[0], Array(command.dropFirst()))
        #expect(result.status == 3)

        var outcomes: [String: String?] = [:]
        for line in result.stdout.split(separator: "\n") {
            let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            guard event["event"] as? String == "item", let path = event["path"] as? String else { continue }
            #expect(outcomes[path] == nil, "\(path) reported twice")
            outcomes[path] = event["status"] as? String == "done" ? String?.none : (event["error"] as? String ?? "")
        }
        // The loop (sub/loop → ..) is walked once, not forever: nothing under sub/loop/ is listed.
        #expect(Set(outcomes.keys) == Set(Self.expected.keys))
        for (path, reason) in Self.expected {
            guard let outcome = outcomes[path] else { continue }
            if let reason {
                #expect(outcome?.contains(reason) == true, "\(path): \(outcome ?? "done")")
                #expect(
                    outcome?.contains(input.appendingPathComponent(path).path) == true,
                    "\(path): the error names the file")
            } else {
                #expect(outcome == nil, "\(path): \(outcome ?? "")")
            }
        }
        let written = try fm.subpathsOfDirectory(atPath: output.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(written == ["good1-png.png", "good2-jpg.png", "jpeg-named-png.png", "sub/good3-png.png"])
    }
}
