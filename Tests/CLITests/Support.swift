import Foundation
import Testing

/// A built executable of this package (`deltaflow` by default), which swift test puts beside
/// the test bundle.
func deltaflowBinary(_ name: String = "deltaflow") -> URL {
    var binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    while !FileManager.default.isExecutableFile(atPath: binary.path) && binary.pathComponents.count > 2 {
        binary = binary.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(name)
    }
    return binary
}

/// An environment whose cache directory is a scratch folder, so tests never touch ~/.cache.
let testEnvironment: [String: String] = {
    var environment = ProcessInfo.processInfo.environment
    environment["DELTAFLOW_CACHE_DIR"] =
        FileManager.default.temporaryDirectory
        .appendingPathComponent("deltaflow-cli-cache-\(ProcessInfo.processInfo.processIdentifier)").path
    return environment
}()

/// A program started with the test environment (plus `environment`), its output captured to
/// files: unlike pipes read one after the other, a file never fills up and stalls the program.
struct ProgramRun {
    let process = Process()
    let stdout: URL
    let stderr: URL

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-test-\(UUID().uuidString)")
        stdout = logs.appendingPathExtension("out")
        stderr = logs.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = testEnvironment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
    }

    /// Waits for the program to end; returns its exit status, standard output and error.
    func finish() -> (status: Int32, stdout: String, stderr: String) {
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(at: stdout)
            try? FileManager.default.removeItem(at: stderr)
        }
        return (
            process.terminationStatus,
            (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
            (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        )
    }

    /// `deltaflow ARGUMENTS`, started in the background.
    init(deltaflow arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(deltaflowBinary().path, arguments, environment: environment)
    }

    /// Waits until `directory` holds at least `count` finished (non-hidden) files, or the run ends.
    func waitForOutputs(_ count: Int, in directory: URL) {
        while process.isRunning {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            if names.filter({ !$0.hasPrefix(".") }).count >= count { return }
            usleep(5_000)
        }
    }
}

/// Runs a program to its end; returns its exit status, standard output and error.
func runProgram(
    _ executable: String, _ arguments: [String],
    environment: [String: String] = [:]
) throws -> (status: Int32, stdout: String, stderr: String) {
    try ProgramRun(executable, arguments, environment: environment).finish()
}

/// Runs the built `deltaflow` executable; returns its exit status, standard output and error.
func deltaflow(_ arguments: [String], binary: String = "deltaflow") throws -> (
    status: Int32, stdout: String, stderr: String
) {
    try runProgram(deltaflowBinary(binary).path, arguments)
}

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
