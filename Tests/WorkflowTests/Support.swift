import BuiltinNodes
import Foundation
import ModelNodes
import Models
import NodeKit
import Testing

@testable import Workflow

/// What the CLI runs with: built-ins and model nodes (whose weights load only when they run).
let registry = try! NodeRegistry(Builtins.nodes + ModelNodes.nodes(modelsDirectory: ModelFiles.directory()))

/// The diagnostics validating `yaml` produces (empty when it is valid).
func diagnose(_ yaml: String) -> [Diagnostic] {
    do {
        _ = try Workflow.parse(yaml, file: "wf.yaml", registry: registry)
        return []
    } catch {
        return error.diagnostics
    }
}

/// Expects exactly one diagnostic, with this code, message, position and help.
func expectSingle(
    _ yaml: String, code: String, message: String, line: Int, column: Int, help: String? = nil,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    let found = diagnose(yaml)
    #expect(found.count == 1, "\(found.map(\.description))", sourceLocation: sourceLocation)
    guard let d = found.first else { return }
    #expect(d.code == code, sourceLocation: sourceLocation)
    #expect(d.message == message, sourceLocation: sourceLocation)
    #expect(
        d.location == NodeKit.SourcePosition(file: "wf.yaml", line: line, column: column),
        sourceLocation: sourceLocation)
    #expect(d.help == help, sourceLocation: sourceLocation)
}

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh directory, removed when `body` returns.
func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("deltaflow-wf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    try body(url)
}

/// Copies example photos into `directory` under the given names.
func copyExamples(_ names: [String: String], into directory: URL) throws {
    for (target, source) in names {
        let destination = directory.appendingPathComponent(target)
        try FileManager.default.createDirectory(
            at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Examples/\(source)"), to: destination)
    }
}

/// Every regular file under `directory`, relative path → contents.
func contents(of directory: URL) throws -> [String: Data] {
    var result: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: directory.path)
    while let relative = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let path = directory.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            result[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
        }
    }
    return result
}

/// Validates `yaml`, binds `overrides` and runs it.
func run(_ yaml: String, _ overrides: [String], jobs: Int = 2, failFast: Bool = false) throws -> RunSummary {
    let workflow = try Workflow.parse(yaml, file: "wf.yaml", registry: registry)
    let params = try workflow.bindParams(overrides)
    return try Executor(workflow: workflow, params: params, options: RunOptions(jobs: jobs, failFast: failFast)).run()
}
