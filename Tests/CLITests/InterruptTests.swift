import Foundation
import Testing

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
            try FileManager.default.copyItem(
                at: photo, to: input.appendingPathComponent(String(format: "%02d.png", index)))
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
            [
                "run", workflow.path, "--set", "input=\(input.path)", "--set", "output=\(root.path)/\(output)",
                "--cache-dir", "\(root.path)/\(cache)", "--jobs", "1", "--quiet",
            ]
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
        for (name, data) in partial {
            #expect(data == (try outputs(root.appendingPathComponent("reference")))[name], "\(name)")
        }

        let resumed = try deltaflow(arguments("interrupted", cache: "cache-b") + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("already done"))
        #expect(try outputs(interrupted) == (try outputs(root.appendingPathComponent("reference"))))
    }
}
