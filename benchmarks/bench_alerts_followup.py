"""Lab 3.4's measured claims, on generated alerts whose truth is known (utils.alerts.sim).

* Drift monitoring: one camera's scores shift (logit + SHIFT) and another camera's volume doubles
  from a known week; detection delay in weeks and the false-alarm rate on the other cameras,
  against the named baseline: the same alarm rule on p-values not corrected across cameras.
* Review queue: K reviews a day for D days, queue (nearest each camera's threshold) against the
  named baseline, random alerts of the day; thefts the re-planned thresholds truly lose.

Prints JSON (and writes it to --out): lab3_thresholds/04_reducing_false_positives.ipynb quotes
it when given the file as SIM_JSON.

    python benchmarks/bench_alerts_followup.py --copies 20 --out sim.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.alerts.sim import simulate
from utils.io import to_jsonable, write_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="seeded copies (default: 20)")
    parser.add_argument("--rows", type=int, default=60_000, help="rows per copy (default: 60000)")
    parser.add_argument("--budget", type=int, default=10, help="reviews per day (default: 10)")
    parser.add_argument("--days", type=int, default=60, help="days of reviews (default: 60)")
    parser.add_argument("--shift", type=float, default=1.0,
                        help="planted score shift, on the logit scale (default: 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    parser.add_argument("--out", help="JSON file to write as well")
    args = parser.parse_args()
    start = time.perf_counter()
    result = simulate(copies=args.copies, n_rows=args.rows, budget=args.budget,
                      review_days=args.days, score_shift=args.shift, seed=args.seed)
    result["seconds"] = time.perf_counter() - start
    if args.out:
        write_json(result, args.out)
    print(json.dumps(to_jsonable(result), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
