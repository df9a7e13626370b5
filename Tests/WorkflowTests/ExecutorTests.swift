import Foundation
import ImageCodecs
import NodeKit
import Synchronization
import Testing

@testable import Workflow

private let batch = """
    version: 1
    params:
      input: {type: dir}
      output: {type: dir}
    nodes:
      photo: {node: load, each: $input, pattern: "*.{jpg,png}", recursive: true}
      small: {node: resize, image: $photo.image, max_side: 96}
      grainy: {node: grain, image: $small.image, amount: 0.05}
      out: {node: save, image: $grainy.image, dir: $output, name: "{relpath}.png"}
    """

@Suite("Running workflows")
struct ExecutorTests {
    @Test("Each file is processed once, mirroring subdirectories in the output")
    func batchIteration() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try copyExamples(
                [
                    "a.png": "chelsea.png", "trip/b.JPG": "rocket.jpg", "trip/deep/c.png": "coffee.png",
                    "notes.txt": "LICENSES.md", ".hidden.png": "camera.png",
                ], into: input)
            let summary = try run(batch, ["input=\(input.path)", "output=\(output.path)"])
            #expect(summary.done == 3 && summary.failed.isEmpty)
            #expect(summary.items.map(\.item.relativePath) == ["a.png", "trip/b.JPG", "trip/deep/c.png"])
            #expect(try contents(of: output).keys.sorted() == ["a.png", "trip/b.png", "trip/deep/c.png"])
            let small = try ImageFile.read(output.appendingPathComponent("trip/deep/c.png").path)
            #expect(small.width == 96 && small.height == 64)
        }
    }

    @Test("With previews kept (a report), each item holds its photo as read and as written, shrunk")
    func previews() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try copyExamples(["a.png": "chelsea.png", "b.jpg": "rocket.jpg"], into: input)
            let workflow = try Workflow.parse(batch, file: "wf.yaml", registry: registry)
            var options = RunOptions(jobs: 2)
            options.previewSide = 40
            let summary = try Executor(
                workflow: workflow,
                params: try workflow.bindParams(["input=\(input.path)", "output=\(output.path)"]), options: options
            ).run()
            for result in summary.items {
                let read = try ImageFile.read(result.item.path)
                let written = try ImageFile.read(try #require(result.outputs.first))
                #expect(result.inputPreview == read.fitting(maxSide: 40), "\(result.item.relativePath)")
                #expect(result.outputPreview?.width == 40 && written.width == 96, "\(result.item.relativePath)")
            }
            // Without a report nothing is kept.
            let plain = try run(batch, ["input=\(input.path)", "output=\(root.path)/out2"])
            #expect(plain.items.allSatisfy { $0.inputPreview == nil && $0.outputPreview == nil })
        }
    }

    @Test("Outputs are bit-identical with --jobs 1 and --jobs 4, and across runs")
    func determinism() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            try copyExamples(
                [
                    "1.png": "chelsea.png", "2.jpg": "rocket.jpg", "3.png": "coffee.png", "4.png": "astronaut.png",
                    "5.png": "camera.png",
                ], into: input)
            var results: [[String: Data]] = []
            for (index, jobs) in [1, 4, 4].enumerated() {
                let output = root.appendingPathComponent("out\(index)")
                _ = try run(batch, ["input=\(input.path)", "output=\(output.path)"], jobs: jobs)
                results.append(try contents(of: output))
            }
            #expect(results[0].count == 5)
            #expect(results[0] == results[1] && results[1] == results[2])
        }
    }

    @Test("Each file gets its own grain, set by its path rather than its position")
    func seedsFollowPaths() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            try copyExamples(["b.png": "chelsea.png", "c.png": "chelsea.png"], into: input)
            _ = try run(batch, ["input=\(input.path)", "output=\(root.appendingPathComponent("o1").path)"])
            // Adding a file that sorts first shifts every index; it must not change other results.
            try copyExamples(["a.png": "chelsea.png"], into: input)
            _ = try run(batch, ["input=\(input.path)", "output=\(root.appendingPathComponent("o2").path)"])
            let first = try contents(of: root.appendingPathComponent("o1"))
            let second = try contents(of: root.appendingPathComponent("o2"))
            #expect(first["b.png"] == second["b.png"] && first["c.png"] == second["c.png"])
            #expect(second["a.png"] != second["b.png"], "same photo, different path: different grain")
        }
    }

    @Test("A corrupt file fails alone, with its path and reason; the rest complete")
    func perItemFailure() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try copyExamples(["a.png": "chelsea.png", "c.png": "coffee.png"], into: input)
            let rocket = try Data(contentsOf: repository.appendingPathComponent("Examples/rocket.jpg"))
            try rocket.prefix(2000).write(to: input.appendingPathComponent("b.jpg"))
            let summary = try run(batch, ["input=\(input.path)", "output=\(output.path)"])
            #expect(summary.done == 2)
            let failure = try #require(summary.failed.first)
            #expect(summary.failed.count == 1)
            #expect(failure.item.relativePath == "b.jpg" && failure.failedNode == "photo")
            #expect(
                failure.message
                    == "\(input.path)/b.jpg: truncated JPEG data (the file ends before the image does; copy or export it again)"
            )
            #expect(try contents(of: output).keys.sorted() == ["a.png", "c.png"])
        }
    }

    @Test("--fail-fast stops taking new files after the first failure")
    func failFast() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try copyExamples(["1.png": "chelsea.png", "2.png": "coffee.png", "3.png": "camera.png"], into: input)
            try Data("not an image".utf8).write(to: input.appendingPathComponent("0.png"))
            let summary = try run(batch, ["input=\(input.path)", "output=\(output.path)"], jobs: 1, failFast: true)
            #expect(summary.failed.count == 1 && summary.skipped == 3 && summary.done == 0)
        }
    }

    @Test("Never writes over an input file")
    func protectsInputs() throws {
        try withTemporaryDirectory { root in
            try copyExamples(["a.png": "chelsea.png"], into: root)
            let before = try Data(contentsOf: root.appendingPathComponent("a.png"))
            let summary = try run(batch, ["input=\(root.path)", "output=\(root.path)"])
            #expect(summary.failed.first?.message?.hasPrefix("refusing to write \(root.path)/a.png") == true)
            #expect(try Data(contentsOf: root.appendingPathComponent("a.png")) == before)
        }
    }

    @Test("Nodes that do not depend on the files run once; their results are shared")
    func sharedNodes() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try copyExamples(["a.png": "chelsea.png", "b.jpg": "rocket.jpg"], into: input)
            let workflow = try Workflow.parse(
                try String(
                    contentsOf: repository.appendingPathComponent("Workflows/blend-overlay.yaml"),
                    encoding: .utf8), file: "blend.yaml", registry: registry)
            #expect(workflow.nodes.filter { $0.scope == .once }.map(\.name) == ["layer"])
            let params = try workflow.bindParams([
                "input=\(input.path)", "output=\(output.path)",
                "overlay=\(repository.path)/Examples/astronaut.png",
            ])
            let events = Mutex<[String]>([])
            let summary = try Executor(workflow: workflow, params: params).run { event in
                if case .sharedNodeFinished(let name, _) = event { events.withLock { $0.append(name) } }
            }
            #expect(summary.done == 2)
            #expect(events.withLock { $0 } == ["layer"])
        }
    }

    @Test("A missing input directory stops the run with a clear error")
    func missingDirectory() throws {
        #expect(throws: RunError.self) {
            _ = try run(batch, ["input=/nonexistent/photos", "output=/tmp/x"])
        }
        do { _ = try run(batch, ["input=/nonexistent/photos", "output=/tmp/x"]) } catch let error as RunError {
            #expect(error.message == "cannot read /nonexistent/photos: no such file or directory")
        }
    }

    @Test("Symlink loops are walked once and broken links are reported, not skipped")
    func hostileDirectory() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("in")
            let output = root.appendingPathComponent("out")
            try copyExamples(["sub/a.png": "chelsea.png"], into: input)
            try FileManager.default.createSymbolicLink(
                atPath: input.appendingPathComponent("sub/loop").path,
                withDestinationPath: input.path)
            try FileManager.default.createSymbolicLink(
                atPath: input.appendingPathComponent("gone.png").path,
                withDestinationPath: "/nonexistent.png")
            let summary = try run(batch, ["input=\(input.path)", "output=\(output.path)"])
            #expect(summary.items.map(\.item.relativePath) == ["gone.png", "sub/a.png"])
            #expect(summary.failed.map(\.item.relativePath) == ["gone.png"])
            #expect(summary.failed.first?.message?.contains("no such file") == true)
        }
    }
}

