import Foundation
import ImageCodecs
import NodeKit
import Synchronization
import TensorCore

/// A model's weights file, loaded on first use and shared by every node invocation in the
/// process; the file's content hash salts cache keys, so new weights never reuse old results.
public final class ModelWeights<Model: Sendable>: Sendable {
    public let directory: String
    public let fileName: String
    private let load: @Sendable (String) throws -> Model
    private let state = Mutex<(model: Model?, hash: String?)>((nil, nil))

    public init(directory: String, fileName: String, load: @escaping @Sendable (String) throws -> Model) {
        self.directory = directory
        self.fileName = fileName
        self.load = load
    }

    /// The network, loading it if needed.
    package func model() throws -> Model {
        try state.withLock { state in
            if let model = state.model { return model }
            let model = try load(try ModelFiles.locate(fileName, in: directory))
            state.model = model
            return model
        }
    }

    /// Whether the weights file is there (loading it can still fail, with the reason).
    package var isPresent: Bool { (try? ModelFiles.locate(fileName, in: directory)) != nil }

    /// A hash of the weights file's bytes ("missing" when there is none: the node then fails
    /// with the file's absence, never with a cache hit from other weights).
    package var contentHash: String {
        state.withLock { state in
            if let hash = state.hash { return hash }
            guard let path = try? ModelFiles.locate(fileName, in: directory),
                let data = FileManager.default.contents(atPath: path)
            else { return "missing" }
            var hasher = ContentHasher()
            data.withUnsafeBytes { hasher.add($0) }
            state.hash = hasher.hexDigest
            return hasher.hexDigest
        }
    }
}

public typealias EncoderWeights = ModelWeights<EfficientNetLite0>

extension ModelWeights where Model == EfficientNetLite0 {
    public convenience init(directory: String) {
        self.init(directory: directory, fileName: ModelFiles.encoderFileName) {
            try EfficientNetLite0(weights: WeightStore(path: $0))
        }
    }

    /// The encoder's input for `image`: RGB squeezed to 224×224 (the whole frame, so an edit
    /// anywhere in it is seen), as 0…255 normalised by ``EfficientNetLite0/normalize(_:)``.
    package static func input(_ images: [Image]) -> Tensor {
        let side = EfficientNetLite0.inputSize
        var values = [Float]()
        values.reserveCapacity(images.count * side * side * 3)
        for image in images {
            let rgb = image.converted(to: .rgb).resized(width: side, height: side).floatSamples()
            values += rgb.map { EfficientNetLite0.normalize($0 * 255) }
        }
        return Tensor(shape: [images.count, side, side, 3], values: values)
    }
}

extension EncoderWeights {
    /// The encoder's `top` ImageNet classes for `image` with their softmax probabilities, on
    /// exactly the input `encode_delta` sees: a check that the weights load and mean what they
    /// should (`deltaflow classify`).
    public func classify(_ image: Image, top: Int, threads: Int = 1) throws -> [(name: String, probability: Float)] {
        let model = try model()
        let c = Compute(threads: threads)
        let logits = model.logits(model(Self.input([image]), c).pooled, c).values
        let peak = logits.max() ?? 0
        let weights = logits.map { Foundation.exp(Double($0 - peak)) }
        let total = weights.reduce(0, +)
        return weights.indices.sorted { weights[$0] > weights[$1] }.prefix(top)
            .map { (imageNetClasses[$0], Float(weights[$0] / total)) }
    }
}

public typealias EditWeights = ModelWeights<EditModel>

extension ModelWeights where Model == EditModel {
    public convenience init(directory: String) {
        self.init(directory: directory, fileName: ModelFiles.editModelFileName) { try EditModel(path: $0) }
    }
}
