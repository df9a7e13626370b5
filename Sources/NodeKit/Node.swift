import Foundation
import ImageCodecs
import UserFacing

/// A kind of node: its descriptor and what it computes. Nodes are synchronous and hold no
/// per-run state; the executor owns threads and calls `run` from any of them.
public protocol Node: Sendable {
    var descriptor: NodeDescriptor { get }
    /// Computes the outputs from the inputs. Throw `NodeError` for failures a user can act on.
    func run(_ inputs: NodeInputs, context: NodeContext) throws -> [String: Value]
    /// What else a cacheable node's results depend on — the hash of its model weights — so a
    /// new model never reuses results of the old one.
    var cacheSalt: String { get }
}

extension Node {
    public var cacheSalt: String { "" }
}

/// The inputs of one node invocation, checked and coerced to the declared types.
public struct NodeInputs: Sendable {
    public let values: [String: Value]

    public init(_ values: [String: Value]) {
        self.values = values
    }

    public subscript(name: String) -> Value? { values[name] }

    private func missing(_ name: String, _ type: PortType) -> NodeError {
        NodeError("input '\(name)' (\(type)) has no value")
    }

    public func image(_ name: String) throws -> Image {
        switch values[name] {
        case .image(let image)?, .mask(let image)?: return image
        default: throw missing(name, .image)
        }
    }

    /// An `images` input: its list, or one image as a list of one.
    public func images(_ name: String) throws -> [Image] {
        switch values[name] {
        case .images(let list)?: return list
        case .image(let image)?: return [image]
        default: throw missing(name, .images)
        }
    }

    public func optionalImage(_ name: String) -> Image? {
        switch values[name] {
        case .image(let image)?, .mask(let image)?: image
        default: nil
        }
    }

    public func number(_ name: String) throws -> Double {
        switch values[name] {
        case .number(let n)?: return n
        case .integer(let i)?: return Double(i)
        default: throw missing(name, .number)
        }
    }

    public func optionalNumber(_ name: String) -> Double? { try? number(name) }

    public func integer(_ name: String) throws -> Int {
        guard case .integer(let i)? = values[name] else { throw missing(name, .integer) }
        return i
    }

    public func optionalInteger(_ name: String) -> Int? { try? integer(name) }

    public func string(_ name: String) throws -> String {
        switch values[name] {
        case .string(let s)?, .path(let s)?: return s
        default: throw missing(name, .string)
        }
    }

    public func optionalString(_ name: String) -> String? { try? string(name) }

    public func delta(_ name: String) throws -> Delta {
        guard case .delta(let d)? = values[name] else { throw missing(name, .delta) }
        return d
    }

    public func optionalDelta(_ name: String) -> Delta? { try? delta(name) }

    public func strings(_ name: String) throws -> [String] {
        guard case .strings(let list)? = values[name] else { throw missing(name, .strings) }
        return list
    }

    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let b)? = values[name] else { throw missing(name, .bool) }
        return b
    }
}

/// What a node may know about the run it is part of.
public struct NodeContext: Sendable {
    /// The item being processed, or nil for nodes that run once per run.
    public let item: Item?
    /// This invocation's seed: derived from the workflow seed, the item's key and the node's
    /// name, never from scheduling order.
    public let seed: UInt64
    /// Absolute paths of every file the run reads as input; outputs must never replace one.
    public let inputFiles: Set<String>
    /// Threads this invocation may use for its own parallel work (a model's forward pass): the
    /// run's `--jobs` for nodes that run once, and `--jobs` ÷ items in flight for per-item nodes,
    /// so the cores are shared and never oversubscribed. Results must not depend on it.
    public let threads: Int
    /// What a node that writes files does with one that is already there (the run's
    /// `--overwrite` policy): replace it, keep it and go on, or refuse with the message given.
    public let existingFile: @Sendable (_ path: String) -> ExistingFile
    /// Where the run may write; nil: anywhere the user can.
    public let confinement: WriteConfinement?
    /// Where programs that nodes start run; nil: as they are.
    public let sandbox: ProgramSandbox?

    public init(
        item: Item?, seed: UInt64, inputFiles: Set<String> = [], threads: Int = 1,
        existingFile: @escaping @Sendable (_ path: String) -> ExistingFile = { _ in .replace },
        confinement: WriteConfinement? = nil, sandbox: ProgramSandbox? = nil
    ) {
        self.item = item
        self.seed = seed
        self.inputFiles = inputFiles
        self.threads = max(1, threads)
        self.existingFile = existingFile
        self.confinement = confinement
        self.sandbox = sandbox
    }

    /// Refuses a file this run must not write: one of its inputs, or one outside the directories
    /// it may write to. Every node that writes a file asks first.
    public func checkWrite(_ path: String) throws(NodeError) {
        if inputFiles.contains(URL(fileURLWithPath: path).resolvingSymlinksInPath().path) {
            throw NodeError("refusing to write \(path): it is one of this run's input files")
        }
        if let refusal = confinement?.refusal(for: path) { throw NodeError(refusal) }
    }

    /// What to do with an output file that exists before the node writes it.
    public enum ExistingFile: Sendable, Equatable {
        case replace
        /// Leave it as it is; the node's output is that file.
        case keep
        /// Fail the item with this message.
        case refuse(String)
    }

    /// One file of a directory that a node iterates over.
    public struct Item: Sendable, Equatable {
        /// Absolute path.
        public let path: String
        /// Path relative to the iterated directory, e.g. `trip/day1/IMG_0042.jpg`.
        public let relativePath: String
        /// Position in the sorted list of items, from 0.
        public let index: Int

        public init(path: String, relativePath: String, index: Int) {
            self.path = path
            self.relativePath = relativePath
            self.index = index
        }

        /// The file name without directory or extension (`IMG_0042`).
        public var stem: String {
            let name = self.name
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
            return String(name[..<dot])
        }

        /// The file name (`IMG_0042.jpg`).
        public var name: String { relativePath.split(separator: "/").last.map(String.init) ?? relativePath }

        /// The extension without its dot (`jpg`), or "".
        public var ext: String {
            let name = self.name
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
            return String(name[name.index(after: dot)...])
        }

        /// The directory part of `relativePath` (`trip/day1`), or "".
        public var relativeDirectory: String {
            guard let slash = relativePath.lastIndex(of: "/") else { return "" }
            return String(relativePath[..<slash])
        }
    }
}

/// A node's failure, as the user should read it.
public struct NodeError: UserFacingError, Equatable {
    public let message: String
    public let location: String?
    public let help: String?

    /// `message` says what went wrong; `location`, the file it concerns; `help`, how to fix it.
    public init(_ message: String, location: String? = nil, help: String? = nil) {
        self.message = message
        self.location = location
        self.help = help
    }

    public var reason: String { message }
}
