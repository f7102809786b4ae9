"""Coverage of the synthetic control's two intervals on the Almere twin (issue 19).

The coverage study (``benchmarks/coverage_study.py``) measures the spec's own options, the
exact permutation confidence set (Firpo and Possebom 2018). This runs the same twins with
``interval: studentised_t`` instead and prints the same measures, so the two can be set side
by side (results go to stdout only; R = 200 takes about 10 minutes on a quiet core):

    nice -n 10 .venv/bin/python benchmarks/synth_intervals.py -R 200
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from causal.spec import load_spec
    from causal.validate import run_validation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-R", "--replications", type=int, default=200)
    ap.add_argument("--interval", default="studentised_t",
                    choices=["studentised_t", "permutation"])
    args = ap.parse_args()
    spec = load_spec(ROOT / "data_specs" / "almere_bijstand_synth.yaml").model_copy(deep=True)
    entry = spec.estimators[0]
    spec.estimators[0] = entry.model_copy(
        update={"options": {**entry.options, "interval": args.interval}})
    table = run_validation(spec, args.replications, workers=1, estimators=[entry.name])
    cols = ["name", "estimand", "with_number", "bias", "rmse", "coverage", "mcse_coverage",
            "power", "mean_width"]
    print(f"interval: {args.interval}, R = {args.replications}")
    print(table[cols].to_string(index=False))


if __name__ == "__main__":
    main()
