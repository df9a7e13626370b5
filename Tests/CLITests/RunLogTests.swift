import Foundation
import Testing

@Suite("Progress display")
struct ProgressTests {
    @Test(
        "On a terminal, one progress line is redrawn in place; piped, each file gets its own line",
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a pseudo-terminal"
        ))
    func liveLine() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let command = [
            deltaflowBinary().path, "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
            "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)", "--no-cache",
            "--jobs", "1",
        ].joined(separator: " ")
        let text = try runProgram("/usr/bin/script", ["-qc", command, "/dev/null"]).stdout
        #expect(text.contains("\r\u{1B}[K[5/5] "), "\(text.debugDescription)")
        #expect(text.contains("\r\u{1B}[Kdone 5, failed 0"))
        #expect(!text.contains("[1/5] astronaut.png"), "per-file lines are for pipes, not terminals")

        let piped = try deltaflow([
            "run", repository.appendingPathComponent("Workflows/resize-batch.yaml").path,
            "--set", "input=\(repository.path)/Examples", "--set", "output=\(output.path)",
            "--no-cache", "--jobs", "1",
        ])
        #expect(piped.stdout.contains("[1/5] astronaut.png "))
        #expect(!piped.stdout.contains("\u{1B}["))
    }
}
