import BuiltinNodes
import Foundation
import ImageCodecs
import NodeKit
import Synchronization
import Testing
import Workflow

@testable import PluginHost

/// A folder holding a workflow file, the plugins it names, and some photos.
private struct Project {
    let root: URL

    init() throws {
        root = try temporaryDirectory("project")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("plugins"), withIntermediateDirectories: true)
        try fm.copyItem(
            atPath: try Plugins.boxBlur(), toPath: root.appendingPathComponent("plugins/libbox_blur.so").path)
        try fm.copyItem(
            atPath: try Plugins.toneCurve(), toPath: root.appendingPathComponent("plugins/libtone_curve.so").path)
        try fm.copyItem(atPath: try Plugins.test(), toPath: root.appendingPathComponent("plugins/libtest.so").path)
        try fm.copyItem(
            atPath: try Plugins.test("DUPLICATE"), toPath: root.appendingPathComponent("plugins/libclash.so").path)
        try fm.createDirectory(at: root.appendingPathComponent("in"), withIntermediateDirectories: true)
        for (i, size) in [(0, 12), (1, 16), (2, 9), (3, 20)] {
            try ImageFile.write(
                pattern(width: size, height: size - 3), to: root.appendingPathComponent("in/p\(i).png").path)
        }
    }

    func write(_ yaml: String) throws -> String {
        let path = root.appendingPathComponent("wf.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Validates `yaml` with plugins resolved against the project (and `search` dirs).
    func load(_ yaml: String, search: [String] = []) throws(ValidationFailure) -> Workflow {
        let path = try! write(yaml)
        return try Workflow.load(
            path, registry: Builtins.registry(),
            plugins: PluginSearchPath(directories: search, environment: [:]))
    }

    func diagnostics(_ yaml: String, search: [String] = []) -> [Diagnostic] {
        do {
            _ = try load(yaml, search: search)
            return []
        } catch {
            return error.diagnostics
        }
    }

    /// A workflow over `in/` into `out/` using the test plugin, with these `nodes` lines.
    func testPluginWorkflow(_ nodes: String) throws -> Workflow {
        try load(
            """
            version: 1
            plugins: [plugins/libtest.so]
            params:
              input: {type: dir}
              output: {type: dir}
            nodes:
            \(nodes)
            """)
    }

    func run(
        _ workflow: Workflow, jobs: Int = 2, cache: ResultCache? = nil,
        onEvent: @Sendable (RunEvent) -> Void = { _ in }
    ) throws -> RunSummary {
        let params = try workflow.bindParams(["input=\(root.path)/in", "output=\(root.path)/out"])
        return try Executor(workflow: workflow, params: params, options: RunOptions(jobs: jobs, cache: cache)).run(
            onEvent: onEvent)
    }
}

@Suite("Plugins in workflows")
struct WorkflowPluginTests {
    @Test func runsPluginNodesFromTheWorkflowsList() throws {
        let project = try Project()
        let workflow = try project.load(
            """
            version: 1
            plugins: [plugins/libbox_blur.so, tone_curve]
            params:
              input: {type: dir}
              output: {type: dir}
            nodes:
              photo: {node: load, each: $input, pattern: "*.png"}
              soft:  {node: examples.box_blur, image: $photo.image, radius: 2}
              level: {node: examples.mean_brightness, image: $soft.image}
              toned: {node: examples.tone_curve, image: $soft.image, gamma: "${$level.mean < 0.5 ? 2 : 1}"}
              out:   {node: save, image: $toned.image, dir: $output, name: "{stem}.png"}
            """, search: [project.root.appendingPathComponent("plugins").path])
        #expect(workflow.plugins.count == 2)
        #expect(workflow.plugins[0].hasPrefix("plugin 'examples-c' 1.0.0 ("))
        let summary = try project.run(workflow)
        #expect(summary.done == 4)
        let written = try FileManager.default.contentsOfDirectory(
            atPath: project.root.appendingPathComponent("out").path)
        #expect(written.sorted() == ["p0.png", "p1.png", "p2.png", "p3.png"])
    }

    /// A plugin node fed the wrong type is caught before anything runs, at its line and column.
    @Test func wrongPortType() throws {
        let project = try Project()
        let found = project.diagnostics(
            """
            version: 1
            plugins: [plugins/libbox_blur.so, plugins/libtone_curve.so]
            nodes:
              photo: {node: load, path: in/p0.png}
              level: {node: examples.mean_brightness, image: $photo.image}
              soft:  {node: examples.box_blur, image: $level.mean, radius: 1.5}
            """)
        #expect(found.map(\.code) == ["type_mismatch", "type_mismatch"])
        #expect(found.first?.location?.line == 6)
        #expect(found.first?.location?.column == 43)
        #expect(found.last?.location?.line == 6)
        #expect(found.first?.message.contains("'image'") == true)
    }

    @Test("A plugin that does not load is one error, naming the nodes it leaves unchecked")
    func missingPluginIsOneError() throws {
        let project = try Project()
        let found = project.diagnostics(
            """
            version: 1
            plugins: [plugins/missing.so]
            nodes:
              photo: {node: load, path: in/p0.png}
              blur:  {node: acme.blur, image: $photo.image}
              small: {node: resize, image: $blur.image, max_side: 8}
            """)
        #expect(found.map(\.code) == ["plugin_load_failed"], "\(found.map(\.description))")
        #expect(found.first?.help?.hasPrefix("until it loads, node 'blur' (acme.blur) cannot be checked; ") == true)
    }

    @Test func pluginProblemsAreDiagnosedAtTheirEntry() throws {
        let project = try Project()
        let found = project.diagnostics(
            """
            version: 1
            plugins:
              - plugins/libbox_blur.so
              - plugins/libclash.so
              - plugins/missing.so
              - sharpen
            nodes:
              photo: {node: load, path: in/p0.png}
            """)
        #expect(found.map(\.code) == ["duplicate_node_kind", "plugin_load_failed", "plugin_load_failed"])
        #expect(found.map { $0.location?.line ?? 0 } == [4, 5, 6])
        #expect(found.map { $0.location?.column ?? 0 } == [5, 5, 5])
        #expect(found[0].message.contains("node kind 'examples.box_blur' from plugin 'test-plugin' 0.1"))
        #expect(found[0].message.contains("is already provided by plugin 'examples-c' 1.0.0"))
        #expect(
            found[1].message.hasSuffix(
                "missing.so: no plugin file here (paths in 'plugins:' are relative to the workflow file's folder)"))
        #expect(
            found[2].message
                == "cannot load plugin 'sharpen': sharpen: no plugin named 'sharpen' (no plugin directories are set) (pass --plugins DIR or set DELTAFLOW_PLUGIN_PATH, or write the library's path)"
        )
    }

    /// Listing a plugin that is also on the search path is not a clash with itself.
    @Test func sameLibraryTwice() throws {
        let project = try Project()
        let plugins = project.root.appendingPathComponent("plugins").path
        var registry = Builtins.registry()
        let report = PluginSearchPath(directories: [plugins], environment: [:]).load(into: &registry)
        #expect(report.loaded.count == 3)  // the clashing copy is refused
        let path = try project.write(
            """
            version: 1
            plugins: [plugins/libbox_blur.so]
            nodes:
              photo: {node: load, path: in/p0.png}
              soft:  {node: examples.box_blur, image: $photo.image}
            """)
        _ = try Workflow.load(path, registry: registry, plugins: PluginSearchPath(directories: [], environment: [:]))
    }

    /// A failing plugin node fails its items, each reported with the plugin's message, and
    /// the run goes on.
    @Test func failingItems() throws {
        let project = try Project()
        let workflow = try project.testPluginWorkflow(
            """
              photo: {node: load, each: $input}
              bad:   {node: test.fail, image: $photo.image}
              out:   {node: save, image: $bad.image, dir: $output}
            """)
        let summary = try project.run(workflow)
        #expect(summary.failed.count == 4)
        #expect(summary.failed.first?.failedNode == "bad")
        #expect(summary.failed.first?.message == "test.fail: cannot process p0.png: the test plugin always refuses")
    }

    /// A node without the thread-safe flag is never entered twice at once, even at --jobs 4
    /// (the node itself fails if calls overlap).
    @Test func serialisesNodesThatAreNotThreadSafe() throws {
        let project = try Project()
        let workflow = try project.testPluginWorkflow(
            """
              photo: {node: load, each: $input}
              one:   {node: test.exclusive, image: $photo.image}
              out:   {node: save, image: $one.image, dir: $output}
            """)
        for _ in 0..<3 {
            let summary = try project.run(workflow, jobs: 4)
            #expect(summary.failed.isEmpty, "\(summary.failed.map(\.message))")
        }
    }

    /// A cacheable plugin node's results are reused, keyed on the library's contents.
    @Test func cacheablePluginNode() throws {
        let project = try Project()
        let workflow = try project.testPluginWorkflow(
            """
              ex:    {node: load, path: "\(project.root.path)/in/p1.png"}
              copy:  {node: test.copy, image: $ex.image}
              photo: {node: load, each: $input}
              fitted: {node: resize, image: $copy.image, width: $photo.width, height: $photo.height}
              out:   {node: save, image: $fitted.image, dir: $output, name: "{stem}.png"}
            """)
        let cache = ResultCache(directory: project.root.appendingPathComponent("cache").path)
        let outcomes = Mutex<[RunEvent.CacheOutcome]>([])
        for _ in 0..<2 {
            let summary = try project.run(workflow, cache: cache) { event in
                if case .cache(_, _, let outcome, _, _) = event { outcomes.withLock { $0.append(outcome) } }
            }
            #expect(summary.done == 4)
        }
        #expect(outcomes.withLock { $0 } == [.miss, .hit])
    }
}
