import Foundation
import NodeKit
import Spelling

/// A typed input of a workflow, settable with `--set name=value`.
public struct WorkflowParam: Sendable {
    public let name: String
    public let type: PortType
    /// `type: dir`: a path that must name a directory.
    public let isDirectory: Bool
    public let defaultValue: Value?
    public let range: ClosedRange<Double>?
    public let choices: [String]?
    public let doc: String?
    public let location: SourcePosition

    /// How the type is written in a workflow file.
    public var typeName: String { isDirectory ? "dir" : type.rawValue }
}

/// A node of a validated workflow.
public struct WorkflowNode: Sendable {
    public enum Scope: String, Sendable {
        /// Runs once per run; its results are shared by every item.
        case once
        /// Runs for every item of the iterated directory.
        case perItem = "per item"
    }

    /// How a node iterates over a directory with `each:`.
    public struct Iteration: Sendable {
        let directory: Expression
        /// Glob patterns after brace expansion, matched against relative paths.
        public let patterns: [String]
        public let recursive: Bool
        /// The input each file's path is fed into.
        public let input: String
    }

    public let name: String
    public let kind: String
    public let node: any Node
    let inputs: [String: Expression]
    public let scope: Scope
    public let iteration: Iteration?
    public let location: SourcePosition
    /// Names of the nodes whose outputs this node reads.
    public let dependencies: [String]
}

/// A workflow file, parsed and validated: every reference resolved, every type checked, the
/// nodes in an order where each comes after what it reads.
public struct Workflow: Sendable {
    public static let supportedVersion = 1
    static let topLevelKeys = ["version", "name", "description", "seed", "plugins", "params", "nodes"]
    static let iterationKeys = ["each", "pattern", "recursive"]
    static let paramKeys = ["type", "default", "min", "max", "choices", "doc"]
    static let paramTypes = ["path", "dir", "number", "integer", "string", "bool"]

    public let file: String
    public let source: String
    public let name: String
    public let seed: UInt64
    public let params: [WorkflowParam]
    /// In execution order; nodes whose results nothing uses are left out.
    public let nodes: [WorkflowNode]
    /// Warnings found while validating (the workflow is valid; they are worth reading).
    public let warnings: [Diagnostic]
    /// Who provides each plugin node kind the workflow uses (`plugin 'x' 1.0 (/path)`), sorted.
    public var plugins: [String] {
        Set(nodes.compactMap { origins[$0.kind] }.filter { $0 != NodeRegistry.builtIn }).sorted()
    }
    let origins: [String: String]

    public var iterator: WorkflowNode? { nodes.first { $0.iteration != nil } }

    /// Reads and validates the workflow at `path`; `plugins` loads what its `plugins:` list names.
    public static func load(_ path: String, registry: NodeRegistry,
                            plugins: (any PluginResolver)? = nil) throws(ValidationFailure) -> Workflow {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationFailure([Diagnostic("unreadable_workflow", "cannot read the workflow file",
                                                at: SourcePosition(file: path, line: 1, column: 1),
                                                help: "check that the file exists and is UTF-8 text")], source: nil)
        }
        return try parse(text, file: path, registry: registry, plugins: plugins)
    }

    /// Validates workflow text; `file` is the name diagnostics use, and the folder that
    /// relative paths under `plugins:` start from.
    public static func parse(_ text: String, file: String, registry: NodeRegistry,
                             plugins: (any PluginResolver)? = nil) throws(ValidationFailure) -> Workflow {
        let root = try SyntaxParser.parse(text, file: file)
        var validator = Validator(file: file, registry: registry, plugins: plugins)
        let workflow = validator.validate(root, source: text)
        let errors = validator.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty, let workflow else {
            throw ValidationFailure(validator.diagnostics.sorted(by: Validator.sourceOrder), source: text)
        }
        return workflow
    }
}

/// Walks the syntax tree once, collecting every problem rather than stopping at the first.
struct Validator {
    let file: String
    var registry: NodeRegistry
    let plugins: (any PluginResolver)?
    var diagnostics: [Diagnostic] = []

    init(file: String, registry: NodeRegistry, plugins: (any PluginResolver)? = nil) {
        self.file = file
        self.registry = registry
        self.plugins = plugins
    }

