// Times the tensor core; Benchmarks/tensor_core.py runs it beside ONNX Runtime and PyTorch on
// the same weights and input and prints the ratios.
//
//   tensor-bench unet WEIGHTS INPUTS OUTPUT THREADS RUNS   whole forward + per-op-class profile
//   tensor-bench ops THREADS RUNS                          layer shapes vs raw cblas_sgemm
//   tensor-bench encoder WEIGHTS INPUTS OUTPUT THREADS RUNS EfficientNet-Lite0 forward (224², batch 1)
//   tensor-bench edit WEIGHTS INPUTS OUTPUT THREADS RUNS    the edit models: adapter, mask, 2 denoiser steps (64²)
//   tensor-bench forkjoin THREADS                          cost of one empty parallel region
//   tensor-bench operator SAMPLES OUTPUT THREADS RUNS      the learned operator's closed-form fit
//
// Like `deltaflow`, it first takes OpenBLAS's best kernels for this CPU (`BLAS.useFasterKernels`),
// so its times are what users get.
import ExemplarFit
import Foundation
import Models
import Synchronization
import TensorCore

BLAS.useFasterKernels()

func milliseconds(_ body: () -> Void) -> Double {
    let elapsed = ContinuousClock().measure(body)
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s[s.count / 2]
}

func json(_ object: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

/// `runs` timed forwards after a warm-up, then a separate profiled pass (so the clock reads
/// inside ops don't touch the timed runs): the times and the mean ms per op class.
func timeForward(threads: Int, runs: Int, _ forward: (Compute) -> Void) -> (times: [Double], classes: [String: Double])
{
    let c = Compute(threads: threads)
    forward(c)
    let times = (0..<runs).map { _ in milliseconds { forward(c) } }
    let profile = OpProfile()
    for _ in 0..<3 { forward(Compute(threads: threads, profile: profile)) }
    return (times, profile.seconds.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value * 1000 / 3 })
}

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write(
        Data(
            "usage: tensor-bench unet|encoder|edit WEIGHTS INPUTS OUTPUT THREADS RUNS | ops THREADS RUNS | forkjoin THREADS | operator SAMPLES OUTPUT THREADS RUNS\n"
                .utf8))
    exit(64)
}

switch args[1] {
case "unet":
    let (threads, runs) = (Int(args[5])!, Int(args[6])!)
    let loadStart = ContinuousClock.now
    let model = try ReferenceUNet(weights: WeightStore(path: args[2]))
    let loadTime = ContinuousClock.now - loadStart
    let inputs = try SafeTensorsFile(path: args[3])
    let x = try inputs.tensor("x").permuted([0, 2, 3, 1])
    let t = try inputs.tensor("t").values
    let context = try inputs.tensor("context")
    var y = x
    let (times, classes) = timeForward(threads: threads, runs: runs) {
        y = model(x, timesteps: t, context: context, $0)
    }
    // The output, NCHW, raw little-endian Float32, for the driver's parity check.
    let out = y.permuted([0, 3, 1, 2]).values
    try out.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[4])) }
    print(
        json([
            "median_ms": median(times), "times_ms": times,
            "load_ms": Double(loadTime.components.attoseconds) / 1e15 + Double(loadTime.components.seconds) * 1000,
            "classes_ms": classes,
        ]))

