"""Timing of one GPU operation as a training step runs it, shared by dev/gpu-calibrate.py and
dev/gpu-attention.py (imported from the scripts' folder).

A run shorter than the time it takes to issue one (a few microseconds in eager PyTorch) would, timed
alone between two CUDA events, include the idle gap before it. So each timed sample is a batch of runs
issued back to back between two events, as many as last about BATCH_SECONDS (at most MAX_INNER; one
run for an operation that takes longer), divided by its runs; the result is the median sample.
"""
import statistics
import time

# A timed sample lasts about this long (runs issued back to back), with at most MAX_INNER runs in it.
BATCH_SECONDS = 2e-3
MAX_INNER = 200


def per_run_seconds(torch, fn, repeats, cuda=True):
    """The median over `repeats` samples of the seconds one run of fn() takes, runs issued back to back
    (CUDA events; on the CPU, for checking a script, the wall clock)."""

    def batch(n):
        if cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(n):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0 / n
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t) / n

    one = batch(10)
    inner = max(1, min(MAX_INNER, int(BATCH_SECONDS / max(one, 1e-7))))
    return statistics.median(batch(inner) for _ in range(repeats))
