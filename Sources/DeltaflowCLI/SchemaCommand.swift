import ArgumentParser
import Workflow

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of workflow files (for editor completion and checking).",
        discussion: "Workflows/workflow.schema.json is this output; regenerate it after changing a node.")

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        print(WorkflowSchema.json(for: standardRegistry(plugins: plugins)), terminator: "")
    }
}
