import ArgumentParser

@main
struct DeltaflowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deltaflow",
        abstract: "Batch-edit images by example.",
        discussion: """
            Exit codes: 0 success; 64 bad arguments; 1 another problem with the command \
            itself; 3 the run finished but some images failed (each is listed).
            """,
        version: "0.1.0",
        subcommands: [ConvertCommand.self, InfoCommand.self]
    )
}

/// Exit code for a run that finished with some per-image failures.
let someItemsFailed = ExitCode(3)
