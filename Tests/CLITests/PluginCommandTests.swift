import Foundation
import Testing

/// The example C plugin, compiled the way Plugins/box-blur/example.yaml says, into `directory`.
func buildBoxBlur(into directory: URL) throws {
    let result = try runProgram(
        "/usr/bin/env",
        [
            ProcessInfo.processInfo.environment["CC"] ?? "clang", "-shared", "-fPIC", "-O2",
            "-I", repository.appendingPathComponent("Sources/CDeltaflowPlugin/include").path,
            repository.appendingPathComponent("Plugins/box-blur/box_blur.c").path,
            "-o", directory.appendingPathComponent("libbox_blur.so").path,
        ])
    #expect(result.status == 0, "\(result.stderr)")
}

@Suite("deltaflow with plugins")
struct PluginCommandTests {
    @Test func runsThePluginExample() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "deltaflow-cli-plugins-\(UUID().uuidString)")
        let plugins = root.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        try buildBoxBlur(into: plugins)

        let listed = try deltaflow(["plugins", "--plugins", plugins.path])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("examples-c 1.0.0"))
        #expect(listed.stdout.contains("examples.posterize"))

        let example = repository.appendingPathComponent("Plugins/box-blur/example.yaml").path
        let output = root.appendingPathComponent("out").path
        let result = try deltaflow([
            "run", example, "--plugins", plugins.path, "--set", "input=\(repository.path)/Examples",
            "--set", "output=\(output)", "--cache-dir", root.appendingPathComponent("cache").path, "-q",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: output)
        #expect(written.count == 5 && written.allSatisfy { $0.hasSuffix("-poster.png") })

        // Without the search path the bare name cannot be found, and validation says where it looked.
        let missing = try deltaflow(["validate", example])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("example.yaml:8:11: error: cannot load plugin 'box_blur'"))

        // A broken library on the path is a warning for run/validate, an error for 'plugins'.
        try "junk".write(to: plugins.appendingPathComponent("libjunk.so"), atomically: true, encoding: .utf8)
        let valid = try deltaflow(["validate", example, "--plugins", plugins.path])
        #expect(valid.status == 0)
        #expect(
            valid.stderr.contains(
                "warning: plugin not loaded: \(plugins.path)/libjunk.so: cannot load the library: file too short"))
        #expect(try deltaflow(["plugins", "--plugins", plugins.path]).status == 1)
    }

    /// The worked example of in-process nodes (Plugins/in-process): deltaflow's own commands,
    /// plus a Swift node compiled in.
    @Test func customBinaryWithInProcessNode() throws {
        let described = try deltaflow(["nodes", "studio.frame"], binary: "deltaflow-custom-example")
        #expect(described.status == 0)
        #expect(described.stdout.contains("from this program"))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "deltaflow-cli-frame-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let workflow = root.appendingPathComponent("frame.yaml")
        try """
        version: 1
        params:
          input: {type: dir}
          output: {type: dir}
        nodes:
          photo:  {node: load, each: $input, pattern: "coffee.png"}
          framed: {node: studio.frame, image: $photo.image, width: 10, level: 0}
          out:    {node: save, image: $framed.image, dir: $output}
        """.write(to: workflow, atomically: true, encoding: .utf8)
        let output = root.appendingPathComponent("out").path
        let result = try deltaflow(
            ["run", workflow.path, "--set", "input=\(repository.path)/Examples", "--set", "output=\(output)", "-q"],
            binary: "deltaflow-custom-example")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: output + "/coffee.png"))
        // The stock deltaflow does not know the kind, and says so at its line and column.
        let stock = try deltaflow(["validate", workflow.path])
        #expect(stock.status == 1)
        #expect(stock.stderr.contains("frame.yaml:7:18: error: unknown node kind 'studio.frame'"))
    }
}
