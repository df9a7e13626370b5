import Foundation
import Testing
import TensorCore
@testable import Models

/// Golden from PyTorch 2.13 (CPU): `python3 Training/export_goldens.py` — a small ReferenceUNet
/// (channels 8/16/16, 4 groups, 2 heads, context 5×16, time 32, 16×16 input, batch 2) with F16
/// weights; the output was computed in PyTorch with exactly those F16-rounded weights.
@Suite("Reference UNet matches PyTorch")
struct ReferenceUNetTests {
    static let path = Bundle.module.url(forResource: "unet-small", withExtension: "safetensors", subdirectory: "Goldens")!.path

    static var configuration: ReferenceUNetConfiguration {
        var cfg = ReferenceUNetConfiguration()
        cfg.channels = [8, 16, 16]
        cfg.groups = 4
        cfg.heads = 2
        cfg.contextDimension = 16
        cfg.timeDimension = 32
        return cfg
    }

    /// Golden inputs and outputs live in the weights file under `input.` / `output.`; the model
    /// store sees only the rest.
    static func load() throws -> (ReferenceUNet, SafeTensorsFile) {
        let file = try SafeTensorsFile(path: path)
        let store = WeightStore(file: file, rules: [.replacePrefix("input.", with: "#input."), .replacePrefix("output.", with: "#output.")])
        _ = try store.tensor("#input.x", shape: [2, 4, 16, 16])
        _ = try store.tensor("#input.t", shape: [2])
        _ = try store.tensor("#input.context", shape: [2, 5, 16])
        _ = try store.tensor("#output.y", shape: [2, 4, 16, 16])
        return (try ReferenceUNet(weights: store, configuration: configuration), file)
    }

    @Test("Forward pass matches PyTorch on 1 and 2 threads, bit-identically", arguments: [1, 2])
    func forward(threads: Int) throws {
        let (model, file) = try Self.load()
        let x = try file.tensor("input.x").permuted([0, 2, 3, 1])
        let y = model(x, timesteps: try file.tensor("input.t").values, context: try file.tensor("input.context"),
                      Compute(threads: threads))
        let expected = try file.tensor("output.y").permuted([0, 2, 3, 1])
        let error = y.maxAbsDifference(expected)
        #expect(error <= 1e-4 * max(1, expected.maxAbs), "max |error| \(error), output scale \(expected.maxAbs)")
        let single = model(x, timesteps: try file.tensor("input.t").values, context: try file.tensor("input.context"), Compute())
        #expect(single.values == y.values)
    }

    @Test("Wrong configuration: a clear error naming the weight and both shapes")
    func mismatch() throws {
        var cfg = Self.configuration
        cfg.timeDimension = 48
        let store = try WeightStore(path: Self.path)
        let error = #expect(throws: WeightsError.self) { try ReferenceUNet(weights: store, configuration: cfg) }
        #expect(error?.message == "weight 'time1.weight' has shape [32, 8], the model expects [48, 8]")
    }

    @Test("A steady-state forward allocates no new tensor buffers")
    func steadyState() throws {
        let (model, file) = try Self.load()
        let x = try file.tensor("input.x").permuted([0, 2, 3, 1])
        let context = try file.tensor("input.context")
        let c = Compute(threads: 1)
        _ = model(x, timesteps: [1, 2], context: context, c)
        _ = model(x, timesteps: [1, 2], context: context, c)
        let before = BufferPool.shared.freshAllocationsOnThisThread
        _ = model(x, timesteps: [1, 2], context: context, c)
        #expect(BufferPool.shared.freshAllocationsOnThisThread == before)
    }
}
