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

Stressed twins (issue 17): ``--stressed`` runs every stress scenario relevant to each spec
(``causal.twins.stress.relevant``), ``--stress NAME`` one scenario, each into
``benchmarks/results/coverage/stress/<measure>__<scenario>.json``; coverage.md then gets a
section with the honest/defect verdict per row:

    nice -n 10 .venv/bin/python benchmarks/coverage_study.py data_specs/sectorplan_training.yaml \
        --stressed -R 200 --workers 2

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
STRESS_OUT = OUT / "stress"


def _slug(stress: str) -> str:
    """File-name part of a scenario: its name, and its parameters when given."""
    name, _, rest = stress.partition(":")
    return name + ("__" + rest.replace(",", "_").replace("=", "-") if rest else "")


def run_one(spec_path: Path, args: argparse.Namespace, stress: str | None = None) -> None:
    """One spec's rows: the ideal twin, or (``stress``) its twin under one stress scenario
    (causal.twins.stress), written to ``stress/<measure>__<scenario>.json``."""
    from causal.spec import load_spec
    from causal.validate import run_validation, write_table

    spec = load_spec(spec_path)
    if spec.simulation is None:
        print(f"{spec_path.name}: no simulation block, no twin: skipped", flush=True)
        return
    label = spec.measure if stress is None else f"{spec.measure} under {stress}"
    dest = OUT / f"{spec.measure}.json" if stress is None else (
        STRESS_OUT / f"{spec.measure}__{_slug(stress)}.json")
    if dest.exists() and not args.force:
        print(f"{label}: {dest} exists (use --force to redo)", flush=True)
        return
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            el = time.perf_counter() - t0
            print(f"{label}: {done}/{total} twins, {el:.0f} s elapsed, "
                  f"~{el / done * (total - done):.0f} s to go", flush=True)

    table = run_validation(spec, args.replications, workers=args.workers, n=args.n,
                           estimators=args.estimator, max_cost=args.max_cost,
                           progress=progress, stress=[stress] if stress else None)
    table.attrs["settings"].update({
        "seconds": round(time.perf_counter() - t0, 1), "workers": args.workers,
        "load_average": list(os.getloadavg()), "cpus": os.cpu_count(),
        "command": " ".join([Path(sys.executable).name, *sys.argv])})
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_table(table, dest.with_suffix(".csv"))
    write_table(table, dest)
    print(f"{label}: wrote {dest} in {time.perf_counter() - t0:.0f} s", flush=True)


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
    lines += stress_table()
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "coverage.md").write_text(text)
    return text


def _flagged(records: list[dict], key: str, estimand: str) -> float | None:
    """Share of replications (with a number and a truth) in which a warning or the
    sensitivity bound flagged the estimate: any warning on it, or a bound that covers the
    truth."""
    rs = [r for r in records if r.get("estimator") == key and r.get("estimand") == estimand
          and r.get("net") is not None and r.get("truth") is not None]
    if not rs:
        return None
    hit = 0
    for r in rs:
        b = r.get("bound")
        covers = b is not None and b[0] <= r["truth"] <= b[1]
        hit += bool(r.get("warnings")) or covers
    return hit / len(rs)


def stress_table() -> list[str]:
    """The stressed rows with the honest/defect verdict (causal.twins.stress.verdict)."""
    from causal.twins.stress import SCENARIOS, verdict

    files = sorted(STRESS_OUT.glob("*.json"))
    if not files:
        return []

    def f(x, nd=2):
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"

    lines = ["", "## Stressed twins: which failures are honest, which are defects", "",
             "Each twin breaks one assumption (causal/twins/stress/, README 'Stressed "
             "twins'). expected: what an honest estimator does (unbiased, widen its interval, "
             "warn, refuse). flagged: share of twins in which the estimate carried a warning or "
             "its sensitivity bound (at the strongest observed confounder; for a LATE, with 20% "
             "of the recorded take-up wrong) covered the truth. "
             "Rows named `[cluster=...]` rerun the estimator clustered at the shock's level "
             "(the remedy). Verdict: *honest failure* = the design cannot identify the effect "
             "under this stress and says so; *defect* = it could have held or warned and did "
             "not.", "",
             "| spec | stress | estimator | estimand | R | mean truth | bias (MC) | RMSE | "
             "coverage (MC) | mean width | flagged | expected | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    runs = []
    for fp in files:
        doc = json.loads(fp.read_text())
        st, table, recs = doc["settings"], doc["table"], doc.get("records", [])
        stress = (st.get("stress") or ["?"])[0]
        name = stress.split(":")[0]
        scen = SCENARIOS[name]()
        by_name = {(r["name"], r["estimand"]): r for r in table}
        for r in table:
            if r.get("reference") or not r.get("with_number"):
                continue
            key = r["estimator"]
            exp = scen.expect(r["estimand"])
            rem, tag = None, ""
            if "[" not in key:
                fix = next((x for (nm, es), x in by_name.items() if es == r["estimand"]
                            and x["estimator"].startswith(key + " [")), None)
                rem = None if fix is None else not fix.get("failed")
                tag = "" if fix is None else fix["estimator"][len(key) + 2:-1]
            fl = _flagged(recs, key, r["estimand"])
            lines.append(
                f"| {st['measure']} | {stress} | {r['name']} | {r['estimand']} | "
                f"{r['with_number']} | {f(r.get('mean_truth'))} | {f(r.get('bias'))} "
                f"({f(r.get('mcse_bias'))}) | {f(r.get('rmse'))} | {f(r.get('coverage'), 3)} "
                f"({f(r.get('mcse_coverage'), 3)}) | {f(r.get('mean_width'))} | "
                f"{'-' if fl is None else f'{fl:.0%}'} | {exp} | {verdict(exp, r, fl, rem, tag)} |")
        la = st.get("load_average")
        runs.append(f"- {st['measure']} under {stress}: R = {st['replications']}, n = {st['n']}, "
                    f"{st.get('seconds', '?')} s on {st.get('workers', '?')} workers"
                    + (f", load average {la[0]:.1f}" if la else "")
                    + f"; `{st.get('command', '')}`")
    return lines + ["", "Stressed runs:", "", *runs]


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
    ap.add_argument("--stress", action="append", default=None,
                    help="run the specs' twins under this stress scenario (NAME or "
                         "NAME:key=value,...; repeatable) instead of the ideal twin")
    ap.add_argument("--stressed", action="store_true",
                    help="run every stress scenario relevant to each spec "
                         "(causal.twins.stress.relevant) instead of the ideal twin")
    args = ap.parse_args()
    if not args.table:
        from causal.spec import load_spec
        from causal.twins.stress import relevant

        for p in args.specs or sorted((ROOT / "data_specs").glob("*.yaml")):
            try:
                if args.stressed or args.stress:
                    spec = load_spec(p)
                    todo = relevant(spec) if args.stressed else args.stress
                    for name in todo:
                        if args.stress or name in relevant(spec):
                            run_one(p, args, name)
                else:
                    run_one(p, args)
            except Exception as e:  # keep going: one spec's failure is in its log
                print(f"{p.name}: FAILED: {type(e).__name__}: {e}", flush=True)
    print(build_table())


if __name__ == "__main__":
    main()
