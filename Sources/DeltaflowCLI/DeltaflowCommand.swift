import ArgumentParser
import Foundation
import NodeKit
import Synchronization

/// deltaflow's command line as a library, so that a program of your own can add node kinds
/// written in Swift and keep every command (`run`, `validate`, `nodes`, …) as it is:
///
/// ```swift
/// import DeltaflowCLI
/// DeltaflowCLI.main(nodes: [WatermarkNode()])
/// ```
public enum DeltaflowCLI {
    /// Parses the command line (or `arguments`), runs the command, and exits with its status.
    /// - Parameter nodes: extra node kinds, available to every command beside the built-ins;
    ///   their kinds must not clash with deltaflow's (namespace them: `studio.watermark`).
    public static func main(nodes: [any Node] = [], arguments: [String]? = nil) -> Never {
        extraNodes.withLock { $0 = nodes }
        Allocator.tuneForImages()
        DeltaflowCommand.main(arguments)  // exits itself on failure; returns after a command succeeds
        exit(0)
    }

    static let extraNodes = Mutex<[any Node]>([])
}

struct DeltaflowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deltaflow",
        abstract: "Batch-edit images by example.",
        discussion: """
            Exit codes: 0 success; 1 an invalid workflow or a run that could not start; \
            3 the run finished but some images failed (each is listed); 4 the run stopped because \
            nothing more could be written (disk full or read-only); 64 bad arguments; 130 and 143 \
            interrupted by SIGINT or SIGTERM (finish with --resume).
            """,
        version: "0.1.0",
        subcommands: [
            RunCommand.self, ValidateCommand.self, NodesCommand.self, SchemaCommand.self, CacheCommand.self,
            ConvertCommand.self, InfoCommand.self, ClassifyCommand.self, PluginsCommand.self,
        ]
    )
}

/// Exit code for a run that finished with some per-image failures.
let someItemsFailed = ExitCode(3)
/// Exit code for a run stopped because its outputs could not be written (disk full, read-only).
let storageStopped = ExitCode(4)
