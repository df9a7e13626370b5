import Foundation
import Testing

/// Writes `files` (relative path → text) under a new folder.
private func folder(_ files: [String: String]) throws -> URL {
    let root = try temporaryDirectory()
    for (path, text) in files {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return root
}

/// `deltaflow run` of `file` in `root` over the bundled Examples, writing to `root/output`.
private func runOnExamples(_ root: URL, _ file: String, output: String, _ extra: [String] = []) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    try deltaflow(
        [
            "run", root.appendingPathComponent(file).path, "--set", "input=\(repository.path)/Examples",
            "--set", "output=\(root.path)/\(output)",
        ] + extra)
}

private func files(in directory: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !$0.hasPrefix(".") }
        .sorted()
}

@Suite("Sub-workflows: a workflow file used as a node")
struct SubWorkflowTests {
    static let library = """
        version: 1
        description: a grade
        params:
          image: {type: image, doc: the photo}
          amount: {type: number, default: 0.5, min: 0, max: 2}
        nodes:
          graded: {node: adjust, image: $image, exposure: $amount, saturation: 1.3}
          small: {node: resize, image: $graded.image, max_side: 200}
        outputs:
          image: {from: $small.image, doc: the graded photo}

        """

    @Test("A sub-workflow writes exactly what the same nodes written inline write")
    func sameAsInline() throws {
        let root = try folder([
            "lib/grade.yaml": Self.library,
            "shoot.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input, pattern: "*.png"}
              grade: {workflow: lib/grade.yaml, image: $photo.image, amount: 0.7}
              out: {node: save, image: $grade.image, dir: $output, name: "{stem}.png"}

            """,
            "inline.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input, pattern: "*.png"}
              graded: {node: adjust, image: $photo.image, exposure: 0.7, saturation: 1.3}
              small: {node: resize, image: $graded.image, max_side: 200}
              out: {node: save, image: $small.image, dir: $output, name: "{stem}.png"}

            """,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["shoot", "inline"] {
            let result = try runOnExamples(root, "\(name).yaml", output: "\(name)", ["--quiet"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(files(in: root.appendingPathComponent("shoot")).count == 4)
        for name in files(in: root.appendingPathComponent("inline")) {
            let a = try Data(contentsOf: root.appendingPathComponent("shoot/\(name)"))
            let b = try Data(contentsOf: root.appendingPathComponent("inline/\(name)"))
            #expect(a == b, "\(name)")
        }
        // Its params are the node's inputs in the plan; the default fills what is not given.
        let plan = try runOnExamples(root, "shoot.yaml", output: "o", ["--dry-run"])
        #expect(plan.stdout.contains("grade/graded (adjust): per file"), "\(plan.stdout)")
    }

    @Test("when: and otherwise: on a sub-workflow node; item placeholders inside a library")
    func conditionalLibrary() throws {
        let library = Self.library.replacingOccurrences(
            of: "outputs:",
            with: "  copy: {node: save, image: $small.image, dir: $copies, name: \"{stem}-copy.png\"}\noutputs:"
        ).replacingOccurrences(of: "params:\n", with: "params:\n  copies: {type: dir}\n")
        let root = try folder([
            "lib/grade.yaml": library,
            "shoot.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input, pattern: "*.png"}
              grade:
                workflow: lib/grade.yaml
                when: ${$photo.width >= 500}
                image: $photo.image
                copies: $output
                otherwise: {image: $photo.image}
              out: {node: save, image: $grade.image, dir: $output, name: "{stem}.png"}

            """,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runOnExamples(root, "shoot.yaml", output: "o", ["--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        // chelsea (451 px) is saved as it was, and has no copy: the library's nodes did not run for it.
        #expect(
            files(in: root.appendingPathComponent("o")) == [
                "astronaut-copy.png", "astronaut.png", "camera-copy.png", "camera.png", "chelsea.png",
                "coffee-copy.png", "coffee.png",
            ])
        let identify = try run(
            "identify", ["-format", "%f %w\n", root.path + "/o/chelsea.png", root.path + "/o/coffee.png"])
        #expect(identify.contains("chelsea.png 451") && identify.contains("coffee.png 200"), "\(identify)")
    }

    @Test("A problem inside a sub-workflow is reported in its own file, with where it is used")
    func diagnosticsInTheirFile() throws {
        let root = try folder([
            "lib/grade.yaml": Self.library.replacingOccurrences(of: "$graded.image, max", with: "$graded.imag, max"),
            "shoot.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              grade: {workflow: lib/grade.yaml, image: $photo.image, amont: 0.7}
              out: {node: save, image: $grade.image, dir: $output}

            """,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let shoot = root.appendingPathComponent("shoot.yaml").path
        let result = try deltaflow(["validate", shoot])
        #expect(result.status == 1)
        let library = root.appendingPathComponent("lib/grade.yaml").path
        #expect(
            result.stderr.contains(
                """
                \(library):8:32: error: node 'graded' (adjust) has no output 'imag'
                 8 |   small: {node: resize, image: $graded.imag, max_side: 200}
                   |                                ^
                  note: used from \(shoot):5:3
                  help: did you mean 'image'?
                """), "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "\(shoot):5:58: error: unknown port 'amont' on node 'grade' (workflow lib/grade.yaml)"))
        #expect(result.stderr.contains("help: did you mean 'amount'?"))
        let json = try deltaflow(["run", shoot, "--log-format", "json", "--set", "input=.", "--set", "output=o"])
        let objects = json.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let inside = try #require(objects.first { $0["file"] as? String == library })
        #expect(inside["used_from"] as? [String] == ["\(shoot):5:3"])
    }

    @Test("Files that use each other, a missing file, and a param --set cannot give are refused clearly")
    func refusals() throws {
        let root = try folder([
            "a.yaml": "version: 1\nnodes:\n  b: {workflow: b.yaml}\n",
            "b.yaml": "version: 1\nnodes:\n  a: {workflow: a.yaml}\noutputs: {image: $a.image}\n",
            "typo.yaml": "version: 1\nnodes:\n  g: {workflow: lib/grde.yaml}\n",
            "lib/grade.yaml": Self.library,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let cycle = try deltaflow(["validate", root.appendingPathComponent("a.yaml").path])
        #expect(cycle.status == 1)
        let (a, b) = (root.appendingPathComponent("a.yaml").path, root.appendingPathComponent("b.yaml").path)
        #expect(cycle.stderr.contains("error: sub-workflows use each other in a cycle: \(a) → \(b) → \(a)"))
        #expect(cycle.stderr.hasSuffix("1 error\n"), "\(cycle.stderr)")
        let typo = try deltaflow(["validate", root.appendingPathComponent("typo.yaml").path])
        #expect(typo.stderr.contains("error: cannot read the sub-workflow"))
        #expect(typo.stderr.contains("help: did you mean 'lib/grade.yaml'?"), "\(typo.stderr)")
        let direct = try deltaflow(["run", root.appendingPathComponent("lib/grade.yaml").path])
        #expect(direct.status == 1)
        #expect(
            direct.stderr.contains("param 'image' is an image, which only a workflow using this one as a node can give")
        )
    }

    @Test("A program run inside a sub-workflow needs the user's consent like one in the file run")
    func consent() throws {
        let root = try folder([
            "lib/negate.yaml": """
            version: 1
            params: {image: {type: image}}
            nodes:
              neg: {node: exec, image: $image, command: [convert, "{input}", -negate, "{output}"]}
            outputs: {image: $neg.image}

            """,
            "shoot.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              neg: {workflow: lib/negate.yaml, image: $photo.image}
              out: {node: save, image: $neg.image, dir: $output}

            """,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runOnExamples(root, "shoot.yaml", output: "o")
        #expect(result.status == 5)
        #expect(result.stderr.contains("node 'neg/neg': convert '{input}' -negate '{output}'"), "\(result.stderr)")
        #expect(files(in: root.appendingPathComponent("o")).isEmpty)
    }
}

@Suite("Conditions and a photo's properties")
struct ConditionTests {
    @Test("when: on $photo.width leaves out exactly the narrow photos, and says so")
    func narrowPhotos() throws {
        let root = try folder([
            "wide.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input, pattern: "*.{png,jpg}"}
              small: {node: resize, image: $photo.image, scale: 0.5, when: "${$photo.width >= 500}"}
              out: {node: save, image: $small.image, dir: $output, name: "{stem}-{format}.png"}

            """.replacingOccurrences(of: "{format}", with: "${$photo.format}")
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runOnExamples(root, "wide.yaml", output: "o")
        #expect(result.status == 0, "\(result.stderr)")
        // chelsea is 451 px wide; the others 512, 600 and 640.
        #expect(
            files(in: root.appendingPathComponent("o")) == [
                "astronaut-png.png", "camera-png.png", "coffee-png.png", "rocket-jpeg.png",
            ])
        #expect(result.stdout.contains("chelsea.png filtered: node 'out' did not run: it reads $small.image"))
        #expect(result.stdout.contains("done 4, failed 0, skipped 0, filtered 1 in "))
    }

    @Test("otherwise: gives a left-out node's outputs, so what reads them still runs")
    func fallback() throws {
        let root = try folder([
            "cap.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input, pattern: "*.{png,jpg}"}
              capped:
                node: resize
                when: ${$photo.megapixels > 0.25}
                image: $photo.image
                max_side: 300
                otherwise: {image: $photo.image}
              out: {node: save, image: $capped.image, dir: $output, name: "{stem}.png"}

            """
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try runOnExamples(root, "cap.yaml", output: "o", ["--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(files(in: root.appendingPathComponent("o")).count == 5)
        // chelsea (0.135 MP) is kept as it was; coffee (0.24 MP) too; the rest are capped at 300 px.
        let identify = try run("identify", ["-format", "%f %w\n", root.appendingPathComponent("o").path + "/*.png"])
        #expect(identify.contains("chelsea.png 451") && identify.contains("coffee.png 600"), "\(identify)")
        #expect(identify.contains("astronaut.png 300") && identify.contains("rocket.png 300"), "\(identify)")
    }

    @Test("EXIF fields may be absent: validation asks for a value, and ?? gives one per photo")
    func exifFields() throws {
        let root = try folder([
            "strict.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              out: {node: save, image: $photo.image, dir: $output, name: "${$photo.exif.model}-{stem}.png"}

            """,
            "model.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              out:
                node: save
                when: ${$photo.exif.model != 'Rejected'}
                image: $photo.image
                dir: $output
                name: "${$photo.exif.model ?? $photo.exif.make ?? 'unknown'}-${$photo.exif.orientation ?? 0}-{stem}.png"

            """,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let strict = try deltaflow(["validate", root.appendingPathComponent("strict.yaml").path])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("error: $photo.exif.model may be absent (not every file has it)"))
        #expect(strict.stderr.contains("help: give one for files without it: ${$photo.exif.model ?? 'unknown'}"))
        let input = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ["rocket", "coffee", "astronaut"] {
            try run(
                "convert",
                [
                    "\(repository.path)/Examples/\(name).\(name == "rocket" ? "jpg" : "png")",
                    "\(input.path)/\(name).jpg",
                ])
        }
        try run(
            "exiftool", ["-q", "-overwrite_original", "-Model=EOS R5", "-Orientation#=6", "\(input.path)/rocket.jpg"])
        try run("exiftool", ["-q", "-overwrite_original", "-Model=Rejected", "\(input.path)/astronaut.jpg"])
        let result = try deltaflow([
            "run", root.appendingPathComponent("model.yaml").path, "--set", "input=\(input.path)",
            "--set", "output=\(root.path)/o", "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(files(in: root.appendingPathComponent("o")) == ["EOS R5-6-rocket.png", "unknown-0-coffee.png"])
    }
}

@Suite("Zipped inputs: files of several folders paired by name")
struct ZippedInputTests {
    /// Photos a, b, c and masks a, c, x (other extensions); returns the folder.
    private func shoot(policy: String?) throws -> URL {
        let root = try folder([
            "zip.yaml": """
            version: 1
            params: {input: {type: dir}, masks: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              painted: {node: load, each: $masks, match: photo\(policy.map { ", unmatched: \($0)" } ?? "")}
              mask: {node: to_mask, image: $painted.image, width: $photo.width, height: $photo.height}
              dark: {node: adjust, image: $photo.image, exposure: -8}
              result: {node: composite, base: $photo.image, overlay: $dark.image, mask: $mask.mask}
              out: {node: save, image: $result.image, dir: $output, name: "{stem}.png"}

            """
        ])
        for directory in ["in", "masks", "in/day2", "masks/day2"] {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        for name in ["a", "b", "c"] {
            try run("convert", ["-size", "40x30", "xc:white", root.appendingPathComponent("in/\(name).png").path])
        }
        // The left half of a's mask is white; c's mask is black; x has no photo.
        try run(
            "convert",
            [
                "-size", "40x30", "xc:black", "-fill", "white", "-draw", "rectangle 0,0 19,29",
                root.appendingPathComponent("masks/a.jpg").path,
            ])
        try run("convert", ["-size", "40x30", "xc:black", root.appendingPathComponent("masks/c.tif").path])
        try run("convert", ["-size", "40x30", "xc:black", root.appendingPathComponent("masks/x.png").path])
        return root
    }

    private func zip(_ root: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        try deltaflow([
            "run", root.appendingPathComponent("zip.yaml").path, "--set", "input=\(root.path)/in",
            "--set", "masks=\(root.path)/masks", "--set", "output=\(root.path)/o",
        ])
    }

    @Test("Unmatched files refuse the run by default, every one of them listed, before anything is written")
    func refused() throws {
        let root = try shoot(policy: nil)
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try zip(root)
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                """
                node 'painted' pairs its files with 'photo''s by name without extension, and some are unmatched; nothing was processed:
                1 of 'photo''s files has no partner:
                  b.png
                1 of 'painted''s files has no partner:
                  x.png
                add the missing files, or write 'unmatched: skip' (leave such items out) or 'unmatched: optional' (run them without 'painted')
                """), "\(result.stderr)")
        #expect(files(in: root.appendingPathComponent("o")).isEmpty)
    }

    @Test("skip leaves unpaired photos out; each photo is darkened exactly where its own mask is white")
    func skip() throws {
        let root = try shoot(policy: "skip")
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try zip(root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(files(in: root.appendingPathComponent("o")) == ["a.png", "c.png"])
        let value = { (name: String, x: Int) throws -> Double in
            let text = try run(
                "convert", [root.appendingPathComponent("o/\(name)").path, "-format", "%[fx:p{\(x),15}.r]", "info:"])
            return try #require(Double(text), "\(text)")
        }
        #expect(try value("a.png", 5) < 0.01)
        #expect(try value("a.png", 35) > 0.99)
        #expect(try value("c.png", 5) > 0.99)
    }

    @Test("optional runs an unpaired photo without its mask: the optional input is left unset")
    func optional() throws {
        let root = try shoot(policy: "optional")
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try zip(root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(files(in: root.appendingPathComponent("o")) == ["a.png", "b.png", "c.png"])
        // No mask: composite's overlay covers it all.
        let b = try run("convert", [root.appendingPathComponent("o/b.png").path, "-format", "%[fx:maxima]", "info:"])
        #expect((Double(b) ?? 1) < 0.01, "\(b)")
    }
}

@Suite("Sweeps: one run per value of a param")
struct SweepTests {
    static let workflow = """
        version: 1
        params:
          input: {type: dir}
          output: {type: dir}
          amount: {type: number, min: 0, max: 1, doc: "required, but the sweep gives it"}
          exposure: {type: number, default: 0}
        sweep:
          amount: [0.2, 0.6]
        nodes:
          photo: {node: load, each: $input, pattern: "*.png"}
          graded: {node: adjust, image: $photo.image, exposure: $exposure}
          grainy: {node: grain, image: $graded.image, amount: "${$amount * 0.1}"}
          out: {node: save, image: $grainy.image, dir: $output, name: "{sweep}/{stem}-{amount}.png"}

        """

    @Test("A 3-value sweep writes 3 × N files, byte-identical at --jobs 1 and --jobs 2")
    func deterministic() throws {
        let root = try folder(["sweep.yaml": Self.workflow])
        defer { try? FileManager.default.removeItem(at: root) }
        for jobs in ["1", "2"] {
            let result = try runOnExamples(
                root, "sweep.yaml", output: "o\(jobs)", ["--sweep", "exposure=-0.5,0,0.5", "--jobs", jobs])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("24 files to process"), "\(result.stdout)")
        }
        let written = try FileManager.default.subpathsOfDirectory(atPath: root.path + "/o1").filter {
            $0.hasSuffix(".png")
        }
        // 4 photos × 2 amounts (the file's sweep) × 3 exposures (--sweep).
        #expect(written.count == 24)
        #expect(written.contains("amount-0.2_exposure--0.5/coffee-0.2.png"), "\(written.sorted())")
        for path in written {
            let one = try Data(contentsOf: root.appendingPathComponent("o1/\(path)"))
            let two = try Data(contentsOf: root.appendingPathComponent("o2/\(path)"))
            #expect(one == two, "\(path)")
        }
        // The grain is the item's own, whatever the combination: the seed follows the file.
        let a = try Data(contentsOf: root.appendingPathComponent("o1/amount-0.2_exposure--0.5/coffee-0.2.png"))
        let b = try Data(contentsOf: root.appendingPathComponent("o1/amount-0.6_exposure--0.5/coffee-0.6.png"))
        #expect(a != b)
    }

    @Test("--resume knows which combination of which file is done")
    func resume() throws {
        let root = try folder(["sweep.yaml": Self.workflow])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try runOnExamples(root, "sweep.yaml", output: "o").status == 0)
        try FileManager.default.removeItem(at: root.appendingPathComponent("o/amount-0.6/camera-0.6.png"))
        let resumed = try runOnExamples(root, "sweep.yaml", output: "o", ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("done 1, failed 0, skipped 0, already done 7 in "), "\(resumed.stdout)")
        #expect(resumed.stdout.contains("camera.png [amount-0.6] "))
        #expect(FileManager.default.fileExists(atPath: root.path + "/o/amount-0.6/camera-0.6.png"))
    }

    @Test("A sweep whose combinations would write one file, or a mistyped sweep, is refused before anything runs")
    func refused() throws {
        let root = try folder([
            "same.yaml": Self.workflow.replacingOccurrences(of: "{sweep}/{stem}-{amount}.png", with: "{stem}.png"),
            "typo.yaml": Self.workflow.replacingOccurrences(of: "  amount: [0.2, 0.6]", with: "  amont: [0.2, 7]"),
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let same = try runOnExamples(root, "same.yaml", output: "o")
        #expect(same.status == 1)
        #expect(same.stderr.contains("would write \(root.path)/o/astronaut.png for both amount-0.2 and amount-0.6"))
        #expect(files(in: root.appendingPathComponent("o")).isEmpty)
        let typo = try deltaflow(["validate", root.appendingPathComponent("typo.yaml").path])
        #expect(typo.stderr.contains("error: 'sweep' names 'amont', which is not a param"))
        #expect(typo.stderr.contains("help: did you mean 'amount'?"))
        let range = try deltaflow([
            "run", root.appendingPathComponent("same.yaml").path, "--set", "input=.", "--set", "output=o",
            "--sweep", "amount=0.5,3", "--set", "amount=0.1",
        ])
        #expect(range.status == 1)
        #expect(
            range.stderr.contains("--sweep amount=0.5,3: 'amount' must be between 0 and 1, not 3"), "\(range.stderr)")
        #expect(range.stderr.contains("param 'amount' is both set (--set) and swept"))
        let twice = try deltaflow([
            "run", root.appendingPathComponent("same.yaml").path, "--set", "input=.", "--set", "output=o",
            "--sweep", "exposure=1,1.0",
        ])
        #expect(twice.stderr.contains("--sweep exposure=1,1.0: a value is given twice"), "\(twice.stderr)")
    }
}

@Suite("Watch mode: a hot folder")
struct WatchTests {
    /// Item events of a JSON log, by path.
    private func items(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["event"] as? String == "item"
            else { return nil }
            return "\(object["path"] ?? "") \(object["status"] ?? "")"
        }.sorted()
    }

    @Test("Files copied in while it runs, a slow chunked copy too, are processed once; a restart goes on")
    func hotFolder() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let (input, output) = (root.appendingPathComponent("in"), root.appendingPathComponent("out"))
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/coffee.png"), to: input.appendingPathComponent("coffee.png")
        )
        let arguments = [
            "watch", repository.appendingPathComponent("Workflows/color-grade.yaml").path, "--set",
            "input=\(input.path)", "--set", "output=\(output.path)", "--settle", "0.6", "--log-format", "json",
            "--cache-dir", root.appendingPathComponent("cache").path,
        ]
        let first = try ProgramRun(deltaflow: arguments)
        first.waitForOutputs(1, in: output)
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/rocket.jpg"), to: input.appendingPathComponent("rocket.jpg")
        )
        // Written in five pieces, the file closed and reopened between them, 0.2 s apart: never
        // read half-way.
        let photo = try Data(contentsOf: repository.appendingPathComponent("Examples/astronaut.png"))
        let target = input.appendingPathComponent("astronaut.png")
        let piece = photo.count / 5
        for index in 0..<5 {
            let chunk = photo[(index * piece)..<(index == 4 ? photo.count : (index + 1) * piece)]
            if index == 0 {
                try chunk.write(to: target)
            } else {
                let handle = try FileHandle(forWritingTo: target)
                try handle.seekToEnd()
                try handle.write(contentsOf: chunk)
                try handle.close()
            }
            usleep(200_000)
        }
        first.waitForOutputs(3, in: output)
        usleep(300_000)
        first.process.terminate()
        let one = first.finish()
        #expect(one.status == 0, "\(one.stderr)")
        #expect(items(one.stdout) == ["astronaut.png done", "coffee.png done", "rocket.jpg done"], "\(one.stdout)")
        #expect(files(in: output) == ["astronaut.png", "coffee.png", "rocket.png"])
        // A photo arrives while it is stopped; started again, it processes that one alone.
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/chelsea.png"),
            to: input.appendingPathComponent("chelsea.png"))
        let second = try ProgramRun(deltaflow: arguments)
        second.waitForOutputs(4, in: output)
        usleep(300_000)
        second.process.terminate()
        let two = second.finish()
        #expect(two.status == 0, "\(two.stderr)")
        #expect(
            items(two.stdout) == [
                "astronaut.png already_done", "chelsea.png done", "coffee.png already_done", "rocket.jpg already_done",
            ], "\(two.stdout)")
        // The graded astronaut is the whole photo's: the same bytes as a run over the folder writes.
        let batch = root.appendingPathComponent("batch")
        let run = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/color-grade.yaml").path, "--set", "input=\(input.path)",
            "--set", "output=\(batch.path)", "--quiet",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try Data(contentsOf: batch.appendingPathComponent("astronaut.png"))
                == Data(contentsOf: output.appendingPathComponent("astronaut.png")))
    }

    @Test("A sweep whose combinations would write one file is refused as the watch starts")
    func sweepRefused() throws {
        let root = try folder([
            "sweep.yaml": """
            version: 1
            params: {input: {type: dir}, output: {type: dir}, exposure: {type: number, default: 0}}
            nodes:
              photo: {node: load, each: $input}
              graded: {node: adjust, image: $photo.image, exposure: $exposure}
              out: {node: save, image: $graded.image, dir: $output, name: "{stem}.png"}

            """
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("in"), withIntermediateDirectories: true)
        let result = try deltaflow([
            "watch", root.appendingPathComponent("sweep.yaml").path, "--set", "input=\(root.path)/in",
            "--set", "output=\(root.path)/out", "--sweep", "exposure=0,1",
        ])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "would write the same file for exposure-0 and exposure-1: each combination of the sweep needs its own files"
            ), "\(result.stderr)")
    }
}
