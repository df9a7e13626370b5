import Foundation
import NodeKit
import Spelling
import Synchronization

/// The text of every workflow file a run reads — the one named and the sub-workflows it uses —
/// each read once: what consent surveys is what is validated and run, even if a file changes
/// in between.
public final class WorkflowSources: Sendable {
    private let texts = Mutex<[String: String]>([:])
    private let readsDisk: Bool

    public init() { readsDisk = true }

    /// Only these files, never the disk (a fuzz target's sub-workflows).
    public init(files: [String: String]) {
        texts.withLock { $0 = files }
        readsDisk = false
    }

    /// The text at `path` (as diagnostics name it), read on first use.
    public func text(at path: String) throws(ValidationFailure) -> String {
        if let text = texts.withLock({ $0[path] }) { return text }
        guard readsDisk else {
            throw ValidationFailure(
                [
                    Diagnostic(
                        "unreadable_workflow", "no such workflow file",
                        at: SourcePosition(file: path, line: 1, column: 1))
                ],
                source: nil)
        }
        let text = try Workflow.source(at: path)
        texts.withLock { $0[path] = text }
        return text
    }

    /// Every file read so far, by name.
    public var all: [String: String] { texts.withLock { $0 } }
}

/// How deep sub-workflows may use sub-workflows: far above a real library, low enough that a
/// file using itself by another name is refused quickly.
enum SubWorkflowLimits {
    static let depth = 16
    /// Nodes after every sub-workflow is expanded: a file using another five times, which uses
    /// another five times, … grows as fast as YAML's "billion laughs".
    static let nodes = 10_000
}

/// A `workflow:` file, validated, standing in the graph for a node until it is expanded: its
/// params are the node's inputs, its `outputs:` the node's outputs.
struct SubWorkflowNode: Node {
    let descriptor: NodeDescriptor
    let workflow: Workflow

    init(_ workflow: Workflow, written: String) {
        self.workflow = workflow
        let required = workflow.params.filter { $0.defaultValue == nil }.map { "\($0.name): …" }
        descriptor = NodeDescriptor(
            kind: "workflow \(written)",
            summary: workflow.description ?? "the sub-workflow \(written)",
            inputs: workflow.params.map { param in
                PortSpec(
                    param.name, param.type, doc: param.doc ?? "", default: param.defaultValue,
                    range: param.range, choices: param.choices)
            },
            outputs: workflow.outputs.map { PortSpec($0.name, $0.type, doc: $0.doc ?? "", optional: $0.optional) },
            example: "\(workflow.name): {\((["workflow: \(written)"] + required).joined(separator: ", "))}")
    }

    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value] {
        // Expanded into its nodes by the validator; never run as one.
        throw NodeError("the sub-workflow \(workflow.file) was not expanded")
    }
}

extension Workflow {
    /// This workflow as a node of another (`workflow: FILE`): its params are the inputs, its
    /// outputs the outputs; `deltaflow nodes FILE` shows it.
    public var asNode: NodeDescriptor { SubWorkflowNode(self, written: file).descriptor }
}

/// One of a workflow's `outputs:`, what a workflow using it as a node reads.
public struct WorkflowOutput: Sendable {
    public let name: String
    public let type: PortType
    public let doc: String?
    /// It may be absent, as the node output it hands on may be.
    public let optional: Bool
    /// The node output it hands on.
    let reference: Reference
}

/// Where `workflow: written` in the file `user` points: relative to that file's folder.
func subWorkflowPath(_ written: String, usedIn user: String) -> String {
    let folder = (user as NSString).deletingLastPathComponent
    return normalisedPath(written.hasPrefix("/") || folder.isEmpty ? written : folder + "/" + written)
}

