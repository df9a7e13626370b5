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
        var directory: Expression
        /// Glob patterns after brace expansion, matched against relative paths.
        public let patterns: [String]
        public let recursive: Bool
        /// The input each file's path is fed into.
        public let input: String
        /// `match:`: the iterating node whose files this node's pair up with, by relative path
        /// without extension; nil for the node that says what the items are.
        public var match: String? = nil
        public var unmatched: Unmatched = .error
    }

    /// `unmatched:`: what becomes of an item whose file has no partner in a matched directory.
    public enum Unmatched: String, Sendable, CaseIterable {
        /// Refuse the run, listing every file without a partner on either side.
        case error
        /// Leave such items out.
        case skip
        /// Run them without it: the matched node is left out, and optional inputs that read it
        /// are left unset (others leave their node out too).
        case optional
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
    /// `when:`: the node runs for an item only where this is true.
    let when: Expression?
    /// `otherwise:`: what the node's outputs are where `when` is false; an output without one
    /// skips the nodes that read it too.
    let otherwise: [String: Expression]
}

/// A node as written (the validator's draft) or validated: where its expressions are.
protocol HasExpressions {
    var inputs: [String: Expression] { get }
    var iteration: WorkflowNode.Iteration? { get }
    var when: Expression? { get }
    var otherwise: [String: Expression] { get }
}

extension HasExpressions {
    /// Every expression of the node: inputs, `each:`, `when:`, `otherwise:`.
    var expressions: [Expression] {
        Array(inputs.values) + [iteration?.directory, when].compactMap { $0 } + Array(otherwise.values)
    }
}

extension WorkflowNode: HasExpressions {}

/// A workflow file, parsed and validated: every reference resolved, every type checked, the
/// nodes in an order where each comes after what it reads.
public struct Workflow: Sendable {
    public static let supportedVersion = 1
    static let topLevelKeys = [
        "version", "name", "description", "seed", "plugins", "writes", "params", "sweep", "nodes", "outputs",
    ]
    /// Names `{…}` and `$…` give a meaning of their own: no param may take them.
    static let reservedParams: Set<String> = ["sweep", "workflow_dir"]
    static let iterationKeys = ["each", "pattern", "recursive", "match", "unmatched"]
    static let paramKeys = ["type", "default", "min", "max", "choices", "doc"]
    static let paramTypes = ["path", "dir", "number", "integer", "string", "bool", "image", "mask", "delta", "images"]
    /// Param types only a workflow using this one as a node can give (`--set` cannot).
    static let graphParamTypes: Set<PortType> = [.image, .mask, .delta, .images]

    public let file: String
    public let source: String
    public let name: String
    public let description: String?
    public let seed: UInt64
    public let params: [WorkflowParam]
    /// In execution order; nodes whose results nothing uses are left out.
    public let nodes: [WorkflowNode]
    /// Folders inside the workflow's own folder it declares it writes (`writes:`), absolute: a
    /// run may write there as well as under the directories its user names.
    public let declaredWrites: [String]
    /// `sweep:`: params run at each of several values, every combination once.
    public let sweep: [SweepAxis]
    /// `outputs:`: what a workflow using this one as a node reads of it.
    public let outputs: [WorkflowOutput]
    /// The text of this file and of every sub-workflow it uses, by file name.
    public let sources: [String: String]
    /// Warnings found while validating (the workflow is valid; they are worth reading).
    public let warnings: [Diagnostic]
    /// Who provides each plugin node kind the workflow uses (`plugin 'x' 1.0 (/path)`), sorted.
    public var plugins: [String] {
        Set(nodes.compactMap { origins[$0.kind] }.filter { $0 != NodeRegistry.builtIn }).sorted()
    }
    let origins: [String: String]

    /// The node whose files are the items.
    public var iterator: WorkflowNode? { nodes.first { $0.iteration != nil && $0.iteration?.match == nil } }
    /// Nodes iterating over other directories, their files paired with the items by name.
    public var matchedIterators: [WorkflowNode] { nodes.filter { $0.iteration?.match != nil } }

    /// Reads and validates the workflow at `path`; `plugins` loads what its `plugins:` list names.
    public static func load(
        _ path: String, registry: NodeRegistry,
        plugins: (any PluginResolver)? = nil
    ) throws(ValidationFailure) -> Workflow {
        let sources = WorkflowSources()
        let text = try sources.text(at: path)
        return try parse(text, file: path, registry: registry, plugins: plugins, sources: sources)
    }

    /// Validates workflow text; `file` is the name diagnostics use, and the folder that
    /// relative paths under `plugins:` start from.
    /// `sources` supplies sub-workflow files (read from disk, once, when not given).
    public static func parse(
        _ text: String, file: String, registry: NodeRegistry,
        plugins: (any PluginResolver)? = nil, sources: WorkflowSources = WorkflowSources()
    ) throws(ValidationFailure) -> Workflow {
        let root = try SyntaxParser.parse(text, file: file)
        var validator = Validator(file: file, registry: registry, plugins: plugins)
        validator.sources = sources
        validator.stack = [(WriteConfinement.resolved(file), file)]
        let workflow = validator.validate(root, source: text)
        let errors = validator.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty, let workflow else {
            throw ValidationFailure(
                validator.diagnostics.sorted(by: Validator.sourceOrder), source: text, sources: sources.all)
        }
        return workflow
    }
}

extension Workflow {
    /// A workflow file's text, reading no more than the limit allows: a hostile file may be any
    /// size, or a device that never ends. Read once, it is what is surveyed, trusted and run.
    public static func source(at path: String) throws(ValidationFailure) -> String {
        let unreadable = ValidationFailure(
            [
                Diagnostic(
                    "unreadable_workflow", "cannot read the workflow file",
                    at: SourcePosition(file: path, line: 1, column: 1),
                    help: "check that the file exists and is UTF-8 text"
                )
            ], source: nil)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw unreadable }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: WorkflowLimits.fileBytes + 1) ?? Data()
        } catch {
            throw unreadable
        }
        guard data.count <= WorkflowLimits.fileBytes else {
            let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
            throw ValidationFailure(
                [SyntaxParser.tooLarge(bytes: size.flatMap { $0 > data.count ? $0 : nil }, file: path)], source: nil)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw unreadable }
        return text
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
    let prefix = pattern[..<open]
    let suffix = pattern[pattern.index(after: close)...]
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
