"""``causal validate``: a simulation study of every estimator on the spec's synthetic twin.

R fresh twins (seeds derived from the spec's seed with numpy's ``SeedSequence``, so the same
spec and R give the same twins), every estimator of the spec (or the ones asked) on each,
and per estimator and estimand: the mean true effect, bias, RMSE, 95% interval coverage,
power (share of intervals excluding zero) and mean interval width, beside the naive
participant versus non-participant comparison a report's reader would make (always run, as
the reference; never checked). This is the Monte Carlo check of Morris, White and Crowther
(2019, "Using simulation studies to evaluate statistical methods"), with their Monte Carlo
standard errors.

The checks, for CI (exit 1 when one fails):

- **coverage** below ``coverage_min`` (default 0.90) *beyond Monte Carlo error*: the share of
  intervals that cover the truth is significantly below the threshold (one-sided exact
  binomial test at 5%). At R = 5 a single miss is not a failure; at R = 200, coverage of
  0.85 is.
- **bias** larger than the tolerance beyond Monte Carlo error: ``|bias| - t MCSE(bias)``
  above ``bias_max`` (in the outcome's unit, pp for binary outcomes) or, by default, above
  ``bias_se`` (0.5) times the estimator's mean standard error. MCSE(bias) is the empirical
  one, floored at mean SE / sqrt(R), and t has R - 1 degrees of freedom. A bias of half a standard
  error costs a 95% interval about three points of coverage (Phi(1.96 - 0.5) - Phi(-1.96 -
  0.5) = 0.92), which is where an interval stops being honest.
- an estimator that **errors** in any replication.

An estimate without a number (the design does not identify the effect) is reported, not
failed. Estimators have a cost class (:data:`COST`); ``max_cost`` leaves the slower ones out,
and the table says so.
"""
from __future__ import annotations

import json
import math
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from causal.errors import NettoError
from causal.spec import Spec, load_spec
from causal.validate_measures import (  # noqa: F401 - re-exported
    COLUMNS,
    COST,
    COST_ORDER,
    _finite,
    cost_class,
    summarise,
)


def replication_seeds(spec: Spec, replications: int) -> list[int]:
    """Seeds of the R twins: spawned from the spec's simulation seed (deterministic)."""
    base = spec.simulation.seed if spec.simulation is not None else 0
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(base).spawn(replications)]


def _plan(spec: Spec, estimators: list[str] | None, max_cost: str,
          stress: list | None = None) -> tuple[
        list[tuple[str, str, dict]], list[tuple[str, str]]]:
    """(key, name, options) of the estimators to run, and (key, reason) of those skipped.

    Under ``stress``, an estimator whose options a scenario can mend (clustering at the
    level of a shock: :meth:`causal.twins.stress.Stress.remedy`) runs twice: with the spec's
    options and, keyed ``name [option=value]``, with the mended ones."""
    entries = [(e.name, dict(e.options)) for e in spec.estimators]
    if estimators:
        unknown = [n for n in estimators if n != "naive" and n not in {x for x, _ in entries}]
        if unknown:
            raise NettoError(f"--estimator {', '.join(unknown)}: not in the spec "
                             f"{spec.path or spec.measure} (its estimators: "
                             f"{', '.join(x for x, _ in entries)})")
        entries = [(x, o) for x, o in entries if x in estimators or x == "naive"]
    if not any(x == "naive" for x, _ in entries):
        entries.insert(0, ("naive", {}))  # the reference every reader would compute
    counts: dict[str, int] = {}
    run, skipped = [], []
    for name, opts in entries:
        counts[name] = counts.get(name, 0) + 1
        key = name if counts[name] == 1 else f"{name}#{counts[name]}"
        if COST_ORDER[cost_class(name)] > COST_ORDER[max_cost]:
            skipped.append((key, f"skipped: cost class '{cost_class(name)}' is above "
                                 f"--max-cost {max_cost}"))
        else:
            run.append((key, name, opts))
            for fix in ([] if name == "naive" else _remedies(spec, name, stress)):
                if any(opts.get(k) != v for k, v in fix.items()):
                    tag = ", ".join(f"{k}={v}" for k, v in fix.items())
                    run.append((f"{key} [{tag}]", name, {**opts, **fix}))
    return run, skipped


