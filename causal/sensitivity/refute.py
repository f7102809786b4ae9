"""dowhy refuters (Sharma and Kiciman 2020): placebo treatment, random common cause, data
subset, and the unobserved common cause (:mod:`causal.sensitivity.bounds`).

Refuters re-estimate many times, so they run on a fast re-estimate (backdoor linear
regression on the Study's adjustment set), once per Study, for observational designs only.
Each is judged against the standard error of that re-estimate, never against the outcome's
scale (a move of 1.3 on an outcome in euros is nothing if the standard error is 50).
Switch them off with ``NETTO_REFUTE=0`` or ``run_estimator(..., refute=False)``.

Large-n policy: above ``REFUTE_MAX_ROWS`` (20,000) rows the refuters and the bounds that
share their frame run on one fixed random subsample of that many rows (seed 20170), drawn
before any column is touched, and every reading says so. A refuter asks whether the
re-estimate moves by more than its own noise; 20,000 rows answer that as well as a million,
and their cost stays about constant (1.8 CPU-s for all four at 1M rows, measured on the
shared 2-core machine).
"""
from __future__ import annotations

import logging
import math
import os
import warnings
import weakref
from typing import Any

import numpy as np
import pandas as pd

#: dowhy refutations per Study (refuters are slow; every estimate of a Study shares them).
_REFUTED: dict[int, tuple[weakref.ref, list[dict[str, Any]]]] = {}
#: rows above which the refuters run on a (deterministic) random subsample.
REFUTE_MAX_ROWS = 20_000
REFUTE_SIMULATIONS = 10


def refute_enabled(refute: bool | None = None) -> bool:
    """``refute`` if given, else the environment: ``NETTO_REFUTE=0`` switches refuters off."""
    if refute is not None:
        return refute
    return os.environ.get("NETTO_REFUTE", "1").strip().lower() not in ("0", "false", "no", "off")


