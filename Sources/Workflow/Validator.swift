import Foundation
import NodeKit
import Spelling

/// Walks the syntax tree once, collecting every problem rather than stopping at the first.
struct Validator {
    let file: String
    var registry: NodeRegistry
    let plugins: (any PluginResolver)?
    var diagnostics: [Diagnostic] = []
    /// Nodes whose kind is unknown or unwritten, by name (kind as written): references to them
    /// are not reported again, each being a knock-on of the node's own error.
    var uncheckedNodes: [String: String] = [:]
    /// Where in `diagnostics` the plugins that failed to load are reported.
    var failedPlugins: [Int] = []
    /// Where sub-workflow files are read from, each once.
    var sources = WorkflowSources()
    /// Sub-workflows already validated in this validation, shared with nested validators.
    var subWorkflows = SubWorkflowCache()
    /// The files being validated, outermost first, resolved (`identity`, found once, since
    /// resolving asks the file system) and as named: a file met again is a cycle.
    var stack: [(identity: String, name: String)] = []
    /// The params' names, which `{name}` in a template reads.
    var paramNames: Set<String> = []
    /// Nodes that `outputs:` names: kept, as what a saving node reads is.
    var outputRoots: Set<String> = []

    init(file: String, registry: NodeRegistry, plugins: (any PluginResolver)? = nil) {
        self.file = file
        self.registry = registry
        self.plugins = plugins
    }

