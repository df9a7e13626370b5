"""What tensor_core.py and encoder.py share: timing a call, and the two figures per engine."""
import statistics
import time

STATISTICS = (("fastest", min), ("median", statistics.median))


def timed(fn, runs):
    """Milliseconds of `runs` calls of fn, after one warm-up call."""
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
