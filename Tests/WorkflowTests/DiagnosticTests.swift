import NodeKit
import Testing

@testable import Workflow

@Suite("Workflow diagnostics")
struct DiagnosticTests {
    @Test("Unknown node kind, with a suggestion")
    func unknownKind() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: lod, path: a.jpg}
            """, code: "unknown_node_kind", message: "unknown node kind 'lod'", line: 3, column: 17,
            help: "did you mean 'load'?")
    }

    @Test("Files with Windows line ends (found by fuzzing): the source line and caret are still shown")
    func windowsLineEnds() throws {
        let yaml = "version: 1\r\nnodes:\r\n  photo: {node: lod, path: a.jpg}\r\n"
        let found = diagnose(yaml)
        #expect(found.count == 1)
        let rendered = try #require(found.first).rendered(source: yaml)
        #expect(
            rendered.hasSuffix(
                " 3 |   photo: {node: lod, path: a.jpg}\n   |                 ^\n  help: did you mean 'load'?"),
            "\(rendered)")
    }

    @Test("A syntax error at the end of a file without a final newline points at its last line (found by fuzzing)")
    func syntaxErrorAtEnd() {
        expectSingle(
            "version: 1\nnodes: {a: {node: load", code: "yaml_syntax",
            message: "invalid YAML: did not find expected ',' or '}' while parsing a flow mapping", line: 2, column: 23,
            help: "check indentation, colons and quotes around this point")
    }

    @Test("A param with min above max is reported, not a crash (found by fuzzing)")
    func invertedRange() {
        expectSingle(
            """
            version: 1
            params:
              strength: {type: number, default: 1, min: 2, max: 0.5}
            nodes:
              photo: {node: load, path: a.jpg}
            """, code: "invalid_range", message: "param 'strength' has min 2 above max 0.5", line: 3, column: 45,
            help: "swap them, or remove one")
        expectSingle(
            """
            version: 1
            params:
              strength: {type: number, max: .nan}
            nodes:
              photo: {node: load, path: a.jpg}
            """, code: "invalid_range", message: "param 'strength' has a min or max that is not a number", line: 3,
            column: 33)
    }

    @Test("Unknown port, with a suggestion (and no second error for the input it misspells)")
    func unknownPort() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              small: {node: resize, imgae: $photo.image, max_side: 64}
              out: {node: save, image: $small.image, dir: out, name: a.png}
            """, code: "unknown_port", message: "unknown port 'imgae' on node 'small' (resize)", line: 4, column: 25,
            help: "did you mean 'image'?")
    }

    @Test("Missing required input")
    func missingInput() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              out: {node: save, image: $photo.image}
            """, code: "missing_input", message: "node 'out' (save) is missing required input 'dir'", line: 4,
            column: 3,
            help: "add 'dir: …' (path: output directory; created if missing)")
    }

    @Test("Type mismatch names both types")
    func typeMismatch() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              out: {node: save, image: $photo.path, dir: out, name: a.png}
            """, code: "type_mismatch",
            message: "port 'image' of node 'out' (save) expects image, but $photo.path is path", line: 4, column: 28)
    }

    @Test("Reference to an undefined node or param")
    func undefinedReference() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              out: {node: save, image: $phto.image, dir: out, name: a.png}
            """, code: "undefined_reference", message: "$phto.image refers to no node or param", line: 4, column: 28,
            help: "did you mean '$photo'?")
    }

    @Test("Unknown output of a node")
    func unknownOutput() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              out: {node: save, image: $photo.img, dir: out, name: a.png}
            """, code: "unknown_output", message: "node 'photo' (load) has no output 'img'", line: 4, column: 28,
            help: "did you mean 'image'?")
    }

    @Test("A cycle is printed with its path")
    func cycle() {
        expectSingle(
            """
            version: 1
            nodes:
              a: {node: adjust, image: $c.image}
              b: {node: adjust, image: $a.image}
              c: {node: adjust, image: $b.image}
              out: {node: save, image: $c.image, dir: out, name: x.png}
            """, code: "cycle", message: "cycle: a -> b -> c -> a", line: 3, column: 3,
            help: "a node cannot depend, directly or not, on its own output")
    }

    @Test("Out-of-range and not-in-list values")
    func badValues() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              small: {node: resize, image: $photo.image, scale: 500}
              out: {node: save, image: $small.image, dir: out, name: a.png}
            """, code: "value_out_of_range",
            message: "port 'scale' of node 'small' must be between 0.001 and 100, not 500",
            line: 4, column: 53)
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              small: {node: resize, image: $photo.image, scale: 0.5, filter: bicubik}
              out: {node: save, image: $small.image, dir: out, name: a.png}
            """, code: "value_not_in_list",
            message:
                "port 'filter' of node 'small' must be one of automatic, area, bicubic, lanczos3, nearest, not 'bicubik'",
            line: 4, column: 66, help: "did you mean 'bicubic'?")
    }

    @Test("Duplicate keys point at the repeat")
    func duplicateKey() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              photo: {node: load, path: b.jpg}
            """, code: "duplicate_key", message: "duplicate key 'photo'", line: 4, column: 3,
            help: "'photo' is already defined at line 3; keep one of them")
    }

    @Test("YAML syntax errors carry the parser's position")
    func syntax() {
        let found = diagnose("version: 1\nnodes:\n  photo: {node: load, path: [a.jpg}\n")
        #expect(found.count == 1)
        #expect(found.first?.code == "yaml_syntax")
        #expect(found.first?.message.hasPrefix("invalid YAML: ") == true)
        #expect(found.first?.location?.line == 3)
    }

    @Test("Unknown top-level keys, missing and unsupported versions")
    func topLevel() {
        expectSingle(
            "version: 1\nnodez: {}\nnodes: {}\n", code: "unknown_key", message: "unknown top-level key 'nodez'",
            line: 2, column: 1, help: "did you mean 'nodes'?")
        expectSingle(
            "version: 2\nnodes: {}\n", code: "unsupported_version", message: "unsupported workflow version 2",
            line: 1, column: 10, help: "this deltaflow reads 'version: 1'")
        expectSingle(
            "nodes: {}\n", code: "missing_key", message: "the workflow has no 'version'", line: 1, column: 1,
            help: "add 'version: 1' as the first line")
    }

    @Test("Params: unknown type, default out of range")
    func params() {
        expectSingle(
            """
            version: 1
            params:
              size: {type: integr}
            nodes: {}
            """, code: "unknown_type", message: "unknown param type 'integr'", line: 3, column: 16,
            help: "did you mean 'integer'?")
        expectSingle(
            """
            version: 1
            params:
              strength: {type: number, default: 3, min: 0, max: 2}
            nodes: {}
            """, code: "value_out_of_range", message: "the default of param 'strength' must be between 0 and 2, not 3",
            line: 3, column: 37)
    }

    @Test("Item placeholders in a node that runs once")
    func itemVariableOutsideIteration() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              out: {node: save, image: $photo.image, dir: out, name: "{stem}.png"}
            """, code: "item_variable_outside_iteration",
            message: "'stem' describes the current file, but node 'out' runs once, not per file", line: 4, column: 59,
            help: "connect this node to the node that iterates with 'each'")
    }

    @Test("Unknown placeholders and bad expressions")
    func expressions() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              out: {node: save, image: $photo.image, dir: out, name: "{stme}.png"}
            """, code: "bad_expression", message: "unknown placeholder '{stme}'", line: 4, column: 59,
            help: "did you mean '{stem}'?")
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              small: {node: resize, image: $photo.image, scale: "${max(0.5, }"}
              out: {node: save, image: $small.image, dir: out}
            """, code: "bad_expression", message: "expression ends too early", line: 4, column: 65)
    }

    @Test("Only nodes that read files can iterate, and only one")
    func iteration() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              gray: {node: grayscale, image: $photo.image, each: in}
              out: {node: save, image: $gray.image, dir: out}
            """, code: "cannot_iterate", message: "node kind 'grayscale' cannot iterate with 'each'", line: 4,
            column: 48,
            help: "iterate with a node that reads files, such as 'load', and connect this node to it")
        expectSingle(
            """
            version: 1
            nodes:
              a: {node: load, each: in}
              b: {node: load, each: in2}
              out: {node: composite, base: $a.image, overlay: $b.image}
              save: {node: save, image: $out.image, dir: out}
            """, code: "multiple_iterators", message: "node 'b' iterates with 'each', but node 'a' already does",
            line: 4, column: 3,
            help:
                "add 'match: a' to pair its files with a's by name (masks, retouched versions); the nodes after them run once per pair"
        )
    }

    @Test("A node of unknown kind is one error: what refers to it is not reported again")
    func noKnockOn() {
        let found = diagnose(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.jpg}
              sharp: {node: sharpen_more, image: $photo.image}
              small: {node: resize, image: $sharp.image, max_side: 64}
              out: {node: save, image: $small.image, dir: out, name: a.png}
            """)
        #expect(found.map(\.code) == ["unknown_node_kind"], "\(found.map(\.description))")
    }

    @Test("Every problem is reported in one pass, in source order")
    func allAtOnce() {
        let found = diagnose(
            """
            version: 1
            nodes:
              photo: {node: lod, path: a.jpg}
              small: {node: resize, imgae: $photo.image, max_side: 0}
              out: {node: save, image: $smal.image, dir: out, name: "{stme}.png"}
            """)
        #expect(
            found.map(\.code) == [
                "unknown_node_kind", "unknown_port", "value_out_of_range", "undefined_reference",
                "bad_expression",
            ], "\(found.map(\.description))")
    }

    @Test("Diagnostics render like a compiler: headline, source line, caret, help")
    func rendering() {
        let diagnostic = diagnose("version: 1\nnodes:\n  photo: {node: lod, path: a.jpg}\n")[0]
        #expect(
            diagnostic.rendered(source: "version: 1\nnodes:\n  photo: {node: lod, path: a.jpg}\n") == """
                wf.yaml:3:17: error: unknown node kind 'lod'
                 3 |   photo: {node: lod, path: a.jpg}
                   |                 ^
                  help: did you mean 'load'?
                """)
    }

    @Test("An unused node is a warning, and it does not run")
    func unusedNode() throws {
        let workflow = try Workflow.parse(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              gray: {node: grayscale, image: $photo.image}
              out: {node: save, image: $photo.image, dir: out}
            """, file: "wf.yaml", registry: registry)
        #expect(workflow.warnings.map(\.message) == ["node 'gray' is never used, so it will not run"])
        #expect(workflow.nodes.map(\.name) == ["photo", "out"])
    }
}

@Suite("--set")
struct ParamBindingTests {
    let workflow = try! Workflow.parse(
        """
        version: 1
        params:
          input: {type: dir}
          strength: {type: number, default: 1, min: 0, max: 2}
          mode: {type: string, default: fast, choices: [fast, best]}
        nodes: {}
        """, file: "wf.yaml", registry: registry)

    @Test("Values are parsed by type; defaults fill the rest")
    func binding() throws {
        let values = try workflow.bindParams(["input=photos", "strength=1.5"])
        #expect(values == ["input": .path("photos"), "strength": .number(1.5), "mode": .string("fast")])
    }

    @Test("Every --set problem is reported at once")
    func problems() {
        do {
            _ = try workflow.bindParams(["strenght=1", "strength=9", "mode=bets"])
            Issue.record("expected a failure")
        } catch {
            #expect(
                error.diagnostics.map(\.message) == [
                    "--set strenght=1: the workflow has no param 'strenght'",
                    "--set strength=9: 'strength' must be between 0 and 2",
                    "--set mode=bets: 'mode' must be one of fast, best",
                    "param 'input' has no value",
                ])
            #expect(
                error.diagnostics.map(\.help) == [
                    "did you mean 'strength'?", nil, "did you mean 'best'?", "pass --set input=… (dir)",
                ])
        }
    }
}

@Suite("Diagnostics of the composing syntax")
struct ComposingDiagnosticTests {
    @Test("match: and unmatched: say what they expected, with a suggestion")
    func matching() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              mask: {node: load, each: masks, match: phot}
              out: {node: composite, base: $photo.image, overlay: $mask.image}
              save: {node: save, image: $out.image, dir: out}
            """, code: "bad_match", message: "'match: phot' names no node that iterates with 'each'", line: 4,
            column: 42, help: "did you mean 'photo'?")
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              mask: {node: load, each: masks, match: photo, unmatched: skp}
              out: {node: composite, base: $photo.image, overlay: $mask.image}
              save: {node: save, image: $out.image, dir: out}
            """, code: "bad_value", message: "'unmatched' must be one of error, skip, optional, not skp", line: 4,
            column: 60, help: "did you mean 'skip'?")
    }

    @Test("when: must be true or false; otherwise: names the node's own outputs")
    func conditions() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              out: {node: save, image: $photo.image, dir: out, when: $photo.width}
            """, code: "type_mismatch",
            message: "'when' of node 'out' must be true or false, but $photo.width is integer", line: 4, column: 58,
            help: "compare it, e.g. when: ${$photo.width >= 1000}")
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              small: {node: resize, image: $photo.image, scale: 0.5, when: true, otherwise: {imag: $photo.image}}
              out: {node: save, image: $small.image, dir: out}
            """, code: "unknown_output", message: "node 'small' (resize) has no output 'imag'", line: 4, column: 82,
            help: "did you mean 'image'?")
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, each: in}
              out: {node: save, image: $photo.image, dir: out, name: "{stem}-${$photo.exif.iso + 1}.png"}
            """, code: "maybe_absent",
            message: "$photo.exif.iso may be absent (not every file has it), and 'name' needs a value", line: 4,
            column: 68,
            help:
                "give one for files without it: ${$photo.exif.iso ?? 'unknown'}, or compare it: ${$photo.exif.iso == …}"
        )
    }

    @Test("A sweep names params and holds values they take")
    func sweeps() {
        expectSingle(
            """
            version: 1
            params: {strength: {type: number, default: 1, min: 0, max: 2}}
            sweep: {strength: [0.5, 3]}
            nodes:
              photo: {node: load, each: in}
              out: {node: save, image: $photo.image, dir: out, name: "{stem}-{strength}.png"}
            """, code: "value_out_of_range",
            message: "a value of the sweep of 'strength' must be between 0 and 2, not 3", line: 3, column: 25)
    }
}
