import Foundation
import Spelling
import Synchronization

/// One rewrite of weight names from a checkpoint's naming to the model's.
public enum WeightNameRule: Sendable, Equatable {
    /// `prefix…` → `replacement…`.
    case replacePrefix(String, with: String)
    /// Every occurrence of a substring.
    case replace(String, with: String)

    func apply(_ name: String) -> String {
        switch self {
        case .replacePrefix(let prefix, let replacement):
            return name.hasPrefix(prefix) ? replacement + name.dropFirst(prefix.count) : name
        case .replace(let from, let to):
            return name.replacingOccurrences(of: from, with: to)
        }
    }
}

/// A model's weights by the names the model asks for: a safetensors file seen through a table
/// of renaming rules, with every read checked against the shape the model expects.
///
/// It records which tensors were read, so a loader can report leftovers — a weight nobody read
/// usually means a renamed layer, and silently ignoring it gives a model that runs but is wrong.
public final class WeightStore: Sendable {
    public let file: SafeTensorsFile
    private let byModelName: [String: String]
    private let used = Mutex(Set<String>())

    public init(file: SafeTensorsFile, rules: [WeightNameRule] = []) {
        self.file = file
        var byModelName: [String: String] = [:]
        for name in file.names { byModelName[rules.reduce(name) { $1.apply($0) }] = name }
        self.byModelName = byModelName
    }

    public convenience init(path: String, rules: [WeightNameRule] = []) throws {
        self.init(file: try SafeTensorsFile(path: path), rules: rules)
    }

    public var path: String { file.path }

    /// The tensor the model calls `name`, which must have exactly `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let stored = byModelName[name] else {
            let hint =
                closestMatch(to: name, in: byModelName.keys).map { "did you mean '\($0)'?" }
                ?? "the file does not hold this model's weights"
            throw WeightsError(path: file.path, "missing weight '\(name)'", hint: hint)
        }
        let entry = file.entries[stored]!
        guard entry.shape == shape else {
            throw WeightsError(
                path: file.path, "weight '\(name)' has shape \(entry.shape), the model expects \(shape)",
                hint: "the file was exported for a different model configuration")
        }
        used.withLock { _ = $0.insert(name) }
        return try file.tensor(stored)
    }

    /// Names in the file that no `tensor(_:shape:)` call asked for.
    public var unused: [String] {
        let read = used.withLock { $0 }
        return byModelName.keys.filter { !read.contains($0) }.sorted()
    }

    /// Throws when some weights were never read.
    public func requireAllUsed() throws {
        let left = unused
        guard left.isEmpty else {
            throw WeightsError(
                path: file.path,
                "\(left.count) weight(s) not used by the model: \(left.prefix(5).joined(separator: ", "))\(left.count > 5 ? ", …" : "")",
                hint: "the file was exported for a different model, or a renaming rule is missing")
        }
    }

    // Layer loaders for PyTorch-named modules.

    public func linear(_ prefix: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws -> Linear {
        Linear(
            weight: try tensor("\(prefix).weight", shape: [outFeatures, inFeatures]),
            bias: bias ? try tensor("\(prefix).bias", shape: [outFeatures]) : nil)
    }

    public func conv(
        _ prefix: String, in inChannels: Int, out outChannels: Int, kernel: Int,
        stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = true
    ) throws -> Conv2D {
        Conv2D(
            weight: try tensor("\(prefix).weight", shape: [outChannels, inChannels / groups, kernel, kernel]),
            bias: bias ? try tensor("\(prefix).bias", shape: [outChannels]) : nil,
            stride: stride, padding: padding, groups: groups)
    }

    public func groupNorm(_ prefix: String, groups: Int, channels: Int, epsilon: Float = 1e-5) throws -> GroupNorm {
        GroupNorm(
            groups: groups, gamma: try tensor("\(prefix).weight", shape: [channels]),
            beta: try tensor("\(prefix).bias", shape: [channels]), epsilon: epsilon)
    }

    public func layerNorm(_ prefix: String, features: Int, epsilon: Float = 1e-5) throws -> LayerNorm {
        LayerNorm(
            gamma: try tensor("\(prefix).weight", shape: [features]),
            beta: try tensor("\(prefix).bias", shape: [features]), epsilon: epsilon)
    }
}
