import ArgumentParser
import BuiltinNodes
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

/// Loads and validates a workflow, printing every diagnostic and exiting 1 if it is invalid.
func loadWorkflow(_ path: String, registry: NodeRegistry, plugins: PluginOptions) throws -> Workflow {
    do {
        let workflow = try Workflow.load(path, registry: registry, plugins: plugins.searchPath)
        for warning in workflow.warnings { printError(warning.rendered(source: workflow.source) + "\n") }
        return workflow
    } catch {
        printError(error.description)
        throw ExitCode.failure
    }
}

func bindParams(_ workflow: Workflow, _ overrides: [String]) throws -> [String: Value] {
    do {
        return try workflow.bindParams(overrides)
    } catch {
        printError(error.description)
        throw ExitCode.failure
    }
}
