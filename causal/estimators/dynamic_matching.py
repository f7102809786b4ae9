"""Dynamic matching on elapsed benefit duration (Sianesi 2004).

When a service can start at any month of a benefit spell, "served" against "never served" is
biased even with every trait measured: those who find work early never get the chance to be
served (seed notes 002 §8 items 1-2, 000 EP11, 003 P6). Sianesi's (2004) estimand compares,
at each elapsed month u, those who start at u with those still on benefit and not yet served
at u, who may start later ("now versus waiting"). Per month u: a logit propensity of starting
at u among the persons at risk (still on benefit, not yet served), 1:k nearest-neighbour
matching with replacement on its logit within a caliper, and the outcome "found work in
months u .. u+H-1". The ATT averages the matched differences over all starters (u up to the
last month with a full horizon).

Standard error: the Abadie and Imbens (2006) form for matching with replacement, per month
(the matched differences' spread plus the reuse of controls, K_j^2 - K_j times the pooled
outcome variance of that month's comparison pool), treating the propensity scores as known
(Abadie and Imbens 2016 show this is conservative for the ATE, not always for the ATT).

Written here because no library does matching within the risk set of each elapsed month;
the propensity model and the nearest-neighbour search are the project's own
(causal.estimators.propensity, causal.estimators.matching.SortedPool).
"""
from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy import stats

from causal.errors import DataError, EstimationError
from causal.estimators import Options, estimator
from causal.estimators.propensity import covariate_matrix, fit_propensity
from causal.result import Estimate


class DynamicMatchingOptions(Options):
    start: str = Field("start_month", description="Column: month of the spell in which the "
                       "service started (empty: never within follow-up).")
    exit: str = Field("exit_month", description="Column: month of the spell in which the person "
                      "left for work (empty: not within follow-up).")
    follow_up: int = Field(24, ge=2, description="Months every spell is followed.")
    horizon: int | None = Field(None, ge=1, description="Months after the start in which the "
                                "outcome counts (default: the spec's outcome horizon).")
    k: int = Field(1, ge=1, le=10, description="Matches per starter.")
    caliper: float | None = Field(0.2, gt=0, description="In SDs of the month's logit score.")
    min_starters: int = Field(5, ge=1, description="Months with fewer starters are skipped.")
    alpha: float = Field(0.05, gt=0, lt=0.5)


def _months(study, col: str, option: str) -> np.ndarray:
    if col not in study.data.columns:
        raise DataError(study.source, col, f"the dynamic_matching option '{option}' names this "
                        "column, which is not in the data")
    return study.data[col].to_numpy(dtype=float)


@estimator("dynamic_matching", DynamicMatchingOptions, assignments=("observational",))
def dynamic_matching(study, options: DynamicMatchingOptions) -> list[Estimate]:
    """Sianesi (2004) dynamic matching: starters at each elapsed month against those still
    waiting, matched on the month's propensity score; ATT of starting now rather than later."""
    start = _months(study, options.start, "start")
    exit_m = _months(study, options.exit, "exit")
    H = options.horizon or study.spec.outcome.horizon_months or 12
    last_u = options.follow_up - H
    if last_u < 0:
        raise EstimationError(f"follow_up ({options.follow_up}) is shorter than the horizon ({H})")
    X = covariate_matrix(study).to_numpy(dtype=float)
    diffs, y_treated, var_terms = [], [], 0.0
    used_controls: set[int] = set()
    months_used, skipped = 0, 0
    for u in range(last_u + 1):
        at_risk = (np.isnan(exit_m) | (exit_m >= u)) & (np.isnan(start) | (start >= u))
        now = at_risk & (start == u)
        pool = at_risk & ~(start == u)
        if now.sum() < options.min_starters or pool.sum() < options.k:
            skipped += int(now.sum())
            continue
        rows = np.flatnonzero(at_risk)
        d = now[rows].astype(float)
        fit = fit_propensity(X[rows], d)
        lg = fit.logit
        t_idx, c_idx = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
        order = np.argsort(lg[c_idx], kind="stable")
        c_sorted, lg_c = c_idx[order], lg[c_idx][order]
        width = None if options.caliper is None else options.caliper * float(np.std(lg))
        y = ((exit_m[rows] >= u) & (exit_m[rows] < u + H)).astype(float)
        counts = np.zeros(rows.size)
        for i in t_idx:
            pos = np.searchsorted(lg_c, lg[i])
            lo, hi = max(0, pos - options.k), min(lg_c.size, pos + options.k)
            cand = c_sorted[lo:hi]
            dist = np.abs(lg[cand] - lg[i])
            pick = cand[np.argsort(dist, kind="stable")[:options.k]]
            if width is not None:
                pick = pick[np.abs(lg[pick] - lg[i]) <= width]
            if pick.size == 0:
                skipped += 1
                continue
            diffs.append(y[i] - y[pick].mean())
            y_treated.append(y[i])
            counts[pick] += 1.0 / pick.size
        ybar = y[c_idx].mean()
        var_terms += float(((counts ** 2 - counts) * ybar * (1 - ybar)).sum())
        used = rows[counts > 0]
        used_controls.update(used.tolist())
        months_used += 1
    if not diffs:
        raise EstimationError("no starter could be matched: too few starters per month or no "
                              "one waiting with a similar score")
    diffs_a = np.asarray(diffs)
    n1 = diffs_a.size
    att = float(diffs_a.mean())
    var = (float(((diffs_a - att) ** 2).sum()) + var_terms) / n1 ** 2
    se = float(np.sqrt(var)) * 100
    z = float(stats.norm.ppf(1 - options.alpha / 2))
    net = 100 * att
    gross = 100 * float(np.mean(y_treated))
    warnings = []
    if skipped:
        warnings.append(f"{skipped} starters were left out (a month with fewer than "
                        f"{options.min_starters} starters, no full {H}-month horizon, or no "
                        "match within the caliper)")
    return [study.estimate(
        "dynamic_matching", "ATT", net, (net - z * se, net + z * se), se, gross=gross,
        n_treated=n1, n_control=len(used_controls),
        method=(f"Dynamic matching (Sianesi 2004): at each elapsed month, starters against "
                f"those still waiting, {options.k}:1 nearest neighbour on the month's logit "
                f"propensity score with replacement (caliper {options.caliper} SD); outcome "
                f"work within {H} months of the month; Abadie-Imbens (2006) variance with the "
                "scores taken as known."),
        diagnostics={"months_matched": months_used, "horizon_months": H},
        warnings=warnings)]
