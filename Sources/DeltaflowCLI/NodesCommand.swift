import ArgumentParser
import NodeKit
import Spelling
import Workflow

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the node kinds, or describe one: its ports, types, defaults and an example.")

    @Argument(help: "A node kind to describe, or a workflow file to describe as a node (workflow: FILE).")
    var kind: String?

    @OptionGroup var plugins: PluginOptions

    func run() throws {
        let registry = standardRegistry(plugins: plugins)
        guard let kind else {
            let width = registry.kinds.map(\.count).max() ?? 0
            for descriptor in registry.descriptors {
                print(descriptor.kind.padding(toLength: width + 2, withPad: " ", startingAt: 0) + descriptor.summary)
            }
            return
        }
        if kind.hasSuffix(".yaml") || kind.hasSuffix(".yml") {
            do {
                print(describe(try Workflow.load(kind, registry: registry).asNode, origin: nil))
            } catch {
                printError("\(error)")
                throw ExitCode.failure
            }
            return
        }
        guard let node = registry[kind] else {
            let guess = closestMatch(to: kind, in: registry.kinds).map { " (did you mean '\($0)'?)" } ?? ""
            printError("error: no node kind '\(kind)'\(guess); 'deltaflow nodes' lists them")
            throw ExitCode.failure
        }
        print(describe(node.descriptor, origin: registry.origin(of: kind)))
    }

    private func describe(_ d: NodeDescriptor, origin: String?) -> String {
        var lines = ["\(d.kind) (version \(d.version)): \(d.summary)", "", "inputs:"]
        for port in d.inputs {
            var facts = [port.type.rawValue]
            if let value = port.defaultValue {
                facts.append("default \(value)")
            } else if port.optional {
                facts.append("optional")
            } else {
                facts.append("required")
            }
            if let range = port.range {
                facts.append("\(formatNumber(range.lowerBound))...\(formatNumber(range.upperBound))")
            }
            if let choices = port.choices { facts.append("one of " + choices.joined(separator: ", ")) }
            lines.append(
                "  \(port.name) (\(facts.joined(separator: ", ")))" + (port.doc.isEmpty ? "" : ": \(port.doc)"))
        }
        if let input = d.iterationInput {
            lines.append(
                "  with 'each: DIR' (and optional 'pattern', 'recursive') the node runs once per file, as its '\(input)'; "
                    + "with 'match: NODE' too, once per file of NODE, on the file of DIR with the same name"
            )
        }
        lines.append("outputs:")
        for port in d.outputs {
            lines.append("  \(port.name) (\(port.type.rawValue)\(port.optional ? ", may be absent" : "")): \(port.doc)")
        }
        if let origin, origin != NodeRegistry.builtIn { lines.append("from \(origin)") }
        if !d.example.isEmpty { lines += ["example:", "  " + d.example] }
        return lines.joined(separator: "\n")
    }
}
