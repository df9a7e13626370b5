import ArgumentParser

@main
struct DeltaflowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deltaflow",
        abstract: "Batch-edit images by example.",
        discussion: """
            Exit codes: 0 success; 1 an invalid workflow or a run that could not start; \
            3 the run finished but some images failed (each is listed); 64 bad arguments.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, ValidateCommand.self, NodesCommand.self, SchemaCommand.self, CacheCommand.self, ConvertCommand.self, InfoCommand.self, ClassifyCommand.self, PluginsCommand.self]
    )
}

/// Exit code for a run that finished with some per-image failures.
let someItemsFailed = ExitCode(3)