    static func sourceOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        let (x, y) = (a.location, b.location)
        return (x?.line ?? 0, x?.column ?? 0) < (y?.line ?? 0, y?.column ?? 0)
    }

    private mutating func error(_ code: String, _ message: String, at location: SourcePosition?, help: String? = nil) {
        diagnostics.append(Diagnostic(code, message, at: location, help: help))
    }

    private func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String? {
        closestMatch(to: word, in: candidates).map { "did you mean '\($0)'?" }
    }

    mutating func validate(_ root: SyntaxValue, source: String) -> Workflow? {
        guard case .mapping(let top, _) = root else {
            error("not_a_mapping", "a workflow must be a mapping with 'version' and 'nodes', not \(root.kindName)",
                  at: root.location)
            return nil
        }
        for entry in top where !Workflow.topLevelKeys.contains(entry.key) {
            error("unknown_key", "unknown top-level key '\(entry.key)'", at: entry.keyLocation,
                  help: didYouMean(entry.key, Workflow.topLevelKeys)
                      ?? "top-level keys are \(Workflow.topLevelKeys.joined(separator: ", "))")
        }
        checkVersion(top)
        let name = top["name"]?.value.stringValue ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var seed: UInt64 = 0
        if let entry = top["seed"] {
            if case .integer(let s, _) = entry.value, s >= 0 { seed = UInt64(s) } else {
                error("bad_value", "'seed' must be a whole number of at least 0", at: entry.value.location)
            }
        }
        loadPlugins(top["plugins"])
        let params = parseParams(top["params"])
        guard let nodesEntry = top["nodes"] else {
            error("missing_key", "the workflow has no 'nodes'", at: SourcePosition(file: file, line: 1, column: 1),
                  help: "add a 'nodes:' mapping, e.g. 'photo: {node: load, path: in.jpg}'")
            return nil
        }
        guard case .mapping(let nodeEntries, _) = nodesEntry.value else {
            error("bad_value", "'nodes' must be a mapping of node names to nodes, not \(nodesEntry.value.kindName)",
                  at: nodesEntry.value.location)
            return nil
        }
        let nodes = buildNodes(nodeEntries, params: params)
        var origins: [String: String] = [:]
        for node in nodes { origins[node.kind] = registry.origin(of: node.kind) }
        return Workflow(file: file, source: source, name: name, seed: seed, params: params, nodes: nodes,
                        warnings: diagnostics.filter { $0.severity == .warning }, origins: origins)
    }

    /// Loads each plugin of the `plugins:` list and adds its node kinds, reporting a plugin
    /// that cannot load, or that clashes with kinds already known, at its entry.
    private mutating func loadPlugins(_ entry: SyntaxEntry?) {
        guard let entry else { return }
        guard case .sequence(let items, _) = entry.value else {
            error("bad_value", "'plugins' must be a list of plugin libraries, e.g. [plugins/libstudio.so]",
                  at: entry.value.location)
            return
        }
        guard let plugins else {
            error("plugins_unavailable", "this program does not load plugins", at: entry.keyLocation,
                  help: "run the workflow with the deltaflow command")
            return
        }
        let directory = (file as NSString).deletingLastPathComponent
        for item in items {
            guard let reference = item.stringValue, !reference.isEmpty else {
                error("bad_value", "a plugin is named by a path or a name, not \(item.kindName)", at: item.location)
                continue
            }
            let loaded: (origin: String, nodes: [any Node])
            do {
                loaded = try plugins.plugin(reference, relativeTo: directory.isEmpty ? "." : directory)
            } catch {
                self.error("plugin_load_failed", "cannot load plugin '\(reference)': \(error)", at: item.location,
                           help: "'deltaflow plugins --plugins DIR' lists what loads and why the rest does not")
                continue
            }
            // Already loaded (from --plugins or an earlier entry): nothing new to add.
            if let first = loaded.nodes.first, registry.origin(of: first.descriptor.kind) == loaded.origin { continue }
            do {
                try registry.register(all: loaded.nodes, origin: loaded.origin)
            } catch {
                self.error("duplicate_node_kind", "plugin '\(reference)' cannot be used: \(error.message)", at: item.location,
                           help: "two plugins provide the same node kind; keep one of them")
            }
        }
    }

    private mutating func checkVersion(_ top: [SyntaxEntry]) {
        guard let entry = top["version"] else {
            error("missing_key", "the workflow has no 'version'", at: SourcePosition(file: file, line: 1, column: 1),
                  help: "add 'version: \(Workflow.supportedVersion)' as the first line")
            return
        }
        guard case .integer(let version, _) = entry.value, version == Workflow.supportedVersion else {
            error("unsupported_version", "unsupported workflow version \(entry.value.displayText)",
                  at: entry.value.location, help: "this deltaflow reads 'version: \(Workflow.supportedVersion)'")
            return
        }
    }

    // MARK: - Params

    private mutating func parseParams(_ entry: SyntaxEntry?) -> [WorkflowParam] {
        guard let entry else { return [] }
        guard case .mapping(let entries, _) = entry.value else {
            error("bad_value", "'params' must be a mapping of param names to declarations", at: entry.value.location)
            return []
        }
        var params: [WorkflowParam] = []
        for declaration in entries {
            checkName(declaration, of: "param")
            guard case .mapping(let fields, _) = declaration.value else {
                error("bad_value", "param '\(declaration.key)' must be a mapping like {type: path}",
                      at: declaration.value.location)
                continue
            }
            for field in fields where !Workflow.paramKeys.contains(field.key) {
                error("unknown_key", "unknown key '\(field.key)' in param '\(declaration.key)'", at: field.keyLocation,
                      help: didYouMean(field.key, Workflow.paramKeys)
                          ?? "param keys are \(Workflow.paramKeys.joined(separator: ", "))")
            }
            guard let typeEntry = fields["type"], let typeName = typeEntry.value.stringValue else {
                error("missing_key", "param '\(declaration.key)' has no 'type'", at: declaration.keyLocation,
                      help: "types are \(Workflow.paramTypes.joined(separator: ", "))")
                continue
            }
            guard Workflow.paramTypes.contains(typeName) else {
                error("unknown_type", "unknown param type '\(typeName)'", at: typeEntry.value.location,
                      help: didYouMean(typeName, Workflow.paramTypes)
                          ?? "types are \(Workflow.paramTypes.joined(separator: ", "))")
                continue
            }
            let type = typeName == "dir" ? PortType.path : PortType(rawValue: typeName)!
            var range: ClosedRange<Double>?
            let low = fields["min"].flatMap { numberValue($0.value) }
            let high = fields["max"].flatMap { numberValue($0.value) }
            if low?.isNaN == true || high?.isNaN == true {
                // A range that cannot be built is a mistake to report, never a trap.
                error("invalid_range", "param '\(declaration.key)' has a min or max that is not a number",
                      at: (low?.isNaN == true ? fields["min"] : fields["max"])!.value.location)
            } else if let low, let high, low > high {
                error("invalid_range", "param '\(declaration.key)' has min \(formatNumber(low)) above max \(formatNumber(high))",
                      at: fields["min"]!.value.location, help: "swap them, or remove one")
            } else if low != nil || high != nil {
                range = (low ?? -.infinity)...(high ?? .infinity)
            }
            let choices = fields["choices"].flatMap { entry -> [String]? in
                guard case .sequence(let items, _) = entry.value else { return nil }
                return items.compactMap(\.stringValue)
            }
            var defaultValue: Value?
            if let entry = fields["default"] {
                defaultValue = constant(entry.value, as: type)
                if defaultValue == nil {
                    error("type_mismatch", "the default of param '\(declaration.key)' must be \(typeName), not \(entry.value.kindName)",
                          at: entry.value.location)
                } else if let defaultValue {
                    checkConstraints(defaultValue, range: range, choices: choices,
                                     subject: "the default of param '\(declaration.key)'", at: entry.value.location)
                }
            }
            params.append(WorkflowParam(name: declaration.key, type: type, isDirectory: typeName == "dir",
                                        defaultValue: defaultValue, range: range, choices: choices,
                                        doc: fields["doc"]?.value.stringValue, location: declaration.keyLocation))
        }
        return params
    }

    /// Names are referenced as `$name`, so they must be identifiers.
    private mutating func checkName(_ entry: SyntaxEntry, of what: String) {
        if !isIdentifier(entry.key) {
            error("bad_name", "'\(entry.key)' is not a valid \(what) name", at: entry.keyLocation,
                  help: "use letters, digits and '_', starting with a letter")
        }
    }

    private func numberValue(_ value: SyntaxValue) -> Double? {
        switch value {
        case .integer(let i, _): Double(i)
        case .number(let d, _): d
        default: nil
        }
    }

    /// A YAML constant as a value of `type`, or nil if it is not one.
    func constant(_ value: SyntaxValue, as type: PortType) -> Value? {
        let literal: Value
        switch value {
        case .bool(let b, _): literal = .bool(b)
        case .integer(let i, _): literal = .integer(i)
        case .number(let d, _): literal = .number(d)
        case .string(let s, _): literal = .string(s)
        default: return nil
        }
        return literal.coerced(to: type)
    }

    mutating func checkConstraints(_ value: Value, range: ClosedRange<Double>?, choices: [String]?, subject: String,
                                   at location: SourcePosition) {
        guard let violation = ConstraintViolation.check(value, range: range, choices: choices) else { return }
        error(violation.code, "\(subject) \(violation.requirement), \(violation.found)", at: location,
              help: violation.suggestion.map { "did you mean '\($0)'?" })
    }

    // MARK: - Nodes

    private struct Draft {
        let name: String
        let kind: String
        let node: any Node
        var inputs: [String: Expression]
        var iteration: WorkflowNode.Iteration?
        let location: SourcePosition
        var dependencies: [String] = []
    }

    private mutating func buildNodes(_ entries: [SyntaxEntry], params: [WorkflowParam]) -> [WorkflowNode] {
        let paramNames = Set(params.map(\.name))
        var drafts: [Draft] = []
        for entry in entries {
            checkName(entry, of: "node")
            if paramNames.contains(entry.key) {
                error("name_clash", "node '\(entry.key)' has the same name as a param", at: entry.keyLocation,
                      help: "rename one of them: '$\(entry.key)' must mean one thing")
            }
            guard case .mapping(let fields, _) = entry.value else {
                error("bad_value", "node '\(entry.key)' must be a mapping like {node: load, path: photo.jpg}",
                      at: entry.value.location)
                continue
            }
            guard let kindEntry = fields["node"] else {
                error("missing_key", "node '\(entry.key)' does not say which kind it is", at: entry.keyLocation,
                      help: "add 'node: KIND'; 'deltaflow nodes' lists the kinds")
                continue
            }
            guard let kind = kindEntry.value.stringValue, let node = registry[kind] else {
                let written = kindEntry.value.displayText
                error("unknown_node_kind", "unknown node kind '\(written)'", at: kindEntry.value.location,
                      help: didYouMean(written, registry.kinds) ?? "'deltaflow nodes' lists the kinds")
                continue
            }
            if let draft = buildDraft(entry.key, kind: kind, node: node, fields: fields, location: entry.keyLocation) {
                drafts.append(draft)
            }
        }
        let iterators = drafts.filter { $0.iteration != nil }
        for extra in iterators.dropFirst() {
            error("multiple_iterators", "node '\(extra.name)' iterates with 'each', but node '\(iterators[0].name)' already does",
                  at: extra.location, help: "a workflow iterates over one directory; the nodes after it run once per file")
        }
        resolveReferences(&drafts, params: params)
        guard let order = topologicalOrder(drafts) else { return [] }
        return finish(order.map { drafts[$0] })
    }

    private mutating func buildDraft(_ name: String, kind: String, node: any Node, fields: [SyntaxEntry],
                                     location: SourcePosition) -> Draft? {
        let descriptor = node.descriptor
        var inputs: [String: Expression] = [:]
        var misspelled = Set<String>()
        for field in fields where field.key != "node" && !Workflow.iterationKeys.contains(field.key) {
            guard descriptor.input(field.key) != nil else {
                let guess = closestMatch(to: field.key, in: descriptor.inputs.map(\.name) + Workflow.iterationKeys)
                if let guess { misspelled.insert(guess) }
                error("unknown_port", "unknown port '\(field.key)' on node '\(name)' (\(kind))", at: field.keyLocation,
                      help: guess.map { "did you mean '\($0)'?" }
                          ?? "\(kind) takes \(descriptor.inputs.map(\.name).joined(separator: ", "))")
                continue
            }
            do {
                inputs[field.key] = try Expression.parse(field.value, placeholders: descriptor.placeholders)
            } catch {
                self.error("bad_expression", error.message, at: error.location, help: error.help)
                misspelled.insert(field.key)  // set, just wrongly: not also "missing"
            }
        }
        var iteration: WorkflowNode.Iteration?
        if let each = fields["each"] {
            iteration = buildIteration(name, descriptor: descriptor, each: each, fields: fields, inputs: inputs)
        } else {
            for key in ["pattern", "recursive"] {
                if let field = fields[key] {
                    error("orphan_key", "'\(key)' only applies with 'each'", at: field.keyLocation,
                          help: "add 'each: $dir' to iterate, or remove '\(key)'")
                }
            }
        }
        // A required input that is only misspelled, or whose value failed to parse, was reported above.
        for spec in descriptor.inputs where spec.isRequired && inputs[spec.name] == nil && iteration?.input != spec.name
            && !misspelled.contains(spec.name) {
            error("missing_input", "node '\(name)' (\(kind)) is missing required input '\(spec.name)'", at: location,
                  help: "add '\(spec.name): …' (\(spec.type): \(spec.doc))")
        }
        return Draft(name: name, kind: kind, node: node, inputs: inputs, iteration: iteration, location: location)
    }

    private mutating func buildIteration(_ name: String, descriptor: NodeDescriptor, each: SyntaxEntry,
                                         fields: [SyntaxEntry], inputs: [String: Expression]) -> WorkflowNode.Iteration? {
        guard let input = descriptor.iterationInput else {
            error("cannot_iterate", "node kind '\(descriptor.kind)' cannot iterate with 'each'", at: each.keyLocation,
                  help: "iterate with a node that reads files, such as 'load', and connect this node to it")
            return nil
        }
        if inputs[input] != nil, let field = fields[input] {
            error("conflicting_inputs", "node '\(name)' sets '\(input)' and also iterates with 'each'",
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
                error("bad_value", "'pattern' must be a glob like \"*.{jpg,png}\" or a list of them",
                      at: field.value.location)
            }
        }
        var recursive = false
        if let field = fields["recursive"] {
            if case .bool(let b, _) = field.value { recursive = b } else {
                error("bad_value", "'recursive' must be true or false", at: field.value.location)
            }
        }
        return WorkflowNode.Iteration(directory: directory, patterns: patterns, recursive: recursive, input: input)
    }

    /// Checks every reference and every input's type, and records who depends on whom.
    private mutating func resolveReferences(_ drafts: inout [Draft], params: [WorkflowParam]) {
        let byName = Dictionary(drafts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let paramsByName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for index in drafts.indices {
            let draft = drafts[index]
            var dependencies: [String] = []
            var expressions = draft.inputs.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
            if let iteration = draft.iteration { expressions.append(("each", iteration.directory)) }
            for (port, expression) in expressions {
                var resolved = true
                for reference in expression.references {
                    if let target = byName[reference.name] {
                        dependencies.append(target.name)
                        guard let portName = reference.port else {
                            error("missing_port", "\(reference.text) refers to node '\(target.name)' without saying which output",
                                  at: reference.location,
                                  help: "write $\(target.name).\(target.node.descriptor.outputs.first?.name ?? "PORT")")
                            resolved = false
                            continue
                        }
                        if target.node.descriptor.output(portName) == nil {
                            let outputs = target.node.descriptor.outputs.map(\.name)
                            error("unknown_output", "node '\(target.name)' (\(target.kind)) has no output '\(portName)'",
                                  at: reference.location,
                                  help: didYouMean(portName, outputs) ?? "its outputs are \(outputs.joined(separator: ", "))")
                            resolved = false
                        }
                    } else if paramsByName[reference.name] != nil {
                        if reference.port != nil {
                            error("param_has_no_port", "\(reference.text): '\(reference.name)' is a param, which has no ports",
                                  at: reference.location, help: "write $\(reference.name)")
                            resolved = false
                        }
                    } else {
                        error("undefined_reference", "\(reference.text) refers to no node or param", at: reference.location,
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

    private mutating func checkType(of expression: Expression, port: String, in draft: Draft,
                                    nodes: [String: Draft], params: [String: WorkflowParam]) {
        let expected: PortType = port == "each" ? .path : draft.node.descriptor.input(port)!.type
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
        // An expression that computes a number may feed an integer input if it is whole at run time.
        let computed: Bool = if case .literal = expression { false } else if case .reference = expression { false } else { true }
        let acceptable = expected.accepts(inferred) || (computed && expected == .integer && inferred == .number)
        if !acceptable {
            let subject = if case .reference(let r) = expression { r.text } else { "this value" }
            error("type_mismatch",
                  "port '\(port)' of node '\(draft.name)' (\(draft.kind)) expects \(expected), but \(subject) is \(inferred)",
                  at: expression.location)
            return
        }
        if case .literal(let value, let location) = expression, let spec = draft.node.descriptor.input(port),
           let coerced = value.coerced(to: expected) {
            checkConstraints(coerced, range: spec.range, choices: spec.choices,
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
            guard let next = drafts.indices.first(where: { !done.contains($0) && remaining[$0].isSubset(of: done) }) else {
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
            guard let next = drafts[current].dependencies.compactMap({ index[$0] }).first(where: stuckSet.contains) else { break }
            current = next
        }
        // Dependencies point against the data flow; reverse to read "a feeds b feeds a", and
        // start from the cycle's earliest node in the file, which is where the caret points.
        var cycle = Array(Array(path[path.firstIndex(of: current)!...]).reversed())
        let first = cycle.min()!
        cycle = Array(cycle[cycle.firstIndex(of: first)!...] + cycle[..<cycle.firstIndex(of: first)!])
        let names = cycle.map { drafts[$0].name }
        error("cycle", "cycle: \((names + [names[0]]).joined(separator: " -> "))", at: drafts[first].location,
              help: "a node cannot depend, directly or not, on its own output")
    }

    /// Assigns scopes, checks item variables are used only per item, and prunes unused nodes.
    private mutating func finish(_ ordered: [Draft]) -> [WorkflowNode] {
        var perItem = Set<String>()
        for draft in ordered where draft.iteration != nil || draft.dependencies.contains(where: perItem.contains) {
            perItem.insert(draft.name)
        }
        for draft in ordered where !perItem.contains(draft.name) {
            for (name, location) in draft.inputs.values.flatMap(\.itemVariables) {
                error("item_variable_outside_iteration",
                      "'\(name)' describes the current file, but node '\(draft.name)' runs once, not per file",
                      at: location, help: "connect this node to the node that iterates with 'each'")
            }
        }
        // Keep what a side-effecting node needs; warn about the rest.
        var needed = Set(ordered.filter { $0.node.descriptor.hasSideEffects }.map(\.name))
        for draft in ordered.reversed() where needed.contains(draft.name) {
            needed.formUnion(draft.dependencies)
        }
        // With errors present, "unused" is mostly an echo of a broken reference: say nothing.
        let hasErrors = diagnostics.contains { $0.severity == .error }
        for draft in ordered where !needed.contains(draft.name) && !hasErrors {
            diagnostics.append(Diagnostic("unused_node", "node '\(draft.name)' is never used, so it will not run",
                                          at: draft.location, help: "connect its outputs to a node that saves a result",
                                          severity: .warning))
        }
        return ordered.filter { needed.contains($0.name) }.map { draft in
            WorkflowNode(name: draft.name, kind: draft.kind, node: draft.node, inputs: draft.inputs,
                         scope: perItem.contains(draft.name) ? .perItem : .once, iteration: draft.iteration,
                         location: draft.location, dependencies: draft.dependencies)
        }
    }
}

/// `*.{jpg,png}` -> `*.jpg`, `*.png` (nested braces expand too).
func expandBraces(_ pattern: String) -> [String] {
    guard let open = pattern.firstIndex(of: "{") else { return [pattern] }
    var depth = 0
    var close: String.Index?
    var commas: [String.Index] = []
    for i in pattern.indices[open...] {
        switch pattern[i] {
        case "{": depth += 1
        case "}":
            depth -= 1
            if depth == 0 { close = i }
        case "," where depth == 1: commas.append(i)
        default: break
        }
        if close != nil { break }
    }
    guard let close else { return [pattern] }
    let prefix = pattern[..<open], suffix = pattern[pattern.index(after: close)...]
    var alternatives: [Substring] = []
    var start = pattern.index(after: open)
    for comma in commas + [close] {
        alternatives.append(pattern[start..<comma])
        start = pattern.index(after: comma)
    }
    return alternatives.flatMap { expandBraces(String(prefix + $0 + suffix)) }
}

extension SyntaxValue {
    /// The value as written, for messages.
    var displayText: String {
        switch self {
        case .null: "null"
        case .bool(let b, _): String(b)
        case .integer(let i, _): String(i)
        case .number(let d, _): formatNumber(d)
        case .string(let s, _): s
        case .sequence, .mapping: kindName
        }
    }
}
