"""Flexible terms for the propensity score: natural splines and pairwise interactions.

A logit linear in the covariates is the usual default score model, and it is wrong when
selection is nonlinear in them (a U-shape in age, an education x health interaction): the
weights and matches then balance the covariates' means but not their squares or products,
and matching, IPW and AIPW drift (issue 17: -5 pp on a 2.8 pp truth in the ``nonlinear``
stressed twin of sectorplan_training). The ``flexible`` score model keeps the logit (and so
its MLE information matrix, which the Abadie-Imbens (2016) matching variance and the
weighting influence functions need) but lets the data choose its terms among nested designs

- ``linear``: the covariates (one-hot for categories);
- ``splines``: plus a natural cubic spline of each continuous covariate (knots at quantiles;
  the truncated-power basis of Hastie, Tibshirani and Friedman 2009, eq. 5.4-5.5, which is
  linear beyond the boundary knots and, unlike formulaic's ``cr()``, leaves out the linear
  part, so the linear design nests in it and the information matrix stays nonsingular);
- ``splines+interactions``: plus the products of every pair of covariate columns,

by AIC, which is asymptotically the leave-one-out cross-validated log-loss (Stone 1977) at
a third of the cost of 5-fold cross-validation of three designs (the design with the
lowest wins; the linear logit is always a candidate, so a correctly specified linear score
stays the choice on average). A design is a candidate only with at least ``EPV`` persons of the
smaller group per column (Peduzzi et al. 1996, events per variable). On large data the
design is chosen on a random subsample of 100,000 rows and only the chosen one is fitted on
every row (and only when its matrix fits a memory budget).

:func:`nonlinear_balance` is the check that goes with any score model: after matching or
weighting, the standardised mean differences of the squares and pairwise products of the
covariates (Austin 2009 on balance in higher moments and interactions; Zubizarreta 2015),
with a warning when one exceeds 0.1 and three times the sampling SD of a balanced term's SMD,
sqrt(1/ESS_1 + 1/ESS_0): dozens of terms are checked at once, and after matching with
replacement the effective sizes are small, so 0.1 alone flagged a quarter of the unstressed
sectorplan_training twins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: least persons in the smaller group per design column for a design to be a candidate
EPV = 10
#: largest expanded design (rows x columns) on large data, in matrix elements (~400 MB)
MAX_ELEMENTS = 50_000_000
#: interior knots of each natural spline: its nonlinear columns are KNOTS - 2
KNOTS = 5
#: a nonlinear term is flagged beyond this many sampling SDs of a balanced SMD (and 0.1)
NOISE_SDS = 3.0
#: the balance of the nonlinear terms is computed on at most this many rows (a subsample)
BALANCE_ROWS = 200_000
#: a column with more distinct values than this counts as continuous (splines, squares)
CONTINUOUS_MIN_VALUES = 10


def _continuous(X: np.ndarray) -> np.ndarray:
    """Indices of the columns with more than CONTINUOUS_MIN_VALUES distinct values."""
    S = X[: min(len(X), 50_000)]
    return np.array([j for j in range(X.shape[1])
                     if len(np.unique(S[:, j])) > CONTINUOUS_MIN_VALUES], dtype=int)


def spline_knots(x: np.ndarray, k: int = KNOTS) -> np.ndarray:
    """Knots at the quantiles of ``x`` recommended by Harrell (2015, table 2.3) for k = 5:
    5%, 27.5%, 50%, 72.5%, 95% (equally spaced quantiles for other k); duplicates dropped."""
    q = (np.array([0.05, 0.275, 0.5, 0.725, 0.95]) if k == 5
         else np.linspace(0.05, 0.95, k))
    return np.unique(np.quantile(x, q))


def natural_spline(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The nonlinear columns of a natural cubic spline (Hastie, Tibshirani and Friedman 2009,
    eq. 5.4-5.5): N_{j+2}(x) = d_j(x) - d_{K-1}(x), d_j = ((x - k_j)^3_+ - (x - k_K)^3_+) /
    (k_K - k_j), j = 1..K-2; together with 1 and x they span the natural spline. Columns are
    divided by the squared knot range so that they are of the order of x."""
    K = len(knots)
    if K < 3:
        return np.empty((len(x), 0))
    span = knots[-1] - knots[0]

    def dk(j: int) -> np.ndarray:
        return (np.maximum(x - knots[j], 0.0) ** 3 - np.maximum(x - knots[-1], 0.0) ** 3) / (
            knots[-1] - knots[j])

    last = dk(K - 2)
    return np.column_stack([dk(j) - last for j in range(K - 2)]) / span ** 2


