import Foundation
import NodeKit
import Testing

@testable import Workflow

/// Workflows are shared like recipes: what a hostile file holds must be refused with a
/// diagnostic, quickly and in little memory, never by exhausting the machine.
@Suite("Workflow limits")
struct LimitsTests {
    /// Nine levels of nine aliases each: 9⁹ (387 million) strings if expanded.
    static let aliasBomb =
        "version: 1\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + zip("bcdefghi", "abcdefgh").map { name, inner in
            "\(name): &\(name) [" + Array(repeating: "*\(inner)", count: 9).joined(separator: ",") + "]\n"
        }.joined() + "nodes: {}\n"

    @Test("An alias bomb is refused at the first alias that multiplies")
    func aliasBomb() {
        expectSingle(
            Self.aliasBomb, code: "alias_expansion_limit",
            message:
                "YAML aliases expand this workflow to more than 20000 values ('*a' repeats what '&a' holds, and aliases inside it multiply)",
            line: 3, column: 8,
            help: "write the repeated part out, or alias only small values (an argument list, a setting)")
    }

    @Test("Aliases of small values still work: one argument list used twice")
    func smallAlias() {
        let yaml = """
            version: 1
            params: {input: {type: dir}, output: {type: dir}}
            nodes:
              photo: {node: load, each: $input}
              a: {node: exec, image: $photo.image, command: &negate [magick, "{input}", -negate, "{output}"]}
              b: {node: exec, image: $a.image, command: *negate}
              out: {node: save, image: $b.image, dir: $output}
            """
        #expect(diagnose(yaml).isEmpty)
    }

    @Test("Nesting past the limit is refused where it starts, whether we or libyaml see it first")
    func nesting() {
        for depth in [100, 5000] {
            let yaml =
                "version: 1\nnodes: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let found = diagnose(yaml)
            #expect(found.map(\.code) == ["nesting_too_deep"], "\(depth): \(found)")
            #expect(found.first?.message == "lists and mappings are nested more than 32 deep here")
        }
        // Just inside the limit is only a type error, not a refusal.
        let fine = "version: 1\nnodes: " + String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        #expect(diagnose(fine).map(\.code) == ["bad_value"])
    }

    @Test("A file over the size limit is refused without being read")
    func size() throws {
        let text = "version: 1\nnodes: {}\nname: \"" + String(repeating: "x", count: WorkflowLimits.fileBytes) + "\"\n"
        #expect(diagnose(text).map(\.code) == ["workflow_too_large"])
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("big.yaml")
            try Data(text.utf8).write(to: file)
            do {
                _ = try Workflow.load(file.path, registry: registry)
                Issue.record("a 1-MiB workflow was accepted")
            } catch let error as ValidationFailure {
                #expect(
                    error.diagnostics.map(\.message) == [
                        "the workflow file is over the limit of 1.0 MiB (it holds 1.0 MiB)"
                    ])
            }
        }
    }

    @Test("A long source line is shown as a window around the caret")
    func longLine() throws {
        let yaml =
            "version: 1\nnodes: {a: {node: load, path: \"" + String(repeating: "x", count: 5000) + "\", imgae: 1}}"
        let found = diagnose(yaml)
        let rendered = try #require(found.first { $0.code == "unknown_port" }).rendered(source: yaml)
        let lines = rendered.split(separator: "\n")
        #expect(lines[1].count < 140 && lines[1].hasPrefix(" 2 | …"), "\(lines[1])")
        // The caret stays under the 'imgae' it points at.
        let caret = try #require(lines[2].firstIndex(of: "^"))
        let column = lines[2].distance(from: lines[2].startIndex, to: caret)
        #expect(lines[1].dropFirst(column).hasPrefix("imgae"), "\(rendered)")
    }
}
