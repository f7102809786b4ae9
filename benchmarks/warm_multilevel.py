"""Benchmark: a 5,000-row bayesian_multilevel spec end to end in a warm batch worker.

Issue 18's target: < 5 s end to end once the worker is warm (imports done, the model's log
density compiled for this structure). Runs ``causal.batch.run_batch`` on
``werkgeversdienstverlening_regions`` (2 chains x 1,000 draws, 500 tuning steps) ``--runs``
times in one process (the in-process worker, ``workers=1``), each with its own seed (a new
twin, so nothing is served from the batch cache), and prints per run the wall and CPU time
(user + system of this process, both sampler threads included), the CPU time of the main
thread alone (everything but nutpie's chain threads), the machine's 1-minute load and, from
the estimate's diagnostics, the sampling seconds and mean leapfrog steps per draw. The first
run pays the imports and loading the compiled callback; the later ones are the warm worker.
On a loaded machine the wall time measures the other processes; ``idle est.`` is what the
wall time would be on an idle 2-core machine if the two chains overlapped fully (main thread
CPU plus half the chains' CPU), an estimate, not a measurement.

    .venv/bin/python benchmarks/warm_multilevel.py --runs 4
    .venv/bin/python benchmarks/warm_multilevel.py --runs 4 --profile 3   # cProfile run 3
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))

SPEC = ROOT / "data_specs" / "werkgeversdienstverlening_regions.yaml"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _diagnostics(out: Path) -> dict:
    """Sampling seconds and leapfrog steps of the run just written (from the study record)."""
    import json

    found: dict = {}
    for f in sorted(out.rglob("*.json")):
        try:
            text = f.read_text()
        except OSError:
            continue
        if "mean_leapfrog_steps" not in text:
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        stack = [obj]
        while stack:
            o = stack.pop()
            if isinstance(o, dict):
                if "mean_leapfrog_steps" in o and "steps" not in found:
                    found["steps"] = o["mean_leapfrog_steps"]
                if isinstance(o.get("seconds"), dict) and "sample" in o["seconds"]:
                    found.setdefault("sample_s", o["seconds"]["sample"])
                stack.extend(o.values())
            elif isinstance(o, list):
                stack.extend(o)
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--profile", type=int, default=0,
                    help="profile this run (1-based) with cProfile, print the top 30")
    args = ap.parse_args(argv)

    t0, c0 = time.perf_counter(), _cpu()
    from causal.batch import run_batch
    print(f"imports {time.perf_counter() - t0:.2f} s wall, {_cpu() - c0:.2f} CPU-s")
    with tempfile.TemporaryDirectory(prefix="netto-warm-ml-") as tmp:
        for i in range(1, args.runs + 1):
            out = Path(tmp) / f"run{i}"
            load = os.getloadavg()[0]
            prof = None
            if args.profile == i:
                import cProfile
                prof = cProfile.Profile()
                prof.enable()
            t0, c0, m0 = time.perf_counter(), _cpu(), time.thread_time()
            res = run_batch([SPEC], out=out, n=args.n, seed=1000 + i, workers=1, force=True,
                            estimators=["bayesian_multilevel"])
            wall, cpu, main_cpu = time.perf_counter() - t0, _cpu() - c0, time.thread_time() - m0
            if prof is not None:
                prof.disable()
            ok = all(r.ok for r in res.results) if hasattr(res, "results") else True
            d = _diagnostics(out)
            idle = main_cpu + (cpu - main_cpu) / 2
            print(f"run {i}: {wall:6.2f} s wall, {cpu:6.2f} CPU-s (main thread {main_cpu:5.2f}; "
                  f"idle est. {idle:5.2f} s), load {load:.1f} -> "
                  f"{os.getloadavg()[0]:.1f}; sampling {d.get('sample_s', float('nan'))} s, "
                  f"leapfrog steps/draw {d.get('steps', float('nan')):.1f}"
                  f"{'' if ok else '  FAILED'}", flush=True)
            if prof is not None:
                import pstats
                pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