@dataclass
class Expansion:
    """The terms of a score design: which columns get splines, which pairs are multiplied.
    Fixed on the data it was chosen on; :meth:`transform` applies it to any rows."""

    names: list[str]
    level: str = "linear"                                   # linear | splines | ...
    knots: dict[int, np.ndarray] = field(default_factory=dict)
    pairs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        out = list(self.names)
        for j, kn in self.knots.items():
            out += [f"spline{i + 1}({self.names[j]})" for i in range(max(len(kn) - 2, 0))]
        out += [f"{self.names[a]} x {self.names[b]}" for a, b in self.pairs]
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The covariates first (in their order), then spline columns, then products."""
        X = np.asarray(X, dtype=float)
        if self.level == "linear":
            return X
        cols = [X]
        for j, kn in self.knots.items():
            cols.append(natural_spline(X[:, j], kn))
        if self.pairs:
            a, b = np.array(self.pairs).T
            cols.append(X[:, a] * X[:, b])
        return np.column_stack(cols)


def candidates(X: np.ndarray, names: list[str]) -> list[Expansion]:
    """The nested designs (linear, splines, splines+interactions) for the columns of X.
    Products that do not vary or copy a column (dummies of one category, a dummy with
    itself) are left out."""
    cont = _continuous(X)
    knots = {int(j): kn for j in cont if len(kn := spline_knots(X[:, j])) >= 3}
    out = [Expansion(list(names))]
    if knots:
        out.append(Expansion(list(names), "splines", knots))
    S = X[: min(len(X), 50_000)]
    pairs = []
    for a in range(X.shape[1]):
        for b in range(a + 1, X.shape[1]):
            prod = S[:, a] * S[:, b]
            if np.ptp(prod) == 0 or np.array_equal(prod, S[:, a]) or np.array_equal(prod, S[:, b]):
                continue
            pairs.append((a, b))
    if pairs:
        out.append(Expansion(list(names), "splines+interactions", knots, pairs))
    return out


def choose(X: np.ndarray, d: np.ndarray, names: list[str], seed: int = 0
           ) -> tuple[Expansion, Any, dict[str, Any]]:
    """The design with the lowest AIC among :func:`candidates` that pass the
    events-per-variable rule and the memory budget. AIC is asymptotically the leave-one-out
    cross-validated log-loss (Stone 1977), at the cost of one fit per design instead of one
    per design and fold. Returns the design, its fitted :class:`propensity.Logit` and a
    record of the comparison (``aic`` per design, ``chosen``) for the diagnostics."""
    from causal.estimators.propensity import LARGE, SUBSAMPLE, Logit

    n = len(d)
    if n > LARGE:  # large data: choose on a random subsample, fit the chosen on every row
        sub = np.sort(np.random.default_rng(seed).choice(n, SUBSAMPLE, replace=False))
        best, sub_fit, rec = choose(X[sub], d[sub], names, seed)
        rec["n"] = n
        rec["chosen_on"] = f"a random subsample of {SUBSAMPLE} rows"
        beta0 = sub_fit.beta  # Logit.fit's own subsample is this one: its MLE starts Newton
        if best.level != "linear" and n * len(best.terms) > MAX_ELEMENTS:
            best, beta0 = candidates(X[sub], names)[0], None
            rec.update(chosen="linear", over_budget=True)
        return best, Logit(seed).fit(best.transform(X), d, beta0=beta0), rec
    small = int(min(d.sum(), n - d.sum()))
    every = candidates(X, names)
    cands = [c for i, c in enumerate(every) if i == 0 or len(c.terms) * EPV <= small]
    rec: dict[str, Any] = {"criterion": "AIC (Stone 1977: asymptotically leave-one-out "
                           "cross-validated log-loss)", "n": n,
                           "columns": {c.level: len(c.terms) for c in every}}
    best, best_fit, best_aic, aic, prev = None, None, np.inf, {}, None
    for c in cands:
        # the designs are nested (each adds columns after the last one's, standardised the
        # same way): the previous MLE padded with zeros is a warm start for the next
        b0 = None if prev is None else np.concatenate([prev, np.zeros(len(c.terms) + 1
                                                                      - len(prev))])
        fit = Logit(seed).fit(c.transform(X), d, beta0=b0)
        prev = fit.beta if fit.converged else None
        eta = fit.Z @ fit.beta
        a = 2.0 * float(np.sum(np.logaddexp(0.0, eta) - d * eta)) + 2.0 * (len(c.terms) + 1)
        aic[c.level] = round(a, 2)
        if a < best_aic - 1e-9 and (fit.converged or c is cands[0]):
            best, best_fit, best_aic = c, fit, a
    rec.update(aic=aic, chosen=best.level)
    if len(cands) < len(every):
        rec["left_out"] = {c.level: f"fewer than {EPV} persons of the smaller group per column"
                           for c in every if c not in cands}
    return best, best_fit, rec


def nonlinear_terms(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Squares of the continuous covariates and products of every pair of columns (those
    that vary and are not copies of a column): the terms a linear score leaves unbalanced."""
    cont = _continuous(X)
    exp = candidates(X, names)[-1]
    cols = [X[:, j] ** 2 for j in cont] + [X[:, a] * X[:, b] for a, b in exp.pairs]
    labels = [f"{names[j]}^2" for j in cont] + [f"{names[a]} x {names[b]}" for a, b in exp.pairs]
    if not cols:
        return np.empty((len(X), 0)), []
    return np.column_stack(cols), labels


