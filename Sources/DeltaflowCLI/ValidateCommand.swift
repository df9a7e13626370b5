import ArgumentParser
import Foundation
import Workflow

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a workflow without running it; report every problem with its line and column.")

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("set"), help: "Also check a param value: NAME=VALUE (repeatable).")
    var overrides: [String] = []

    @OptionGroup var plugins: PluginOptions
    @OptionGroup var allow: ConsentOptions

    func run() throws {
        let registry = standardRegistry(plugins: plugins)
        let consent = try Consent(file: file, registry: registry, plugins: plugins, options: allow)
        let listing = consent.listing()
        // What the workflow does is worth reading most when it cannot be validated in full.
        func printListing() {
            if !listing.isEmpty {
                print("beyond image processing, it:\n" + listing.map { "  " + $0 }.joined(separator: "\n"))
            }
        }
        let workflow: Workflow
        do {
            workflow = try loadWorkflow(file, registry: registry, consent: consent)
        } catch {
            printListing()
            throw error
        }
        if !overrides.isEmpty {
            // With values, what the run would read is there (or a glob matches) — or said now.
            var options = RunOptions()
            options.confinement = consent.confinement(
                workflow, overrides: overrides, cacheDirectory: CacheDirectory.resolve(nil))
            let executor = Executor(workflow: workflow, params: try bindParams(workflow, overrides), options: options)
            // … and where it would write is allowed.
            let problems = executor.checkInputs() + executor.checkWrites()
            for problem in problems { printError(problem.description) }
            if !problems.isEmpty {
                printError("\(problems.count) error\(problems.count == 1 ? "" : "s")")
                throw ExitCode.failure
            }
        }
        let once = workflow.nodes.filter { $0.scope == .once }.count
        print(
            "\(file): valid (\(workflow.nodes.count) nodes: \(once) run once, \(workflow.nodes.count - once) per item)")
        if !workflow.params.isEmpty {
            print("params (--set NAME=VALUE):")
            for line in workflow.paramsListing { print(line) }
        }
        printListing()
    }
}
