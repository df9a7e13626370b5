import Foundation
import ImageCodecs
import NodeKit
import Testing

@testable import BuiltinNodes
@testable import Workflow

private func gradient() -> Image {
    var samples: [Float] = []
    for y in 0..<5 { for x in 0..<7 { for c in 0..<3 { samples.append(Float(x * 30 + y * 7 + c * 50) / 255) } } }
    return Image(width: 7, height: 5, colorModel: .rgb, samples: samples).converted(to: .uint8)
}

/// Runs the exec node directly with these inputs over its defaults.
private func exec(
    _ command: [String], image: Image? = gradient(), _ extra: [String: Value] = [:],
    item: NodeContext.Item? = nil
) throws -> [String: Value] {
    var values: [String: Value] = [
        "command": .strings(command), "input_format": .string("png"),
        "output_format": .string("png"), "timeout": .number(30), "shell": .bool(false),
    ]
    if let image { values["image"] = .image(image) }
    values.merge(extra) { $1 }
    return try ExecNode().run(NodeInputs(values), context: NodeContext(item: item, seed: 7))
}

@Suite("The exec node")
struct ExecNodeTests {
    @Test func roundTripThroughAProgram() throws {
        let out = try exec(["cp", "{input}", "{output}"])
        #expect(out["image"] == .image(gradient()))
        #expect(out["stdout"] == .string(""))
    }

    /// Arguments reach the program exactly as written, one each, whatever characters they hold.
    @Test func argumentsAreNeverSplitOrInterpreted() throws {
        let out = try exec(["printf", "[%s]", "a b", "x; touch /tmp/pwned", "$HOME", "'q'", "{input}"])
        guard case .string(let printed)? = out["stdout"] else {
            Issue.record("no stdout")
            return
        }
        #expect(printed.hasPrefix("[a b][x; touch /tmp/pwned][$HOME]['q'][/"))
        #expect(printed.hasSuffix("/input.png]"))
    }

    @Test func shellWhenAskedWithPathsAsParameters() throws {
        let item = NodeContext.Item(path: "/photos/it's a photo.png", relativePath: "it's a photo.png", index: 0)
        let out = try exec(
            ["cp '{input}' \"{output}\" && printf '%s|%s' \"$DELTAFLOW_ITEM_RELPATH\" \"$DELTAFLOW_SEED\""],
            ["shell": .bool(true)], item: item)
        #expect(out["image"] == .image(gradient()))
        #expect(out["stdout"] == .string("it's a photo.png|7"))
    }

    /// The docs say the paths arrive as "$1" and "$2": a script naming them so gets them.
    @Test(arguments: ["cp \"$1\" \"$2\"", "cp \"${1}\" \"${2}\"", "cp \"$@\""])
    func shellScriptsNamingPositionalParameters(_ script: String) throws {
        let out = try exec([script], ["shell": .bool(true)])
        #expect(out["image"] == .image(gradient()))
        #expect(!ExecNode.uses("echo $10", position: 1))
    }

    /// Without {output}, the node passes its image on (a command run for its effect).
    @Test func withoutOutputPassesTheImageOn() throws {
        let out = try exec(["echo", "seen"])
        #expect(out["image"] == .image(gradient()))
        #expect(out["stdout"] == .string("seen"))
    }

    @Test(arguments: [
        (
            ["sh", "-c", "echo first >&2; echo 'disk is full' >&2; exit 3"],
            "exec: command 'sh' exited with status 3: first / disk is full"
        ),
        (
            ["no-such-tool-xyz", "{input}"],
            "exec: program 'no-such-tool-xyz' is not on PATH; install it or give its full path"
        ),
        (["true", "{output}"], "exec: command 'true' succeeded but wrote nothing to {output}"),
        (
            ["sh", "-c", "echo hi > \"$0\"", "{output}"],
            "exec: command 'sh' wrote {output}, but it is not a readable image: "
        ),
        (["sh", "-c", "kill -9 $$"], "exec: command 'sh' was killed by signal 9"),
        ([], "exec: 'command' is empty; give the program and its arguments, e.g. [magick, \"{input}\", \"{output}\"]"),
    ])
    func failures(command: [String], message: String) throws {
        let error = #expect(throws: NodeError.self) { try exec(command) }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test func timeout() throws {
        let error = #expect(throws: NodeError.self) { try exec(["sleep", "30"], ["timeout": .number(0.2)]) }
        #expect(
            error?.message
                == "exec: command 'sleep' did not finish within 0.2 s and was stopped; raise 'timeout' if it needs longer"
        )
    }

    @Test func needsAnImageForInput() throws {
        let error = #expect(throws: NodeError.self) { try exec(["cp", "{input}", "{output}"], image: nil) }
        #expect(error?.message == "exec: the command uses {input} but the node has no 'image' to write there")
    }

    /// In a workflow: lists evaluate element by element, item placeholders fill in, and the
    /// node's own {input}/{output} pass through validation untouched.
    @Test func inAWorkflow() throws {
        try withTemporaryDirectory { dir in
            try copyExamples(["in/cat one.png": "chelsea.png", "in/coffee.png": "coffee.png"], into: dir)
            let summary = try run(
                """
                version: 1
                params:
                  input: {type: dir}
                  output: {type: dir}
                  size: {type: integer, default: 32}
                nodes:
                  photo: {node: load, each: $input}
                  small: {node: resize, image: $photo.image, width: $size}
                  copy:  {node: exec, image: $small.image, command: [cp, "{input}", "{output}"]}
                  note:  {node: exec, image: $copy.image, command: [printf, "%s=%s", "{stem}", "${$size * 2}"]}
                  out:   {node: save, image: $note.image, dir: $output, name: "${$note.stdout}.png"}
                """, ["input=\(dir.path)/in", "output=\(dir.path)/out"])
            #expect(summary.done == 2, "\(summary.failed.map(\.message))")
            let written = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out").path)
                .sorted()
            #expect(written == ["cat one=64.png", "coffee=64.png"])
            let image = try ImageFile.read(dir.appendingPathComponent("out/coffee=64.png").path)
            #expect(image.width == 32)
        }
    }

    @Test func placeholderTypo() {
        expectSingle(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.png}
              x: {node: exec, image: $photo.image, command: [cp, "{inptu}", "{output}"]}
            """, code: "bad_expression", message: "unknown placeholder '{inptu}'", line: 4, column: 55,
            help: "did you mean '{input}'?")
    }

    @Test func commandMustBeAList() {
        let found = diagnose(
            """
            version: 1
            nodes:
              photo: {node: load, path: a.png}
              x: {node: exec, image: $photo.image, command: "cp {input} {output}"}
            """)
        #expect(found.map(\.code) == ["type_mismatch"])
        #expect(found.first?.message.contains("strings") == true)
    }
}