@Suite("Workflows/ folder")
struct ExampleWorkflowTests {
    static let files =
        (try? FileManager.default.contentsOfDirectory(atPath: repository.appendingPathComponent("Workflows").path))?
        .filter { $0.hasSuffix(".yaml") }.sorted() ?? []

    @Test("There are at least three example workflows")
    func count() { #expect(Self.files.count >= 3) }

    @Test("Every workflow validates and runs on Examples/", arguments: files)
    func runs(file: String) throws {
        try withTemporaryDirectory { output in
            let workflow = try Workflow.load(
                repository.appendingPathComponent("Workflows/\(file)").path, registry: registry)
            #expect(workflow.warnings.isEmpty)
            var overrides = ["input=\(repository.path)/Examples", "output=\(output.path)"]
            if workflow.params.contains(where: { $0.name == "overlay" }) {
                overrides.append("overlay=\(repository.path)/Examples/astronaut.png")
            }
            let summary = try Executor(workflow: workflow, params: try workflow.bindParams(overrides)).run()
            // A workflow with a sweep writes each photo once per combination, in a folder of its own.
            let combinations = workflow.sweep.reduce(1) { $0 * $1.values.count }
            #expect(
                summary.done == 5 * combinations && summary.failed.isEmpty, "\(summary.failed.map { $0.message ?? "" })"
            )
            let written = try FileManager.default.subpathsOfDirectory(atPath: output.path).filter {
                ["png", "jpg"].contains(URL(fileURLWithPath: $0).pathExtension)
            }
            #expect(written.count == 5 * combinations)
        }
    }

