"""Lab 3 at scale: the exact plan from a partitioned Parquet dataset, local engine (the whole table
in one process, the named baseline) against ``--engine dask`` on a LocalCluster (2 worker
processes, one thread each), with wall time and peak memory (RSS of the process tree, sampled
every 0.1 s), then a cost model for 1B alerts / 100k cameras fitted on per-partition times.

Sizes are ``ROWS:CAMERAS`` pairs, run in order until the time budget would be exceeded (the next
size is predicted from the last one, linearly in rows); the JSON says where it stopped and why.
Each engine runs in its own fresh process on a dataset written by ``data synth alerts
--partition-by month`` (files of about chunk/6 rows). The cost model is an extrapolation:

    python benchmarks/bench_scale.py                                   # 1M, 10M, 100M; 15 min
    python benchmarks/bench_scale.py --sizes 1000000:1000 --budget 300 --out scale.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.io import json_text, write_json

BASELINE = "local engine: the whole table read into one pandas frame, curves and exact plan"
TARGET = 0.5
CHUNK_ROWS = 500_000
SAMPLED_PARTITIONS = 4
GOAL = {"rows": 1_000_000_000, "cameras": 100_000, "hours": 1.0}


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        pairs = [tuple(int(v) for v in item.split(":")) for item in text.split(",")]
    except ValueError:
        pairs = []
    if not pairs or any(len(p) != 2 or min(p) < 1 or p[0] < p[1] for p in pairs):
        raise argparse.ArgumentTypeError(f"expected ROWS:CAMERAS pairs like 1000000:1000, "
                                         f"got {text!r}")
    return [(p[0], p[1]) for p in pairs]


def _run_engine(engine: str, source: str) -> None:
    """Child process: plan from ``source`` with ``engine``; prints seconds and the plan totals."""
    from utils.alerts.engines import engine_runner
    from utils.alerts.jobs import plan_job
    from utils.alerts.planning import plan_thresholds
    from utils.alerts.summaries import dataset_curves
    from utils.io import to_jsonable

    start = time.perf_counter()
    import psutil

    planning_s = curves_rss = None
    if engine == "local":
        plan = plan_job(TARGET, "exact", source=source)
    else:  # plan_job's steps, with the driver's planning timed on its own
        with engine_runner(engine) as runner:
            curves, _ = dataset_curves(source, runner)
        # RSS now, not ru_maxrss: that one starts from the parent's at fork
        curves_rss = psutil.Process().memory_info().rss
        t0 = time.perf_counter()
        plan = to_jsonable(plan_thresholds(curves, TARGET, "exact", progress=False).to_dict())
        planning_s = time.perf_counter() - t0
    digest = hashlib.sha256(json_text(plan).encode()).hexdigest()
    print(json.dumps({"seconds": time.perf_counter() - start, "planning_s": planning_s,
                      "driver_rss_with_curves": curves_rss,
                      "total": plan["total"], "sha256": digest}))


def _dataset(folder: Path, rows: int, cameras: int) -> dict[str, Any]:
    """The benchmark's dataset in ``folder``: one written earlier with the same arguments (kept by
    ``--work``) is reused (``"reused": True``), else it is written."""
    from utils.alerts.synth_dataset import MARKER, write_partitioned_alerts

    wanted = {"rows": rows, "cameras": cameras, "partition_by": "month", "seed": 0,
              "chunk_rows": CHUNK_ROWS}
    marker = folder / MARKER
    if marker.is_file():
        earlier = json.loads(marker.read_text())
        if {k: earlier.get(k) for k in wanted} == wanted:
            return {**earlier, "reused": True}
    return write_partitioned_alerts(folder, **wanted)


def _tree_rss(proc: Any) -> dict[int, int]:
    """RSS of the process and of each of its descendants, in bytes, by pid."""
    import psutil

    rss = {}
    for p in [proc, *proc.children(recursive=True)]:
        try:
            rss[p.pid] = p.memory_info().rss
        except psutil.Error:
            continue
    return rss


def _measure(engine: str, source: str) -> dict[str, Any]:
    """Run one engine in a fresh process; wall time and peak memory of its process tree (in
    all, and per process: the driver, which runs a LocalCluster's scheduler, and the others)."""
    import psutil

    cmd = [sys.executable, __file__, "--child", engine, source]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc = psutil.Process(child.pid)
    tree_peak = 0
    peaks: dict[int, int] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.is_set():
            rss = _tree_rss(proc)
            tree_peak = max(tree_peak, sum(rss.values()))
            for pid, value in rss.items():
                peaks[pid] = max(peaks.get(pid, 0), value)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"{engine} run failed (exit {child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": round(time.perf_counter() - start, 2),
            "plan_s": round(result["seconds"], 2), "planning_s": result["planning_s"],
            "peak_rss_tree_mib": round(tree_peak / 2**20, 1),
            "peak_rss_largest_process_mib": round(max(peaks.values()) / 2**20, 1),
            "peak_rss_driver_mib": round(peaks[child.pid] / 2**20, 1),
            "rss_driver_with_curves_mib": None if result["driver_rss_with_curves"] is None
            else round(result["driver_rss_with_curves"] / 2**20, 1),
            "peak_rss_other_processes_mib": sorted(
                (round(v / 2**20, 1) for pid, v in peaks.items() if pid != child.pid),
                reverse=True),
            "plan_total": result["total"], "plan_sha256": result["sha256"]}


