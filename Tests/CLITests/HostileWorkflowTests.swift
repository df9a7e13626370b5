import Foundation
import Testing

/// A workflow is shared like a recipe, and a recipe from a stranger must not be able to crash
/// deltaflow, run programs or native code without consent, or write outside what the user named.
@Suite("Workflows someone else wrote")
struct HostileWorkflowTests {
    /// Runs `deltaflow ARGUMENTS` under python's resource accounting: its exit status, standard
    /// error, and the most memory it held (resident, in MB).
    func measured(_ arguments: [String]) throws -> (status: Int32, stderr: String, megabytes: Double) {
        let script = """
            import json, resource, subprocess, sys
            r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
            print(json.dumps({"status": r.returncode, "stderr": r.stderr,
                              "kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
            """
        let result = try runProgram(try tool("python3"), ["-c", script, deltaflowBinary().path] + arguments)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        return (
            Int32(object["status"] as! Int), object["stderr"] as! String, Double(object["kb"] as! Int) / 1024
        )
    }

    @Test("An alias bomb, 100-level nesting and a 100-MB scalar are each refused with a diagnostic, in little memory")
    func boundedParsing() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bomb = root.appendingPathComponent("bomb.yaml")
        try Data(
            ("version: 1\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                + zip("bcdefghi", "abcdefgh").map { name, inner in
                    "\(name): &\(name) [" + Array(repeating: "*\(inner)", count: 9).joined(separator: ",") + "]\n"
                }.joined() + "nodes: {}\n").utf8
        ).write(to: bomb)
        let deep = root.appendingPathComponent("deep.yaml")
        try Data(("version: 1\nnodes: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)
            .write(to: deep)
        let huge = root.appendingPathComponent("huge.yaml")
        FileManager.default.createFile(atPath: huge.path, contents: nil)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.write(contentsOf: Data("version: 1\nnodes: {}\nname: \"".utf8))
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0..<100 { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data("\"\n".utf8))
        try handle.close()

        for (file, expected) in [
            (bomb, "bomb.yaml:3:8: error: YAML aliases expand this workflow to more than 20000 values"),
            (deep, "deep.yaml:2:39: error: lists and mappings are nested more than 32 deep here"),
            (huge, "huge.yaml:1:1: error: the workflow file is over the limit of 1.0 MiB (it holds 100.0 MiB)"),
        ] {
            for command in ["validate", "run"] {
                let result = try measured([command, file.path])
                #expect(result.status == 1, "\(command) \(file.lastPathComponent)")
                #expect(result.stderr.contains(expected), "\(result.stderr.prefix(400))")
                #expect(result.megabytes < 100, "\(command) \(file.lastPathComponent): \(result.megabytes) MB")
            }
        }
    }

    /// A folder with one photo, a workflow file in it, and a scratch trust store.
    struct Batch {
        let root: URL
        let workflow: URL
        let environment: [String: String]

        init(_ yaml: String) throws {
            root = try temporaryDirectory()
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("in"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: repository.appendingPathComponent("Examples/coffee.png"),
                to: root.appendingPathComponent("in/coffee.png"))
            workflow = root.appendingPathComponent("shared.yaml")
            try Data(yaml.utf8).write(to: workflow)
            environment = ["DELTAFLOW_TRUST_DIR": root.appendingPathComponent("trust").path]
        }

        func deltaflow(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try runProgram(deltaflowBinary().path, arguments, environment: environment)
        }

        func run(output: String = "out", _ extra: [String] = []) throws -> (
            status: Int32, stdout: String, stderr: String
        ) {
            try deltaflow(
                [
                    "run", workflow.path, "--set", "input=\(root.path)/in", "--set", "output=\(root.path)/\(output)",
                    "--cache-dir", "\(root.path)/cache", "-q",
                ] + extra)
        }

        func written(_ output: String = "out") -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(output).path)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted()
        }
    }

    static let execWorkflow = """
        version: 1
        params: {input: {type: dir}, output: {type: dir}}
        nodes:
          photo: {node: load, each: $input}
          copied: {node: exec, image: $photo.image, command: ['cp "$1" "$2"'], shell: true}
          out: {node: save, image: $copied.image, dir: $output}
        """

    @Test(
        "exec: refused without consent, naming the command; run with --allow exec, or after 'deltaflow allow' until the file changes"
    )
    func execConsent() throws {
        let batch = try Batch(Self.execWorkflow)
        defer { try? FileManager.default.removeItem(at: batch.root) }
        let refused = try batch.run()
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("shared.yaml runs programs, which you have not allowed:"), "\(refused.stderr)")
        #expect(refused.stderr.contains("node 'copied': /bin/sh -c 'cp \"$1\" \"$2\"'"), "\(refused.stderr)")
        #expect(refused.stderr.contains("add --allow exec"))
        #expect(batch.written().isEmpty && !FileManager.default.fileExists(atPath: batch.root.path + "/cache/runs"))
        let json = try batch.run(["--log-format", "json"])
        #expect(json.status == 5)
        let event = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(event["code"] as? String == "not_allowed" && event["needs"] as? [String] == ["exec"])

        let allowed = try batch.run(["--allow", "exec"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(batch.written() == ["coffee.png"])

        let trust = try batch.deltaflow(["allow", batch.workflow.path])
        #expect(trust.status == 0 && trust.stdout.contains("allowed until it (or a plugin it loads) changes"))
        let trusted = try batch.run(output: "out2")
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(batch.written("out2") == ["coffee.png"])

        // One byte more (a harmless-looking comment) and it is a stranger again.
        try Data((Self.execWorkflow + "\n# tweaked\n").utf8).write(to: batch.workflow)
        #expect(try batch.run(output: "out3").status == 5)
        #expect(try batch.deltaflow(["allow", batch.workflow.path]).status == 0)
        #expect(try batch.deltaflow(["allow", "--revoke", batch.workflow.path]).stdout.contains("no longer allowed"))
        #expect(try batch.run(output: "out4").status == 5)
    }

    @Test("A plugin next to the workflow is not loaded without consent, not even by validate; --allow plugins loads it")
    func pluginConsent() throws {
        let batch = try Batch(
            """
            version: 1
            plugins: [./libbox_blur.so]
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              soft: {node: examples.box_blur, image: $photo.image, radius: 2}
              out: {node: save, image: $soft.image, dir: $output}
            """)
        defer { try? FileManager.default.removeItem(at: batch.root) }
        try buildBoxBlur(into: batch.root)
        let library = batch.root.appendingPathComponent("libbox_blur.so").resolvingSymlinksInPath().path
        let digest = try run("sha256sum", [library]).split(separator: " ")[0]

        let validated = try batch.deltaflow(["validate", batch.workflow.path])
        #expect(validated.status == 1)
        #expect(
            validated.stderr.contains("error: plugin './libbox_blur.so' (\(library)) was not loaded"),
            "\(validated.stderr)")
        #expect(!validated.stderr.contains("unknown node kind"), "no knock-on errors")
        #expect(validated.stdout.contains("loads plugins (needs --allow plugins):"), "\(validated.stdout)")
        #expect(validated.stdout.contains("./libbox_blur.so: \(library), sha256 \(digest)"), "\(validated.stdout)")

        let refused = try batch.run()
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("loads plugins (native code), which you have not allowed"), "\(refused.stderr)")
        #expect(refused.stderr.contains("add --allow plugins"))
        #expect(try batch.deltaflow(["validate", batch.workflow.path, "--allow", "plugins"]).status == 0)
        let allowed = try batch.run(["--allow", "plugins"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(batch.written() == ["coffee.png"])

        // Trust covers the library as it was: a rebuilt (different) library needs consent again.
        #expect(try batch.deltaflow(["allow", batch.workflow.path]).status == 0)
        #expect(try batch.run(output: "out2").status == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: library))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        #expect(try batch.run(output: "out3").status == 5)
    }

    @Test("save outside the directories the user named is refused before any work, also through a symlink")
    func confinedWrites() throws {
        let outside = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: outside) }
        let batch = try Batch(
            """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            writes: [renders]
            nodes:
              photo: {node: load, each: $input}
              out: {node: save, image: $photo.image, dir: "${$output}/link"}
              elsewhere: {node: save, image: $photo.image, dir: \(outside.path)}
            """)
        defer { try? FileManager.default.removeItem(at: batch.root) }
        try FileManager.default.createDirectory(
            at: batch.root.appendingPathComponent("out"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: batch.root.appendingPathComponent("out/link").path, withDestinationPath: outside.path)

        let refused = try batch.run()
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("refusing to write \(batch.root.path)/out/link/coffee.png (it leads to "),
            "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was processed"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)

        // validate --set says so too, before anything runs.
        let validated = try batch.deltaflow([
            "validate", batch.workflow.path, "--set", "input=\(batch.root.path)/in",
            "--set", "output=\(batch.root.path)/out",
        ])
        #expect(validated.status == 1)
        #expect(
            validated.stderr.contains(
                "node 'elsewhere' (save): refusing to write \(outside.path): the run writes only under"),
            "\(validated.stderr)")

        // The link made a plain folder: the constant directory is refused on its own.
        try FileManager.default.removeItem(at: batch.root.appendingPathComponent("out/link"))
        let constant = try batch.run()
        #expect(constant.status == 1)
        #expect(constant.stderr.contains("refusing to write \(outside.path)/coffee.png: the run writes only under"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)

        // What the workflow declares in its own folder, and --allow writes, are allowed.
        let own = try Batch(
            """
            version: 1
            params: {input: {type: dir}}
            writes: [renders]
            nodes:
              photo: {node: load, each: $input}
              out: {node: save, image: $photo.image, dir: renders/day1}
            """)
        defer { try? FileManager.default.removeItem(at: own.root) }
        // A relative 'dir' starts where deltaflow runs: from elsewhere it is not the declared folder.
        let undeclared = try own.deltaflow(
            ["run", own.workflow.path, "--set", "input=\(own.root.path)/in", "--cache-dir", "\(own.root.path)/cache"])
        #expect(undeclared.status == 1, "\(undeclared.stderr)")
        let declared = try runProgram(
            "/usr/bin/env",
            [
                "-C", own.root.path, deltaflowBinary().path, "run", own.workflow.path, "--set", "input=in",
                "--cache-dir", "cache",
            ], environment: own.environment)
        #expect(declared.status == 0, "\(declared.stderr)")
        #expect(own.written("renders/day1") == ["coffee.png"])
        let escape = try batch.run(["--allow", "writes"])
        #expect(escape.status == 0, "\(escape.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["coffee.png"])
    }

    @Test("validate and --dry-run list what a workflow does beyond image processing")
    func capabilitiesListed() throws {
        let batch = try Batch(Self.execWorkflow)
        defer { try? FileManager.default.removeItem(at: batch.root) }
        let validated = try batch.deltaflow(["validate", batch.workflow.path])
        #expect(validated.status == 0)
        #expect(
            validated.stdout.hasSuffix(
                """
                beyond image processing, it:
                  runs programs (needs --allow exec):
                    node 'copied': /bin/sh -c 'cp "$1" "$2"'  [\(batch.workflow.path):5:54]
                  reads: $input (photo.each)
                  writes: $output (out.dir) — only under the directories you name with --set

                """), "\(validated.stdout)")
        let dry = try batch.run(["--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("runs programs (needs --allow exec):"), "\(dry.stdout)")
    }

    @Test("--sandbox: an exec program cannot write outside its scratch folder (or the run says why it cannot sandbox)")
    func sandbox() throws {
        let batch = try Batch(
            """
            version: 1
            params: {input: {type: dir}, output: {type: dir}, mark: {type: path}}
            nodes:
              photo: {node: load, each: $input}
              copied: {node: exec, image: $photo.image, command: ['echo x > "${$mark}" && cp "$1" "$2"'], shell: true}
              out: {node: save, image: $copied.image, dir: $output}
            """)
        defer { try? FileManager.default.removeItem(at: batch.root) }
        let mark = batch.root.appendingPathComponent("escaped").path
        let unconfined = try batch.run(["--allow", "exec", "--set", "mark=\(mark)"])
        #expect(unconfined.status == 0, "\(unconfined.stderr)")
        #expect(FileManager.default.fileExists(atPath: mark))
        try FileManager.default.removeItem(atPath: mark)

        let sandboxed = try batch.run(output: "boxed", ["--allow", "exec", "--set", "mark=\(mark)", "--sandbox"])
        if sandboxed.stderr.contains("bubblewrap cannot make a sandbox on this machine") {
            #expect(sandboxed.status == 1 && batch.written("boxed").isEmpty)
        } else {
            #expect(sandboxed.status == 3, "the item fails: \(sandboxed.stderr)")
            #expect(sandboxed.stderr.contains("exec: shell script exited with status"), "\(sandboxed.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: mark))
    }
}