    @Test("Every node's documented example validates")
    func nodeExamples() {
        for descriptor in registry.descriptors {
            // Examples may read $photo (a loaded file), $graded (an adjusted one) and two deltas.
            let yaml = """
                version: 1
                nodes:
                  photo: {node: load, each: in}
                  graded: {node: adjust, image: $photo.image}
                  warm: {node: encode_delta, before: $photo.image, after: $graded.image}
                  bright: {node: encode_delta, before: $photo.image, after: $graded.image}

                """ + "  "
                + descriptor.example.replacingOccurrences(of: "$input", with: "in")
                .replacingOccurrences(of: "$output", with: "out").replacingOccurrences(of: "\n", with: "\n  ") + "\n"
            let problems = diagnose(yaml).filter {
                $0.severity == .error && $0.code != "multiple_iterators" && $0.code != "duplicate_key"
            }
            #expect(problems.isEmpty, "\(descriptor.kind): \(problems.map(\.description))")
        }
    }
}

@Suite("JSON Schema")
struct SchemaTests {
    @Test("Workflows/workflow.schema.json is what 'deltaflow schema' generates from the registry")
    func committedSchemaIsCurrent() throws {
        let committed = try String(
            contentsOf: repository.appendingPathComponent("Workflows/workflow.schema.json"), encoding: .utf8)
        #expect(
            committed == WorkflowSchema.json(for: registry),
            "regenerate it: swift run deltaflow schema > Workflows/workflow.schema.json")
    }

    @Test("The schema lists every node kind and, per kind, exactly its ports")
    func coversRegistry() throws {
        let schema = try #require(
            try JSONSerialization.jsonObject(with: Data(WorkflowSchema.json(for: registry).utf8)) as? [String: Any])
        let node = ((schema["definitions"] as? [String: Any])?["node"] as? [String: Any])
        let kinds = ((node?["properties"] as? [String: Any])?["node"] as? [String: Any])?["enum"] as? [String]
        #expect(kinds == registry.kinds)
        let branches = node?["allOf"] as? [[String: Any]] ?? []
        #expect(branches.count == registry.kinds.count)
        for (branch, descriptor) in zip(branches, registry.descriptors) {
            let properties = ((branch["then"] as? [String: Any])?["properties"] as? [String: Any]) ?? [:]
            var expected = Set(descriptor.inputs.map(\.name) + ["node", "when", "otherwise"])
            if descriptor.iterationInput != nil {
                expected.formUnion(["each", "pattern", "recursive", "match", "unmatched"])
            }
            #expect(Set(properties.keys) == expected, "\(descriptor.kind)")
        }
    }
}

