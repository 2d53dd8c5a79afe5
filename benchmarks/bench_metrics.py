"""Why ``utils.metrics`` keeps precision, recall and F-beta on count arrays rather than calling
scikit-learn for them: lab 2 and lab 3 need them at *every* threshold of a sweep at once.

Named baseline: ``sklearn.metrics.precision_recall_fscore_support`` called once per distinct
threshold (scikit-learn computes these from labels and predictions, one threshold per call).
Ours: ``threshold_sweep`` (one sort, two cumulative sums) and the count functions over the
arrays. ``sklearn.metrics.precision_recall_curve`` (its own sweep: precision and recall, no
F-beta, no TN/FP counts) is timed too. Every number is checked against the baseline: the largest
difference is printed. The last line printed is one JSON object.

    python benchmarks/bench_metrics.py
    python benchmarks/bench_metrics.py --sizes 1000 20000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.metrics import fbeta, precision, recall, threshold_sweep

BASELINE = "sklearn.metrics.precision_recall_fscore_support, once per distinct threshold"


def seconds(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(n: int, seed: int, repeats: int) -> dict[str, float]:
    """Precision, recall, F1 and F2 at every distinct score of ``n`` samples (20% positive)."""
    from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    s = np.round(rng.random(n) + 0.3 * y, 3)  # ties, as real scores have

    def ours() -> np.ndarray:
        sw = threshold_sweep(y, s)
        return np.stack([precision(sw.tp, sw.fp), recall(sw.tp, sw.fn),
                         fbeta(sw.tp, sw.fp, sw.fn), fbeta(sw.tp, sw.fp, sw.fn, beta=2.0)])

    thresholds = threshold_sweep(y, s).threshold

    def baseline() -> np.ndarray:
        rows = []
        for t in thresholds:
            p, r, f1, _ = precision_recall_fscore_support(
                y, s >= t, average="binary", zero_division=0.0)
            _, _, f2, _ = precision_recall_fscore_support(
                y, s >= t, beta=2.0, average="binary", zero_division=0.0)
            rows.append([p, r, f1, f2])
        return np.array(rows).T

    gap = float(np.abs(ours() - baseline()).max())
    return {
        "samples": n,
        "thresholds": len(thresholds),
        "ours_ms": round(seconds(ours, repeats) * 1000, 3),
        "baseline_ms": round(seconds(baseline, 1) * 1000, 1),
        "sklearn_precision_recall_curve_ms": round(
            seconds(lambda: precision_recall_curve(y, s), repeats) * 1000, 3),
        "max_difference_from_baseline": gap,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="numbers of samples (default: 1000 10000)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per size (median)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated scores")
    args = parser.parse_args(argv)
    rows = [compare(n, args.seed, args.repeats) for n in args.sizes]
    for row in rows:
        print(f"{row['samples']} samples, {row['thresholds']} thresholds: ours "
              f"{row['ours_ms']} ms, baseline {row['baseline_ms']} ms "
              f"(x{row['baseline_ms'] / row['ours_ms']:.0f}), sklearn precision_recall_curve "
              f"{row['sklearn_precision_recall_curve_ms']} ms; max difference "
              f"{row['max_difference_from_baseline']:.1e}")
    print(json.dumps({"baseline": BASELINE, "results": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
