import CDeltaflowPlugin
import NodeKit

/// What a plugin says about itself, copied out of its C structs and checked against the ABI's
/// rules, so that nothing later has to trust the plugin's pointers except its `process` calls.
struct PluginDescription {
    let name: String
    let version: String
    let summary: String
    let nodes: [NodeSpec]

    /// One node: its descriptor as the engine sees it, plus what calling it needs.
    struct NodeSpec: @unchecked Sendable {
        let descriptor: NodeDescriptor
        let threadSafe: Bool
        /// Inputs that want 8-bit samples.
        let uint8Inputs: Set<String>
        let process: df_process_fn
        /// The plugin's own pointer, handed back on every call; the plugin answers for its use
        /// across threads (that is what the thread-safe flag declares).
        let data: UnsafeMutableRawPointer?
    }

    static let knownPortFlags = UInt32(DF_PORT_OPTIONAL | DF_PORT_HAS_DEFAULT | DF_PORT_HAS_RANGE | DF_PORT_UINT8)
    static let knownNodeFlags = UInt32(DF_NODE_THREAD_SAFE | DF_NODE_CACHEABLE | DF_NODE_SIDE_EFFECTS)
    static let limit = 4096

    static func portType(_ code: Int32) -> PortType? {
        switch Int(code) {
        case DF_TYPE_IMAGE: .image
        case DF_TYPE_MASK: .mask
        case DF_TYPE_NUMBER: .number
        case DF_TYPE_INTEGER: .integer
        case DF_TYPE_STRING: .string
        case DF_TYPE_PATH: .path
        case DF_TYPE_BOOL: .bool
        case DF_TYPE_DELTA: .delta
        case DF_TYPE_STRINGS: .strings
        default: nil
        }
    }

    static func read(_ plugin: UnsafePointer<df_plugin>, path: String) throws(PluginError) -> PluginDescription {
        func bad(_ message: String, help: String? = nil) -> PluginError {
            PluginError(.badDescriptor, path: path, message, help: help)
        }
        // abi_version is the first field in every version of the ABI, so it is safe to read first.
        let abi = plugin.pointee.abi_version
        guard abi == DF_ABI_VERSION else {
            throw PluginError(
                .abiMismatch, path: path,
                "built for plugin ABI version \(abi); this deltaflow speaks version \(DF_ABI_VERSION)",
                help: "rebuild the plugin against the deltaflow_plugin.h of this deltaflow")
        }
        guard plugin.pointee.struct_size >= MemoryLayout<df_plugin>.size else {
            throw bad(
                "df_plugin.struct_size is \(plugin.pointee.struct_size), less than the \(MemoryLayout<df_plugin>.size) bytes of ABI version \(DF_ABI_VERSION)",
                help: "set struct_size = sizeof(df_plugin)")
        }
        let p = plugin.pointee
        guard let name = text(p.name), isPluginName(name) else {
            throw bad("the plugin's name is missing or not a name (letters, digits, '.', '-', '_')")
        }
        guard let version = text(p.version), !version.isEmpty else {
            throw bad("plugin '\(name)' has no version string")
        }
        guard (0...limit).contains(Int(p.node_count)), p.node_count == 0 || p.nodes != nil else {
            throw bad("plugin '\(name)' declares \(p.node_count) nodes but does not list them")
        }
        var nodes: [NodeSpec] = []
        var kinds = Set<String>()
        for i in 0..<Int(p.node_count) {
            let node = try readNode(p.nodes[i], index: i, plugin: name, bad: bad)
            guard kinds.insert(node.descriptor.kind).inserted else {
                throw bad("plugin '\(name)' declares node kind '\(node.descriptor.kind)' twice")
            }
            nodes.append(node)
        }
        return PluginDescription(name: name, version: version, summary: text(p.summary) ?? "", nodes: nodes)
    }

    private static func readNode(
        _ n: df_node, index: Int, plugin: String,
        bad: (String, String?) -> PluginError
    ) throws(PluginError) -> NodeSpec {
        guard let kind = text(n.kind) else { throw bad("node \(index) of plugin '\(plugin)' has no kind", nil) }
        guard isNamespacedKind(kind) else {
            throw bad(
                "node kind '\(kind)' is not namespaced",
                "plugin kinds are 'vendor.name' (identifiers joined by '.'), e.g. 'studio.watermark', so they never clash with deltaflow's own"
            )
        }
        func fail(_ message: String, _ help: String? = nil) -> PluginError { bad("node '\(kind)': \(message)", help) }
        guard n.version >= 1 else { throw fail("version must be 1 or more, not \(n.version)") }
        guard n.flags & ~knownNodeFlags == 0 else {
            throw fail(
                "unknown flags 0x\(String(n.flags & ~knownNodeFlags, radix: 16))",
                "this deltaflow knows DF_NODE_THREAD_SAFE, DF_NODE_CACHEABLE and DF_NODE_SIDE_EFFECTS")
        }
        let cacheable = n.flags & UInt32(DF_NODE_CACHEABLE) != 0
        let sideEffects = n.flags & UInt32(DF_NODE_SIDE_EFFECTS) != 0
        if cacheable && sideEffects {
            throw fail("a node with side effects cannot be cacheable: a cache hit would skip its effects")
        }
        guard let process = n.process else { throw fail("has no process function") }
        let inputs = try readPorts(n.inputs, count: n.input_count, direction: "input", fail: fail)
        let outputs = try readPorts(n.outputs, count: n.output_count, direction: "output", fail: fail)
        let descriptor = NodeDescriptor(
            kind: kind, version: Int(n.version), summary: text(n.summary) ?? "", inputs: inputs.map(\.spec),
            outputs: outputs.map(\.spec), hasSideEffects: sideEffects, cacheable: cacheable,
            example: text(n.example) ?? "")
        return NodeSpec(
            descriptor: descriptor, threadSafe: n.flags & UInt32(DF_NODE_THREAD_SAFE) != 0,
            uint8Inputs: Set(inputs.filter(\.uint8).map(\.spec.name)), process: process, data: n.data)
    }