/// Names a path the way diagnostics do: relative stays relative, `.` and `..` worked out.
func normalisedPath(_ path: String) -> String {
    var parts: [Substring] = []
    let absolute = path.hasPrefix("/")
    for part in path.split(separator: "/") {
        if part == "." { continue }
        if part == "..", let last = parts.last, last != ".." {
            parts.removeLast()
        } else if part == ".." && absolute {
            continue
        } else {
            parts.append(part)
        }
    }
    let joined = parts.joined(separator: "/")
    return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
}

extension Validator {
    /// The sub-workflow a node's `workflow:` names, validated (once per file per validation),
    /// its problems reported in its own file with the use site; nil when it cannot be used.
    mutating func subWorkflow(_ entry: SyntaxEntry, pathEntry: SyntaxEntry) -> SubWorkflowNode? {
        guard let written = pathEntry.value.stringValue, !written.isEmpty else {
            error(
                "bad_value", "'workflow' must be the path of a workflow file, e.g. lib/grade.yaml",
                at: pathEntry.value.location)
            return nil
        }
        let path = subWorkflowPath(written, usedIn: file)
        let identity = WriteConfinement.resolved(path)
        if let start = stack.firstIndex(where: { $0.identity == identity }) {
            let files = (stack[start...].map(\.name) + [path]).joined(separator: " → ")
            error(
                "workflow_cycle", "sub-workflows use each other in a cycle: \(files)", at: pathEntry.value.location,
                help: "a workflow cannot use itself, directly or through another")
            return nil
        }
        guard stack.count < SubWorkflowLimits.depth else {
            error(
                "workflow_too_deep", "sub-workflows are nested more than \(SubWorkflowLimits.depth) deep here",
                at: pathEntry.value.location, help: "a library uses a few levels of sub-workflows, not dozens")
            return nil
        }
        if let known = subWorkflows.validated[identity] {
            return known.map { SubWorkflowNode($0, written: written) }
        }
        let text: String
        do {
            text = try sources.text(at: path)
        } catch {
            let siblings =
                (try? FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent))?
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") } ?? []
            let guess = closestMatch(to: (path as NSString).lastPathComponent, in: siblings)
            let folder = (written as NSString).deletingLastPathComponent
            self.error(
                "unreadable_workflow", "cannot read the sub-workflow \(path)", at: pathEntry.value.location,
                help: guess.map { "did you mean '\(folder.isEmpty ? $0 : folder + "/" + $0)'?" }
                    ?? "the path is relative to the folder of the file that uses it")
            subWorkflows.validated[identity] = .some(nil)
            return nil
        }
        var nested = Validator(file: path, registry: registry, plugins: plugins)
        nested.sources = sources
        nested.subWorkflows = subWorkflows
        nested.stack = stack + [(identity, path)]
        var workflow: Workflow?
        do {
            workflow = nested.validate(try SyntaxParser.parse(text, file: path), source: text)
        } catch {
            nested.diagnostics += error.diagnostics
        }
        for diagnostic in nested.diagnostics {
            diagnostics.append(diagnostic.used(from: entry.keyLocation))
        }
        // With errors inside, the file's params still check the use site; the run is refused anyway.
        if let iterator = workflow?.nodes.first(where: { $0.iteration != nil }) {
            error(
                "iterating_sub_workflow",
                "node '\(iterator.name)' of \(path) iterates with 'each', which only the workflow that is run may do",
                at: iterator.location, help: "make the file a param of the sub-workflow (type: image) and pass it in")
            diagnostics[diagnostics.count - 1] = diagnostics[diagnostics.count - 1].used(from: entry.keyLocation)
            workflow = nil
        }
        if let found = workflow, !nested.diagnostics.contains(where: { $0.severity == .error }), found.outputs.isEmpty,
            !found.nodes.contains(where: \.node.descriptor.hasSideEffects)
        {
            error(
                "sub_workflow_without_outputs", "\(path) declares no 'outputs' and writes nothing, so it does nothing",
                at: pathEntry.value.location,
                help: "add 'outputs:' to \(path), e.g. 'outputs: {image: $last_node.image}'")
            workflow = nil
        }
        subWorkflows.validated[identity] = .some(workflow)
        return workflow.map { SubWorkflowNode($0, written: written) }
    }

    /// `outputs:`: each a `$node.port` of this workflow, with an optional doc. The nodes they
    /// name are kept, as a saving node would keep them.
    mutating func parseOutputs(_ entry: SyntaxEntry?) -> [(name: String, reference: Reference, doc: String?)] {
        guard let entry else { return [] }
        guard case .mapping(let entries, _) = entry.value else {
            error(
                "bad_value", "'outputs' must be a mapping of output names to node outputs, e.g. {image: $graded.image}",
                at: entry.value.location)
            return []
        }
        var outputs: [(String, Reference, String?)] = []
        for output in entries {
            checkName(output, of: "output")
            var value = output.value
            var doc: String?
            if case .mapping(let fields, _) = output.value {
                for field in fields where !["from", "doc"].contains(field.key) {
                    error(
                        "unknown_key", "unknown key '\(field.key)' in output '\(output.key)'", at: field.keyLocation,
                        help: didYouMean(field.key, ["from", "doc"]) ?? "an output has 'from' and 'doc'")
                }
                doc = fields["doc"]?.value.stringValue
                guard let from = fields["from"] else {
                    error(
                        "missing_key", "output '\(output.key)' does not say which node output it is",
                        at: output.keyLocation, help: "add 'from: $node.port'")
                    continue
                }
                value = from.value
            }
            guard let text = value.stringValue,
                case .reference(let reference)? = try? Expression.parseString(text, at: value.location),
                reference.port != nil
            else {
                error(
                    "bad_output", "output '\(output.key)' must name a node's output, like $graded.image",
                    at: value.location)
                continue
            }
            outputs.append((output.key, reference, doc))
        }
        return outputs
    }

    /// Checks the outputs' references against the built nodes and gives each its type.
    mutating func resolveOutputs(
        _ outputs: [(name: String, reference: Reference, doc: String?)], nodes: [String: any Node]
    ) -> [WorkflowOutput] {
        outputs.compactMap { output in
            let reference = output.reference
            guard let node = nodes[reference.name] else {
                if uncheckedNodes[reference.name] == nil {
                    error(
                        "undefined_reference", "\(reference.text) refers to no node", at: reference.location,
                        help: didYouMean(reference.name, nodes.keys).map { "did you mean '$\($0)'?" }
                            ?? "an output hands on a node's output")
                }
                return nil
            }
            guard let spec = node.descriptor.output(reference.port!) else {
                let names = node.descriptor.outputs.map(\.name)
                error(
                    "unknown_output",
                    "node '\(reference.name)' (\(node.descriptor.kind)) has no output '\(reference.port!)'",
                    at: reference.location,
                    help: didYouMean(reference.port!, names) ?? "its outputs are \(names.joined(separator: ", "))")
                return nil
            }
            return WorkflowOutput(
                name: output.name, type: spec.type, doc: output.doc, optional: spec.optional, reference: reference)
        }
    }

    /// Replaces each sub-workflow node by its own nodes, named `node/inner`: its params become
    /// the expressions given at the use site (or their defaults), and references to its outputs
    /// the inner outputs they name (also returned, by node and output). `ordered` is in
    /// dependency order, so a sub-workflow is expanded before anything reads it.
    func expandSubWorkflows(_ ordered: [Draft]) -> ([Draft], renamed: [String: [String: Reference]]) {
        var outputs: [String: [String: Reference]] = [:]
        var result: [Draft] = []
        func rewrite(_ expression: Expression) -> Expression {
            expression.substituting { reference in
                guard let port = reference.port, let target = outputs[reference.name]?[port] else { return nil }
                return .reference(target.at(reference.location))
            }
        }
        for var draft in ordered {
            draft.inputs = draft.inputs.mapValues(rewrite)
            draft.when = draft.when.map(rewrite)
            draft.otherwise = draft.otherwise.mapValues(rewrite)
            if let directory = draft.iteration?.directory { draft.iteration?.directory = rewrite(directory) }
            guard let sub = draft.node as? SubWorkflowNode else {
                result.append(draft.withDependencies())
                continue
            }
            let prefix = draft.name + "/"
            var given: [String: Expression] = [:]
            for param in sub.workflow.params {
                if let expression = draft.inputs[param.name] {
                    given[param.name] = expression
                } else if let value = param.defaultValue {
                    given[param.name] = .literal(value, param.location)
                }
            }
            func inside(_ expression: Expression) -> Expression {
                expression.substituting { reference in
                    reference.port == nil ? given[reference.name] : .reference(reference.prefixed(prefix))
                }
            }
            // An output's `otherwise` at the use site is the otherwise of the inner node it names.
            var fallbacks: [String: [String: Expression]] = [:]
            for output in sub.workflow.outputs {
                if let fallback = draft.otherwise[output.name] {
                    fallbacks[output.reference.name, default: [:]][output.reference.port!] = fallback
                }
            }
            for inner in sub.workflow.nodes {
                // A condition at the use site holds for every node inside, with the node's own.
                let when: Expression? =
                    switch (draft.when, inner.when.map(inside)) {
                    case (let outer?, let own?): .binary("&&", outer, own, own.location)
                    case (let outer, let own): outer ?? own
                    }
                result.append(
                    Draft(
                        name: prefix + inner.name, kind: inner.kind, node: inner.node,
                        inputs: inner.inputs.mapValues(inside), iteration: nil, when: when,
                        otherwise: inner.otherwise.mapValues(inside).merging(fallbacks[inner.name] ?? [:]) { $1 },
                        location: inner.location
                    ).withDependencies())
            }
            outputs[draft.name] = Dictionary(
                sub.workflow.outputs.map { ($0.name, $0.reference.prefixed(prefix)) },
                uniquingKeysWith: { first, _ in first })
        }
        return (result, outputs)
    }
}

