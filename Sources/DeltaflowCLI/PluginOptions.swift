import ArgumentParser
import NodeKit
import PluginHost

/// `--plugins DIR`, for every command that reads workflows or lists nodes.
struct PluginOptions: ParsableArguments {
    @Option(
        name: .customLong("plugins"),
        help: ArgumentHelp(
            "A directory of plugin libraries to load (repeatable); $DELTAFLOW_PLUGIN_PATH adds more.",
            valueName: "dir"))
    var directories: [String] = []

    var searchPath: PluginSearchPath { PluginSearchPath(directories: directories) }
}
