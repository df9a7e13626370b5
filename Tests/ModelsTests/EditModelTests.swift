import Foundation
import NodeKit
import TensorCore
import Testing

@testable import Models

/// Golden from PyTorch 2.13 (CPU), written with the bundled weights by
/// `python3 Training/train_edit.py --export-only`: four validation examples (delta tokens, colour
/// affine, photo and conditioning map at 64×64) with the adapter's tokens and global vector, the
/// mask logits, the velocity at t = 1 and a 2-step edit with its last step's gate logits, at
/// strengths 1, 0.5, 1 and 1.5 —
/// computed with exactly the F16-rounded weights of Models/edit-v1.safetensors.
@Suite("Edit model matches PyTorch")
struct EditModelTests {
    static let weights = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Models/edit-v1.safetensors").standardizedFileURL.path
    static let golden = Bundle.module.url(
        forResource: "edit-model", withExtension: "safetensors", subdirectory: "Goldens")!.path

    static func check(
        _ actual: Tensor, _ expected: Tensor, _ name: String, tolerance: Float = 1e-3,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(actual.shape == expected.shape, "\(name) shape", sourceLocation: sourceLocation)
        let error = actual.maxAbsDifference(expected)
        #expect(
            error <= tolerance * max(1, expected.maxAbs), "\(name): max |error| \(error), scale \(expected.maxAbs)",
            sourceLocation: sourceLocation)
    }

    @Test("Adapter, mask head, denoiser and a 2-step edit match PyTorch on 1 and 2 threads", arguments: [1, 2])
    func parity(threads: Int) throws {
        let model = try EditModel(path: Self.weights)
        let io = try SafeTensorsFile(path: Self.golden)
        let c = Compute(threads: threads)
        let strength = try io.tensor("strength").values
        let photo = try io.tensor("b")
        let cond = try io.tensor("cond")
        let e = model.condition(delta: try io.tensor("delta"), affine: try io.tensor("affine"), condition: cond, c)
        Self.check(e.tokens, try io.tensor("tokens"), "tokens")
        Self.check(e.global, try io.tensor("global"), "global")
        Self.check(e.maskLogits, try io.tensor("mask_logits"), "mask logits")
        let v = model.velocity(photo, t: Array(repeating: 1, count: 4), condition: cond, e, strength: strength, c)
        Self.check(v, try io.tensor("velocity_t1"), "velocity")
        let edited = model.edit(photo, condition: cond, e, strength: strength, steps: 2, c)
        Self.check(edited.image, try io.tensor("edited_2steps"), "2-step edit")
        Self.check(edited.gate, try io.tensor("gate_2steps"), "last step's gate logits")
    }

    @Test("The same seed gives the same noisy edit; another seed a different one")
    func seeded() throws {
        let model = try EditModel(path: Self.weights)
        let io = try SafeTensorsFile(path: Self.golden)
        let c = Compute(threads: 2)
        let photo = try io.tensor("b")
        let cond = try io.tensor("cond")
        let e = model.condition(delta: try io.tensor("delta"), affine: try io.tensor("affine"), condition: cond, c)
        let strength = try io.tensor("strength").values
        func run(_ seed: UInt64) -> [Float] {
            var random = SeededRandom(seed: seed)
            return model.edit(
                photo, condition: cond, e, strength: strength, steps: 4, noise: (0.05, { random.nextGaussian() }), c
            ).image.values
        }
        #expect(run(7) == run(7))
        #expect(run(7) != run(8))
    }

    @Test("Weights of another configuration: a clear error naming the weight")
    func mismatch() throws {
        var cfg = EditModelConfiguration()
        cfg.width = 64
        let error = #expect(throws: WeightsError.self) {
            try EditModel(weights: WeightStore(path: Self.weights), configuration: cfg)
        }
        #expect(error?.message.contains("adapter.proj_in.weight") == true)
    }
}
