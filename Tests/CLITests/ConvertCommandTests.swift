import Foundation
import Testing

/// Runs the built `deltaflow` executable; returns its exit status and standard error.
private func deltaflow(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var binary = products.appendingPathComponent("deltaflow")
    // swift test runs the test bundle from .build/<triple>/debug; the executable sits beside it.
    while !FileManager.default.isExecutableFile(atPath: binary.path) && binary.pathComponents.count > 2 {
        binary = binary.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deltaflow")
    }
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

private let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func temporaryDirectory() throws -> URL {
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
        #expect(result.stderr.contains("b.jpg: truncated JPEG data"), "\(result.stderr)")
        #expect(result.stdout.contains("converted 2 of 3 images"))
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
        #expect(result.stderr.contains("refusing to overwrite the input file"))
        #expect(try Data(contentsOf: photo) == before)
    }

    @Test("Bad arguments are usage errors naming the option")
    func badArguments() throws {
        let result = try deltaflow(["convert", "Examples", "--output", "/tmp/x", "--quality", "0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--quality must be 1 to 100, not 0"))
    }
}
