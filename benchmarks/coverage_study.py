"""Coverage table: every estimator of every spec, on R twins (issue 7: R >= 200).

Runs ``causal.validate.run_validation`` per spec and writes, per spec,
``benchmarks/results/coverage/<measure>.json`` (settings, table and every replication) and
``.csv``; then (re)builds ``benchmarks/results/coverage/coverage.md``: estimator x spec with
coverage, bias, RMSE, power, mean width, R and n. A spec whose result file exists is skipped
unless ``--force``, so the study can be run one spec at a time, in the background, and
resumed; ``--table`` only rebuilds the table from the files that exist.

Run everything (long; slow estimators included):

    .venv/bin/python benchmarks/coverage_study.py -R 200 --workers 2

One spec in the background (the log is progress only; the results go to the json):

    nohup .venv/bin/python benchmarks/coverage_study.py data_specs/almere_aanpak45plus.yaml \
        -R 200 --workers 2 > /tmp/almere_aanpak45plus.log 2>&1 &

Smaller twins for the slow designs (the check is about the method, not the sample size):

    .venv/bin/python benchmarks/coverage_study.py data_specs/ontwikkeladvies_staggered.yaml -R 200 --n 1000

Then ``.venv/bin/python benchmarks/coverage_study.py --table`` and read coverage.md.

(Not named ``coverage.py``: the folder of a script comes first on ``sys.path`` in the worker
processes too, and numba imports the ``coverage`` package.)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "results" / "coverage"


def run_one(spec_path: Path, args: argparse.Namespace) -> None:
    from causal.spec import load_spec
    from causal.validate import run_validation, write_table

    spec = load_spec(spec_path)
    if spec.simulation is None:
        print(f"{spec_path.name}: no simulation block, no twin: skipped", flush=True)
        return
    dest = OUT / f"{spec.measure}.json"
    if dest.exists() and not args.force:
        print(f"{spec.measure}: {dest} exists (use --force to redo)", flush=True)
        return
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            el = time.perf_counter() - t0
            print(f"{spec.measure}: {done}/{total} twins, {el:.0f} s elapsed, "
                  f"~{el / done * (total - done):.0f} s to go", flush=True)

    table = run_validation(spec, args.replications, workers=args.workers, n=args.n,
                           estimators=args.estimator, max_cost=args.max_cost,
                           progress=progress)
    table.attrs["settings"].update({
        "seconds": round(time.perf_counter() - t0, 1), "workers": args.workers,
        "load_average": list(os.getloadavg()), "cpus": os.cpu_count(),
        "command": " ".join([Path(sys.executable).name, *sys.argv])})
    OUT.mkdir(parents=True, exist_ok=True)
    write_table(table, dest.with_suffix(".csv"))
    write_table(table, dest)
    print(f"{spec.measure}: wrote {dest} in {time.perf_counter() - t0:.0f} s", flush=True)


def build_table() -> str:
    """coverage.md from every result file."""
    rows = []
    for f in sorted(OUT.glob("*.json")):
        doc = json.loads(f.read_text())
        st = doc["settings"]
        for r in doc["table"]:
            rows.append((st, r))
    lines = ["# Coverage of every estimator on its spec's twin", "",
             "95% interval coverage, bias and RMSE (outcome units: pp for binary outcomes) "
             "over R twins; MC = Monte Carlo standard error. Made by benchmarks/coverage_study.py "
             "(see its docstring for the commands).", "",
             "| spec | estimator | estimand | R | n | mean truth | bias (MC) | RMSE | coverage "
             "(MC) | power | mean width | s/rep | status |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(x, nd=2):
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"

    for st, r in rows:
        lines.append(
            f"| {st['measure']} | {r['name']} | {r['estimand']} | {r['with_number'] or '-'} | "
            f"{st['n']} | {f(r.get('mean_truth'))} | {f(r.get('bias'))} ({f(r.get('mcse_bias'))})"
            f" | {f(r.get('rmse'))} | {f(r.get('coverage'), 3)} ({f(r.get('mcse_coverage'), 3)})"
            f" | {f(r.get('power'))} | {f(r.get('mean_width'))} | {f(r.get('seconds'), 1)} | "
            f"{r['status']} |")
    lines += ["", "Runs:", ""]
    seen = set()
    for st, _ in rows:
        if st["measure"] in seen:
            continue
        seen.add(st["measure"])
        la = st.get("load_average")
        lines.append(f"- {st['measure']}: R = {st['replications']}, n = {st['n']}, "
                     f"{st.get('seconds', '?')} s on {st.get('workers', '?')} workers"
                     + (f", load average {la[0]:.1f}" if la else "")
                     + f"; `{st.get('command', '')}`")
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "coverage.md").write_text(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="*", type=Path, help="spec files (default: data_specs/*.yaml)")
    ap.add_argument("-R", "--replications", type=int, default=200)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--n", type=int, default=None, help="twin size (default: each spec's)")
    ap.add_argument("--estimator", "-e", action="append", default=None)
    ap.add_argument("--max-cost", default="slow", choices=["fast", "medium", "slow"])
    ap.add_argument("--force", action="store_true", help="redo specs that have results")
    ap.add_argument("--table", action="store_true", help="only rebuild coverage.md")
    args = ap.parse_args()
    if not args.table:
        for p in args.specs or sorted((ROOT / "data_specs").glob("*.yaml")):
            try:
                run_one(p, args)
            except Exception as e:  # keep going: one spec's failure is in its log
                print(f"{p.name}: FAILED: {type(e).__name__}: {e}", flush=True)
    print(build_table())


if __name__ == "__main__":
    main()
