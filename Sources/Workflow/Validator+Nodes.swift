import Foundation
import NodeKit
import Spelling

/// The `nodes:` section: each node built, its references resolved and type-checked, the graph
/// ordered, and what runs once told from what runs per item.
extension Validator {
    struct Draft: HasExpressions {
        let name: String
        let kind: String
        let node: any Node
        var inputs: [String: Expression]
        var iteration: WorkflowNode.Iteration?
        var when: Expression? = nil
        var otherwise: [String: Expression] = [:]
        let location: SourcePosition
        var dependencies: [String] = []
        /// Where `match:` is written, for its diagnostics.
        var matchLocation: SourcePosition? = nil
    }

    /// Keys of a node that are not its inputs.
    static let controlKeys = ["node", "workflow", "when", "otherwise"] + Workflow.iterationKeys

    /// Builds, checks and orders the nodes, sub-workflows expanded into theirs; `outputs` are the
    /// declared `outputs:`, resolved against them.
    mutating func buildNodes(
        _ entries: [SyntaxEntry], params: [WorkflowParam],
        outputs declared: [(name: String, reference: Reference, doc: String?)]
    ) -> (nodes: [WorkflowNode], outputs: [WorkflowOutput]) {
        var drafts: [Draft] = []
        for entry in entries {
            checkName(entry, of: "node")
            if paramNames.contains(entry.key) {
                error(
                    "name_clash", "node '\(entry.key)' has the same name as a param", at: entry.keyLocation,
                    help: "rename one of them: '$\(entry.key)' must mean one thing")
            }
            guard case .mapping(let fields, _) = entry.value else {
                error(
                    "bad_value", "node '\(entry.key)' must be a mapping like {node: load, path: photo.jpg}",
                    at: entry.value.location)
                uncheckedNodes[entry.key] = "?"
                continue
            }
            if let workflowEntry = fields["workflow"] {
                if let kindEntry = fields["node"] {
                    error(
                        "conflicting_keys", "node '\(entry.key)' says both 'node' and 'workflow'",
                        at: kindEntry.keyLocation,
                        help: "a node is one kind of node, or one sub-workflow; keep one of them")
                }
                guard let sub = subWorkflow(entry, pathEntry: workflowEntry) else {
                    uncheckedNodes[entry.key] = "?"
                    continue
                }
                if let draft = buildDraft(
                    entry.key, kind: sub.descriptor.kind, node: sub, fields: fields, location: entry.keyLocation)
                {
                    drafts.append(draft)
                }
                continue
            }
            guard let kindEntry = fields["node"] else {
                error(
                    "missing_key", "node '\(entry.key)' does not say which kind it is", at: entry.keyLocation,
                    help: "add 'node: KIND' (or 'workflow: FILE' for a sub-workflow); 'deltaflow nodes' lists the kinds"
                )
                uncheckedNodes[entry.key] = "?"
                continue
            }
            guard let kind = kindEntry.value.stringValue, let node = registry[kind] else {
                let written = kindEntry.value.displayText
                uncheckedNodes[entry.key] = written
                let suggestion = didYouMean(written, registry.kinds)
                // After a plugin failed to load, a kind it may provide is said once, there.
                if suggestion != nil || failedPlugins.isEmpty {
                    error(
                        "unknown_node_kind", "unknown node kind '\(written)'", at: kindEntry.value.location,
                        help: suggestion ?? "'deltaflow nodes' lists the kinds")
                }
                continue
            }
            if let draft = buildDraft(entry.key, kind: kind, node: node, fields: fields, location: entry.keyLocation) {
                drafts.append(draft)
            }
        }
        if let first = failedPlugins.first {
            let unknown = uncheckedNodes.filter { name, kind in
                kind != "?"
                    && !diagnostics.contains { $0.code == "unknown_node_kind" && $0.message.hasSuffix("'\(kind)'") }
            }
            if !unknown.isEmpty {
                let listed = unknown.sorted { $0.key < $1.key }.map { "'\($0.key)' (\($0.value))" }
                let failed = diagnostics[first]
                diagnostics[first] = Diagnostic(
                    failed.code, failed.message, at: failed.location,
                    help:
                        "until it loads, node\(listed.count == 1 ? "" : "s") \(listed.joined(separator: ", ")) cannot be checked; "
                        + (failed.help ?? ""))
            }
        }
        let iterators = drafts.filter { $0.iteration != nil && $0.iteration?.match == nil }
        for extra in iterators.dropFirst() {
            error(
                "multiple_iterators",
                "node '\(extra.name)' iterates with 'each', but node '\(iterators[0].name)' already does",
                at: extra.location,
                help:
                    "add 'match: \(iterators[0].name)' to pair its files with \(iterators[0].name)'s by name (masks, retouched versions); the nodes after them run once per pair"
            )
        }
        for draft in drafts {
            guard let match = draft.iteration?.match else { continue }
            let location = draft.matchLocation ?? draft.location
            if let primary = iterators.first, primary.name == match { continue }
            if let target = drafts.first(where: { $0.name == match }), target.iteration?.match != nil {
                error(
                    "bad_match", "node '\(draft.name)' matches '\(match)', which itself matches another node",
                    at: location, help: "match the node whose files are the items: '\(iterators.first?.name ?? match)'")
            } else if uncheckedNodes[match] == nil {
                let names = iterators.map(\.name)
                error(
                    "bad_match", "'match: \(match)' names no node that iterates with 'each'", at: location,
                    help: didYouMean(match, names)
                        ?? (names.first.map { "match '\($0)', the node whose files are the items" }
                            ?? "add a node that iterates over the items ('each') and match it"))
            }
        }
        resolveReferences(&drafts, params: params)
        let built = Dictionary(drafts.map { ($0.name, $0.node) }, uniquingKeysWith: { first, _ in first })
        var outputs = resolveOutputs(declared, nodes: built)
        guard let order = topologicalOrder(drafts) else { return ([], outputs) }
        let (expanded, renamed) = expandSubWorkflows(order.map { drafts[$0] })
        subWorkflows.expandedNodes += expanded.count - order.count
        if subWorkflows.expandedNodes > SubWorkflowLimits.nodes {
            let uses = order.map { drafts[$0] }.filter { $0.node is SubWorkflowNode }
            error(
                "workflow_too_large",
                "sub-workflows expand this workflow to more than \(SubWorkflowLimits.nodes) nodes",
                at: uses.first?.location ?? SourcePosition(file: file, line: 1, column: 1),
                help: "a sub-workflow used many times that uses others many times multiplies; use fewer")
            return ([], outputs)
        }
        outputs = outputs.map { output in
            guard let target = renamed[output.reference.name]?[output.reference.port!] else { return output }
            return WorkflowOutput(
                name: output.name, type: output.type, doc: output.doc, optional: output.optional,
                reference: target.at(output.reference.location))
        }
        outputRoots = Set(outputs.map(\.reference.name))
        return (finish(expanded), outputs)
    }

