/// What an exemplar pair's edit looks like to the models: named Float32 arrays, each a
/// *difference* (after − before) or an offset from "no edit", so that deltas add and scale —
/// `delta_combine` builds compositional edits and edit strengths from them.
///
/// The engine and plugins see a delta as plain arrays; which arrays exist is the business of
/// the node that made it (`encode_delta` documents its own), recorded in `encoder`. Deltas
/// from different encoders never combine.
public struct Delta: Sendable, Equatable, CustomStringConvertible {
    public struct Array: Sendable, Equatable {
        public let shape: [Int]
        public let values: [Float]

        public init(shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
            self.shape = shape
            self.values = values
        }
    }

    /// Who made it and how (e.g. `efficientnet-lite0/16`): deltas combine only with their own kind.
    public let encoder: String
    public let arrays: [String: Array]

    public init(encoder: String, arrays: [String: Array]) {
        self.encoder = encoder
        self.arrays = arrays
    }

    public subscript(name: String) -> Array? { arrays[name] }

    /// `Σ weightᵢ · deltaᵢ`, array by array.
    public static func combination(_ terms: [(delta: Delta, weight: Double)]) throws(NodeError) -> Delta {
        guard let first = terms.first?.delta else { throw NodeError("nothing to combine") }
        for (delta, _) in terms.dropFirst() {
            guard delta.encoder == first.encoder else {
                throw NodeError(
                    "cannot combine a '\(first.encoder)' delta with a '\(delta.encoder)' delta: they describe edits in different terms"
                )
            }
            guard delta.arrays.keys.sorted() == first.arrays.keys.sorted(),
                delta.arrays.allSatisfy({ first.arrays[$0.key]?.shape == $0.value.shape })
            else {
                throw NodeError("cannot combine deltas of different shapes (made at different settings)")
            }
        }
        var arrays: [String: Array] = [:]
        for (name, array) in first.arrays {
            arrays[name] = Array(
                shape: array.shape, values: weightedSum(terms.map { ($0.delta.arrays[name]!.values, $0.weight) }))
        }
        return Delta(encoder: first.encoder, arrays: arrays)
    }

    /// `Σ weightᵢ · valuesᵢ`, element by element, in Float32 and in the terms' order: how every
    /// delta, typed or not, combines its arrays.
    public static func weightedSum(_ terms: [(values: [Float], weight: Double)]) -> [Float] {
        var sum = [Float](repeating: 0, count: terms.first?.values.count ?? 0)
        for (values, weight) in terms {
            let w = Float(weight)
            for i in sum.indices { sum[i] += w * values[i] }
        }
        return sum
    }

    public var description: String {
        "delta (\(encoder), \(arrays.count) arrays, \(arrays.values.reduce(0) { $0 + $1.values.count }) values)"
    }
}
