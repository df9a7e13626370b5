"""What tensor_core.py and encoder.py share: timing a call, and the two figures per engine."""
import statistics
import time

STATISTICS = (("fastest", min), ("median", statistics.median))


def timed(fn, runs, warmup=True):
    """Milliseconds of `runs` calls of fn, after one warm-up call unless `warmup` is False."""
    if warmup:
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summaries(times):
    """{engine: [ms]} → {"fastest": {engine: ms}, "median": {engine: ms}}."""
    return {name: {engine: f(ms) for engine, ms in times.items()} for name, f in STATISTICS}


def print_comparison(results, error_label):
    """`compare_engines`' results as a table per thread count and statistic, then deltaflow's time
    per op class; `error_label` heads the column of max |deltaflow − reference|."""
    print(f"{'threads':>7} {'stat':>8} {'deltaflow':>10} {'ORT':>8} {'PyTorch':>8} {'df/ORT':>7} {'df/PyTorch':>10} "
          f"{error_label:>16}")
    for threads, (stats, _, err) in results.items():
        for stat, m in stats.items():
            print(f"{threads:>7} {stat:>8} {m['deltaflow']:>10.2f} {m['onnxruntime']:>8.2f} {m['pytorch']:>8.2f} "
                  f"{m['deltaflow'] / m['onnxruntime']:>7.2f} {m['deltaflow'] / m['pytorch']:>10.2f} {err:>16.2e}")
    print("\ndeltaflow time per op class (ms, 1 thread / 2 threads)")
    for k in sorted(results[1][1], key=lambda k: -results[1][1][k]):
        print(f"  {k:>20} {results[1][1][k]:>7.2f} {results[2][1].get(k, 0):>7.2f}")


def compare_engines(bench_command, out_path, reference, onnx_path, ort_feed, torch_call, rounds, runs):
    """At 1 and 2 threads, times deltaflow (`bench_command` + [threads, runs]: tensor-bench, which
    reports its own times and its time per op class, and writes its output to `out_path`), ONNX
    Runtime on `onnx_path` and PyTorch's `torch_call`, in interleaved rounds, and checks
    deltaflow's output against `reference`.

    Returns {threads: (summaries, median ms per op class, max |deltaflow − reference|)}.
    """
    import json
    import subprocess

    import numpy as np
    import onnxruntime as ort
    import torch

    results = {}
    for threads in (1, 2):
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        torch.set_num_threads(threads)
        times = {"deltaflow": [], "onnxruntime": [], "pytorch": []}
        classes = {}
        for _ in range(rounds):
            run = subprocess.run(bench_command + [str(threads), str(runs)], check=True, capture_output=True, text=True)
            report = json.loads(run.stdout)
            times["deltaflow"] += report["times_ms"]
            for k, v in report["classes_ms"].items():
                classes.setdefault(k, []).append(v)
            times["onnxruntime"] += timed(lambda: session.run(None, ort_feed), runs)
            with torch.no_grad():
                times["pytorch"] += timed(torch_call, runs)
        ours = np.fromfile(out_path, dtype=np.float32).reshape(reference.shape)
        error = float(np.abs(ours - reference).max())
        results[threads] = (summaries(times), {k: statistics.median(v) for k, v in classes.items()}, error)
    return results
