import Foundation
import Testing

/// The repository root, found from this file's path.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

let pluginHeaders = repository.appendingPathComponent("Sources/CDeltaflowPlugin/include").path

struct BuildFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs a compiler; throws with its output if it fails.
func run(_ tool: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BuildFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed:\n\(text)")
    }
}

func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Compiled plugins, built once per test run (several suites share them).
enum Plugins {
    static let directory: URL = try! temporaryDirectory("plugins")
    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: [String: Result<String, BuildFailure>] = [:]

    /// The C compiler: $CC, else clang (which every Swift toolchain ships), else cc.
    static var cCompiler: String {
        if let cc = ProcessInfo.processInfo.environment["CC"], !cc.isEmpty { return cc }
        for candidate in ["clang", "cc"] where (try? run("sh", ["-c", "command -v \(candidate) >/dev/null"])) != nil {
            return candidate
        }
        return "cc"
    }

    private static func once(_ key: String, _ build: () throws -> String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let result = built[key] { return try result.get() }
        let result: Result<String, BuildFailure>
        do {
            result = .success(try build())
        } catch let failure as BuildFailure {
            result = .failure(failure)
        } catch {
            result = .failure(BuildFailure(description: "\(error)"))
        }
        built[key] = result
        return try result.get()
    }

    /// A C plugin from `source` (relative to the repository), built with `defines`.
    static func c(_ source: String, defines: [String] = [], name: String) throws -> String {
        try once("c:\(name)") {
            let output = directory.appendingPathComponent("lib\(name).so").path
            try run(
                cCompiler,
                ["-shared", "-fPIC", "-O2", "-std=c99", "-Wall", "-Werror", "-I", pluginHeaders]
                    + defines.map { "-D\($0)" } + [repository.appendingPathComponent(source).path, "-o", output])
            return output
        }
    }

    /// The example C plugin (Plugins/box-blur).
    static func boxBlur() throws -> String { try c("Plugins/box-blur/box_blur.c", name: "box_blur") }

    /// The misbehaving test plugin, in one of its variants.
    static func test(_ variant: String? = nil) throws -> String {
        try c(
            "Tests/PluginHostTests/Fixtures/test_plugin.c", defines: variant.map { ["VARIANT_\($0)"] } ?? [],
            name: "test_\(variant?.lowercased() ?? "plugin")")
    }

    /// The example Swift plugin (Plugins/tone-curve), built with swiftc the way SwiftPM would:
    /// the SDK as a static library, the plugin as a shared library linking it.
    static func toneCurve() throws -> String {
        try once("swift:tone_curve") {
            let sdk = directory.appendingPathComponent("sdk")
            try FileManager.default.createDirectory(at: sdk, withIntermediateDirectories: true)
            let sdkSources = try swiftFiles(in: "Sources/DeltaflowPluginSDK")
            try run(
                "swiftc",
                [
                    "-parse-as-library", "-emit-library", "-static", "-emit-module",
                    "-module-name", "DeltaflowPluginSDK", "-I", pluginHeaders,
                    "-emit-module-path", sdk.appendingPathComponent("DeltaflowPluginSDK.swiftmodule").path,
                    "-o", sdk.appendingPathComponent("libDeltaflowPluginSDK.a").path,
                ] + sdkSources)
            let output = directory.appendingPathComponent("libtone_curve.so").path
            try run(
                "swiftc",
                [
                    "-emit-library", "-module-name", "ToneCurvePlugin", "-I", sdk.path, "-I", pluginHeaders,
                    "-L", sdk.path, "-lDeltaflowPluginSDK", "-o", output,
                ]
                    + (try swiftFiles(in: "Plugins/tone-curve/Sources/ToneCurvePlugin")))
            return output
        }
    }

    private static func swiftFiles(in folder: String) throws -> [String] {
        let url = repository.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".swift") }.sorted()
            .map { url.appendingPathComponent($0).path }
    }
}