extension Validator.Draft {
    /// The draft with its dependencies read from its expressions (after expansion renamed them).
    func withDependencies() -> Validator.Draft {
        var copy = self
        copy.dependencies = Array(Set(expressions.flatMap(\.references).filter { $0.port != nil }.map(\.name))).sorted()
        return copy
    }
}

extension Reference {
    /// The same output of the node named `prefix` + its name (inside an expanded sub-workflow).
    func prefixed(_ prefix: String) -> Reference { Reference(name: prefix + name, port: port, location: location) }

    /// The same reference, written at `location`.
    func at(_ location: SourcePosition) -> Reference { Reference(name: name, port: port, location: location) }
}

extension Expression {
    /// The expression with each reference `replace` answers for replaced.
    func substituting(_ replace: (Reference) -> Expression?) -> Expression {
        switch self {
        case .literal, .itemVariable: self
        case .reference(let r): replace(r) ?? self
        case .unary(let op, let e, let l): .unary(op, e.substituting(replace), l)
        case .binary(let op, let a, let b, let l): .binary(op, a.substituting(replace), b.substituting(replace), l)
        case .conditional(let c, let a, let b):
            .conditional(c.substituting(replace), a.substituting(replace), b.substituting(replace))
        case .call(let name, let args, let l): .call(name, args.map { $0.substituting(replace) }, l)
        case .template(let parts, let l): .template(parts.map { $0.substituting(replace) }, l)
        case .list(let elements, let l): .list(elements.map { $0.substituting(replace) }, l)
        }
    }
}

/// Sub-workflows validated during one validation, by resolved path: each is read and checked
/// once however often it is used.
final class SubWorkflowCache {
    var validated: [String: Workflow?] = [:]
    /// Nodes added by expanding sub-workflows, in every file of the validation
    /// (``SubWorkflowLimits/nodes``).
    var expandedNodes = 0
}
