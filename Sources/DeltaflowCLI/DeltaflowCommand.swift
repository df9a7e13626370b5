import ArgumentParser
import Foundation
import NodeKit
import Synchronization
import TensorCore
import Workflow

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
        BLAS.useFasterKernels()
        extraNodes.withLock { $0 = nodes }
        Allocator.tuneForImages()
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        if let params = runHelpParams(arguments) {
            print(DeltaflowCommand.helpMessage(for: RunCommand.self))
            print(params)
            exit(0)
        }
        var command: any ParsableCommand
        do {
            command = try DeltaflowCommand.parseAsRoot(arguments)
        } catch {
            if let hint = repeatSetHint(arguments) {
                FileHandle.standardError.write(
                    Data((DeltaflowCommand.fullMessage(for: error) + "\n" + hint + "\n").utf8))
                exit(DeltaflowCommand.exitCode(for: error).rawValue)
            }
            DeltaflowCommand.exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            DeltaflowCommand.exit(withError: error)
        }
        exit(0)
    }

    /// `--set a=1 b=2` reads `b=2` as a stray argument: the fix, when a stray NAME=VALUE follows a
    /// `--set`, is one `--set` per param.
    static func repeatSetHint(_ arguments: [String]) -> String? {
        var stray: [String] = []
        var afterSet = false
        for (i, argument) in arguments.enumerated() {
            if argument == "--set" { afterSet = true }
            let isValue = i > 0 && arguments[i - 1] == "--set"
            if afterSet, !isValue, !argument.hasPrefix("-"), let equals = argument.firstIndex(of: "="),
                isIdentifier(String(argument[..<equals]))
            {
                stray.append(argument)
            }
        }
        guard !stray.isEmpty else { return nil }
        return "  help: give each param its own --set: " + stray.map { "--set \($0)" }.joined(separator: " ")
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
            ApplyCommand.self, ExportLUTCommand.self, ConvertCommand.self, InfoCommand.self, ClassifyCommand.self,
            PluginsCommand.self, AllowCommand.self, WatchCommand.self,
        ]
    )
}

/// Exit code for a run that finished with some per-image failures.
let someItemsFailed = ExitCode(3)
/// Exit code for a run stopped because its outputs could not be written (disk full, read-only).
let storageStopped = ExitCode(4)

/// `run FILE --help`: the workflow's own params, to print after the command's help (nil for
/// any other command line, or a file that does not load: then the plain help is shown).
func runHelpParams(_ arguments: [String]) -> String? {
    guard arguments.first == "run", arguments.contains("--help") || arguments.contains("-h"),
        let file = arguments.dropFirst().first(where: {
            !$0.hasPrefix("-") && FileManager.default.fileExists(atPath: $0)
        }),
        let plugins = try? PluginOptions.parse([]),
        let workflow = try? Workflow.load(
            file, registry: standardRegistry(plugins: plugins), plugins: plugins.searchPath)
    else { return nil }
    let listing = workflow.paramsListing
    return listing.isEmpty
        ? "\(file) declares no params."
        : "PARAMS OF \(file) (--set NAME=VALUE):\n" + listing.joined(separator: "\n")
}