    private mutating func buildDraft(
        _ name: String, kind: String, node: any Node, fields: [SyntaxEntry],
        location: SourcePosition
    ) -> Draft? {
        let descriptor = node.descriptor
        var inputs: [String: Expression] = [:]
        var misspelled = Set<String>()
        for field in fields where !Self.controlKeys.contains(field.key) {
            guard descriptor.input(field.key) != nil else {
                let guess = closestMatch(to: field.key, in: descriptor.inputs.map(\.name) + Workflow.iterationKeys)
                if let guess { misspelled.insert(guess) }
                error(
                    "unknown_port", "unknown port '\(field.key)' on node '\(name)' (\(kind))", at: field.keyLocation,
                    help: guess.map { "did you mean '\($0)'?" }
                        ?? "\(kind) takes \(descriptor.inputs.map(\.name).joined(separator: ", "))")
                continue
            }
            do {
                inputs[field.key] = try Expression.parse(
                    field.value, placeholders: descriptor.placeholders, params: paramNames)
            } catch {
                self.error("bad_expression", error.message, at: error.location, help: error.help)
                misspelled.insert(field.key)  // set, just wrongly: not also "missing"
            }
        }
        var iteration: WorkflowNode.Iteration?
        if let each = fields["each"] {
            iteration = buildIteration(name, descriptor: descriptor, each: each, fields: fields, inputs: inputs)
        } else {
            for key in ["pattern", "recursive", "match", "unmatched"] {
                if let field = fields[key] {
                    error(
                        "orphan_key", "'\(key)' only applies with 'each'", at: field.keyLocation,
                        help: "add 'each: $dir' to iterate, or remove '\(key)'")
                }
            }
        }
        let (when, otherwise) = buildCondition(name, descriptor: descriptor, fields: fields)
        // A required input that is only misspelled, or whose value failed to parse, was reported above.
        for spec in descriptor.inputs
        where spec.isRequired && inputs[spec.name] == nil && iteration?.input != spec.name
            && !misspelled.contains(spec.name)
        {
            error(
                "missing_input", "node '\(name)' (\(kind)) is missing required input '\(spec.name)'", at: location,
                help: "add '\(spec.name): …' (\(spec.type): \(spec.doc))")
        }
        return Draft(
            name: name, kind: kind, node: node, inputs: inputs, iteration: iteration, when: when, otherwise: otherwise,
            location: location, matchLocation: fields["match"]?.value.location)
    }

