import Foundation
import TensorCore
import Testing

@testable import Models

/// Golden from PyTorch 2.13 (CPU): `python3 Training/export_goldens.py` — a small ReferenceUNet
/// (channels 8/16/16, 4 groups, 2 heads, context 5×16, time 32, 16×16 input, batch 2) with F16
/// weights in unet-small.safetensors; unet-small-io.safetensors holds the inputs and the output
/// PyTorch computed with exactly those F16-rounded weights.
@Suite("Reference UNet matches PyTorch")
struct ReferenceUNetTests {
    static func golden(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Goldens")!.path
    }
    static let path = golden("unet-small")

    static var configuration: ReferenceUNetConfiguration {
        var cfg = ReferenceUNetConfiguration()
        cfg.channels = [8, 16, 16]
        cfg.groups = 4
        cfg.heads = 2
        cfg.contextDimension = 16
        cfg.timeDimension = 32
        return cfg
    }

    static func load() throws -> (ReferenceUNet, SafeTensorsFile) {
        (
            try ReferenceUNet(weights: WeightStore(path: path), configuration: configuration),
            try SafeTensorsFile(path: golden("unet-small-io"))
        )
    }

    @Test("Forward pass matches PyTorch on 1 and 2 threads, bit-identically", arguments: [1, 2])
    func forward(threads: Int) throws {
        let (model, io) = try Self.load()
        let x = try io.tensor("x").permuted([0, 2, 3, 1])
        let y = model(
            x, timesteps: try io.tensor("t").values, context: try io.tensor("context"),
            Compute(threads: threads))
        let expected = try io.tensor("y").permuted([0, 2, 3, 1])
        let error = y.maxAbsDifference(expected)
        #expect(error <= 1e-4 * max(1, expected.maxAbs), "max |error| \(error), output scale \(expected.maxAbs)")
        let single = model(x, timesteps: try io.tensor("t").values, context: try io.tensor("context"), Compute())
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
        let (model, io) = try Self.load()
        let x = try io.tensor("x").permuted([0, 2, 3, 1])
        let context = try io.tensor("context")
        let c = Compute(threads: 1)
        // A pool of its own, so tests running beside this one cannot take its buffers.
        let pool = BufferPool()
        BufferPool.$current.withValue(pool) {
            _ = model(x, timesteps: [1, 2], context: context, c)
            _ = model(x, timesteps: [1, 2], context: context, c)
            let before = pool.freshAllocations
            _ = model(x, timesteps: [1, 2], context: context, c)
            #expect(pool.freshAllocations == before)
        }
    }
}
