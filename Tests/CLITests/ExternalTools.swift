import Foundation
import Testing

// Helpers for tests that check deltaflow's files with the field's own tools.

/// The path of `name` on PATH; a test that needs a tool `bash .ci/install --tests` installs fails
/// saying so rather than passing without checking anything.
func tool(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw ToolMissing(description: "\(name) is not installed: run 'bash .ci/install --tests'")
}

struct ToolMissing: Error, CustomStringConvertible { let description: String }

/// Runs a tool that must succeed; returns its standard output and error.
@discardableResult
func run(_ name: String, _ arguments: [String]) throws -> String {
    let result = try runProgram(try tool(name), arguments)
    #expect(result.status == 0, "\(name) \(arguments.joined(separator: " ")): \(result.stderr)")
    return result.stdout + result.stderr
}

/// ImageMagick's root-mean-square difference of two images, on the 0…1 scale.
func rmse(_ a: URL, _ b: URL) throws -> Double { try difference("RMSE", a, b) }

/// ImageMagick's largest difference of one sample between two images, on the 0…1 scale.
func peakDifference(_ a: URL, _ b: URL) throws -> Double { try difference("PAE", a, b) }

private func difference(_ metric: String, _ a: URL, _ b: URL) throws -> Double {
    let result = try runProgram(try tool("compare"), ["-metric", metric, a.path, b.path, "null:"])
    // "572.1 (0.00873)" on standard error; status 1 means "they differ", 2 an error.
    #expect(result.status != 2, "compare: \(result.stderr)")
    let inside = result.stderr.split(separator: "(").last?.split(separator: ")").first
    return try #require(inside.flatMap { Double($0) }, "compare said: \(result.stderr)")
}

/// exiftool's reading of `file`: tag name → value.
func tags(_ file: URL) throws -> [String: Any] {
    let json = try run("exiftool", ["-j", "-G0", file.path])
    let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
    return try #require(list?.first)
}