def _remedies(spec: Spec, name: str, stress: list | None) -> list[dict]:
    if spec.simulation is None:
        return []
    from causal.estimators import get
    from causal.twins import twin_params

    p = twin_params(spec, stress=stress)
    fields = get(name).options.model_fields
    return [r for s in p.stress if (r := s.remedy(name, p.generator))
            and all(k in fields for k in r)]


def run_replication(spec: Spec | str, rep: int, seed: int, n: int | None,
                    plan: list[tuple[str, str, dict]],
                    stress: list | None = None) -> list[dict[str, Any]]:
    """One twin, every planned estimator; never raises (errors become records)."""
    from causal.pipeline import prepare, run_estimator

    base = {"replication": rep, "seed": seed}
    try:
        study = prepare(spec, seed=seed, n=n, stress=stress)
    except Exception as e:  # noqa: BLE001 - a failed twin is a result of the study
        msg = _err(e)
        return [{**base, "estimator": key, "error": f"preparing the twin: {msg}"}
                for key, _, _ in plan]
    out = []
    for key, name, opts in plan:
        t0 = time.perf_counter()
        try:
            ests = run_estimator(study, name, opts, refute=False, sensitivity=False)
        except Exception as e:  # noqa: BLE001
            out.append({**base, "estimator": key, "error": _err(e),
                        "seconds": time.perf_counter() - t0})
            continue
        sec = (time.perf_counter() - t0) / max(len(ests), 1)
        for e in ests:
            out.append({**base, "estimator": key, "name": e.name.replace(name, key, 1),
                        "estimand": e.estimand, "net": e.net, "ci_low": e.ci_low,
                        "ci_high": e.ci_high, "se": e.se, "truth": e.truth,
                        "reason": e.reason, "seconds": sec, "warnings": len(e.warnings),
                        "first_warning": e.warnings[0][:100] if e.warnings else None,
                        "bound": _bound(e), "se_type": e.se_type})
            main = out[-1]["name"]
            for x in e.diagnostics.get("secondary") or []:  # e.g. pooled_groups' mu, new group
                out.append({**base, "estimator": key, "name": f"{main} [{x['label']}]",
                            "estimand": x["estimand"], "net": x["net"],
                            "ci_low": x["ci_low"], "ci_high": x["ci_high"], "se": None,
                            "truth": x["truth"], "reason": None, "seconds": 0.0,
                            "warnings": 0, "first_warning": None, "bound": None,
                            "se_type": None})
    return out


def _bound(e) -> list[float] | None:
    """What the sensitivity bound allows at the strongest observed confounder
    (causal.sensitivity.bounds): the estimate's interval stretched to the interval moved
    toward zero by a hidden confounder up to that strength; to see whether it covers the
    truth under stress."""
    rows = (e.diagnostics.get("sensitivity_bounds") or {}).get("benchmarks") or []
    if not rows or rows[0].get("ci_low") is None or e.ci_low is None:
        return None
    return [min(e.ci_low, rows[0]["ci_low"]), max(e.ci_high, rows[0]["ci_high"])]


def _err(e: BaseException) -> str:
    if isinstance(e, NettoError):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"