def _partition_times(source: str) -> list[dict[str, float]]:
    """Seconds of pass 1 and pass 2 on a few partitions (this process, one thread)."""
    from utils.alerts.dataset import partitions
    from utils.alerts.summaries import normal_bins, summarise, theft_index

    parts = partitions(source)
    picked = [parts[i] for i in np.linspace(0, len(parts) - 1, SAMPLED_PARTITIONS).astype(int)]
    times = []
    for part in picked:
        start = time.perf_counter()
        summary, _ = summarise(source, part)
        one = time.perf_counter() - start
        index = theft_index(summary)
        start = time.perf_counter()
        normal_bins(source, part, index)
        times.append({"rows": part.rows, "pass1_s": one, "pass2_s": time.perf_counter() - start})
    return times


def _cost_model(samples: list[dict[str, float]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Seconds per partition = a + b x rows (least squares over the sampled partitions, a >= 0),
    both passes, for GOAL rows in partitions of the runs' size; the cluster size for GOAL."""
    rows = np.array([s["rows"] for s in samples], float)
    secs = np.array([s["pass1_s"] + s["pass2_s"] for s in samples])
    b, a = np.polyfit(rows, secs, 1)
    a = max(float(a), 0.0)
    part_rows = float(np.median([r["rows"] / r["files"] for r in runs]))
    n_parts = math.ceil(GOAL["rows"] / part_rows)
    core_s = n_parts * (a + b * part_rows)
    last = runs[-1]
    # driver: the exact plan over the summaries, measured at the largest size, scaled in rows
    driver_s = last["dask"]["planning_s"] * GOAL["rows"] / last["rows"]
    budget_s = GOAL["hours"] * 3600 - driver_s
    workers = math.ceil(core_s / budget_s) if budget_s > 0 else None
    return {
        "extrapolated": True,
        "goal": GOAL,
        "fit": {"seconds_per_partition": "a + b * rows", "a_s": a, "b_s_per_row": b,
                "samples": samples},
        "partition_rows": part_rows, "partitions": n_parts,
        "partition_core_seconds": round(core_s),
        "driver_seconds": round(driver_s),
        "workers_for_goal": workers,
        "hours_on_that_many_workers": None if workers is None else
        round((core_s / workers + driver_s) / 3600, 2),
        "assumptions": [
            "one worker = one core as fast as this machine's (measured under its current load)",
            "partition work is linear in its rows and perfectly parallel (no stragglers, "
            "storage and network not the bottleneck); pass 2 places each normal by binary "
            "search, so the table's theft values add only a logarithmic factor",
            f"partitions of about {part_rows:.0f} rows, as in the benchmark datasets",
            "driver time = the exact plan over the summaries, growing linearly in rows from "
            "the largest measured run (its frontier grows with the thefts); merging the "
            "summaries and starting the cluster are not counted",
            "theft share and values per camera like the synthetic data (about 1% thefts, "
            "6-decimal probabilities)",
        ],
    }


def markdown_table(results: list[dict[str, Any]]) -> str:
    """The README's table, from the JSON of one or more runs (a missing engine is a dash)."""
    def cell(run: dict[str, Any], engine: str) -> str:
        if engine not in run:
            return "not run"
        m = run[engine]
        largest = ""
        if engine == "dask" and "peak_rss_driver_mib" in m:
            largest = (f" (driver {m['peak_rss_driver_mib']:,.0f}, largest worker "
                       f"{max(m['peak_rss_other_processes_mib']):,.0f})")
        elif engine == "dask":
            largest = f" (largest process {m['peak_rss_largest_process_mib']:,.0f})"
        return f"{m['wall_s']:,.0f} s, {m['peak_rss_tree_mib']:,.0f} MiB{largest}"

    lines = ["| alerts × cameras | files | local engine: wall, peak RSS | Dask (2 workers): wall, "
             "peak RSS of the tree | same `plan.json` |", "|---|---|---|---|---|"]
    for result in results:
        for run in result["runs"]:
            same = {True: "yes", False: "**no**"}.get(run.get("same_plan_json"), "-")
            lines.append(f"| {run['rows']:,} × {run['cameras']:,} | {run['files']} | "
                         f"{cell(run, 'local')} | {cell(run, 'dask')} | {same} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes,
                        default=_sizes("1000000:1000,10000000:10000,100000000:100000"))
    parser.add_argument("--budget", type=float, default=900.0,
                        help="seconds for the whole run (default: 900)")
    parser.add_argument("--engines", default="local,dask",
                        help="engines to run, comma-separated (default: local,dask; dask alone "
                             "spares the local engine's memory at large sizes)")
    parser.add_argument("--work", help="folder for the datasets, kept and reused by later runs "
                                       "with the same sizes (default: a temporary one)")
    parser.add_argument("--out", help="also write the JSON here")
    parser.add_argument("--markdown", nargs="+", metavar="JSON",
                        help="only print the README table of these runs' JSON files")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SOURCE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _run_engine(*args.child)
        return 0
    if args.markdown:
        print(markdown_table([json.loads(Path(f).read_text()) for f in args.markdown]))
        return 0

    from utils.alerts.synth_dataset import write_partitioned_alerts

    engines = [e for e in ("local", "dask") if e in args.engines.split(",")]
    if not engines or set(args.engines.split(",")) - {"local", "dask"}:
        parser.error(f"--engines: expected local, dask or local,dask, got {args.engines!r}")

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_scale."))
    start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    stopped = None
    # small partitions (about 1,000 rows) beside the runs' large ones, so the fit sees both
    calibration = work / "calibration"
    write_partitioned_alerts(calibration, rows=60_000, cameras=100, partition_by="month",
                             chunk_rows=6_000)
    samples: list[dict[str, float]] = _partition_times(str(calibration))
    shutil.rmtree(calibration)
    for rows, cameras in args.sizes:
        elapsed = time.perf_counter() - start
        if runs:
            predicted = (time.perf_counter() - start) / sum(r["rows"] for r in runs) * rows
            if elapsed + predicted > args.budget:
                stopped = {"rows": rows, "cameras": cameras,
                           "reason": f"predicted {predicted:.0f} s (linear in rows from the "
                                     f"sizes run), over the {args.budget:.0f} s budget "
                                     f"({elapsed:.0f} s used)"}
                break
        folder = work / f"alerts_{rows}_{cameras}"
        t0 = time.perf_counter()
        written = _dataset(folder, rows, cameras)
        run: dict[str, Any] = {"rows": rows, "cameras": cameras, "files": written["files"],
                               "dataset_mib": round(sum(f.stat().st_size for f in
                                                        folder.rglob("*.parquet")) / 2**20, 1),
                               "synth_s": None if written.get("reused")
                               else round(time.perf_counter() - t0, 2)}
        for engine in engines:
            run[engine] = _measure(engine, str(folder))
        if len(engines) == 2:
            run["same_plan_json"] = run["local"]["plan_sha256"] == run["dask"]["plan_sha256"]
        samples += _partition_times(str(folder))
        runs.append(run)
        print(json_text(run), file=sys.stderr)
        if not args.work:
            shutil.rmtree(folder)
    if not args.work:
        shutil.rmtree(work)
    result = {
        "benchmark": "bench_scale", "baseline": BASELINE, "target_fp_reduction": TARGET,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": os.getloadavg()},
        "dask": "LocalCluster, 2 worker processes x 1 thread",
        "runs": runs, "stopped_before": stopped,
        "cost_model": _cost_model(samples, runs) if runs and "dask" in engines else None,
        "total_s": round(time.perf_counter() - start, 1),
    }
    print(json_text(result))
    if args.out:
        write_json(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
