import ArgumentParser
import NodeKit
import PluginHost

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins on the search path, their nodes, and why any failed to load.",
        discussion: """
            Plugins are shared libraries exporting 'deltaflow_plugin' (see Sources/CDeltaflowPlugin/include/\
            deltaflow_plugin.h). They are found in --plugins directories, then in the colon-separated \
            directories of $DELTAFLOW_PLUGIN_PATH; a workflow can also name them under 'plugins:'. \
            Exits 1 if any plugin failed to load.
            """)

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        var registry = NodeRegistry()
        let search = plugins.searchPath
        let report = search.load(into: &registry)
        if search.directories.isEmpty {
            print("no plugin directories: pass --plugins DIR or set \(PluginSearchPath.environmentVariable)")
            return
        }
        print("searched: \(search.directories.joined(separator: ", "))")
        for library in report.loaded {
            print("\(library.name) \(library.version)  \(library.path)")
            if !library.summary.isEmpty { print("  \(library.summary)") }
            for node in library.nodes {
                let traits = [
                    node.isThreadSafe ? nil : "one call at a time",
                    node.descriptor.cacheable ? "cacheable" : nil,
                    node.descriptor.hasSideEffects ? "side effects" : nil,
                ].compactMap { $0 }
                print(
                    "  \(node.descriptor.kind)  \(node.descriptor.summary)"
                        + (traits.isEmpty ? "" : " [\(traits.joined(separator: ", "))]"))
            }
        }
        if report.loaded.isEmpty && report.failures.isEmpty { print("no plugins found") }
        for failure in report.failures {
            printError("error: \(failure.path): \(failure.reason)" + (failure.help.map { "\n  help: \($0)" } ?? ""))
        }
        if !report.failures.isEmpty { throw ExitCode.failure }
    }
}
