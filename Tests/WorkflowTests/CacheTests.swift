import BuiltinNodes
import Foundation
import ImageCodecs
import NodeKit
import Synchronization
import Testing

@testable import Workflow

/// Counts how often a node really ran.
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

/// A cacheable stand-in for an exemplar encoder: an expensive-looking function of an image.
struct CountingEmbedNode: Node {
    let counter: Counter
    let salt: String
    let descriptor = NodeDescriptor(
        kind: "count_embed", summary: "test node",
        inputs: [
            PortSpec("image", .image, doc: "input"),
            PortSpec("strength", .number, doc: "scales the result", default: .number(1)),
        ],
        outputs: [PortSpec("image", .image, doc: "a small, dimmed copy"), PortSpec("mean", .number, doc: "mean")],
        cacheable: true, example: "")

    var cacheSalt: String { salt }

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        counter.increment()
        let image = try inputs.image("image").resized(width: 32, height: 24).converted(to: .float32)
        let strength = Float(try inputs.number("strength"))
        let samples = image.floatSamples().map { $0 * strength }
        return [
            "image": .image(Image(width: 32, height: 24, colorModel: image.colorModel, samples: samples)),
            "mean": .number(Double(samples.reduce(0, +) / Float(samples.count))),
        ]
    }
}

private let workflowText = """
    version: 1
    params:
      exemplar: {type: path}
      input: {type: dir}
      output: {type: dir}
      strength: {type: number, default: 1}
    nodes:
      ex: {node: load, path: $exemplar}
      emb: {node: count_embed, image: $ex.image, strength: $strength}
      photo: {node: load, each: $input}
      fitted: {node: resize, image: $emb.image, width: $photo.width, height: $photo.height}
      mixed: {node: composite, base: $photo.image, overlay: $fitted.image, opacity: 0.5}
      out: {node: save, image: $mixed.image, dir: $output}
    """

private struct Harness {
    let root: URL
    let counter = Counter()
    var salt = "weights-v1"

    func run(exemplar: String = "chelsea.png", strength: Double = 1, output: String = "out")
        throws -> (summary: RunSummary, cache: [RunEvent.CacheOutcome])
    {
        var registry = Builtins.registry()
        try registry.register(CountingEmbedNode(counter: counter, salt: salt))
        let workflow = try Workflow.parse(workflowText, file: "wf.yaml", registry: registry)
        let params = try workflow.bindParams([
            "exemplar=\(repository.path)/Examples/\(exemplar)", "input=\(root.path)/in",
            "output=\(root.path)/\(output)", "strength=\(strength)",
        ])
        let outcomes = Mutex<[RunEvent.CacheOutcome]>([])
        let cache = ResultCache(directory: root.appendingPathComponent("cache").path)
        let summary = try Executor(workflow: workflow, params: params, options: RunOptions(jobs: 2, cache: cache)).run {
            event in
            if case .cache(_, _, let outcome, _, _) = event { outcomes.withLock { $0.append(outcome) } }
        }
        return (summary, outcomes.withLock { $0 })
    }

    func plan() throws -> Plan {
        var registry = Builtins.registry()
        try registry.register(CountingEmbedNode(counter: counter, salt: salt))
        let workflow = try Workflow.parse(workflowText, file: "wf.yaml", registry: registry)
        let params = try workflow.bindParams([
            "exemplar=\(repository.path)/Examples/chelsea.png", "input=\(root.path)/in", "output=\(root.path)/out",
        ])
        let cache = ResultCache(directory: root.appendingPathComponent("cache").path)
        return try Executor(workflow: workflow, params: params, options: RunOptions(cache: cache)).plan()
    }

    var entries: [URL] {
        let directory = root.appendingPathComponent("cache/results")
        return
            (FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)?.allObjects as? [URL] ?? [])
            .filter { $0.pathExtension == "dfc" }
    }
}