    /// `when:` and `otherwise:`, parsed; their types are checked with the references.
    private mutating func buildCondition(
        _ name: String, descriptor: NodeDescriptor, fields: [SyntaxEntry]
    ) -> (Expression?, [String: Expression]) {
        var when: Expression?
        if let field = fields["when"] {
            do {
                when = try Expression.parse(field.value, params: paramNames)
            } catch {
                self.error("bad_expression", error.message, at: error.location, help: error.help)
            }
        }
        var otherwise: [String: Expression] = [:]
        guard let field = fields["otherwise"] else { return (when, otherwise) }
        if fields["when"] == nil {
            error(
                "orphan_key", "'otherwise' only applies with 'when'", at: field.keyLocation,
                help: "add 'when: ${…}' to run the node only for some items, or remove 'otherwise'")
        }
        guard case .mapping(let entries, _) = field.value else {
            error(
                "bad_value",
                "'otherwise' must map outputs to what they are when the node does not run, e.g. {image: $photo.image}",
                at: field.value.location)
            return (when, otherwise)
        }
        for entry in entries {
            guard descriptor.output(entry.key) != nil else {
                let names = descriptor.outputs.map(\.name)
                error(
                    "unknown_output", "node '\(name)' (\(descriptor.kind)) has no output '\(entry.key)'",
                    at: entry.keyLocation,
                    help: didYouMean(entry.key, names) ?? "its outputs are \(names.joined(separator: ", "))")
                continue
            }
            do {
                otherwise[entry.key] = try Expression.parse(entry.value, params: paramNames)
            } catch {
                self.error("bad_expression", error.message, at: error.location, help: error.help)
            }
        }
        return (when, otherwise)
    }