    private static func readPorts(
        _ ports: UnsafePointer<df_port>?, count: Int32, direction: String,
        fail: (String, String?) -> PluginError
    ) throws(PluginError) -> [(spec: PortSpec, uint8: Bool)] {
        guard (0...256).contains(Int(count)), count == 0 || ports != nil else {
            throw fail("declares \(count) \(direction)s but does not list them", nil)
        }
        var result: [(spec: PortSpec, uint8: Bool)] = []
        for i in 0..<Int(count) {
            let p = ports![i]
            guard let name = text(p.name), isIdentifier(name) else {
                throw fail(
                    "\(direction) \(i) has no name, or one that is not an identifier (letters, digits, '_')", nil)
            }
            func portFail(_ message: String, _ help: String? = nil) -> PluginError {
                fail("\(direction) '\(name)' \(message)", help)
            }
            guard !result.contains(where: { $0.spec.name == name }) else { throw portFail("is declared twice") }
            guard let type = portType(p.type) else {
                throw portFail(
                    "has type \(p.type), which is not a port type",
                    "use a DF_TYPE_* constant from deltaflow_plugin.h (1 image … 9 strings)")
            }
            guard p.flags & ~knownPortFlags == 0 else {
                throw portFail("has unknown flags 0x\(String(p.flags & ~knownPortFlags, radix: 16))")
            }
            let optional = p.flags & UInt32(DF_PORT_OPTIONAL) != 0
            let hasDefault = p.flags & UInt32(DF_PORT_HAS_DEFAULT) != 0
            let hasRange = p.flags & UInt32(DF_PORT_HAS_RANGE) != 0
            let uint8 = p.flags & UInt32(DF_PORT_UINT8) != 0
            if direction == "output" && (optional || hasDefault || hasRange) {
                throw portFail("is an output: outputs take no default, range or optional flag")
            }
            if uint8 && type != .image && type != .mask {
                throw portFail("asks for 8-bit samples but is \(type), not an image or mask")
            }
            if uint8 && direction == "output" {
                throw portFail("is an output: choose 8-bit samples when allocating it")
            }
            var range: ClosedRange<Double>?
            if hasRange {
                guard type == .number || type == .integer else {
                    throw portFail("has a range but is \(type), not a number")
                }
                guard !p.minimum.isNaN, !p.maximum.isNaN, p.minimum <= p.maximum else {
                    throw portFail("has an empty range \(p.minimum)…\(p.maximum)")
                }
                range = p.minimum...p.maximum
            }
            var choices: [String]?
            if p.choice_count != 0 {
                guard type == .string, (1...limit).contains(Int(p.choice_count)), let list = p.choices else {
                    throw portFail("lists choices but is \(type), not a string (or the list is missing)")
                }
                var values: [String] = []
                for c in 0..<Int(p.choice_count) {
                    guard let choice = text(list[c]) else { throw portFail("has a missing choice (number \(c))") }
                    values.append(choice)
                }
                choices = values
            }
            var defaultValue: Value?
            if hasDefault {
                switch type {
                case .number: defaultValue = .number(p.default_number)
                case .integer:
                    guard p.default_number == p.default_number.rounded(), abs(p.default_number) < 1e15 else {
                        throw portFail("is an integer but its default \(p.default_number) is not whole")
                    }
                    defaultValue = .integer(Int(p.default_number))
                case .bool:
                    guard p.default_number == 0 || p.default_number == 1 else {
                        throw portFail("is a bool; its default must be 0 or 1")
                    }
                    defaultValue = .bool(p.default_number == 1)
                case .string, .path:
                    guard let s = text(p.default_string) else {
                        throw portFail("has DF_PORT_HAS_DEFAULT but no default_string")
                    }
                    defaultValue = type == .string ? .string(s) : .path(s)
                case .image, .mask, .delta, .strings, .images:
                    throw portFail("is \(type): it cannot have a default")
                }
                if let defaultValue,
                    let violation = ConstraintViolation.check(defaultValue, range: range, choices: choices)
                {
                    throw portFail("has a default that \(violation.requirement), \(violation.found)")
                }
            }
            let spec = PortSpec(
                name, type, doc: text(p.doc) ?? "", default: defaultValue, optional: optional,
                range: range, choices: choices)
            result.append((spec, uint8))
        }
        return result
    }
}

func text(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

/// `vendor.name`: two or more identifiers joined by dots.
func isNamespacedKind(_ kind: String) -> Bool {
    let parts = kind.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count >= 2 && parts.allSatisfy { isIdentifier(String($0)) }
}

func isPluginName(_ name: String) -> Bool {
    !name.isEmpty
        && name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
        }
}
