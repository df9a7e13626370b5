/// One input or output of a node kind.
public struct PortSpec: Sendable {
    public let name: String
    public let type: PortType
    public let doc: String
    /// Used when the workflow does not set the input; nil makes the input required
    /// unless `optional` is set.
    public let defaultValue: Value?
    /// The input may be left unset, and the node then does without it.
    public let optional: Bool
    /// Inclusive bounds for number and integer inputs.
    public let range: ClosedRange<Double>?
    /// The allowed values of a string input.
    public let choices: [String]?

    public init(
        _ name: String, _ type: PortType, doc: String, default defaultValue: Value? = nil,
        optional: Bool = false, range: ClosedRange<Double>? = nil, choices: [String]? = nil
    ) {
        self.name = name
        self.type = type
        self.doc = doc
        self.defaultValue = defaultValue
        self.optional = optional
        self.range = range
        self.choices = choices
    }

    public var isRequired: Bool { defaultValue == nil && !optional }
}

/// Everything the engine, the validator and `deltaflow nodes` know about a node kind.
public struct NodeDescriptor: Sendable {
    /// The name workflows use after `node:`.
    public let kind: String
    /// Bumped whenever the node's results change for the same inputs; part of cache keys.
    public let version: Int
    public let summary: String
    public let inputs: [PortSpec]
    public let outputs: [PortSpec]
    /// The node writes outside the graph (files); it always runs, and its ancestors with it.
    /// Nodes without side effects whose results nobody uses are pruned.
    public let hasSideEffects: Bool
    /// The `path` input that `each:` may drive, one item per matching file; nil if the
    /// node cannot iterate.
    public let iterationInput: String?
    /// Results are worth keeping on disk between runs (an exemplar's embedding): the engine
    /// stores them under a key of kind, version, inputs' contents and `Node.cacheSalt`.
    public let cacheable: Bool
    /// A workflow fragment showing the node in use; `deltaflow nodes` prints it and the tests
    /// validate it.
    public let example: String
    /// `{names}` the node fills in itself inside its string inputs (exec's `{input}` and
    /// `{output}`): the engine passes them through instead of treating them as item placeholders.
    public let placeholders: [String]
    /// Where the node writes, worked out from some of its inputs before any item runs: the engine
    /// refuses a run in which two items would write one file (the first silently lost).
    public let plannedOutput: PlannedOutput?
    /// `path` inputs naming what the node reads (a file, or a directory's files), its
    /// `iterationInput` among them: never replaced by an output of the run.
    public let readInputs: [String]
    /// `path` inputs naming where the node writes (a directory, or a file): the run refuses
    /// one outside the directories the user named, and `validate` lists them.
    public let writeInputs: [String]
    /// The input holding a program and its arguments that the node runs: running it needs the
    /// user's consent, and `validate` lists it.
    public let programInput: String?

    /// The file a node with side effects writes for an item, from the inputs named in `inputs`.
    public struct PlannedOutput: Sendable {
        public let inputs: [String]
        public let path: @Sendable (NodeInputs, NodeContext.Item) throws -> String

        public init(inputs: [String], path: @escaping @Sendable (NodeInputs, NodeContext.Item) throws -> String) {
            self.inputs = inputs
            self.path = path
        }
    }

    public init(
        kind: String, version: Int = 1, summary: String, inputs: [PortSpec], outputs: [PortSpec],
        hasSideEffects: Bool = false, iterationInput: String? = nil, cacheable: Bool = false,
        example: String, placeholders: [String] = [], plannedOutput: PlannedOutput? = nil, readInputs: [String] = [],
        writeInputs: [String] = [], programInput: String? = nil
    ) {
        self.kind = kind
        self.version = version
        self.summary = summary
        self.inputs = inputs
        self.outputs = outputs
        self.hasSideEffects = hasSideEffects
        self.iterationInput = iterationInput
        self.cacheable = cacheable
        self.example = example
        self.placeholders = placeholders
        self.plannedOutput = plannedOutput
        self.readInputs = (iterationInput.map { [$0] } ?? []) + readInputs
        self.writeInputs = writeInputs
        self.programInput = programInput
    }

    public func input(_ name: String) -> PortSpec? { inputs.first { $0.name == name } }
    public func output(_ name: String) -> PortSpec? { outputs.first { $0.name == name } }
}

/// Whether `text` can name a param, a node or a port: letters, digits and '_', not starting
/// with a digit (workflows refer to them as `$name.port`).
public func isIdentifier(_ text: String) -> Bool {
    guard let first = text.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
    return text.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
}