    private mutating func buildIteration(
        _ name: String, descriptor: NodeDescriptor, each: SyntaxEntry,
        fields: [SyntaxEntry], inputs: [String: Expression]
    ) -> WorkflowNode.Iteration? {
        guard let input = descriptor.iterationInput else {
            error(
                "cannot_iterate", "node kind '\(descriptor.kind)' cannot iterate with 'each'", at: each.keyLocation,
                help: "iterate with a node that reads files, such as 'load', and connect this node to it")
            return nil
        }
        if inputs[input] != nil, let field = fields[input] {
            error(
                "conflicting_inputs", "node '\(name)' sets '\(input)' and also iterates with 'each'",
                at: field.keyLocation, help: "'each' supplies '\(input)' for every file; remove one of them")
        }
        let directory: Expression
        do {
            directory = try Expression.parse(each.value)
        } catch {
            self.error("bad_expression", error.message, at: error.location, help: error.help)
            return nil
        }
        var patterns = ["*"]
        if let field = fields["pattern"] {
            switch field.value {
            case .string(let text, _):
                patterns = expandBraces(text)
            case .sequence(let items, _) where items.allSatisfy({ $0.stringValue != nil }):
                patterns = items.flatMap { expandBraces($0.stringValue!) }
            default:
                error(
                    "bad_value", "'pattern' must be a glob like \"*.{jpg,png}\" or a list of them",
                    at: field.value.location)
            }
        }
        var recursive = false
        if let field = fields["recursive"] {
            if case .bool(let b, _) = field.value {
                recursive = b
            } else {
                error("bad_value", "'recursive' must be true or false", at: field.value.location)
            }
        }
        var result = WorkflowNode.Iteration(
            directory: directory, patterns: patterns, recursive: recursive, input: input)
        if let field = fields["match"] {
            if let name = field.value.stringValue, isIdentifier(name) {
                result.match = name
            } else {
                error(
                    "bad_value", "'match' must name the node whose files these pair with, e.g. match: photo",
                    at: field.value.location)
            }
        }
        if let field = fields["unmatched"] {
            let choices = WorkflowNode.Unmatched.allCases.map(\.rawValue)
            if fields["match"] == nil {
                error(
                    "orphan_key", "'unmatched' only applies with 'match'", at: field.keyLocation,
                    help: "add 'match: NODE' to pair this node's files with another's, or remove 'unmatched'")
            } else if let text = field.value.stringValue, let policy = WorkflowNode.Unmatched(rawValue: text) {
                result.unmatched = policy
            } else {
                error(
                    "bad_value",
                    "'unmatched' must be one of \(choices.joined(separator: ", ")), not \(field.value.displayText)",
                    at: field.value.location,
                    help: didYouMean(field.value.displayText, choices)
                        ?? "error refuses the run listing them, skip leaves such items out, optional runs them without it"
                )
            }
        }
        return result
    }

