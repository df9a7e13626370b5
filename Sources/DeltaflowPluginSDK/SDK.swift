@_exported import CDeltaflowPlugin

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writing a deltaflow plugin in Swift: describe nodes with ``NodeDefinition`` and ``Port``,
/// collect them in a ``Plugin``, and export the entry point:
///
/// ```swift
/// import DeltaflowPluginSDK
///
/// let plugin = Plugin(name: "studio", version: "1.0.0", nodes: [invert])
///
/// @_cdecl("deltaflow_plugin")
/// public func deltaflowPlugin(_ hostABI: UInt32) -> UnsafeRawPointer? { plugin.entry(hostABI: hostABI) }
/// ```
///
/// The SDK builds the C descriptors of `deltaflow_plugin.h` once and keeps them for the life of
/// the library, and turns a thrown ``PluginFailure`` into the host's per-item error.
public final class Plugin: @unchecked Sendable {
    public let name: String
    public let version: String
    public let summary: String
    public let nodes: [NodeDefinition]
    // Built on first use, never freed: the host keeps pointers into it while the library is loaded.
    private lazy var description: UnsafePointer<df_plugin> = build()

    public init(name: String, version: String, summary: String = "", nodes: [NodeDefinition]) {
        self.name = name
        self.version = version
        self.summary = summary
        self.nodes = nodes
    }

    /// What `deltaflow_plugin` returns: the plugin's description, or nil for a host whose ABI
    /// this SDK was not built for.
    public func entry(hostABI: UInt32) -> UnsafeRawPointer? {
        guard hostABI == DF_ABI_VERSION else { return nil }
        return UnsafeRawPointer(description)
    }

    private func build() -> UnsafePointer<df_plugin> {
        let cNodes = UnsafeMutablePointer<df_node>.allocate(capacity: max(1, nodes.count))
        for (i, node) in nodes.enumerated() {
            let box = Unmanaged.passRetained(NodeBox(node)).toOpaque()
            var flags: UInt32 = 0
            if node.threadSafe { flags |= UInt32(DF_NODE_THREAD_SAFE) }
            if node.cacheable { flags |= UInt32(DF_NODE_CACHEABLE) }
            if node.sideEffects { flags |= UInt32(DF_NODE_SIDE_EFFECTS) }
            cNodes[i] = df_node(
                kind: permanent(node.kind), version: Int32(node.version), flags: flags,
                summary: permanent(node.summary),
                example: node.example.map(permanent), inputs: ports(node.inputs), input_count: Int32(node.inputs.count),
                outputs: ports(node.outputs), output_count: Int32(node.outputs.count), process: trampoline, data: box)
        }
        let plugin = UnsafeMutablePointer<df_plugin>.allocate(capacity: 1)
        plugin.initialize(
            to: df_plugin(
                abi_version: DF_ABI_VERSION, struct_size: UInt32(MemoryLayout<df_plugin>.size), name: permanent(name),
                version: permanent(version), summary: permanent(summary), nodes: cNodes, node_count: Int32(nodes.count))
        )
        return UnsafePointer(plugin)
    }

    private func ports(_ list: [Port]) -> UnsafePointer<df_port> {
        let cPorts = UnsafeMutablePointer<df_port>.allocate(capacity: max(1, list.count))
        for (i, port) in list.enumerated() {
            var c = df_port()
            c.name = permanent(port.name)
            c.type = port.kind.code
            c.flags = port.flags
            c.doc = permanent(port.doc)
            c.default_number = port.defaultNumber
            c.default_string = port.defaultString.map(permanent)
            if let range = port.range { (c.minimum, c.maximum) = (range.lowerBound, range.upperBound) }
            if let choices = port.choices {
                let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, choices.count))
                for (j, choice) in choices.enumerated() { array[j] = permanent(choice) }
                c.choices = UnsafePointer(array)
                c.choice_count = Int32(choices.count)
            }
            cPorts[i] = c
        }
        return UnsafePointer(cPorts)
    }
}

/// A C string that lives as long as the library.
private func permanent(_ s: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(s)!) }

private final class NodeBox {
    let node: NodeDefinition
    init(_ node: NodeDefinition) { self.node = node }
}

/// The one C function every Swift node is called through; `node_data` says which node.
private let trampoline: df_process_fn = { raw in
    guard let raw, let data = raw.pointee.node_data else { return 1 }
    let node = Unmanaged<NodeBox>.fromOpaque(data).takeUnretainedValue().node
    let call = Call(raw, node: node)
    do {
        try node.process(call)
        return 0
    } catch let failure as PluginFailure {
        call.fail(failure.message)
    } catch {
        call.fail("\(error)")
    }
    return 1
}