@Suite("On-disk result cache")
struct CacheTests {
    @Test("A second run with the same exemplar reuses the cached result instead of recomputing it")
    func hit() throws {
        try withTemporaryDirectory { root in
            try copyExamples(["a.png": "coffee.png", "b.jpg": "rocket.jpg"], into: root.appendingPathComponent("in"))
            let harness = Harness(root: root)
            let first = try harness.run(output: "out1")
            #expect(first.cache == [.miss] && harness.counter.count == 1 && first.summary.done == 2)
            let second = try harness.run(output: "out2")
            #expect(second.cache == [.hit] && harness.counter.count == 1)
            #expect(
                try contents(of: root.appendingPathComponent("out1"))
                    == contents(of: root.appendingPathComponent("out2")))
        }
    }

    @Test("A different exemplar, input value or model salt is a miss")
    func misses() throws {
        try withTemporaryDirectory { root in
            try copyExamples(["a.png": "coffee.png"], into: root.appendingPathComponent("in"))
            var harness = Harness(root: root)
            _ = try harness.run()
            #expect(try harness.run(exemplar: "astronaut.png").cache == [.miss])
            #expect(try harness.run(strength: 0.5).cache == [.miss])
            harness.salt = "weights-v2"
            #expect(try harness.run().cache == [.miss])
            #expect(harness.counter.count == 4 && harness.entries.count == 4)
        }
    }

    @Test("A damaged entry is detected, removed and recomputed; the outputs are unaffected")
    func corruption() throws {
        try withTemporaryDirectory { root in
            try copyExamples(["a.png": "coffee.png"], into: root.appendingPathComponent("in"))
            let harness = Harness(root: root)
            _ = try harness.run(output: "good")
            let entry = try #require(harness.entries.first)
            var bytes = try Data(contentsOf: entry)
            bytes[bytes.count / 2] ^= 0xFF
            try bytes.write(to: entry)
            let damaged = try harness.run(output: "after")
            #expect(damaged.cache == [.corrupt] && harness.counter.count == 2)
            #expect(
                try contents(of: root.appendingPathComponent("good"))
                    == contents(of: root.appendingPathComponent("after")))
            #expect(try harness.run(output: "again").cache == [.hit])
        }
    }

    @Test("--dry-run says which results come from the cache, computes nothing and writes nothing")
    func dryRun() throws {
        try withTemporaryDirectory { root in
            try copyExamples(["a.png": "coffee.png", "b.png": "chelsea.png"], into: root.appendingPathComponent("in"))
            let harness = Harness(root: root)
            let before = try harness.plan()
            #expect(
                before.steps.map(\.step) == [
                    .once, .willCompute(reason: "not in the cache"), .perItem, .perItem,
                    .perItem, .perItem,
                ])
            #expect(before.itemCount == 2 && harness.counter.count == 0)
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path))
            _ = try harness.run()
            let after = try harness.plan()
            guard case .cached = after.steps[1].step else {
                Issue.record("expected a cached step")
                return
            }
            #expect(harness.counter.count == 1)
        }
    }

    @Test("Entries round-trip every value type; truncations and garbage are errors, not crashes")
    func entryFormat() throws {
        let image = Image(width: 3, height: 2, colorModel: .rgba, format: .uint16, value: 0.25)
        let values: [String: Value] = [
            "image": .image(image), "mask": .mask(Image(width: 2, height: 2, colorModel: .gray, value: 0.5)),
            "n": .number(-2.5), "i": .integer(42), "s": .string("héllo"), "p": .path("/x/y"), "b": .bool(true),
        ]
        let bytes = CacheEntry.encode(values)
        #expect(try CacheEntry.decode(bytes) == values)
        for length in [0, 4, 20, bytes.count / 2, bytes.count - 1] {
            #expect(throws: (any Error).self) { try CacheEntry.decode(Array(bytes.prefix(length))) }
        }
        #expect(throws: (any Error).self) {
            try CacheEntry.decode(Array("DFC1".utf8) + [UInt8](repeating: 0xAB, count: 64))
        }
    }

    @Test("Eviction removes least recently used entries beyond the size limit; clear empties it")
    func evictionAndClear() throws {
        try withTemporaryDirectory { root in
            let cache = ResultCache(directory: root.path, maxBytes: 2600)  // each entry is about 1,260 bytes
            let payload: [String: Value] = [
                "image": .image(Image(width: 20, height: 20, colorModel: .rgb, format: .uint8))
            ]
            for key in ["aa01", "aa02", "aa03"] {
                try cache.store(key, payload)
                usleep(20_000)  // distinct modification times
            }
            _ = cache.load("aa01")  // used recently: survives
            #expect(cache.usage().entries == 3)
            #expect(cache.evict() == 1)
            guard case .hit = cache.load("aa01") else {
                Issue.record("recently used entry was evicted")
                return
            }
            guard case .miss = cache.load("aa02") else {
                Issue.record("oldest entry survived")
                return
            }
            try cache.clear()
            #expect(cache.usage().entries == 0)
        }
    }
}
