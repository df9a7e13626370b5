import Foundation
import NodeKit
import Testing

@testable import PluginHost

@Suite("Loading plugins")
struct LoadingTests {
    @Test func exampleCPlugin() throws {
        let library = try PluginLibrary.load(try Plugins.boxBlur())
        #expect(library.name == "examples-c")
        #expect(library.version == "1.0.0")
        #expect(library.nodes.map(\.descriptor.kind) == ["examples.box_blur", "examples.posterize"])
        let blur = library.nodes[0].descriptor
        #expect(blur.inputs.map(\.name) == ["image", "radius"])
        #expect(blur.inputs[1].type == .integer)
        #expect(blur.inputs[1].defaultValue == .integer(2))
        #expect(blur.inputs[1].range == 0...256)
        #expect(blur.outputs.map(\.type) == [.image])
        #expect(library.nodes[0].isThreadSafe)
        #expect(library.origin.hasPrefix("plugin 'examples-c' 1.0.0 ("))
        // The same file again is the same library, not a second copy of its kinds.
        #expect(try PluginLibrary.load(try Plugins.boxBlur()) === library)
    }

    @Test func exampleSwiftPlugin() throws {
        let library = try PluginLibrary.load(try Plugins.toneCurve())
        #expect(library.name == "examples-swift")
        #expect(library.nodes.map(\.descriptor.kind) == ["examples.tone_curve", "examples.mean_brightness"])
        let curve = library.nodes[0].descriptor
        #expect(curve.inputs.map(\.name) == ["image", "black", "white", "gamma"])
        #expect(curve.inputs[3].defaultValue == .number(1))
        #expect(curve.inputs[3].range == 0.1...10)
        #expect(curve.example.contains("examples.tone_curve"))
    }

    @Test func descriptorDetails() throws {
        let library = try PluginLibrary.load(try Plugins.test())
        let describe = try #require(library.nodes.first { $0.descriptor.kind == "test.describe" }).descriptor
        #expect(describe.inputs[0].choices == ["fast", "exact"])
        #expect(describe.inputs[0].defaultValue == .string("fast"))
        #expect(describe.inputs[2].type == .strings)
        #expect(describe.inputs[2].isRequired)
        #expect(describe.inputs[4].defaultValue == .bool(true))
        #expect(describe.inputs[5].optional && !describe.inputs[5].isRequired)
        let copy = try #require(library.nodes.first { $0.descriptor.kind == "test.copy" })
        #expect(copy.descriptor.cacheable)
        // Rebuilding a library must change cache keys: its salt carries the file's hash.
        #expect(copy.cacheSalt.hasPrefix("plugin test-plugin 0.1 ") && copy.cacheSalt.count > 40)
        #expect(try #require(library.nodes.first { $0.descriptor.kind == "test.exclusive" }).isThreadSafe == false)
    }

    /// Each way a plugin can be refused, with the message a user sees.
    @Test(arguments: [
        ("ABI", PluginError.Code.abiMismatch, "built for plugin ABI version 99; this deltaflow speaks version 1"),
        ("BAD_TYPE", .badDescriptor, "node 'test.copy': output 'image' has type 42, which is not a port type"),
        ("NO_ENTRY", .notAPlugin, "not a deltaflow plugin: it exports no 'deltaflow_plugin' function"),
        ("DECLINE", .declined, "the plugin declined to load into this deltaflow (plugin ABI 1)"),
        ("UNNAMESPACED", .badDescriptor, "node kind 'copy' is not namespaced"),
        (
            "CACHE_SIDE_EFFECTS", .badDescriptor,
            "node 'test.copy': a node with side effects cannot be cacheable: a cache hit would skip its effects"
        ),
    ])
    func refused(variant: String, code: PluginError.Code, message: String) throws {
        let path = try Plugins.test(variant)
        let error = #expect(throws: PluginError.self) { try PluginLibrary.load(path) }
        #expect(error?.code == code)
        #expect(error?.reason == message)
        #expect(error?.path.hasSuffix("libtest_\(variant.lowercased()).so") == true)
    }

    @Test func notALibrary() throws {
        let directory = try temporaryDirectory("notlib")
        let path = directory.appendingPathComponent("libnotes.so").path
        try "these are notes, not code".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: PluginError.self) { try PluginLibrary.load(path) }
        #expect(error?.code == .notALibrary)
        #expect(error?.reason.hasPrefix("cannot load the library: ") == true)
        let missing = #expect(throws: PluginError.self) {
            try PluginLibrary.load(directory.appendingPathComponent("nope.so").path)
        }
        #expect(missing?.code == .notFound)
    }

    /// A directory of plugins: the good ones load, each bad one is reported with its reason,
    /// and a plugin whose kinds clash with an earlier one is refused whole.
    @Test func searchPath() throws {
        let directory = try temporaryDirectory("search")
        for (source, name) in [
            (try Plugins.boxBlur(), "a_box_blur.so"), (try Plugins.test("ABI"), "b_old_abi.so"),
            (try Plugins.test("DUPLICATE"), "c_clash.so"), (try Plugins.toneCurve(), "d_tone.so"),
        ] {
            try FileManager.default.copyItem(atPath: source, toPath: directory.appendingPathComponent(name).path)
        }
        try "not a library".write(to: directory.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
        var registry = NodeRegistry()
        let report = PluginSearchPath(directories: [directory.path, "/no/such/dir"], environment: [:]).load(
            into: &registry)
        #expect(report.loaded.map(\.name) == ["examples-c", "examples-swift"])
        #expect(report.failures.map(\.code) == [.abiMismatch, .duplicateKind, .notFound])
        #expect(report.failures[1].reason.contains("node kind 'examples.box_blur' from plugin 'test-plugin' 0.1 ("))
        #expect(report.failures[1].reason.contains("is already provided by plugin 'examples-c' 1.0.0"))
        #expect(registry.kinds.contains("examples.tone_curve"))
        #expect(!registry.kinds.contains("test.fail"), "a clashing plugin is not half-registered")
    }

    @Test func environmentAndNames() throws {
        let directory = try temporaryDirectory("env")
        try FileManager.default.copyItem(
            atPath: try Plugins.boxBlur(),
            toPath: directory.appendingPathComponent("libblur.so").path)
        let search = PluginSearchPath(
            directories: [], environment: ["DELTAFLOW_PLUGIN_PATH": "/missing:\(directory.path)"])
        #expect(search.directories == ["/missing", directory.path])
        var registry = NodeRegistry()
        let report = search.load(into: &registry)
        #expect(report.failures.isEmpty, "directories from the environment may be missing")
        #expect(registry.kinds == ["examples.box_blur", "examples.posterize"])
        #expect(try search.resolve("blur", relativeTo: "/") == directory.appendingPathComponent("libblur.so").path)
        let error = #expect(throws: PluginError.self) { try search.resolve("sharpen", relativeTo: "/") }
        #expect(error?.reason == "no plugin named 'sharpen' (searched /missing, \(directory.path))")
    }
}