@Suite("Dry run")
struct DryRunTests {
    @Test("Nodes with side effects never run in a dry run")
    func noSideEffects() throws {
        try withTemporaryDirectory { root in
            let workflow = try Workflow.parse(
                """
                version: 1
                params: {output: {type: dir}}
                nodes:
                  photo: {node: load, path: \(repository.path)/Examples/rocket.jpg}
                  out: {node: save, image: $photo.image, dir: $output, name: copy.png}
                """, file: "wf.yaml", registry: registry)
            let executor = Executor(workflow: workflow, params: try workflow.bindParams(["output=\(root.path)"]))
            let plan = try executor.plan()
            #expect(plan.steps.map(\.step) == [.once, .willCompute(reason: "writes files")])
            #expect(plan.itemCount == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty)
        }
    }
}

@Suite("Built-in nodes")
struct BuiltinNodeTests {
    private func composite(base: Image, overlay: Image, opacity: Double = 1) throws -> Image {
        let node = try #require(registry["composite"])
        let outputs = try node.run(
            NodeInputs(["base": .image(base), "overlay": .image(overlay), "opacity": .number(opacity)]),
            context: NodeContext(item: nil, seed: 0))
        guard case .image(let image)? = outputs["image"] else { throw NodeError("no image") }
        return image
    }

    @Test("An overlay's alpha weighs the blend once: half-transparent black on white is mid-gray")
    func overlayAlpha() throws {
        let white = Image(width: 2, height: 1, colorModel: .rgb, value: 1)
        var black = Image(width: 2, height: 1, colorModel: .rgba, value: 0)
        black[0, 0, 3] = 0.5
        let result = try composite(base: white, overlay: black)
        #expect(abs(result[0, 0, 0] - 0.5) < 1e-6)
        #expect(result[1, 0, 0] == 1, "a fully transparent overlay pixel leaves the base as it was")
    }

    @Test("save's PNG compression trades bytes for time, never pixels")
    func pngCompression() throws {
        let node = try #require(registry["save"])
        let photo = try ImageFile.read(repository.appendingPathComponent("Examples/coffee.png").path)
        try withTemporaryDirectory { root in
            var sizes: [Int] = []
            for level in [0, 9] {
                let outputs = try node.run(
                    NodeInputs([
                        "image": .image(photo), "dir": .path(root.path),
                        "name": .string("l\(level).png"), "compression": .integer(level),
                        "metadata": .string("keep"), "profile": .string("keep"),
                    ]),
                    context: NodeContext(item: nil, seed: 0))
                guard case .path(let path)? = outputs["path"] else { throw NodeError("no path") }
                sizes.append(try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
                #expect(try ImageFile.read(path).floatSamples() == photo.floatSamples())
            }
            #expect(sizes[0] * 5 > sizes[1] * 6, "level 0 stores, level 9 deflates: \(sizes)")
        }
    }

    @Test("A gray overlay on a colour base; a colour overlay makes a gray base colour, a neutral one does not")
    func mixedModels() throws {
        let red = Image(width: 1, height: 1, colorModel: .rgb, samples: [1, 0, 0])
        let gray = Image(width: 1, height: 1, colorModel: .gray, value: 0.5)
        #expect(try composite(base: red, overlay: gray).floatSamples() == [0.5, 0.5, 0.5])
        // A grey photo takes a colour edit's colours, and stays grey under a neutral one.
        let onGray = try composite(base: gray, overlay: red, opacity: 0.5)
        #expect(onGray.colorModel == .rgb && onGray.floatSamples() == [0.75, 0.25, 0.25])
        let neutral = Image(width: 1, height: 1, colorModel: .rgb, samples: [0.2, 0.2, 0.2])
        let stillGray = try composite(base: gray, overlay: neutral)
        #expect(stillGray.colorModel == .gray && abs(stillGray[0, 0, 0] - 0.2) < 1e-6)
    }
}
