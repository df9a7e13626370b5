"""The tensor core beside ONNX Runtime and PyTorch: same model, weights, input and thread count.

    pip install torch==2.13.0 onnxruntime==1.32.0 onnx numpy
    swift build -c release --product tensor-bench
    python3 Benchmarks/tensor_core.py [--rounds 6] [--runs 5]

Builds Training/reference_unet.py's ReferenceUNet (seed 0), writes its weights (safetensors),
an ONNX export and one input to a temporary folder, checks that deltaflow's output matches
PyTorch's, then times the three engines at 1 and 2 threads. This machine is a shared VM whose
speed drifts by ±20% over minutes, so the engines are timed in interleaved rounds (deltaflow,
ORT, PyTorch, deltaflow, …) and each engine gets two figures over all its runs: the fastest
(the uncontended speed, the steadier estimate on a busy host) and the median (what a slow
minute costs). A slow minute hurts every engine alike, so both sets of ratios stay honest.
Also prints per-op-class time and layer-level GFLOP/s against raw cblas_sgemm.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Training"))
import safetensors_io  # noqa: E402
from interleaved import compare_engines  # noqa: E402
from reference_unet import Config, ReferenceUNet, count_flops, example_inputs  # noqa: E402

BENCH = os.path.join(ROOT, ".build/release/tensor-bench")


def attention_flops(cfg):
    """FLOPs of Q·Kᵀ and P·V, which torch's flop counter does not count for SDPA."""
    total, last = 0, len(cfg.channels) - 1
    for level, attn in enumerate(cfg.attention):
        if not attn:
            continue
        tokens = (cfg.size >> level) ** 2
        c = cfg.channels[level]
        layers = 3 + (1 if level == last else 0)  # one down, two up, and the middle at the bottom
        total += layers * 2 * 2 * tokens * (tokens + cfg.context_tokens) * c
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit("build first: swift build -c release --product tensor-bench")
    import onnxruntime as ort

    cfg = Config()
    torch.manual_seed(0)
    model = ReferenceUNet(cfg).eval()
    x, t, ctx = example_inputs(cfg)
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(model, cfg) + attention_flops(cfg)
    tmp = tempfile.mkdtemp(prefix="df-bench-")
    weights, inputs, onnx_path, out_path = (os.path.join(tmp, n) for n in
                                           ("unet.safetensors", "in.safetensors", "unet.onnx", "y.bin"))
    safetensors_io.save(weights, {k: v.numpy() for k, v in model.state_dict().items()})
    safetensors_io.save(inputs, {"x": x.numpy(), "t": t.numpy(), "context": ctx.numpy()})
    torch.onnx.export(model, (x, t, ctx), onnx_path, input_names=["x", "t", "context"], output_names=["y"],
                      dynamo=False, opset_version=17)
    with torch.no_grad():
        reference = model(x, t, ctx).numpy()
    feed = {"x": x.numpy(), "t": t.numpy(), "context": ctx.numpy()}

    print(f"ReferenceUNet: {params / 1e6:.2f}M parameters, {flops / 1e9:.2f} GFLOP per forward "
          f"(4x64x64 input, 16x128 context); torch {torch.__version__}, onnxruntime {ort.__version__}")
    results = compare_engines([BENCH, "unet", weights, inputs, out_path], out_path, reference, onnx_path, feed,
                              lambda: model(x, t, ctx), args.rounds, args.runs)

    for stat, what in (("fastest", "fastest run: the machine's uncontended speed"),
                       ("median", "median run: includes the shared VM's slow minutes")):
        print(f"\nWhole forward, {what} (ms over {args.rounds} interleaved rounds x {args.runs} runs)")
        print(f"{'threads':>7} {'deltaflow':>10} {'ORT':>8} {'PyTorch':>8} {'df/ORT':>7} {'df/PyTorch':>10} {'max|err| vs torch':>18}")
        for threads, (summary, _, err) in results.items():
            m = summary[stat]
            print(f"{threads:>7} {m['deltaflow']:>10.1f} {m['onnxruntime']:>8.1f} {m['pytorch']:>8.1f} "
                  f"{m['deltaflow'] / m['onnxruntime']:>7.2f} {m['deltaflow'] / m['pytorch']:>10.2f} {err:>18.2e}")
        s1, s2 = results[1][0][stat], results[2][0][stat]
        print(f"2-thread speed-up: deltaflow {s1['deltaflow'] / s2['deltaflow']:.2f}x, "
              f"ORT {s1['onnxruntime'] / s2['onnxruntime']:.2f}x, PyTorch {s1['pytorch'] / s2['pytorch']:.2f}x")

    print("\ndeltaflow time per op class (ms, profiled pass)")
    kinds = sorted(results[1][1], key=lambda k: -results[1][1][k])
    print(f"{'class':>20} {'1 thread':>9} {'share':>6} {'2 threads':>10}")
    total1 = sum(results[1][1].values())
    for k in kinds:
        print(f"{k:>20} {results[1][1][k]:>9.1f} {results[1][1][k] / total1:>6.0%} {results[2][1].get(k, 0):>10.1f}")
    gemm = {"conv 3x3", "conv other", "linear", "attention"}
    print(f"non-GEMM share (norms, elementwise, copies): "
          f"{sum(v for k, v in results[1][1].items() if k not in gemm) / total1:.0%}")

    print("\nLayers, 1 thread (GFLOP/s; 3x3 conv counted as direct convolution FLOPs)")
    report = json.loads(subprocess.run([BENCH, "ops", "1", "7"], check=True, capture_output=True, text=True).stdout)
    paths = [row for row in report["ops"] if "automatic_gflops" in row]
    for row in report["ops"]:
        if row in paths:
            continue
        extra = ""
        if "raw_gflops" in row:
            extra = f"  raw sgemm {row['raw_gflops']:.1f} GFLOP/s -> {row['fraction_of_raw']:.0%} of raw"
        print(f"  {row['op']:<28} {row['ms']:>7.2f} ms {row['gflops']:>7.1f}{extra}")
    print("\n3x3 convolutions of few channels on each path Conv2D can take (GFLOP/s, 1 thread; automatic = the one it takes)")
    names = ("automatic", "direct", "winograd", "im2col")
    print(f"  {'layer':<28} " + " ".join(f"{n:>9}" for n in names))
    for row in paths:
        print(f"  {row['op']:<28} " + " ".join(f"{row[n + '_gflops']:>9.1f}" if n + "_gflops" in row else f"{'-':>9}"
                                               for n in names))


if __name__ == "__main__":
    main()
