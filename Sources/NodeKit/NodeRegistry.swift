/// The node kinds a workflow may use: one explicit table, filled by the built-ins and,
/// later, by plugins.
public struct NodeRegistry: Sendable {
    private var nodes: [String: any Node] = [:]

    public init() {}

    public init(_ nodes: [any Node]) throws {
        for node in nodes { try register(node) }
    }

    /// Adds `node`; a kind may be registered once.
    public mutating func register(_ node: any Node) throws {
        let kind = node.descriptor.kind
        if nodes[kind] != nil {
            throw NodeError("node kind '\(kind)' is registered twice")
        }
        nodes[kind] = node
    }

    public subscript(kind: String) -> (any Node)? { nodes[kind] }

    /// Every kind, sorted by name.
    public var kinds: [String] { nodes.keys.sorted() }

    public var descriptors: [NodeDescriptor] { kinds.compactMap { nodes[$0]?.descriptor } }
}