def balance_terms(X: np.ndarray, names: list[str]
                  ) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
    """The rows (a random subsample above BALANCE_ROWS; None: all) and their
    :func:`nonlinear_terms`, for :func:`nonlinear_balance`; computed once when several
    weightings of the same rows are checked (matching's ATT and ATE)."""
    X = np.asarray(X, dtype=float)
    keep = None
    if len(X) > BALANCE_ROWS:  # the terms of a random subsample: no n x terms matrix
        keep = np.sort(np.random.default_rng(0).choice(len(X), BALANCE_ROWS, replace=False))
        X = X[keep]
    T, labels = nonlinear_terms(X, names)
    return keep, T, labels


def nonlinear_balance(X: np.ndarray | None, names: list[str], d: np.ndarray, w_after: np.ndarray,
                      what: str, terms: tuple | None = None) -> tuple[dict[str, Any], list[str]]:
    """Balance of the squares and pairwise products after matching or weighting: the largest
    |SMD| after, the terms above the threshold (0.1, or three sampling SDs of a balanced SMD
    if more; at most 10, with the persons in each group: n), and a warning when there are any. A score model that balances the means but not these terms
    leaves bias when selection or the outcome is nonlinear in the covariates. ``terms``:
    :func:`balance_terms` of ``X``, when already computed (then ``X`` may be None)."""
    from causal.estimators.balance import SMD_THRESHOLD, balance_table, effective_sample_size

    keep, T, labels = balance_terms(X, names) if terms is None else terms
    d, w_after = np.asarray(d), np.asarray(w_after, float)
    if keep is not None:
        d, w_after = d[keep], w_after[keep]
    if not labels:
        return {"n_terms": 0}, []
    tab = balance_table(T, d, w_after, names=labels)
    if "smd_after" not in tab:
        return {"n_terms": len(labels)}, []
    a = np.abs(tab["smd_after"].to_numpy(float))
    order = np.argsort(-np.nan_to_num(a))
    # chance alone: a balanced term's SMD has a sampling SD of about sqrt(1/ESS_1 + 1/ESS_0)
    # (Kish effective sizes of the weighted groups), and many terms are checked at once
    noise = math.sqrt(sum(1.0 / max(effective_sample_size(w_after[d == g]), 1.0)
                          for g in (0, 1)))
    limit = max(SMD_THRESHOLD, NOISE_SDS * noise)
    bad = [int(i) for i in order if a[i] > limit]
    n1, n0 = int((d == 1).sum()), int((d == 0).sum())
    diag = {"n_terms": len(labels), "max_abs_smd_after": float(np.nanmax(a)),
            "threshold": round(limit, 4), "n_above_threshold": len(bad),
            "worst": [{"term": labels[i], "smd_after": round(float(tab["smd_after"].iloc[i]), 4),
                       "n": n1 + n0, "n_treated": n1, "n_control": n0} for i in bad[:10]]}
    warns = []
    if bad:
        shown = ", ".join(labels[i] for i in bad[:4]) + (" ..." if len(bad) > 4 else "")
        warns.append(f"after {what}, {len(bad)} squared or interaction term(s) of the "
                     f"covariates still differ by more than {limit:.2g} standard deviations "
                     f"({shown}): "
                     "selection may be nonlinear in the covariates and the score model may "
                     "miss it; the estimate may carry residual bias (try propensity: flexible "
                     "or gbm)")
    return diag, warns
