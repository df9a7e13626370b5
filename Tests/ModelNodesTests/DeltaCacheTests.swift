import BuiltinNodes
import Foundation
import ImageCodecs
import Models
import NodeKit
import Synchronization
import TestSupport
import Testing

@testable import ModelNodes
@testable import Workflow

/// Runs Workflows/exemplar-color.yaml on two photos with a cache in `root`; returns the
/// encode_delta cache outcome and the delta's time.
func runExemplarWorkflow(root: URL, output: String, models: String = ModelFiles.directory()) throws
    -> (outcome: RunEvent.CacheOutcome?, summary: RunSummary)
{
    let input = root.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
    for name in ["coffee.png", "chelsea.png"]
    where !FileManager.default.fileExists(atPath: input.appendingPathComponent(name).path) {
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Examples/\(name)"), to: input.appendingPathComponent(name))
    }
    let workflow = try Workflow.load(
        repository.appendingPathComponent("Workflows/exemplar-color.yaml").path,
        registry: try! NodeRegistry(Builtins.nodes + ModelNodes.nodes(modelsDirectory: models)))
    let params = try workflow.bindParams([
        "before=\(repository.path)/Examples/astronaut.png", "after=\(repository.path)/Exemplars/astronaut-graded.png",
        "input=\(input.path)", "output=\(root.appendingPathComponent(output).path)",
    ])
    let outcome = Mutex<RunEvent.CacheOutcome?>(nil)
    let cache = ResultCache(directory: root.appendingPathComponent("cache").path)
    let summary = try Executor(workflow: workflow, params: params, options: RunOptions(jobs: 2, cache: cache)).run {
        event in
        if case .cache(let node, _, let o, _, _) = event, node == "delta" { outcome.withLock { $0 = o } }
    }
    return (outcome.withLock { $0 }, summary)
}

func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("df-delta-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    try body(root)
}

func files(_ directory: URL) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
        out[name] = try Data(contentsOf: directory.appendingPathComponent(name))
    }
    return out
}

@Suite("The exemplar's delta in the on-disk cache")
struct DeltaCacheTests {
    @Test("Miss, then hit with identical outputs; a damaged entry is recomputed; other weights miss")
    func lifecycle() throws {
        try withTemporaryDirectory { root in
            let first = try runExemplarWorkflow(root: root, output: "a")
            #expect(first.outcome == .miss && first.summary.done == 2)
            let second = try runExemplarWorkflow(root: root, output: "b")
            #expect(second.outcome == .hit)
            #expect(try files(root.appendingPathComponent("a")) == files(root.appendingPathComponent("b")))

            let entries =
                (FileManager.default.enumerator(atPath: root.appendingPathComponent("cache/results").path)?
                .allObjects as? [String] ?? []).filter { $0.hasSuffix(".dfc") }
            #expect(entries.count == 1)
            let entry = root.appendingPathComponent("cache/results/\(try #require(entries.first))")
            var bytes = try Data(contentsOf: entry)
            bytes[bytes.count / 3] ^= 0x40
            try bytes.write(to: entry)
            let damaged = try runExemplarWorkflow(root: root, output: "c")
            #expect(damaged.outcome == .corrupt)
            #expect(try files(root.appendingPathComponent("a")) == files(root.appendingPathComponent("c")))

            // The same network with one weight changed: a different salt, so no stale reuse.
            let models = root.appendingPathComponent("models")
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
            var weights = try Data(
                contentsOf: URL(fileURLWithPath: ModelFiles.directory()).appendingPathComponent(
                    ModelFiles.encoderFileName))
            weights[weights.count - 3] ^= 0x01
            try weights.write(to: models.appendingPathComponent(ModelFiles.encoderFileName))
            #expect(try runExemplarWorkflow(root: root, output: "d", models: models.path).outcome == .miss)
            // That directory has no edit models: the colour-only workflow needs none, and its delta
            // goes without the models' verdict on their correction.
            let colourOnly = EncodeDeltaNode(
                weights: EncoderWeights(directory: models.path), editWeights: EditWeights(directory: models.path))
            let exemplar = try example("coffee.png")
            let out = try colourOnly.run(
                NodeInputs(["before": .image(exemplar), "after": .image(mapped(exemplar) { 1 - $0 })]),
                context: NodeContext(item: nil, seed: 0, threads: 2))
            guard case .delta(let delta)? = out["delta"] else { throw NodeError("no delta") }
            #expect(delta["model.trust"] == nil && delta["color.lut"] != nil)
        }
    }

    @Test("A delta survives the cache's encoding exactly")
    func roundTrip() throws {
        let delta = Delta(
            encoder: "e/1",
            arrays: [
                "a": Delta.Array(shape: [2, 3], values: [1, -2, 3.5, 0, .pi, -0]),
                "b": Delta.Array(shape: [1], values: [7]),
            ])
        let decoded = try CacheEntry.decode(CacheEntry.encode(["delta": .delta(delta), "n": .number(2)]))
        #expect(decoded["delta"] == .delta(delta) && decoded["n"] == .number(2))
    }
}
