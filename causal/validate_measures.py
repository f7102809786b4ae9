"""The performance measures and checks of ``causal validate`` (:mod:`causal.validate`).

Per estimator and estimand over R twins: mean truth, bias, RMSE, 95% interval coverage,
power and mean width, with their Monte Carlo standard errors (Morris, White and Crowther
2019, "Using simulation studies to evaluate statistical methods"), and the checks described
in :mod:`causal.validate`'s docstring (coverage by a one-sided exact binomial test, bias
beyond Monte Carlo error against a tolerance, errors). Assumes every replication's record
carries ``net``, ``ci_low``/``ci_high``, ``se``, ``truth`` and ``seconds`` as
:func:`causal.validate.run_replication` writes them.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: estimator -> cost class; every estimator not listed is "fast" (seconds per replication).
COST: dict[str, str] = {"bayesian_multilevel": "slow", "dml": "medium", "pooled_groups": "slow",
                        "synthetic_control": "medium"}
COST_ORDER = {"fast": 0, "medium": 1, "slow": 2}
#: columns of the table, in order
COLUMNS = ["estimator", "name", "estimand", "cost", "reference", "replications", "with_number",
           "not_identified", "errors", "mean_truth", "mean_estimate", "bias", "mcse_bias",
           "rmse", "coverage", "mcse_coverage", "power", "mean_width", "mean_se",
           "bias_tolerance", "seconds", "status", "failed", "first_error"]


def cost_class(name: str) -> str:
    return COST.get(name, "fast")


def summarise(records: list[dict[str, Any]], plan: list[tuple[str, str, dict]],
              skipped: list[tuple[str, str]], replications: int, *, coverage_min: float = 0.90,
              bias_max: float | None = None, bias_se: float = 0.5) -> pd.DataFrame:
    """Per estimator x estimate: the performance measures and the checks (module doc)."""
    rows: list[dict[str, Any]] = []
    for key, name, _ in plan:
        mine = [r for r in records if r["estimator"] == key]
        errs = [r for r in mine if r.get("error")]
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in mine:
            if not r.get("error"):
                groups.setdefault((r["name"], r["estimand"]), []).append(r)
        if not groups:
            groups[(key, "-")] = []
        for (label, estimand), rs in groups.items():
            row = _measures(rs, replications)
            row.update(estimator=key, name=label, estimand=estimand, cost=cost_class(name),
                       reference=name == "naive", errors=len(errs),
                       first_error=errs[0]["error"] if errs else None)
            _check(row, coverage_min, bias_max, bias_se)
            rows.append(row)
    for key, reason in skipped:
        rows.append({"estimator": key, "name": key, "estimand": "-",
                     "cost": cost_class(key.split("#")[0]), "reference": False,
                     "replications": 0, "with_number": 0, "not_identified": 0, "errors": 0,
                     "status": reason, "failed": False})
    return pd.DataFrame(rows, columns=COLUMNS)


def _measures(rs: list[dict], replications: int) -> dict[str, Any]:
    """Bias, RMSE, coverage, power, width and their Monte Carlo errors (Morris et al. 2019)."""
    nan = float("nan")
    num = [r for r in rs if r.get("net") is not None and _finite(r["net"])]
    out: dict[str, Any] = {"replications": replications, "with_number": len(num),
                           "not_identified": sum(1 for r in rs if r.get("net") is None),
                           # no interval by design (too few treated groups, causal.inference)
                           "no_interval": sum(1 for r in num if str(r.get("se_type") or "")
                                              .startswith("no interval")),
                           "seconds": float(np.mean([r["seconds"] for r in rs])) if rs else nan}
    est = np.array([r["net"] for r in num], dtype=float)
    out["mean_estimate"] = float(est.mean()) if len(est) else nan
    wt = [r for r in num if r.get("truth") is not None and _finite(r["truth"])]
    truth = np.array([r["truth"] for r in wt], dtype=float)
    err = np.array([r["net"] for r in wt], dtype=float) - truth
    out["mean_truth"] = float(truth.mean()) if len(truth) else nan
    out["bias"] = float(err.mean()) if len(err) else nan
    out["mcse_bias"] = float(err.std(ddof=1) / math.sqrt(len(err))) if len(err) > 1 else nan
    out["rmse"] = float(np.sqrt((err ** 2).mean())) if len(err) else nan
    wi = [r for r in wt if _finite(r.get("ci_low")) and _finite(r.get("ci_high"))]
    if wi:
        lo = np.array([r["ci_low"] for r in wi], dtype=float)
        hi = np.array([r["ci_high"] for r in wi], dtype=float)
        tr = np.array([r["truth"] for r in wi], dtype=float)
        cov = (lo <= tr) & (tr <= hi)
        out["coverage"] = float(cov.mean())
        out["covered"] = int(cov.sum())
        out["with_interval"] = len(wi)
        out["mcse_coverage"] = float(math.sqrt(cov.mean() * (1 - cov.mean()) / len(wi)))
    else:
        out.update(coverage=nan, mcse_coverage=nan, covered=0, with_interval=0)
    allint = [r for r in num if _finite(r.get("ci_low")) and _finite(r.get("ci_high"))]
    if allint:
        lo = np.array([r["ci_low"] for r in allint], dtype=float)
        hi = np.array([r["ci_high"] for r in allint], dtype=float)
        out["power"] = float(((lo > 0) | (hi < 0)).mean())
        out["mean_width"] = float((hi - lo).mean())
        se = np.array([r["se"] if _finite(r.get("se")) else (h - lo_) / (2 * 1.959964)
                       for r, lo_, h in zip(allint, lo, hi)], dtype=float)
        out["mean_se"] = float(se.mean())
    else:
        out.update(power=nan, mean_width=nan, mean_se=nan)
    return out


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(x)


def _check(row: dict[str, Any], coverage_min: float, bias_max: float | None,
           bias_se: float) -> None:
    from scipy import stats

    tol = bias_max if bias_max is not None else (
        bias_se * row["mean_se"] if _finite(row.get("mean_se")) else float("nan"))
    row["bias_tolerance"] = tol
    problems: list[str] = []
    if row["errors"]:
        problems.append(f"errors in {row['errors']} of {row['replications']} replications")
    if row["reference"]:
        row["status"] = "reference (naive comparison, not checked)" + (
            f"; {problems[0]}" if problems else "")
        row["failed"] = False
        row.pop("covered", None), row.pop("with_interval", None)
        return
    if row["with_number"] == 0:
        what = (f"not identified ({row['not_identified']} of {row['replications']} "
                "replications)" if row["not_identified"] else "no estimates")
        row["status"] = "; ".join(problems) if problems else what
        row["failed"] = bool(problems)
        row.pop("covered", None), row.pop("with_interval", None)
        return
    k, m = row.pop("covered", 0), row.pop("with_interval", 0)
    if m:
        # exact one-sided binomial test of H0: coverage >= coverage_min
        p = float(stats.binom.cdf(k, m, coverage_min))
        if k / m < coverage_min and p < 0.05:
            problems.append(f"coverage {k / m:.2f} is below {coverage_min:.2f} "
                            f"(binomial p = {p:.3f})")
    elif row.get("no_interval") == row["with_number"]:
        pass  # no interval by design (too few treated groups): noted below, not a failure
    elif _finite(row.get("mean_truth")):
        problems.append("no intervals to check coverage")
    if _finite(row.get("bias")) and _finite(tol):
        # Monte Carlo error of the bias: the empirical one, but never below what the
        # estimator's own standard error implies (a standard deviation from a handful of
        # replications is itself noisy), with a t quantile for small R
        k_b = row["with_number"]
        mc = max(row["mcse_bias"] if _finite(row.get("mcse_bias")) else 0.0,
                 row["mean_se"] / math.sqrt(k_b) if _finite(row.get("mean_se")) else 0.0)
        q = float(stats.t.ppf(0.975, k_b - 1)) if k_b > 1 else float("inf")
        if abs(row["bias"]) - q * mc > tol:
            problems.append(f"|bias| {abs(row['bias']):.3g} exceeds {tol:.3g} beyond Monte "
                            f"Carlo error ({mc:.2g})")
    notes = []
    if not m and row.get("no_interval") == row["with_number"]:
        notes.append("no interval by design: too few treated groups to separate the effect "
                     "from group shocks (causal.inference)")
    if not _finite(row.get("mean_truth")):
        notes.append("the twin gives no truth for this estimand: nothing to check")
    if row["not_identified"]:
        notes.append(f"not identified in {row['not_identified']} replications")
    if m and m < 100:
        notes.append(f"R = {m}: coverage is checked only against gross failures")
    row["failed"] = bool(problems)
    row["status"] = ("FAIL: " + "; ".join(problems) if problems else "ok") + (
        " (" + "; ".join(notes) + ")" if notes else "")
