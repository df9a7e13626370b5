import Foundation
import Testing

/// A built executable of this package (`deltaflow` by default), which swift test puts beside
/// the test bundle.
func deltaflowBinary(_ name: String = "deltaflow") -> URL {
    var binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    while !FileManager.default.isExecutableFile(atPath: binary.path) && binary.pathComponents.count > 2 {
        binary = binary.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(name)
    }
    return binary
}

/// An environment whose cache directory is a scratch folder, so tests never touch ~/.cache.
let testEnvironment: [String: String] = {
    var environment = ProcessInfo.processInfo.environment
    environment["DELTAFLOW_CACHE_DIR"] = FileManager.default.temporaryDirectory
        .appendingPathComponent("deltaflow-cli-cache-\(ProcessInfo.processInfo.processIdentifier)").path
    return environment
}()

/// A program started with the test environment (plus `environment`), its output captured to
/// files: unlike pipes read one after the other, a file never fills up and stalls the program.
struct ProgramRun {
    let process = Process()
    let stdout: URL
    let stderr: URL

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-test-\(UUID().uuidString)")
        stdout = logs.appendingPathExtension("out")
        stderr = logs.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = testEnvironment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
    }

    /// Waits for the program to end; returns its exit status, standard output and error.
    func finish() -> (status: Int32, stdout: String, stderr: String) {
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(at: stdout)
            try? FileManager.default.removeItem(at: stderr)
        }
        return (process.terminationStatus,
                (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
                (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
    }

    /// `deltaflow ARGUMENTS`, started in the background.
    init(deltaflow arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(deltaflowBinary().path, arguments, environment: environment)
    }

    /// Waits until `directory` holds at least `count` finished (non-hidden) files, or the run ends.
    func waitForOutputs(_ count: Int, in directory: URL) {
        while process.isRunning {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            if names.filter({ !$0.hasPrefix(".") }).count >= count { return }
            usleep(5_000)
        }
    }
}

/// Runs a program to its end; returns its exit status, standard output and error.
func runProgram(_ executable: String, _ arguments: [String],
                environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    try ProgramRun(executable, arguments, environment: environment).finish()
}

/// Runs the built `deltaflow` executable; returns its exit status, standard output and error.
func deltaflow(_ arguments: [String], binary: String = "deltaflow") throws -> (status: Int32, stdout: String, stderr: String) {
    try runProgram(deltaflowBinary(binary).path, arguments)
}

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("deltaflow convert")
struct ConvertCommandTests {
    @Test("Converts every example photo, shrunk, into the output directory")
    func examples() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try deltaflow(["convert", repository.appendingPathComponent("Examples").path,
                                    "--output", output.path, "--max-side", "64", "--format", "png"])
        #expect(result.status == 0, "\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        #expect(names == ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.png"])
        let info = try deltaflow(["info", output.appendingPathComponent("coffee.png").path])
        #expect(info.stdout.contains("64x43 RGB, 8-bit"))
    }

    @Test("A broken file is reported by path and reason; the others are still converted; exit 3")
    func brokenFileInBatch() throws {
        let input = try temporaryDirectory(), output = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/rocket.jpg"),
                                         to: input.appendingPathComponent("a.jpg"))
        let rocket = try Data(contentsOf: repository.appendingPathComponent("Examples/rocket.jpg"))
        try rocket.prefix(rocket.count / 2).write(to: input.appendingPathComponent("b.jpg"))
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/chelsea.png"),
                                         to: input.appendingPathComponent("c.png"))
        let result = try deltaflow(["convert", input.path, "--output", output.path])
        #expect(result.status == 3)
        #expect(result.stdout.contains("b.jpg: truncated JPEG data"), "\(result.stdout)")
        #expect(result.stdout.contains("done 2, failed 1"), "\(result.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == ["a.jpg", "c.png"])
    }

    @Test("Never writes over an input file")
    func refusesToOverwriteInput() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let photo = directory.appendingPathComponent("rocket.jpg")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/rocket.jpg"), to: photo)
        let before = try Data(contentsOf: photo)
        let result = try deltaflow(["convert", directory.path, "--output", directory.path])
        #expect(result.status == 3)
        #expect(result.stdout.contains("it is one of this run's input files"), "\(result.stdout)")
        #expect(try Data(contentsOf: photo) == before)
    }

    @Test("Never writes over another input: b.jpg converted to PNG beside an input b.png")
    func refusesToOverwriteOtherInput() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/rocket.jpg"),
                                         to: directory.appendingPathComponent("b.jpg"))
        let png = directory.appendingPathComponent("b.png")
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/coffee.png"), to: png)
        let before = try Data(contentsOf: png)
        let result = try deltaflow(["convert", directory.path, "--output", directory.path, "--format", "png"])
        #expect(result.status == 3)
        #expect(result.stdout.contains("refusing to write \(png.path): it is one of this run's input files"), "\(result.stdout)")
        #expect(try Data(contentsOf: png) == before)
    }

    @Test("Named files from two directories, only those; on the engine, so --resume skips what a run finished")
    func namedFilesAndResume() throws {
        let other = try temporaryDirectory(), output = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: other)
            try? FileManager.default.removeItem(at: output)
        }
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/chelsea.png"),
                                         to: other.appendingPathComponent("cat [1].png"))
        let arguments = ["convert", repository.appendingPathComponent("Examples/rocket.jpg").path,
                         repository.appendingPathComponent("Examples/coffee.png").path,
                         other.appendingPathComponent("cat [1].png").path,
                         "--output", output.path, "--max-side", "32", "--format", "jpeg"]
        let first = try deltaflow(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).sorted() == ["cat [1].jpg", "coffee.jpg", "rocket.jpg"])
        let again = try deltaflow(arguments + ["--resume"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("already done"), "\(again.stdout)")
    }

    @Test("Bad arguments are usage errors naming the option")
    func badArguments() throws {
        let result = try deltaflow(["convert", "Examples", "--output", "/tmp/x", "--quality", "0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--quality must be 1 to 100, not 0"))
    }
}

