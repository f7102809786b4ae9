"""Confidence sets for a synthetic control by inverting its placebo (permutation) test
(Firpo and Possebom 2018).

Under the sharp null "the measure moved the treated unit's outcome by c in every period from
the intervention", the treated unit's untreated series is its observed one minus c there, and
the placebo-in-space test (Abadie, Diamond and Hainmueller 2010) of that null ranks the
treated unit's test statistic, recomputed on the adjusted series, among the J placebos'. The
confidence set collects every c the test does not reject at level alpha. Here the synthetic
control's weights (ADH and ridge-augmented alike) are fitted on the pre-intervention periods
only and the treated unit is never a placebo's donor, so subtracting c moves the treated
unit's post-period gaps by exactly -c and leaves every placebo's untouched: the set is found
in closed form, with no refit per c.

Test statistic: the average post-period gap divided by the unit's leave-one-period-out
cross-validated pre-period RMSPE (each pre period predicted from weights fitted on the other
pre periods). Why not the plain RMSPE ratio of ADH (2010) and Firpo and Possebom: with many
donors and few pre periods the weights chase the pre-period noise, so a unit's in-sample
pre-period RMSPE is deflated by an amount that varies from unit to unit (near zero for some),
and the ratio's rank is then mostly noise; the cross-validated RMSPE measures how well the
unit can be reproduced out of sample, which is what scales its post-period gap. Both
statistics are functions of each unit's own gaps computed the same way for the treated unit
and the placebos, so the permutation test keeps its exact level under exchangeability.

Granularity: with J placebos the attainable p-values are multiples of 1/(J + 1); the set
excludes c when fewer than m placebos reach the treated unit's statistic, m the smallest
integer with (1 + m) / (J + 1) > alpha, so its exact level is 1 - m / (J + 1) (e.g. 96.8% with
30 placebos at alpha 0.05). With 1 / (J + 1) > alpha (18 placebos or fewer at 5%) the test
can never reject and the set is the whole real line: unbounded, said in words, never a number.

Assumed: the units are exchangeable (the treated one could as well have been any other), so
under the null its statistic is a random draw from the J + 1; a treated unit more central
among the donors than the placebos makes the set conservative, one at the edge of the donor
cloud makes it too narrow.

Alternative considered: conformal inference over time (Chernozhukov, Wuthrich and Zhu 2021)
refits the weights on all periods under each null and permutes residuals over time. With
about 10 pre and 3 post years it has 12 moving-block permutations (p >= 1/12, so no 5% test)
or needs exchangeable (not autocorrelated) errors, and with many donors the refit absorbs
much of a wrong c: on the Almere twin its set was wider (mean width 1.7 pp, coverage 1.00,
40 twins) than the placebo set's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def loo_rmspe(Y: pd.DataFrame, unit: str, pool: list[str], pre: np.ndarray) -> float:
    """Leave-one-period-out cross-validated pre-period RMSPE of ``unit`` reproduced from
    ``pool`` by ADH weights (equal V): each pre period predicted from weights fitted on the
    other pre periods (exact simplex least squares, :func:`causal.estimators.synth.simplex_ls`)."""
    from causal.estimators.synth import simplex_ls

    y = Y.loc[pre, unit].to_numpy(dtype=float)
    X = Y.loc[pre, pool].to_numpy(dtype=float)
    err = []
    for t in range(len(y)):
        m = np.arange(len(y)) != t
        w, _ = simplex_ls(np.eye(int(m.sum())), X[m], y[m])
        err.append(y[t] - X[t] @ w)
    return float(np.sqrt(np.mean(np.square(err))))


def placebo_threshold(n_placebos: int, alpha: float) -> int:
    """m: the smallest number of placebos at or above the treated unit's statistic for which
    the permutation p-value (1 + m) / (J + 1) exceeds alpha (0: the test never rejects)."""
    return int(np.floor(alpha * (n_placebos + 1) + 1e-9))


def confidence_set(gap_treated: float, scale_treated: float, placebo_stats: np.ndarray,
                   alpha: float) -> dict:
    """The Firpo-Possebom set for a constant effect: every c with permutation p-value > alpha,
    where the treated unit's statistic is |gap_treated - c| / scale_treated and
    ``placebo_stats`` are the placebos' |average post gap| / scale.

    Returns ``low``/``high`` (None when unbounded), the exact ``level`` 1 - m / (J + 1), ``m``
    and the number of placebos; ``p_zero`` is the p-value of 'no effect' (c = 0).
    """
    s = np.sort(np.asarray(placebo_stats, dtype=float))[::-1]
    J = len(s)
    m = placebo_threshold(J, alpha)
    stat0 = abs(gap_treated) / scale_treated
    p_zero = float((1 + (s >= stat0 - 1e-12).sum()) / (J + 1))
    out = {"placebos": J, "m": m, "p_zero": p_zero, "granularity": 1.0 / (J + 1)}
    if m == 0 or not np.isfinite(s[m - 1]):
        return {**out, "low": None, "high": None, "level": 1.0, "bounded": False}
    half = scale_treated * float(s[m - 1])
    return {**out, "low": gap_treated - half, "high": gap_treated + half,
            "level": 1.0 - m / (J + 1), "bounded": True}