def run_validation(spec: Spec | str | Path, replications: int = 100, *, workers: int = 1,
                   n: int | None = None, estimators: list[str] | None = None,
                   max_cost: str = "slow", coverage_min: float = 0.90,
                   bias_max: float | None = None, bias_se: float = 0.5,
                   progress: Callable[[int, int], None] | None = None,
                   stress: list | None = None) -> pd.DataFrame:
    """Run the simulation study; one row per estimator x estimate (see module doc).

    ``stress`` adds stress scenarios to the twin (:mod:`causal.twins.stress`); estimators
    whose options a scenario can mend also run with the mended options.

    ``progress(done, total)`` is called after every replication. The raw per-replication
    records are in ``table.attrs["records"]``; the settings in ``table.attrs["settings"]``.
    """
    if replications < 1:
        raise NettoError(f"--replications: expected at least 1, got {replications}")
    if max_cost not in COST_ORDER:
        raise NettoError(f"--max-cost: expected one of {', '.join(COST_ORDER)}, got {max_cost!r}")
    if not 0 < coverage_min <= 1:
        raise NettoError(f"--coverage-min: expected a share in (0, 1], got {coverage_min}")
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if spec.simulation is None:
        raise NettoError(f"{spec.path}: field 'simulation': validation needs the spec's "
                         "synthetic twin, and this spec has no simulation block")
    if n is not None and n < 20:
        raise NettoError(f"--n: expected a twin of at least 20 persons, got {n}")
    if stress:  # fail early, with the spec's file in the message, on a bad scenario
        from causal.twins import twin_params

        twin_params(spec, n=n, stress=stress)
    plan, skipped = _plan(spec, estimators, max_cost, stress)
    seeds = replication_seeds(spec, replications)
    target: Spec | str = str(spec.path) if spec.path else spec
    if spec.data is not None and spec.data.path:  # simulate the twin, not the spec's data file
        # (model_copy keeps the private file path, so messages still name the spec's file)
        spec = spec.model_copy(deep=True, update={"data": spec.data.model_copy(
            update={"path": None})})
        target = spec
    records: list[dict[str, Any]] = []
    done = 0
    if workers <= 1 or replications == 1:
        for i, s in enumerate(seeds):
            records += run_replication(target, i, s, n, plan, stress)
            done += 1
            if progress:
                progress(done, replications)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex:
            futs = [ex.submit(run_replication, target, i, s, n, plan, stress)
                    for i, s in enumerate(seeds)]
            for f in as_completed(futs):
                records += f.result()
                done += 1
                if progress:
                    progress(done, replications)
    records.sort(key=lambda r: (r["replication"], [k for k, _, _ in plan].index(r["estimator"])))
    table = summarise(records, plan, skipped, replications, coverage_min=coverage_min,
                      bias_max=bias_max, bias_se=bias_se)
    table.attrs["records"] = records
    table.attrs["settings"] = {
        "measure": spec.measure, "spec": str(spec.path) if spec.path else None,
        "replications": replications, "n": n if n is not None else spec.simulation.n,
        "base_seed": spec.simulation.seed, "coverage_min": coverage_min, "bias_max": bias_max,
        "bias_se": bias_se, "max_cost": max_cost, "stress": list(stress or [])}
    return table


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------
def write_table(table: pd.DataFrame, out: Path) -> None:
    """JSON (settings, table, per-replication records) or CSV (the table), by suffix."""
    from causal.report.writer import atomic_write

    out = Path(out)
    if out.suffix.lower() == ".csv":
        atomic_write(out, table.to_csv(index=False, float_format="%.6g"))
    elif out.suffix.lower() == ".json":
        from causal import __version__
        from causal.result import _jsonable

        doc = {"toolkit_version": __version__, "settings": table.attrs.get("settings", {}),
               "table": _jsonable(table.replace({np.nan: None}).to_dict(orient="records")),
               "records": _jsonable(table.attrs.get("records", []))}
        atomic_write(out, json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n")
    else:
        raise NettoError(f"--out {out}: expected a .json or .csv file")


def print_table(table: pd.DataFrame, console) -> None:
    from rich.markup import escape
    from rich.table import Table

    st = table.attrs.get("settings", {})
    t = Table(title=f"Simulation check of {st.get('measure', '')}: R = {st.get('replications')}"
                    f" twins of n = {st.get('n')}", header_style="bold")
    for col, j in [("estimator", "left"), ("estimand", "left"), ("cost", "left"),
                   ("mean truth", "right"), ("bias", "right"), ("RMSE", "right"),
                   ("coverage", "right"), ("power", "right"), ("mean width", "right"),
                   ("s/rep", "right"), ("status", "left")]:
        t.add_column(col, justify=j, overflow="fold")

    def f(x: Any, nd: int = 2) -> str:
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"

    for r in table.to_dict(orient="records"):
        status = r["status"]
        style = "dim" if r["reference"] else None
        if r["failed"]:
            status = f"[red]{status}[/]"
        elif str(status).startswith("ok"):
            status = f"[green]{status}[/]"
        t.add_row(escape(str(r["name"])), str(r["estimand"]), str(r["cost"]), f(r["mean_truth"]),
                  f(r["bias"]), f(r["rmse"]), f(r["coverage"]), f(r["power"]),
                  f(r["mean_width"]), f(r["seconds"], 1), status, style=style)
    console.print(t)


# --------------------------------------------------------------------------------------
# the command (mounted by causal.cli as `causal validate`)
# --------------------------------------------------------------------------------------
def validate_command(
        spec: Path = typer.Argument(..., help="The spec whose twin to simulate."),
        replications: int = typer.Option(100, "--replications", "-R", help="Number of twins."),
        workers: int | None = typer.Option(None, "--workers", "-w",
                                           help="Processes (default: up to 2)."),
        n: int | None = typer.Option(None, "--n", min=1, help="Twin size (default: the spec's)."),
        coverage_min: float = typer.Option(0.90, "--coverage-min",
                                           help="Fail below this coverage (beyond MC error)."),
        bias_max: float | None = typer.Option(
            None, "--bias-max", help="Fail above this |bias|, in the outcome's unit (pp); "
                                     "default: --bias-se times the mean standard error."),
        bias_se: float = typer.Option(0.5, "--bias-se",
                                      help="Default bias tolerance in standard errors."),
        estimator: list[str] | None = typer.Option(None, "--estimator", "-e",
                                                   help="Only these estimators (and naive)."),
        max_cost: str = typer.Option("slow", "--max-cost",
                                     help="Leave out estimators above this cost class: "
                                          "fast, medium or slow."),
        out: Path | None = typer.Option(None, "--out", help="Also write the table (.json/.csv)."),
        stress: list[str] | None = typer.Option(
            None, "--stress", help="Stress the twin: a scenario name, or NAME:key=value,... "
                                   "(repeatable; see causal.twins.stress)."),
        quiet: bool = typer.Option(False, "--quiet", "-q")):
    """Simulation check: bias, RMSE, coverage and power of every estimator on R twins.

    Exits 1 when an estimator's coverage or bias fails its threshold (or it errors), so a
    research team can run it in CI.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from causal.cli import console

    w = workers if workers is not None else min(2, os.cpu_count() or 1)
    s = load_spec(spec)
    prog = Progress(TextColumn(f"[bold]validating {s.measure}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, disable=quiet, transient=True)
    with prog:
        task = prog.add_task("twins", total=replications)
        table = run_validation(s, replications, workers=w, n=n, estimators=estimator,
                               max_cost=max_cost, coverage_min=coverage_min, bias_max=bias_max,
                               bias_se=bias_se, stress=stress,
                               progress=lambda d, t: prog.update(task, completed=d))
    print_table(table, console)
    if out is not None:
        write_table(table, out)
        console.print(f"wrote {out}")
    failed = table[table["failed"]]
    if len(failed):
        for r in failed.to_dict(orient="records"):
            console.print(f"[bold red]failed:[/] {r['name']} {r['estimand']}: {r['status']}"
                          + (f" (first error: {r['first_error']})" if r.get("first_error") else ""))
        raise typer.Exit(1)
    console.print(f"[green]all checks passed[/] (coverage >= {coverage_min:.2f} and bias "
                  "within tolerance, beyond Monte Carlo error)")


__all__ = ["run_validation", "summarise", "replication_seeds", "validate_command",
           "write_table", "COST"]