@Suite("deltaflow run, validate, nodes")
struct WorkflowCommandTests {
    @Test("run processes the bundled workflow on Examples/ and summarises")
    func runWorkflow() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try deltaflow(["run", repository.appendingPathComponent("Workflows/color-grade.yaml").path,
                                    "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("done 5, failed 0, skipped 0 in "))
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).count == 5)
    }

    @Test("validate prints every problem with file:line:column and exits 1")
    func validateInvalid() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try "version: 1\nnodes:\n  photo: {node: lod, path: a.jpg}\n  out: {node: save, image: $phto.image, dir: o}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let result = try deltaflow(["validate", file.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file.path):3:17: error: unknown node kind 'lod'\n 3 |   photo: {node: lod, path: a.jpg}\n   |                 ^\n  help: did you mean 'load'?"))
        #expect(result.stderr.contains("\(file.path):4:28: error: $phto.image refers to no node or param"))
        #expect(result.stderr.hasSuffix("2 errors\n"))
    }

    @Test("A --set for an undeclared param is refused before anything runs")
    func undeclaredParam() throws {
        let result = try deltaflow(["run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
                                    "--set", "inptu=x", "--set", "output=/tmp/never"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("deltaflow: error: --set inptu=x: the workflow has no param 'inptu'\n  help: did you mean 'input'?"))
    }

    @Test("nodes lists every kind and describes one")
    func nodes() throws {
        let list = try deltaflow(["nodes"])
        for kind in ["load", "save", "resize", "composite", "adjust", "grayscale", "flip", "grain"] {
            #expect(list.stdout.contains("\n\(kind) ") || list.stdout.hasPrefix("\(kind) "), "\(kind)")
        }
        let resize = try deltaflow(["nodes", "resize"])
        #expect(resize.stdout.contains("filter (string, default 'automatic', one of automatic, area, bicubic, lanczos3, nearest)"))
        let typo = try deltaflow(["nodes", "resise"])
        #expect(typo.status == 1 && typo.stderr.contains("did you mean 'resize'?"))
    }
}

/// Every non-hidden file in `directory`, name → contents.
func outputs(_ directory: URL) throws -> [String: Data] {
    var result: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where !name.hasPrefix(".") {
        result[name] = try Data(contentsOf: directory.appendingPathComponent(name))
    }
    return result
}

@Suite("Interrupted runs")
struct ResumeTests {
    @Test("SIGKILL mid-batch, then --resume, gives exactly the outputs of an uninterrupted run")
    func killAndResume() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let photo = repository.appendingPathComponent("Examples/chelsea.png")
        for index in 0..<40 {
            try FileManager.default.copyItem(at: photo, to: input.appendingPathComponent(String(format: "%02d.png", index)))
        }
        let workflow = root.appendingPathComponent("grain.yaml")
        try """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              grainy: {node: grain, image: $photo.image, amount: 0.1}
              out: {node: save, image: $grainy.image, dir: $output, name: "{stem}.png", bit_depth: 16}
            """.write(to: workflow, atomically: true, encoding: .utf8)
        func arguments(_ output: String, cache: String) -> [String] {
            ["run", workflow.path, "--set", "input=\(input.path)", "--set", "output=\(root.path)/\(output)",
             "--cache-dir", "\(root.path)/\(cache)", "--jobs", "1", "--quiet"]
        }

        let reference = try deltaflow(arguments("reference", cache: "cache-a"))
        #expect(reference.status == 0, "\(reference.stderr)")

        // Start the same run elsewhere and kill it once some outputs exist.
        let interrupted = root.appendingPathComponent("interrupted")
        let run = try ProgramRun(deltaflow: arguments("interrupted", cache: "cache-b"))
        run.waitForOutputs(8, in: interrupted)
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.finish()
        let partial = try outputs(interrupted)
        #expect(partial.count < 40, "the run finished before it could be interrupted")
        // Whatever was written under a final name is complete: atomic writes.
        for (name, data) in partial { #expect(data == (try outputs(root.appendingPathComponent("reference")))[name], "\(name)") }

        let resumed = try deltaflow(arguments("interrupted", cache: "cache-b") + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("already done"))
        #expect(try outputs(interrupted) == (try outputs(root.appendingPathComponent("reference"))))
    }
}

@Suite("Progress display")
struct ProgressTests {
    @Test("On a terminal, one progress line is redrawn in place; piped, each file gets its own line",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a pseudo-terminal"))
    func liveLine() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let command = [deltaflowBinary().path, "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
                       "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)", "--no-cache",
                       "--jobs", "1"].joined(separator: " ")
        let text = try runProgram("/usr/bin/script", ["-qc", command, "/dev/null"]).stdout
        #expect(text.contains("\r\u{1B}[K[5/5] "), "\(text.debugDescription)")
        #expect(text.contains("\r\u{1B}[Kdone 5, failed 0"))
        #expect(!text.contains("[1/5] astronaut.png"), "per-file lines are for pipes, not terminals")

        let piped = try deltaflow(["run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
                                   "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)",
                                   "--no-cache", "--jobs", "1"])
        #expect(piped.stdout.contains("[1/5] astronaut.png "))
        #expect(!piped.stdout.contains("\u{1B}["))
    }
}
