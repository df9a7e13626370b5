import ArgumentParser
import BuiltinNodes
import Foundation
import ModelNodes
import Models
import NodeKit
import Workflow

/// Built-in and model-backed nodes (model weights are read only when a node runs), plus the
/// plugins on the search path; a plugin that fails to load is a warning, not the end of the run.
func standardRegistry(modelsDirectory: String = ModelFiles.directory(), plugins: PluginOptions) -> NodeRegistry {
    // Built-in kinds are distinct by construction; a clash is a programming error.
    var registry = try! NodeRegistry(Builtins.nodes + ModelNodes.nodes(modelsDirectory: modelsDirectory))
    for node in DeltaflowCLI.extraNodes.withLock({ $0 }) {
        do {
            try registry.register(node, origin: "this program")
        } catch {
            printError("warning: node kind not added: \(error.message)")
        }
    }
    let report = plugins.searchPath.load(into: &registry)
    for failure in report.failures { printError("warning: plugin not loaded: \(failure)") }
    return registry
}

/// Loads and validates a workflow, printing every diagnostic and exiting 1 if it is invalid
/// (plugins load only as `consent` allows);
/// with `json`, as one JSON object per line on standard output, like the run log.
func loadWorkflow(_ path: String, registry: NodeRegistry, consent: Consent, json: Bool = false) throws
    -> Workflow
{
    do {
        let workflow = try Workflow.parse(
            consent.source, file: path, registry: registry, plugins: consent.resolver, sources: consent.sources)
        for warning in workflow.warnings {
            if json {
                printJSON(diagnostic: warning)
            } else {
                printError(
                    warning.rendered(source: warning.source(in: workflow.sources, default: workflow.source)) + "\n")
            }
        }
        return workflow
    } catch {
        report(error, json: json)
        throw ExitCode.failure
    }
}

/// A command's own workflow (`apply`, `export-lut`), named `deltaflow COMMAND` in diagnostics,
/// over the standard nodes with the models in `models`.
func builtInWorkflow(_ source: String, command: String, models: ModelDirectoryOption, json: Bool = false) throws
    -> Workflow
{
    let registry = standardRegistry(modelsDirectory: models.directory, plugins: try PluginOptions.parse([]))
    do {
        return try Workflow.parse(source, file: "deltaflow \(command)", registry: registry)
    } catch {
        report(error, json: json)
        throw ExitCode.failure
    }
}

func bindParams(_ workflow: Workflow, _ overrides: [String], json: Bool = false) throws -> [String: Value] {
    do {
        return try workflow.bindParams(overrides)
    } catch {
        report(error, json: json)
        throw ExitCode.failure
    }
}

/// The params and the sweep of a run; a swept param needs no `--set` (each value is given).
func bindParamsAndSweep(_ workflow: Workflow, _ overrides: [String], _ sweeps: [String], json: Bool) throws
    -> ([String: Value], [SweepAxis])
{
    do {
        let sweep = try workflow.bindSweep(sweeps, set: overrides)
        let first = sweep.compactMap { axis in axis.values.first.map { "\(axis.name)=\($0.text)" } }
        return (try workflow.bindParams(overrides + first), sweep)
    } catch {
        report(error, json: json)
        throw ExitCode.failure
    }
}

func report(_ error: any Error, json: Bool) {
    guard json else { return printError("\(error)") }
    if let failure = error as? ValidationFailure {
        for diagnostic in failure.diagnostics { printJSON(diagnostic: diagnostic) }
    } else {
        printJSON(["event": "error", "message": "\(error)"])
    }
}

private func printJSON(diagnostic d: Diagnostic) {
    var object: [String: Any] = [
        "event": "diagnostic", "severity": d.severity.rawValue, "code": d.code, "message": d.message,
    ]
    if let help = d.help { object["help"] = help }
    if !d.usedFrom.isEmpty { object["used_from"] = d.usedFrom.map(\.description) }
    printJSON(object, at: d.location)
}

/// One JSON object on a line of standard output, slashes as they are, with the file, line and
/// column of `location` when there is one.
func printJSON(_ object: [String: Any], at location: SourcePosition? = nil) {
    var object = object
    if let location {
        (object["file"], object["line"], object["column"]) = (location.file, location.line, location.column)
    }
    guard
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return }
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}
