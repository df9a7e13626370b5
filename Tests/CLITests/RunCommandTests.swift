import Foundation
import Testing

@Suite("deltaflow run, validate, nodes")
struct WorkflowCommandTests {
    @Test("run processes the bundled workflow on Examples/ and summarises")
    func runWorkflow() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/color-grade.yaml").path,
            "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)", "--quiet",
        ])
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
        #expect(
            result.stderr.contains(
                "\(file.path):3:17: error: unknown node kind 'lod'\n 3 |   photo: {node: lod, path: a.jpg}\n   |                 ^\n  help: did you mean 'load'?"
            ))
        #expect(result.stderr.contains("\(file.path):4:28: error: $phto.image refers to no node or param"))
        #expect(result.stderr.hasSuffix("2 errors\n"))
    }

    @Test("The JSON log: diagnostics as objects, each file's outputs, slashes as they are; no early ETA")
    func logs() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let workflow = repository.appendingPathComponent("Workflows/resize-batch.yaml").path
        let arguments = [
            "run", workflow, "--set", "input=\(repository.path)/Examples", "--set", "output=\(root.path)/o",
        ]
        let json = try deltaflow(arguments + ["--log-format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(!json.stdout.contains("\\/"))
        let items = json.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["event"] as? String == "item" }
        #expect(items.count == 5)
        #expect(items.allSatisfy { ($0["outputs"] as? [String])?.first?.hasPrefix("\(root.path)/o/") == true })
        let invalid = try deltaflow(arguments + ["--log-format", "json", "--set", "max_side=0"])
        #expect(invalid.status == 1)
        let diagnostic =
            try JSONSerialization.jsonObject(
                with: Data(try #require(invalid.stdout.split(separator: "\n").first).utf8)) as? [String: Any]
        #expect(diagnostic?["event"] as? String == "diagnostic" && diagnostic?["severity"] as? String == "error")
        // Text, into a file: the first files say nothing yet about how long the rest will take.
        let text = try deltaflow(arguments + ["--overwrite", "always"])
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count > 2 && lines[1].hasPrefix("[1/5] ") && lines[1].hasSuffix("ETA –)"), "\(text.stdout)")
    }

    @Test("input may be a directory, one file or a glob; validate --set checks what the run would read")
    func inputsAndPaths() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let workflow = repository.appendingPathComponent("Workflows/resize-batch.yaml").path
        func run(_ input: String, _ output: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try deltaflow([
                "run", workflow, "--set", "input=\(input)", "--set", "output=\(root.path)/\(output)", "--quiet",
            ])
        }
        let one = try run("\(repository.path)/Examples/coffee.png", "one")
        #expect(one.status == 0 && one.stdout.hasPrefix("done 1, failed 0"), "\(one.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root.path)/one") == ["coffee.jpg"])
        let globbed = try run("\(repository.path)/Examples/c*", "glob")
        #expect(globbed.status == 0, "\(globbed.stderr)")
        #expect(
            Set(try FileManager.default.contentsOfDirectory(atPath: "\(root.path)/glob")) == [
                "camera.jpg", "chelsea.jpg", "coffee.jpg",
            ])
        let none = try run("\(repository.path)/Examples/zz*", "none")
        #expect(none.status == 1 && none.stderr.contains("error: no file matches \(repository.path)/Examples/zz*"))

        let transfer = repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path
        let missing = try deltaflow([
            "validate", transfer, "--set", "input=/nonexistent/shoot", "--set", "output=\(root.path)/o",
            "--set", "before=/nonexistent/before.png",
        ])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("error: cannot read /nonexistent/shoot: no such file or directory"))
        #expect(
            missing.stderr.contains(
                "error: node 'exemplar' (load_pairs) reads /nonexistent/before.png, which does not exist"))
        #expect(missing.stderr.hasSuffix("2 errors\n"), "\(missing.stderr)")
    }

    @Test("apply is the bundled exemplar workflow without YAML: the same bytes as run")
    func applyCommand() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let (before, after) = (
            "\(repository.path)/Examples/astronaut.png", "\(repository.path)/Exemplars/astronaut-graded.png"
        )
        let photos = ["\(repository.path)/Examples/coffee.png", "\(repository.path)/Examples/r*"]
        let applied = try deltaflow(
            ["apply", "--before", before, "--after", after] + photos + [
                "--output", "\(root.path)/applied", "--strength", "0.5", "--quiet",
            ])
        #expect(applied.status == 0, "\(applied.stderr)")
        let workflow = repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path
        for input in photos {
            let ran = try deltaflow([
                "run", workflow, "--set", "before=\(before)", "--set", "after=\(after)", "--set", "input=\(input)",
                "--set", "output=\(root.path)/ran", "--set", "strength=0.5", "--quiet",
            ])
            #expect(ran.status == 0, "\(ran.stderr)")
        }
        // apply also writes its report (run does not, without --report).
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(root.path)/applied").sorted()
            .filter { $0 != "report.html" }
        #expect(names == ["coffee.png", "rocket.png"])
        #expect(FileManager.default.fileExists(atPath: "\(root.path)/applied/report.html"))
        for name in names {
            #expect(
                try Data(contentsOf: root.appendingPathComponent("applied/\(name)"))
                    == Data(contentsOf: root.appendingPathComponent("ran/\(name)")), "\(name)")
        }
    }

    @Test("validate and run FILE --help list the workflow's params: type, default, limits, doc")
    func paramsListed() throws {
        let workflow = repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path
        let strength =
            "  strength  number   default 1                               0…2                        how much of the edit"
        let validated = try deltaflow(["validate", workflow])
        #expect(validated.status == 0)
        #expect(
            validated.stdout.contains("params (--set NAME=VALUE):\n  before    path     default Examples/astronaut.png")
        )
        #expect(validated.stdout.contains("\n  input     dir      required\n"), "\(validated.stdout)")
        #expect(validated.stdout.contains(strength), "\(validated.stdout)")
        #expect(validated.stdout.contains("one of sample, mean, none"))
        let help = try deltaflow(["run", workflow, "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: deltaflow run"), "\(help.stdout)")
        #expect(help.stdout.contains("PARAMS OF \(workflow) (--set NAME=VALUE):\n"))
        #expect(help.stdout.contains(strength))
    }

    @Test("Mistakes with --set are refused before anything runs, saying how to fix them")
    func setMistakes() throws {
        func run(_ sets: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try deltaflow(["run", repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path] + sets)
        }
        let undeclared = try run(["--set", "inptu=x", "--set", "output=/tmp/never"])
        #expect(undeclared.status == 1)
        #expect(
            undeclared.stderr.contains(
                "deltaflow: error: --set inptu=x: the workflow has no param 'inptu'\n  help: did you mean 'input'?"))
        // Several params after one --set: repeat --set, naming each.
        let several = try run(["--set", "before=a.png", "after=b.png", "input=x"])
        #expect(several.status == 64)
        #expect(several.stderr.contains("2 unexpected arguments: 'after=b.png', 'input=x'"), "\(several.stderr)")
        #expect(several.stderr.contains("help: give each param its own --set: --set after=b.png --set input=x"))
        // A stray argument that is no NAME=VALUE gets ArgumentParser's message alone.
        let other = try deltaflow(["run", "a.yaml", "b.yaml"])
        #expect(other.status == 64 && !other.stderr.contains("--set"), "\(other.stderr)")
    }

    @Test("Two inputs saved to one name are refused before any is processed; the suggested name works")
    func collisions() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in")
        try FileManager.default.createDirectory(
            at: input.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let manager = FileManager.default
        try manager.copyItem(
            at: repository.appendingPathComponent("Examples/rocket.jpg"), to: input.appendingPathComponent("a.jpg"))
        try manager.copyItem(
            at: repository.appendingPathComponent("Examples/chelsea.png"), to: input.appendingPathComponent("a.png"))
        try manager.copyItem(
            at: repository.appendingPathComponent("Examples/coffee.png"), to: input.appendingPathComponent("b.png"))
        try manager.copyItem(
            at: repository.appendingPathComponent("Examples/rocket.jpg"), to: input.appendingPathComponent("sub/c.jpg"))
        let output = directory.appendingPathComponent("out")
        let workflow = repository.appendingPathComponent("Workflows/resize-batch.yaml").path
        for extra in [[], ["--dry-run"]] {
            let result = try deltaflow(
                [
                    "run", workflow, "--set", "input=\(input.path)", "--set", "output=\(output.path)", "--set",
                    "max_side=64",
                ] + extra)
            #expect(result.status == 1, "\(extra): \(result.stderr)")
            #expect(
                result.stderr.contains(
                    "resize-batch.yaml:14:65: error: node 'out' (save) would write two inputs to one file, the later replacing the earlier; nothing was processed:\n  \(output.path)/a.jpg ← a.jpg and a.png\n"
                ), "\(result.stderr)")
            #expect(result.stderr.contains("name: \"{relpath}-{ext}.jpg\""))
            #expect(!manager.fileExists(atPath: output.path), "\(extra): something was written")
        }
        // The suggested name: every input its own file.
        let fixed = directory.appendingPathComponent("fixed.yaml")
        try String(contentsOfFile: workflow, encoding: .utf8)
            .replacingOccurrences(of: "name: \"{relpath}.jpg\"", with: "name: \"{relpath}-{ext}.jpg\"")
            .write(to: fixed, atomically: true, encoding: .utf8)
        let result = try deltaflow(
            [
                "run", fixed.path, "--set", "input=\(input.path)", "--set", "output=\(output.path)", "--set",
                "max_side=64", "--quiet",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("done 4, failed 0"))
        #expect(
            Set(try manager.subpathsOfDirectory(atPath: output.path)) == [
                "a-jpg.jpg", "a-png.jpg", "b-png.jpg", "sub", "sub/c-jpg.jpg",
            ])
    }

    @Test("A file already in the output is never replaced unless deltaflow wrote it or the user says so")
    func existingOutputs() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default
        let output = root.appendingPathComponent("out")
        try manager.createDirectory(at: output, withIntermediateDirectories: true)
        // The user's own file, where the run would write coffee.png's output.
        let theirs = output.appendingPathComponent("coffee.jpg")
        let original = try Data(contentsOf: repository.appendingPathComponent("Examples/coffee.png"))
        try original.write(to: theirs)
        func run(_ extra: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try deltaflow(
                [
                    "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
                    "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)",
                    "--cache-dir", root.appendingPathComponent("cache").path, "--quiet",
                ] + extra)
        }
        let first = try run([])
        #expect(first.status == 3, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("done 4, failed 1"), "\(first.stdout)")
        #expect(
            first.stderr.contains(
                "\(theirs.path) is already there and deltaflow did not write it (or it changed since): it was left as it is; --overwrite always replaces such files, --skip-existing keeps them and goes on"
            ), "\(first.stderr)")
        #expect(try Data(contentsOf: theirs) == original)
        // Its own outputs it replaces, also under other params; the user's file still not.
        let again = try run(["--set", "max_side=100"])
        #expect(again.stdout.hasPrefix("done 4, failed 1"), "\(again.stdout) \(again.stderr)")
        #expect(try Data(contentsOf: theirs) == original)
        let skipping = try run(["--skip-existing"])
        #expect(skipping.status == 0 && skipping.stdout.contains("already done 5"), "\(skipping.stdout)")
        #expect(try Data(contentsOf: theirs) == original)
        // The outputs are newer than the inputs: if-newer keeps them all.
        let newer = try run(["--overwrite", "if-newer"])
        #expect(newer.status == 0 && newer.stdout.contains("already done 5"), "\(newer.stdout)")
        let always = try run(["--overwrite", "always"])
        #expect(always.status == 0 && always.stdout.hasPrefix("done 5, failed 0"), "\(always.stdout)")
        #expect(try Data(contentsOf: theirs) != original)
        let both = try run(["--overwrite", "always", "--skip-existing"])
        #expect(both.status == 64 && both.stderr.contains("--skip-existing keeps every output already there"))
        // A run killed after writing its outputs and before recording them (no manifest says
        // deltaflow wrote them): files that are exactly what it would write are its own.
        try manager.removeItem(at: root.appendingPathComponent("cache"))
        let unrecorded = try run([])
        #expect(unrecorded.status == 0 && unrecorded.stdout.hasPrefix("done 5, failed 0"), "\(unrecorded.stderr)")
    }

    @Test("A gray photo under a warm exemplar comes out in colour")
    func grayPhotoKeepsColour() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("in"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/camera.png"),
            to: root.appendingPathComponent("in/camera.png"))
        let result = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/exemplar-transfer.yaml").path,
            "--set", "before=\(repository.path)/Examples/astronaut.png",
            "--set", "after=\(repository.path)/Exemplars/astronaut-graded.png",
            "--set", "input=\(root.path)/in", "--set", "output=\(root.path)/out", "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // The PNG header's colour type (byte 25): 0 is gray, 2 is RGB.
        let png = try Data(contentsOf: root.appendingPathComponent("out/camera.png"))
        #expect(png.count > 25 && png[25] == 2, "colour type \(png.count > 25 ? png[25] : 255)")
    }

    @Test("Several exemplar pairs from two directories, matched by name; mismatches listed")
    func severalPairs() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default
        for directory in ["before", "after", "in"] {
            try manager.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        let examples = repository.appendingPathComponent("Examples")
        for name in ["chelsea.png", "coffee.png"] {
            try manager.copyItem(
                at: examples.appendingPathComponent(name), to: root.appendingPathComponent("before/\(name)"))
        }
        try manager.copyItem(
            at: examples.appendingPathComponent("rocket.jpg"), to: root.appendingPathComponent("in/r.jpg"))
        // The afters: both graded alike; chelsea's saved as a JPEG (pairs match by name, not format).
        let graded = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/color-grade.yaml").path,
            "--set", "input=\(root.path)/before", "--set", "output=\(root.path)/graded", "--quiet",
        ])
        #expect(graded.status == 0, "\(graded.stderr)")
        let jpeg = try deltaflow([
            "convert", "\(root.path)/graded/chelsea.png", "--output", "\(root.path)/after", "--format", "jpeg",
            "--quality", "95",
        ])
        #expect(jpeg.status == 0, "\(jpeg.stderr)")
        try manager.copyItem(
            at: root.appendingPathComponent("graded/coffee.png"), to: root.appendingPathComponent("after/coffee.png"))
        let workflow = repository.appendingPathComponent("Workflows/exemplar-color.yaml").path
        func run(before: String = "before", after: String = "after") throws -> (
            status: Int32, stdout: String, stderr: String
        ) {
            try deltaflow([
                "run", workflow, "--set", "before=\(root.path)/\(before)", "--set", "after=\(root.path)/\(after)",
                "--set", "input=\(root.path)/in", "--set", "output=\(root.path)/out", "--no-cache", "--quiet",
            ])
        }
        let good = try run()
        #expect(good.status == 0, "\(good.stderr)")
        #expect(manager.fileExists(atPath: root.appendingPathComponent("out/r.png").path))
        // One file, one directory.
        try manager.copyItem(
            at: examples.appendingPathComponent("coffee.png"), to: root.appendingPathComponent("single.png"))
        let mixed = try run(before: "single.png")
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("is a file but its after (\(root.path)/after) is a directory"), "\(mixed.stderr)")
        // An after without a before, and two befores of one name: all listed, nothing written.
        try manager.copyItem(
            at: examples.appendingPathComponent("rocket.jpg"), to: root.appendingPathComponent("after/rocket.jpg"))
        try manager.copyItem(
            at: examples.appendingPathComponent("rocket.jpg"), to: root.appendingPathComponent("before/coffee.jpg"))
        try manager.removeItem(at: root.appendingPathComponent("out"))
        let unmatched = try run()
        #expect(unmatched.status == 1)
        #expect(
            unmatched.stderr.contains("coffee.jpg and coffee.png in \(root.path)/before are both 'coffee'"),
            "\(unmatched.stderr)")
        #expect(unmatched.stderr.contains("no before in \(root.path)/before for rocket.jpg"), "\(unmatched.stderr)")
        #expect(!manager.fileExists(atPath: root.appendingPathComponent("out").path))
    }

    @Test("An input with nothing to process is an error that says what the directory holds")
    func nothingToProcess() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default
        for directory in ["empty", "other", "deep/sub"] {
            try manager.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        let rocket = repository.appendingPathComponent("Examples/rocket.jpg")
        for name in ["a.heic", "b.heic", "c.gif", "notes"] {
            try manager.copyItem(at: rocket, to: root.appendingPathComponent("other/\(name)"))
        }
        try manager.copyItem(at: rocket, to: root.appendingPathComponent("deep/sub/a.jpg"))
        let workflow = repository.appendingPathComponent("Workflows/color-grade.yaml").path
        let expected = [
            "empty": "the directory is empty",
            "other":
                "it holds 4 files (2 .heic, 1 without an extension, 1 .gif); deltaflow reads PNG, JPEG, TIFF and WebP, not yet .gif, .heic",
            "deep": "but 1 file in its subdirectories does: add 'recursive: true'",
        ]
        for (directory, message) in expected {
            for extra in [[], ["--dry-run"]] {
                let input = root.appendingPathComponent(directory).path
                let result = try deltaflow(
                    ["run", workflow, "--set", "input=\(input)", "--set", "output=\(root.path)/out"] + extra)
                #expect(result.status == 1, "\(directory) \(extra): \(result.stderr)")
                #expect(
                    result.stderr.contains(
                        "color-grade.yaml:13:30: error: no file in \(input) matches *.jpg, *.jpeg, *.png"),
                    "\(result.stderr)")
                #expect(result.stderr.contains(message), "\(directory) \(extra): \(result.stderr)")
            }
        }
        #expect(!manager.fileExists(atPath: root.appendingPathComponent("out").path))
    }

    @Test("nodes lists every kind and describes one")
    func nodes() throws {
        let list = try deltaflow(["nodes"])
        for kind in ["load", "save", "resize", "composite", "adjust", "grayscale", "flip", "grain"] {
            #expect(list.stdout.contains("\n\(kind) ") || list.stdout.hasPrefix("\(kind) "), "\(kind)")
        }
        let resize = try deltaflow(["nodes", "resize"])
        #expect(
            resize.stdout.contains(
                "filter (string, default 'automatic', one of automatic, area, bicubic, lanczos3, nearest)"))
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