def _refute_frame(study) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Numeric frame for dowhy: treatment ``d``, outcome ``y`` (reporting scale), covariates
    renamed to ``w0..wk`` (one-hot, constant columns dropped), and a note on subsampling."""
    X = study.design_matrix().reset_index(drop=True)
    d, y = study.d().astype(bool), study.y()
    note = ""
    if len(X) > REFUTE_MAX_ROWS:  # large-n policy: subsample first (the rows df.sample drew)
        pos = np.random.RandomState(20170).choice(len(X), REFUTE_MAX_ROWS, replace=False)
        X, d, y = X.iloc[pos].reset_index(drop=True), d[pos], y[pos]
        note = f" (on a random subsample of {REFUTE_MAX_ROWS} of {len(study.data)} rows)"
    X = X.loc[:, X.std(ddof=0) > 1e-12] if X.shape[1] else X
    names = {f"w{i}": str(c) for i, c in enumerate(X.columns)}
    X.columns = list(names)
    df = pd.concat([X, pd.DataFrame({"d": d, "y": y})], axis=1)
    return df, names, note


def refutations(study, simulations: int = REFUTE_SIMULATIONS) -> list[dict[str, Any]]:
    """Run dowhy's refuters on a backdoor linear-regression re-estimate (cached per Study).

    Each result: ``{"name", "value", "reading", "passed", ...}``; values in the outcome's
    unit. Deterministic: fixed random states.
    """
    hit = _REFUTED.get(id(study))
    if hit is not None and hit[0]() is study:
        return [dict(r) for r in hit[1]]
    out = _run_refuters(study, simulations)
    _REFUTED.clear()  # one Study at a time, like the batch workers' cache
    _REFUTED[id(study)] = (weakref.ref(study), out)
    return [dict(r) for r in out]


def _run_refuters(study, simulations: int) -> list[dict[str, Any]]:
    from dowhy import CausalModel

    df, names, note = _refute_frame(study)
    u = study.unit
    common = list(names)
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=df, treatment="d", outcome="y", common_causes=common or None)
        # every w is a common cause of d and y, so the one valid set is all of them: ask for
        # the maximal set rather than dowhy's default search over subsets (exponential in
        # the number of columns: 137,000 backdoor checks, 90 s, for 21 one-hot columns)
        ident = model.identify_effect(method_name="maximal-adjustment",
                                      proceed_when_unidentifiable=True)
        est = model.estimate_effect(ident, method_name="backdoor.linear_regression",
                                    test_significance=False, confidence_intervals=False)
        base = float(est.value)
        # the regression's own standard error, to judge how far a refuter moved it
        se = _ols_se(df, common)
        where = (f"re-estimated by linear regression on the adjustment set{note}: "
                 f"{base:.2f} {u}")
        res: list[dict[str, Any]] = []

        def row(name: str, r, shift: float, ok: bool, reading: str, verdict: tuple[str, str]
                ) -> dict[str, Any]:
            """One refuter's record: its move in standard errors of the re-estimate and a
            reading that ends in the verdict (passed, not passed)."""
            return {"name": name, "value": float(r.new_effect), "original": base, "passed": ok,
                    "se": se, "shift_se": _in_se(shift, se), "p_value": _p(r),
                    "simulations": simulations, "reading": reading + (verdict[0] if ok
                                                                     else verdict[1])}

        r = model.refute_estimate(ident, est, method_name="placebo_treatment_refuter",
                                  placebo_type="permute", num_simulations=simulations,
                                  random_state=np.random.RandomState(1))
        new = float(r.new_effect)
        # each permutation estimate spreads about one standard error around zero, so their
        # mean lies within 4 se / sqrt(k) of zero unless the machinery makes an effect
        res.append(row(
            "placebo treatment", r, new, abs(new) <= 4 * se / math.sqrt(simulations),
            f"With the treatment shuffled at random the effect is {new:.2f} {u} (mean of "
            f"{simulations}; {where}). ", ("Near zero, as it should be.", "Not near zero: the "
                                           "model, not the treatment, produces an effect.")))

        r = model.refute_estimate(ident, est, method_name="random_common_cause",
                                  num_simulations=simulations,
                                  random_state=np.random.RandomState(2))
        new = float(r.new_effect)
        res.append(row(
            "random common cause", r, new - base, abs(new - base) <= 0.5 * se,
            f"Adding a random confounder moves the estimate from {base:.2f} to {new:.2f} {u} "
            f"({_in_se(new - base, se):+.2f} standard errors). ",
            ("Stable, as it should be.", "Unstable: the estimate depends on noise.")))

        r = model.refute_estimate(ident, est, method_name="data_subset_refuter",
                                  subset_fraction=0.8, num_simulations=simulations,
                                  random_state=np.random.RandomState(3))
        new = float(r.new_effect)
        # an 80% subset's estimate spreads se * sqrt(0.2 / 0.8) around the full-data one
        res.append(row(
            "data subset (80%)", r, new - base,
            abs(new - base) <= 4 * 0.5 * se / math.sqrt(simulations),
            f"On random 80% subsets the estimate averages {new:.2f} {u} against {base:.2f} on "
            f"all data ({_in_se(new - base, se):+.2f} standard errors). ",
            ("Stable, as it should be.", "Unstable: a few persons drive the estimate.")))
        if common:
            from causal.sensitivity.bounds import study_bounds, unobserved_row

            res.append(unobserved_row(study_bounds(study, nonparametric=False)["linear"], u))
    return res


def _in_se(shift: float, se: float) -> float:
    """A move in standard errors of the re-estimate (the yardstick of every refuter here,
    never the outcome's scale)."""
    return float(shift / se) if se > 0 and math.isfinite(se) else float("nan")


def _p(r) -> float | None:
    try:
        return float(r.refutation_result["p_value"])
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


def _ols_se(df: pd.DataFrame, common: list[str]) -> float:
    """Conventional OLS standard error of the treatment coefficient (a yardstick only)."""
    X = np.column_stack([np.ones(len(df)), df["d"].to_numpy(float),
                         *(df[c].to_numpy(float) for c in common)])
    y = df["y"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = max(len(y) - np.linalg.matrix_rank(X), 1)
    cov = np.linalg.pinv(X.T @ X) * (resid @ resid / dof)
    return float(np.sqrt(max(cov[1, 1], 0.0)))