/// A failure a node reports to the user; the host prints it with the item's path.
public struct PluginFailure: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One node of a plugin.
public struct NodeDefinition: Sendable {
    /// Namespaced: `vendor.name`.
    public var kind: String
    public var version: Int
    public var summary: String
    public var example: String?
    public var inputs: [Port]
    public var outputs: [Port]
    /// Calls may overlap on several threads (the node keeps no shared mutable state).
    public var threadSafe: Bool
    public var cacheable: Bool
    public var sideEffects: Bool
    public var process: @Sendable (Call) throws -> Void

    public init(
        kind: String, version: Int = 1, summary: String, example: String? = nil, inputs: [Port],
        outputs: [Port], threadSafe: Bool = true, cacheable: Bool = false, sideEffects: Bool = false,
        process: @escaping @Sendable (Call) throws -> Void
    ) {
        self.kind = kind
        self.version = version
        self.summary = summary
        self.example = example
        self.inputs = inputs
        self.outputs = outputs
        self.threadSafe = threadSafe
        self.cacheable = cacheable
        self.sideEffects = sideEffects
        self.process = process
    }
}

/// A port of a node, as the workflow sees it.
public struct Port: Sendable {
    public enum Kind: Sendable {
        case image, mask, number, integer, string, path, bool, delta, strings

        var code: Int32 {
            switch self {
            case .image: Int32(DF_TYPE_IMAGE)
            case .mask: Int32(DF_TYPE_MASK)
            case .number: Int32(DF_TYPE_NUMBER)
            case .integer: Int32(DF_TYPE_INTEGER)
            case .string: Int32(DF_TYPE_STRING)
            case .path: Int32(DF_TYPE_PATH)
            case .bool: Int32(DF_TYPE_BOOL)
            case .delta: Int32(DF_TYPE_DELTA)
            case .strings: Int32(DF_TYPE_STRINGS)
            }
        }
    }

    public let name: String
    public let kind: Kind
    public let doc: String
    var flags: UInt32 = 0
    var defaultNumber: Double = 0
    var defaultString: String?
    var range: ClosedRange<Double>?
    var choices: [String]?

    init(_ name: String, _ kind: Kind, _ doc: String, optional: Bool = false) {
        self.name = name
        self.kind = kind
        self.doc = doc
        if optional { flags |= UInt32(DF_PORT_OPTIONAL) }
    }

    /// An image; `eightBit` asks the host for 8-bit samples instead of floats.
    public static func image(_ name: String, _ doc: String, optional: Bool = false, eightBit: Bool = false) -> Port {
        var port = Port(name, .image, doc, optional: optional)
        if eightBit { port.flags |= UInt32(DF_PORT_UINT8) }
        return port
    }

    public static func mask(_ name: String, _ doc: String, optional: Bool = false) -> Port {
        Port(name, .mask, doc, optional: optional)
    }

    public static func number(
        _ name: String, _ doc: String, default value: Double? = nil,
        range: ClosedRange<Double>? = nil, optional: Bool = false
    ) -> Port {
        var port = Port(name, .number, doc, optional: optional)
        port.setDefault(value)
        port.setRange(range)
        return port
    }

    public static func integer(
        _ name: String, _ doc: String, default value: Int? = nil,
        range: ClosedRange<Int>? = nil, optional: Bool = false
    ) -> Port {
        var port = Port(name, .integer, doc, optional: optional)
        port.setDefault(value.map(Double.init))
        port.setRange(range.map { Double($0.lowerBound)...Double($0.upperBound) })
        return port
    }

    public static func bool(_ name: String, _ doc: String, default value: Bool? = nil) -> Port {
        var port = Port(name, .bool, doc)
        port.setDefault(value.map { $0 ? 1 : 0 })
        return port
    }

    public static func string(
        _ name: String, _ doc: String, default value: String? = nil,
        choices: [String]? = nil, optional: Bool = false
    ) -> Port {
        var port = Port(name, .string, doc, optional: optional)
        port.setDefault(value)
        port.choices = choices
        return port
    }

    public static func path(_ name: String, _ doc: String, default value: String? = nil, optional: Bool = false) -> Port
    {
        var port = Port(name, .path, doc, optional: optional)
        port.setDefault(value)
        return port
    }

    public static func strings(_ name: String, _ doc: String, optional: Bool = false) -> Port {
        Port(name, .strings, doc, optional: optional)
    }

    public static func delta(_ name: String, _ doc: String, optional: Bool = false) -> Port {
        Port(name, .delta, doc, optional: optional)
    }

    private mutating func setDefault(_ value: Double?) {
        guard let value else { return }
        flags |= UInt32(DF_PORT_HAS_DEFAULT)
        defaultNumber = value
    }

    private mutating func setDefault(_ value: String?) {
        guard let value else { return }
        flags |= UInt32(DF_PORT_HAS_DEFAULT)
        defaultString = value
    }

    private mutating func setRange(_ range: ClosedRange<Double>?) {
        guard let range else { return }
        flags |= UInt32(DF_PORT_HAS_RANGE)
        self.range = range
    }
}