case "ops":
    let (threads, runs) = (Int(args[2])!, Int(args[3])!)
    let c = Compute(threads: threads)
    func random(_ shape: [Int]) -> Tensor {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let n = shape.reduce(1, *)
        return Tensor(
            shape: shape,
            values: (0..<n).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
            })
    }
    func best(of count: Int, _ body: () -> Void) -> Double {
        body()
        return (0..<count).map { _ in milliseconds(body) }.min()!
    }
    var rows = [[String: Any]]()
    // 3×3 convolutions at the reference UNet's shapes (input H = W, cin, cout).
    for (size, cin, cout) in [
        (64, 64, 64), (64, 128, 64), (32, 128, 128), (32, 256, 128), (16, 128, 128), (16, 256, 128),
    ] {
        let conv = Conv2D(weight: random([cout, cin, 3, 3]), bias: random([cout]), padding: 1)
        let x = random([1, size, size, cin])
        let ms = c.run { best(of: runs) { _ = conv(x, c) } }
        let flops = 2.0 * Double(size * size * cout * cin * 9)
        rows.append(["op": "conv3x3 \(size)x\(size) \(cin)->\(cout)", "ms": ms, "gflops": flops / ms / 1e6])
    }
    // The edit models' 3×3 convolutions (few channels) and the reference UNet's smallest, on each
    // path Conv2D can take: (input H = W, cin, cout, stride).
    let shapes = [
        (64, 12, 16, 1), (64, 16, 16, 1), (64, 16, 8, 1), (64, 16, 12, 1), (64, 64, 4, 1), (64, 32, 16, 1),
        (64, 48, 16, 1), (64, 16, 4, 1), (32, 48, 48, 1),
        (32, 96, 48, 1), (16, 96, 96, 1), (64, 16, 48, 2), (32, 48, 96, 2), (64, 9, 32, 2), (16, 64, 64, 1),
        (64, 64, 64, 1),
    ]
    for (size, cin, cout, stride) in shapes {
        let x = random([1, size, size, cin])
        var row: [String: Any] = ["op": "conv3x3\(stride == 2 ? "/2" : "") \(size)x\(size) \(cin)->\(cout)"]
        let out = (size - 1) / stride + 1
        let flops = 2.0 * Double(out * out * cout * cin * 9)
        var algorithms: [(String, Conv2D.Algorithm)] = [
            ("automatic", .automatic), ("im2col", .im2col), ("direct", .direct),
        ]
        if stride == 1 { algorithms.append(("winograd", .winograd)) }
        for (name, algorithm) in algorithms {
            let conv = Conv2D(
                weight: random([cout, cin, 3, 3]), bias: random([cout]), stride: (stride, stride),
                padding: (1, 1), groups: 1, algorithm: algorithm)
            let ms = c.run { best(of: runs) { _ = conv(x, c) } }
            row["\(name)_gflops"] = flops / ms / 1e6
        }
        rows.append(row)
    }
    // Linear layers vs one raw cblas_sgemm of the same shape (rows, in, out).
    for (m, k, n) in [
        (1024, 128, 128), (1024, 128, 384), (1024, 128, 512), (1024, 512, 128), (4096, 64, 64), (256, 128, 384),
    ] {
        let layer = Linear(weight: random([n, k]), bias: random([n]))
        let x = random([1, m, k])
        let a = random([m, k])
        let b = random([k, n])
        var out = Tensor(zeros: [m, n])
        func rawGEMM() {
            BLAS.threadCount = threads
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { po in
                        BLAS.gemm(m: m, n: n, k: k, pa.baseAddress!, pb.baseAddress!, into: po.baseAddress!)
                    }
                }
            }
        }
        // Alternated, best of each: the VM's speed drifts, and both sides should see the same minutes.
        var (ms, raw) = (Double.infinity, Double.infinity)
        for _ in 0..<runs {
            ms = min(ms, c.run { best(of: 3) { _ = layer(x, c) } })
            raw = min(raw, best(of: 3, rawGEMM))
        }
        let flops = 2.0 * Double(m * k * n)
        rows.append([
            "op": "linear \(m)x\(k)->\(n)", "ms": ms, "gflops": flops / ms / 1e6,
            "raw_sgemm_ms": raw, "raw_gflops": flops / raw / 1e6, "fraction_of_raw": raw / ms,
        ])
    }
    print(json(["threads": threads, "ops": rows]))

case "encoder":
    let (threads, runs) = (Int(args[5])!, Int(args[6])!)
    let model = try EfficientNetLite0(weights: WeightStore(path: args[2]))
    let x = try SafeTensorsFile(path: args[3]).tensor("x").permuted([0, 2, 3, 1])
    var logits = x
    let (times, classes) = timeForward(threads: threads, runs: runs) { logits = model.logits(model(x, $0).pooled, $0) }
    try logits.values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[4])) }
    print(json(["median_ms": median(times), "times_ms": times, "classes_ms": classes]))

case "edit":
    // What adapter_edit's network costs one photo: the adapter and mask head on the delta, then
    // two bridge steps of the denoiser at 64×64 (the node's default), batch 1.
    let (threads, runs) = (Int(args[5])!, Int(args[6])!)
    let model = try EditModel(path: args[2])
    let inputs = try SafeTensorsFile(path: args[3])
    let (delta, affine) = (try inputs.tensor("delta"), try inputs.tensor("affine"))
    let cond = try inputs.tensor("cond").permuted([0, 2, 3, 1])
    let photo = try inputs.tensor("b").permuted([0, 2, 3, 1])
    var edited = photo
    let (times, classes) = timeForward(threads: threads, runs: runs) { c in
        let e = model.condition(delta: delta, affine: affine, condition: cond, c)
        edited = model.edit(photo, condition: cond, e, strength: [1], steps: 2, c).image
    }
    try edited.permuted([0, 3, 1, 2]).values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[4])) }
    print(json(["median_ms": median(times), "times_ms": times, "classes_ms": classes]))

case "forkjoin":
    // Cost of one parallel region with trivial work: what every op pays to use both cores.
    let c = Compute(threads: Int(args[2])!)
    let regions = 20000
    let sink = Atomic<Int>(0)
    let ms = milliseconds {
        for _ in 0..<regions { c.parallel(2) { piece, _ in _ = sink.add(piece, ordering: .relaxed) } }
    }
    print(json(["threads": c.threads, "regions": regions, "microseconds_per_region": ms * 1000 / Double(regions)]))

case "operator":
    // Features, normal equations, the ridge's choice on held-out groups and the solves, on samples
    // Benchmarks/operator_fit_bench.py wrote (and fits in numpy beside it).
    let (threads, runs) = (Int(args[4])!, Int(args[5])!)
    let samples = try SafeTensorsFile(path: args[2])
    let (x, y) = (try samples.tensor("x").values, try samples.tensor("y").values)
    let groups = try samples.tensor("groups").values.map { Int($0) }
    let c = Compute(threads: threads)
    var fitted = LearnedOperator.none
    let fit = { fitted = c.run { LearnedOperator.fit(samples: x, targets: y, groups: groups, held: 2, c) } }
    fit()
    let times = (0..<runs).map { _ in milliseconds(fit) }
    try fitted.readout.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: args[3])) }
    print(json(["median_ms": median(times), "times_ms": times, "kept": !fitted.isNone, "kernels": BLAS.coreName]))

default:
    FileHandle.standardError.write(Data("unknown mode \(args[1])\n".utf8))
    exit(64)
}