    /// In the order of the file run, a sub-workflow's problems where it is used.
    static func sourceOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        func key(_ d: Diagnostic) -> (Int, Int, Int, Int) {
            let site = d.usedFrom.last ?? d.location
            let inner = d.usedFrom.isEmpty ? nil : d.location
            return (site?.line ?? 0, site?.column ?? 0, inner?.line ?? 0, inner?.column ?? 0)
        }
        return key(a) < key(b)
    }

    mutating func error(_ code: String, _ message: String, at location: SourcePosition?, help: String? = nil) {
        diagnostics.append(Diagnostic(code, message, at: location, help: help))
    }

    func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String? {
        closestMatch(to: word, in: candidates).map { "did you mean '\($0)'?" }
    }

    mutating func validate(_ root: SyntaxValue, source: String) -> Workflow? {
        guard case .mapping(let top, _) = root else {
            error(
                "not_a_mapping", "a workflow must be a mapping with 'version' and 'nodes', not \(root.kindName)",
                at: root.location)
            return nil
        }
        for entry in top where !Workflow.topLevelKeys.contains(entry.key) {
            error(
                "unknown_key", "unknown top-level key '\(entry.key)'", at: entry.keyLocation,
                help: didYouMean(entry.key, Workflow.topLevelKeys)
                    ?? "top-level keys are \(Workflow.topLevelKeys.joined(separator: ", "))")
        }
        checkVersion(top)
        let name =
            top["name"]?.value.stringValue ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var seed: UInt64 = 0
        if let entry = top["seed"] {
            if case .integer(let s, _) = entry.value, s >= 0 {
                seed = UInt64(s)
            } else {
                error("bad_value", "'seed' must be a whole number of at least 0", at: entry.value.location)
            }
        }
        loadPlugins(top["plugins"])
        let declaredWrites = checkDeclaredWrites(top["writes"])
        let params = parseParams(top["params"])
        paramNames = Set(params.map(\.name))
        let sweep = parseSweep(top["sweep"], params: params)
        let declaredOutputs = parseOutputs(top["outputs"])
        guard let nodesEntry = top["nodes"] else {
            error(
                "missing_key", "the workflow has no 'nodes'", at: SourcePosition(file: file, line: 1, column: 1),
                help: "add a 'nodes:' mapping, e.g. 'photo: {node: load, path: in.jpg}'")
            return nil
        }
        guard case .mapping(let nodeEntries, _) = nodesEntry.value else {
            error(
                "bad_value", "'nodes' must be a mapping of node names to nodes, not \(nodesEntry.value.kindName)",
                at: nodesEntry.value.location)
            return nil
        }
        let (nodes, outputs) = buildNodes(nodeEntries, params: params, outputs: declaredOutputs)
        var origins: [String: String] = [:]
        for node in nodes { origins[node.kind] = registry.origin(of: node.kind) }
        var files = sources.all
        files[file] = source
        // What a library declares it writes (`writes:` beside it) it may write when used.
        let writes = declaredWrites + subWorkflows.validated.values.compactMap { $0 }.flatMap(\.declaredWrites)
        return Workflow(
            file: file, source: source, name: name, description: top["description"]?.value.stringValue, seed: seed,
            params: params, nodes: nodes, declaredWrites: Array(Set(writes)).sorted(), sweep: sweep, outputs: outputs,
            sources: files,
            warnings: diagnostics.filter { $0.severity == .warning }, origins: origins)
    }

    private mutating func checkVersion(_ top: [SyntaxEntry]) {
        guard let entry = top["version"] else {
            error(
                "missing_key", "the workflow has no 'version'", at: SourcePosition(file: file, line: 1, column: 1),
                help: "add 'version: \(Workflow.supportedVersion)' as the first line")
            return
        }
        guard case .integer(let version, _) = entry.value, version == Workflow.supportedVersion else {
            error(
                "unsupported_version", "unsupported workflow version \(entry.value.displayText)",
                at: entry.value.location, help: "this deltaflow reads 'version: \(Workflow.supportedVersion)'")
            return
        }
    }

    /// `writes:`, folders inside the workflow's own folder that it may write to.
    private mutating func checkDeclaredWrites(_ entry: SyntaxEntry?) -> [String] {
        guard let entry else { return [] }
        guard case .sequence(let items, _) = entry.value else {
            error(
                "bad_value", "'writes' must be a list of folders inside the workflow's folder, e.g. [renders]",
                at: entry.value.location)
            return []
        }
        let folder = (file as NSString).deletingLastPathComponent
        var paths: [String] = []
        for item in items {
            guard let text = item.stringValue, let path = Workflow.declaredWrite(text, folder: folder) else {
                error(
                    "write_outside_workflow",
                    "'writes' names \(item.displayText), which is not a folder inside the workflow's own folder",
                    at: item.location,
                    help:
                        "write a relative path without '..'; other directories are the user's to name, as a param (--set output=DIR)"
                )
                continue
            }
            paths.append(path)
        }
        return paths
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
            if Workflow.reservedParams.contains(declaration.key) {
                error(
                    "reserved_name", "'\(declaration.key)' names something deltaflow gives; a param cannot take it",
                    at: declaration.keyLocation,
                    help: declaration.key == "sweep"
                        ? "{sweep} is the sweep's combination, e.g. strength-0.5; rename the param"
                        : "{workflow_dir} is this file's folder; rename the param")
            }
            guard case .mapping(let fields, _) = declaration.value else {
                error(
                    "bad_value", "param '\(declaration.key)' must be a mapping like {type: path}",
                    at: declaration.value.location)
                continue
            }
            for field in fields where !Workflow.paramKeys.contains(field.key) {
                error(
                    "unknown_key", "unknown key '\(field.key)' in param '\(declaration.key)'", at: field.keyLocation,
                    help: didYouMean(field.key, Workflow.paramKeys)
                        ?? "param keys are \(Workflow.paramKeys.joined(separator: ", "))")
            }
            guard let typeEntry = fields["type"], let typeName = typeEntry.value.stringValue else {
                error(
                    "missing_key", "param '\(declaration.key)' has no 'type'", at: declaration.keyLocation,
                    help: "types are \(Workflow.paramTypes.joined(separator: ", "))")
                continue
            }
            guard Workflow.paramTypes.contains(typeName) else {
                error(
                    "unknown_type", "unknown param type '\(typeName)'", at: typeEntry.value.location,
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
                error(
                    "invalid_range", "param '\(declaration.key)' has a min or max that is not a number",
                    at: (low?.isNaN == true ? fields["min"] : fields["max"])!.value.location)
            } else if let low, let high, low > high {
                error(
                    "invalid_range",
                    "param '\(declaration.key)' has min \(formatNumber(low)) above max \(formatNumber(high))",
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
                // A default beside the workflow (a library's own watermark) wherever it is run from.
                if case .path(let path)? = defaultValue, path.contains("{workflow_dir}") {
                    defaultValue = .path(
                        path.replacingOccurrences(of: "{workflow_dir}", with: workflowDirectory(of: file)))
                }
                if defaultValue == nil {
                    error(
                        "type_mismatch",
                        "the default of param '\(declaration.key)' must be \(typeName), not \(entry.value.kindName)",
                        at: entry.value.location)
                } else if let defaultValue {
                    checkConstraints(
                        defaultValue, range: range, choices: choices,
                        subject: "the default of param '\(declaration.key)'", at: entry.value.location)
                }
            }
            params.append(
                WorkflowParam(
                    name: declaration.key, type: type, isDirectory: typeName == "dir",
                    defaultValue: defaultValue, range: range, choices: choices,
                    doc: fields["doc"]?.value.stringValue, location: declaration.keyLocation))
        }
        return params
    }

    /// `sweep:`: each param with the list of values it takes.
    private mutating func parseSweep(_ entry: SyntaxEntry?, params: [WorkflowParam]) -> [SweepAxis] {
        guard let entry else { return [] }
        guard case .mapping(let entries, _) = entry.value else {
            error(
                "bad_value", "'sweep' must map params to lists of values, e.g. {strength: [0.5, 1, 1.5]}",
                at: entry.value.location)
            return []
        }
        let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var axes: [SweepAxis] = []
        for axis in entries {
            guard let param = byName[axis.key] else {
                error(
                    "undefined_reference", "'sweep' names '\(axis.key)', which is not a param", at: axis.keyLocation,
                    help: didYouMean(axis.key, byName.keys) ?? "declare it under 'params'")
                continue
            }
            guard case .sequence(let items, _) = axis.value, !items.isEmpty else {
                error(
                    "bad_value", "the sweep of '\(axis.key)' must be a list of values, e.g. [0.5, 1, 1.5]",
                    at: axis.value.location)
                continue
            }
            var values: [Value] = []
            for item in items {
                guard let value = constant(item, as: param.type) else {
                    error(
                        "type_mismatch",
                        "the sweep of '\(axis.key)' holds \(item.displayText), which is not \(param.typeName)",
                        at: item.location)
                    continue
                }
                checkConstraints(
                    value, range: param.range, choices: param.choices, subject: "a value of the sweep of '\(axis.key)'",
                    at: item.location)
                values.append(value)
            }
            if Set(values.map(\.text)).count < values.count {
                error(
                    "bad_value", "the sweep of '\(axis.key)' gives a value twice", at: axis.value.location,
                    help: "each value runs once; give each once")
            }
            axes.append(SweepAxis(name: axis.key, values: values, location: axis.keyLocation))
        }
        return axes
    }

    /// Names are referenced as `$name`, so they must be identifiers.
    mutating func checkName(_ entry: SyntaxEntry, of what: String) {
        if !isIdentifier(entry.key) {
            error(
                "bad_name", "'\(entry.key)' is not a valid \(what) name", at: entry.keyLocation,
                help: "use letters, digits and '_', starting with a letter")
        }
    }

    func numberValue(_ value: SyntaxValue) -> Double? {
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

    mutating func checkConstraints(
        _ value: Value, range: ClosedRange<Double>?, choices: [String]?, subject: String,
        at location: SourcePosition
    ) {
        guard let violation = ConstraintViolation.check(value, range: range, choices: choices) else { return }
        error(
            violation.code, "\(subject) \(violation.requirement), \(violation.found)", at: location,
            help: violation.suggestion.map { "did you mean '\($0)'?" })
    }
}
