/// The node kinds a workflow may use: one explicit table, filled by the built-ins and by
/// plugins, remembering where each kind came from so a clash names both sides.
public struct NodeRegistry: Sendable {
    private var nodes: [String: any Node] = [:]
    private var origins: [String: String] = [:]

    public init() {}

    public init(_ nodes: [any Node]) throws {
        for node in nodes { try register(node) }
    }

    /// The origin of deltaflow's own node kinds.
    public static let builtIn = "deltaflow"

    /// Adds `node`; a kind may be registered once.
    /// - Parameter origin: who provides it, as a user reads it (`plugin 'x' (/path/libx.so)`).
    public mutating func register(_ node: any Node, origin: String = NodeRegistry.builtIn) throws(NodeError) {
        let kind = node.descriptor.kind
        if let existing = origins[kind] {
            throw NodeError(
                existing == origin
                    ? "node kind '\(kind)' is registered twice by \(origin)"
                    : "node kind '\(kind)' from \(origin) is already provided by \(existing)")
        }
        nodes[kind] = node
        origins[kind] = origin
    }

    /// Adds every node or none: a plugin whose kinds clash with others is not half-registered.
    public mutating func register(all newNodes: [any Node], origin: String) throws(NodeError) {
        var copy = self
        for node in newNodes { try copy.register(node, origin: origin) }
        self = copy
    }

    public subscript(kind: String) -> (any Node)? { nodes[kind] }

    /// Where `kind` came from: ``builtIn`` for deltaflow's own kinds, else the plugin or program.
    public func origin(of kind: String) -> String? { origins[kind] }

    /// Every kind, sorted by name.
    public var kinds: [String] { nodes.keys.sorted() }

    public var descriptors: [NodeDescriptor] { kinds.compactMap { nodes[$0]?.descriptor } }
}

/// Loads the plugins a workflow lists under `plugins:`. The workflow engine knows nodes only
/// through NodeKit, so whoever can load shared libraries (the CLI) hands it one of these.
public protocol PluginResolver: Sendable {
    /// The nodes of the plugin `reference` names — a path, relative to `directory` (the
    /// workflow file's folder), or a bare name looked up on the plugin search path — and who
    /// provides them, for diagnostics.
    func plugin(_ reference: String, relativeTo directory: String) throws -> (origin: String, nodes: [any Node])
    /// The library file `reference` names, found as ``plugin(_:relativeTo:)`` would, but not
    /// loaded: what a user is asked to consent to.
    func locate(_ reference: String, relativeTo directory: String) throws -> String
}

/// A plugin left unloaded because the user has not allowed the workflow to load native code.
public struct PluginNotAllowed: Error, CustomStringConvertible {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var description: String { "\(path) was not loaded: the workflow has not been allowed to load plugins" }
}