    /// Checks every reference and every input's type, and records who depends on whom.
    private mutating func resolveReferences(_ drafts: inout [Draft], params: [WorkflowParam]) {
        let byName = Dictionary(drafts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var paramsByName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // {sweep}: the combination a sweep runs, "" without one.
        paramsByName["sweep"] =
            paramsByName["sweep"]
            ?? WorkflowParam(
                name: "sweep", type: .string, isDirectory: false, defaultValue: .string(""), range: nil, choices: nil,
                doc: nil, location: SourcePosition(file: file, line: 1, column: 1))
        for index in drafts.indices {
            let draft = drafts[index]
            var dependencies: [String] = []
            var expressions = draft.inputs.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
            if let iteration = draft.iteration { expressions.append(("each", iteration.directory)) }
            if let when = draft.when { expressions.append(("when", when)) }
            for (output, expression) in draft.otherwise.sorted(by: { $0.key < $1.key }) {
                expressions.append(("otherwise." + output, expression))
            }
            for (port, expression) in expressions {
                var resolved = true
                for reference in expression.references {
                    if uncheckedNodes[reference.name] != nil {
                        resolved = false  // its node's own error says why
                    } else if let target = byName[reference.name] {
                        dependencies.append(target.name)
                        guard let portName = reference.port else {
                            error(
                                "missing_port",
                                "\(reference.text) refers to node '\(target.name)' without saying which output",
                                at: reference.location,
                                help: "write $\(target.name).\(target.node.descriptor.outputs.first?.name ?? "PORT")")
                            resolved = false
                            continue
                        }
                        if target.node.descriptor.output(portName) == nil {
                            let outputs = target.node.descriptor.outputs.map(\.name)
                            error(
                                "unknown_output", "node '\(target.name)' (\(target.kind)) has no output '\(portName)'",
                                at: reference.location,
                                help: didYouMean(portName, outputs)
                                    ?? "its outputs are \(outputs.joined(separator: ", "))")
                            resolved = false
                        }
                    } else if paramsByName[reference.name] != nil {
                        if reference.port != nil {
                            error(
                                "param_has_no_port",
                                "\(reference.text): '\(reference.name)' is a param, which has no ports",
                                at: reference.location, help: "write $\(reference.name)")
                            resolved = false
                        }
                    } else {
                        error(
                            "undefined_reference", "\(reference.text) refers to no node or param",
                            at: reference.location,
                            help: closestMatch(to: reference.name, in: Array(byName.keys) + Array(paramsByName.keys))
                                .map { "did you mean '$\($0)'?" }
                                ?? "declare it under 'params', or add a node of that name")
                        resolved = false
                    }
                }
                guard resolved else { continue }
                checkType(of: expression, port: port, in: draft, nodes: byName, params: paramsByName)
            }
            drafts[index].dependencies = Array(Set(dependencies)).sorted()
        }
    }

    private mutating func checkType(
        of expression: Expression, port: String, in draft: Draft,
        nodes: [String: Draft], params: [String: WorkflowParam]
    ) {
        let expected: PortType =
            switch port {
            case "each": .path
            case "when": .bool
            case _ where port.hasPrefix("otherwise."):
                draft.node.descriptor.output(String(port.dropFirst("otherwise.".count)))!.type
            default: draft.node.descriptor.input(port)!.type
            }
        let inferred: PortType
        do {
            inferred = try expression.inferType { reference in
                if let node = nodes[reference.name], let port = reference.port {
                    return node.node.descriptor.output(port)?.type
                }
                return params[reference.name]?.type
            }
        } catch {
            self.error("type_mismatch", error.message, at: error.location, help: error.help)
            return
        }
        let absent = expression.absentUses { reference in
            guard let port = reference.port else { return false }
            return nodes[reference.name]?.node.descriptor.output(port)?.optional ?? false
        }
        if let first = absent.first {
            let example = expected.isNumeric ? "0" : expected == .bool ? "false" : "'unknown'"
            error(
                "maybe_absent", "\(first.text) may be absent (not every file has it), and '\(port)' needs a value",
                at: first.location,
                help:
                    "give one for files without it: ${\(first.text) ?? \(example)}, or compare it: ${\(first.text) == …}"
            )
            return
        }
        // An expression that computes a number may feed an integer input if it is whole at run time.
        let computed: Bool =
            if case .literal = expression { false } else if case .reference = expression { false } else { true }
        let acceptable = expected.accepts(inferred) || (computed && expected == .integer && inferred == .number)
        if !acceptable {
            let subject = if case .reference(let r) = expression { r.text } else { "this value" }
            let what =
                port == "when"
                ? "'when' of node '\(draft.name)' must be true or false"
                : "port '\(port)' of node '\(draft.name)' (\(draft.kind)) expects \(expected)"
            error(
                "type_mismatch", "\(what), but \(subject) is \(inferred)", at: expression.location,
                help: port == "when" ? "compare it, e.g. when: ${$photo.width >= 1000}" : nil)
            return
        }
        if case .literal(let value, let location) = expression, let spec = draft.node.descriptor.input(port),
            let coerced = value.coerced(to: expected)
        {
            checkConstraints(
                coerced, range: spec.range, choices: spec.choices,
                subject: "port '\(port)' of node '\(draft.name)'", at: location)
        }
    }

    /// Kahn's algorithm, taking ready nodes in file order so the plan reads like the file.
    /// On a cycle, reports its path and returns nil.
    private mutating func topologicalOrder(_ drafts: [Draft]) -> [Int]? {
        let index = Dictionary(drafts.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        let remaining = drafts.map { Set($0.dependencies.compactMap { index[$0] }) }
        var order: [Int] = []
        var done = Set<Int>()
        while order.count < drafts.count {
            guard let next = drafts.indices.first(where: { !done.contains($0) && remaining[$0].isSubset(of: done) })
            else {
                reportCycle(drafts, index: index, stuck: drafts.indices.filter { !done.contains($0) })
                return nil
            }
            order.append(next)
            done.insert(next)
        }
        return order
    }

    private mutating func reportCycle(_ drafts: [Draft], index: [String: Int], stuck: [Int]) {
        // Walk dependencies from the first stuck node until a node repeats: that loop is a cycle.
        var path: [Int] = []
        var current = stuck[0]
        let stuckSet = Set(stuck)
        while !path.contains(current) {
            path.append(current)
            guard let next = drafts[current].dependencies.compactMap({ index[$0] }).first(where: stuckSet.contains)
            else { break }
            current = next
        }
        // Dependencies point against the data flow; reverse to read "a feeds b feeds a", and
        // start from the cycle's earliest node in the file, which is where the caret points.
        var cycle = Array(Array(path[path.firstIndex(of: current)!...]).reversed())
        let first = cycle.min()!
        cycle = Array(cycle[cycle.firstIndex(of: first)!...] + cycle[..<cycle.firstIndex(of: first)!])
        let names = cycle.map { drafts[$0].name }
        error(
            "cycle", "cycle: \((names + [names[0]]).joined(separator: " -> "))", at: drafts[first].location,
            help: "a node cannot depend, directly or not, on its own output")
    }

    /// Assigns scopes, checks item variables are used only per item, and prunes unused nodes.
    private mutating func finish(_ ordered: [Draft]) -> [WorkflowNode] {
        var perItem = Set<String>()
        for draft in ordered where draft.iteration != nil || draft.dependencies.contains(where: perItem.contains) {
            perItem.insert(draft.name)
        }
        // A sub-workflow's nodes are checked where it is used, once its params are known.
        for draft in ordered where !perItem.contains(draft.name) && stack.count <= 1 {
            for (name, location) in draft.expressions.flatMap(\.itemVariables) {
                error(
                    "item_variable_outside_iteration",
                    "'\(name)' describes the current file, but node '\(draft.name)' runs once, not per file",
                    at: location, help: "connect this node to the node that iterates with 'each'")
            }
        }
        // Keep what a side-effecting node needs; warn about the rest.
        var needed = Set(ordered.filter { $0.node.descriptor.hasSideEffects }.map(\.name)).union(outputRoots)
        for draft in ordered.reversed() where needed.contains(draft.name) {
            needed.formUnion(draft.dependencies)
            // Files paired with another node's are that node's items: it runs too.
            if let primary = draft.iteration?.match, let target = ordered.first(where: { $0.name == primary }) {
                needed.insert(primary)
                needed.formUnion(target.dependencies)
            }
        }
        // With errors present, "unused" is mostly an echo of a broken reference: say nothing.
        let hasErrors = diagnostics.contains { $0.severity == .error }
        // A library's output that this file does not read is not a mistake here.
        for draft in ordered where !needed.contains(draft.name) && !hasErrors && !draft.name.contains("/") {
            diagnostics.append(
                Diagnostic(
                    "unused_node", "node '\(draft.name)' is never used, so it will not run",
                    at: draft.location, help: "connect its outputs to a node that saves a result",
                    severity: .warning))
        }
        return ordered.filter { needed.contains($0.name) }.map { draft in
            WorkflowNode(
                name: draft.name, kind: draft.kind, node: draft.node, inputs: draft.inputs,
                scope: perItem.contains(draft.name) ? .perItem : .once, iteration: draft.iteration,
                location: draft.location, dependencies: draft.dependencies, when: draft.when,
                otherwise: draft.otherwise)
        }
    }
}
