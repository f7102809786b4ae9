"""Sensitivity bounds: how far a hidden confounder as strong as an observed one could move
the estimate, benchmarked on each observed confounder (dowhy's partial-R2 methods).

- **Cinelli and Hazlett (2020)**, for every observational estimate: the robustness value
  and, per observed confounder ``w_j``, the bias of a hidden confounder ``u`` that explains as
  much residual variance of the treatment and of the outcome as ``w_j`` does (their
  section 6.2 bounds, ``k_D = k_Y = 1``), from a linear regression of the outcome on the
  treatment and the adjustment set. Built on dowhy's ``LinearSensitivityAnalyzer`` (the
  engine of ``add_unobserved_common_cause`` with ``simulation_method="linear-partial-R2"``):
  its partial R2, robustness value and bias-adjusted estimates. One benchmark formula (three
  lines) is written here because dowhy's loop over benchmark covariates keeps only the last
  one and cannot take a group of columns (a categorical confounder's dummies).
- **Chernozhukov, Cinelli, Newey, Sharma and Syrgkanis (2022)**, for matching, weighting and
  DML: the nonparametric bound ``|bias| <= S C_g C_alpha`` with the Riesz representer of the
  average effect estimated by a cross-fitted propensity model (dowhy's
  ``NonParametricSensitivityAnalyzer``, ``plugin_reisz=True``), benchmarked on the
  :data:`NP_BENCHMARKS` confounders with the largest linear bias.

Cost (these run inside ``causal run`` for every observational spec): the linear bounds use
the refuters' frame (at most ``REFUTE_MAX_ROWS`` rows, a fixed random subsample above that);
the nonparametric bound runs on at most :data:`NP_MAX_ROWS` rows, 3 folds, a small gradient
boosting outcome model and a logistic propensity model, for :data:`NP_BENCHMARKS` benchmarks
(about 5 s each on a 2-core machine). Both are cached per Study.

How the bounds are applied to an estimate: the bias of the benchmark (a size, in the
outcome's unit) is taken off the estimate toward zero (the direction that threatens the
conclusion; confounding that inflated the estimate), and the estimate's own interval is
moved with it (and, for the linear bound, widened by the Cinelli-Hazlett standard-error
factor sqrt((1 - R2_Y~U|DX) / (1 - R2_D~U|X))). The nonparametric bound targets the average
effect; applied to an ATT it is an approximation, and its interval leaves out the error in
estimating the bias itself. Assumed: a hidden confounder no stronger than the benchmark.
"""
from __future__ import annotations

import contextlib
import logging
import math
import re
import warnings
import weakref
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

#: nonparametric bounds: rows (random subsample above) and number of benchmark confounders
NP_MAX_ROWS = 5_000
NP_BENCHMARKS = 2
NP_FOLDS = 3
#: estimators whose estimates get the nonparametric bound (the others the linear one)
NONPARAMETRIC = ("propensity_matching", "ipw", "aipw", "dml")
_CACHE: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def _groups(names: dict[str, str], covariates: list[str]) -> dict[str, list[str]]:
    """Confounder -> its columns in the frame (``w0..wk``; a categorical has several)."""
    out: dict[str, list[str]] = {}
    for w, col in names.items():
        # the covariate named in the column as a whole word: education[T.mbo],
        # C(education)[T.mbo], I(age ** 2), education_mbo (pandas dummies)
        owner = max((c for c in covariates if col == c or col.startswith(f"{c}_")
                     or re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", col)),
                    key=len, default=col)
        out.setdefault(owner, []).append(w)
    return out


class LinearBounds:
    """Cinelli and Hazlett (2020) bounds of the regression of ``y`` on ``d`` and the
    adjustment set, by dowhy's ``LinearSensitivityAnalyzer``."""

    def __init__(self, df: pd.DataFrame, groups: dict[str, list[str]]):
        import statsmodels.api as sm
        from dowhy.causal_refuters.linear_sensitivity_analyzer import LinearSensitivityAnalyzer

        cols = [w for ws in groups.values() for w in ws]
        xmap = {w: f"x{i + 2}" for i, w in enumerate(cols)}  # dowhy's names: x1 = treatment
        exog = pd.concat([pd.Series(1.0, index=df.index, name="const"),
                          df["d"].astype(float).rename("x1"),
                          df[cols].astype(float).rename(columns=xmap)], axis=1)
        model = sm.OLS(df["y"].astype(float), exog).fit()
        stub = SimpleNamespace(model=model, _observed_common_causes=df[cols].astype(float))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = LinearSensitivityAnalyzer(estimator=stub, data=df, treatment_name=["d"],
                                          confounder_increases_estimate=True,
                                          benchmark_common_causes=cols[:1],
                                          frac_strength_treatment=[1.0],
                                          frac_strength_outcome=[1.0], common_causes_order=cols)
            a.check_sensitivity(plot=False)
        self.analyzer = a
        self.estimate = float(a.estimate)
        self.se = float(a.standard_error)
        self.dof = int(a.degree_of_freedom)
        self.rv = float(a.stats["robustness_value"])
        self.rv_alpha = float(a.stats["robustness_value_alpha"])
        tmodel = a.treatment_regression()
        self.benchmarks: dict[str, dict[str, float]] = {}
        for name, ws in groups.items():
            xs = [xmap[w] for w in ws]
            key = xs[0] if len(xs) == 1 else xs
            r2t = float(a.partial_r2_func(tmodel, key))
            r2y = float(a.partial_r2_func(model, key))
            r2tu, r2yu = benchmark_r2(r2t, r2y)
            self.benchmarks[name] = {"r2_treatment": r2tu, "r2_outcome": r2yu,
                                     "bias": self.bias(r2tu, r2yu),
                                     "se_factor": math.sqrt(max(1 - r2yu, 0) / (1 - r2tu))}

    def bias(self, r2tu: Any, r2yu: Any) -> Any:
        """|bias| of the regression estimate for a hidden confounder of these partial R2
        (dowhy's ``compute_bias_adjusted``, moved toward zero)."""
        adj = self.analyzer.compute_bias_adjusted(np.asarray(r2tu, float), np.asarray(r2yu, float))
        return np.abs(self.estimate - adj["bias_adjusted_estimate"])


def benchmark_r2(r2t: float, r2y: float, k: float = 1.0) -> tuple[float, float]:
    """Partial R2 of a hidden confounder ``k`` times as strong as a benchmark covariate with
    partial R2 ``r2t`` (treatment on it, given the others) and ``r2y`` (outcome, given the
    others and the treatment): Cinelli and Hazlett (2020), section 6.2 (the formula of
    dowhy's ``LinearSensitivityAnalyzer.check_sensitivity``), capped below 1."""
    r2t = min(r2t, 0.999)
    r2tu = min(k * r2t / (1 - r2t), 0.999)
    r2uw = k * r2t ** 2 / ((1 - k * r2t) * (1 - r2t))
    r2yu = ((math.sqrt(k) + math.sqrt(r2uw)) / math.sqrt(1 - r2uw)) ** 2 * r2y / (1 - r2y)
    return r2tu, min(r2yu, 1.0)


@contextlib.contextmanager
def _no_search_for_one_candidate():
    """dowhy chooses each nuisance model of the nonparametric bound by a grid search
    (econml's GridSearchCVList: k cross-validation fits and a refit on every row) even for a
    one-model list with nothing to tune, and then uses the winner only as a template that it
    refits fold by fold. For such lists (the ones :func:`nonparametric_bias` passes) the
    search changes nothing, so this hands dowhy the unfitted model instead: the same bound
    from well under half the fits. Other lists go to dowhy's own search."""
    from dowhy.causal_refuters import non_parametric_sensitivity_analyzer as npsa
    from dowhy.causal_refuters import partial_linear_sensitivity_analyzer as plsa
    from dowhy.causal_refuters import reisz
    from sklearn.base import clone

    search = reisz.get_generic_regressor

    def one(cv, X, Y, max_degree=3, estimator_list=None, estimator_param_list=None,
            numeric_features=None):
        if estimator_list is not None and len(estimator_list) == 1 and \
                not any((estimator_param_list or [{}])[0].values()):
            return clone(estimator_list[0])
        return search(cv, X, Y, max_degree, estimator_list, estimator_param_list,
                      numeric_features)

    mods = (reisz, npsa, plsa)
    for m in mods:
        m.get_generic_regressor = one
    try:
        yield
    finally:
        for m in mods:
            m.get_generic_regressor = search


def nonparametric_bias(df: pd.DataFrame, groups: dict[str, list[str]], benchmark: str,
                       seed: int = 20220) -> dict[str, float]:
    """Chernozhukov et al. (2022) bound benchmarked on one confounder (dowhy's
    ``NonParametricSensitivityAnalyzer``): ``{"bias", "r2_treatment", "r2_outcome",
    "robustness_value"}`` (bias in the outcome's unit)."""
    import joblib
    from dowhy.causal_refuters.non_parametric_sensitivity_analyzer import (
        NonParametricSensitivityAnalyzer,
    )
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = [w for ws in groups.values() for w in ws]
    # dowhy picks its models by a grid search with n_jobs=-1: in a batch worker that spawns
    # a loky process pool per call (half the bound's wall time, and more processes than
    # cores); the one-candidate "grid" gains nothing from it, so run it in this process
    with warnings.catch_warnings(), joblib.parallel_config(backend="sequential"), \
            _no_search_for_one_candidate():
        warnings.simplefilter("ignore")
        a = NonParametricSensitivityAnalyzer(
            estimator=None, observed_common_causes=df[cols].astype(float),
            treatment=df["d"].astype(int), outcome=df["y"].astype(float),
            # scaled first: on raw columns (months, euros) lbfgs took ~800 iterations per fit
            alpha_s_estimator_list=[make_pipeline(StandardScaler(),
                                                  LogisticRegression(C=1.0, max_iter=1000))],
            alpha_s_estimator_param_list=[{}],
            g_s_estimator_list=[HistGradientBoostingRegressor(max_iter=40, max_leaf_nodes=15,
                                                              random_state=seed)],
            g_s_estimator_param_list=[{}], benchmark_common_causes=groups[benchmark],
            frac_strength_treatment=1.0, frac_strength_outcome=1.0, theta_s=0.0,
            plugin_reisz=True, num_splits=NP_FOLDS, shuffle_data=True,
            shuffle_random_seed=seed)
        a.check_sensitivity(plot=False)
    r = a.results.iloc[0]
    return {"bias": float(abs(r["bias"])), "r2_treatment": float(r["r2tu_w"]),
            "r2_outcome": float(r["r2yu_tw"]), "robustness_value": float(a.RV)}


def study_bounds(study, nonparametric: bool = True) -> dict[str, Any]:
    """The Study's linear bounds (always) and nonparametric bounds (when asked), cached."""
    hit = _CACHE.get(id(study))
    if hit is not None and hit[0]() is study and ("nonparametric" in hit[1] or not nonparametric):
        return hit[1]
    from causal.sensitivity.refute import _refute_frame

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    df, names, note = _refute_frame(study)
    groups = _groups(names, list(study.covariates))
    if hit is not None and hit[0]() is study:
        out = hit[1]
    else:
        out = {"linear": LinearBounds(df, groups), "note": note, "n": len(df)}
    if nonparametric:
        lin = out["linear"].benchmarks
        top = sorted(lin, key=lambda c: -lin[c]["bias"])[:NP_BENCHMARKS]
        sub = df
        if len(df) > NP_MAX_ROWS:
            sub = df.sample(NP_MAX_ROWS, random_state=np.random.RandomState(2022))
            sub = sub.reset_index(drop=True)
        out["nonparametric"] = {c: nonparametric_bias(sub, groups, c) for c in top}
        out["np_n"] = len(sub)
    _CACHE.clear()
    _CACHE[id(study)] = (weakref.ref(study), out)
    return out


def bound_estimate(est, sb: dict[str, Any]) -> dict[str, Any]:
    """The bound of one estimate: per benchmark confounder the bias, the estimate moved
    toward zero by it and its interval; the robustness value; a sentence. Goes into
    ``diagnostics["sensitivity_bounds"]`` (summary.json)."""
    lin: LinearBounds = sb["linear"]
    use_np = est.estimator in NONPARAMETRIC and "nonparametric" in sb
    table = sb["nonparametric"] if use_np else lin.benchmarks
    sign = 1.0 if (est.net or 0) >= 0 else -1.0
    rows = []
    unfit = False
    for name, b in table.items():
        bias = b.get("bias")
        if not _finite(bias):  # a benchmark model that did not fit (small samples): no number
            unfit = True
            continue
        f = 1.0 if use_np else b.get("se_factor", 1.0)
        adj = est.net - sign * bias
        lo = hi = None
        if est.ci_low is not None and est.ci_high is not None:
            lo = adj - f * (est.net - est.ci_low)
            hi = adj + f * (est.ci_high - est.net)
        rows.append({"covariate": name, "bias": bias, "estimate": adj, "ci_low": lo,
                     "ci_high": hi, "r2_treatment": b["r2_treatment"],
                     "r2_outcome": b["r2_outcome"]})
    rows.sort(key=lambda r: -r["bias"])
    method = ("Chernozhukov, Cinelli, Newey, Sharma and Syrgkanis (2022), nonparametric "
              f"partial R2 (dowhy), on {sb['np_n']} rows" if use_np else
              "Cinelli and Hazlett (2020), linear partial R2 (dowhy), on the regression "
              f"re-estimate{sb['note']}")
    short = "Chernozhukov et al. 2022" if use_np else "Cinelli and Hazlett 2020"
    out = {"method": method, "robustness_value": lin.rv, "robustness_value_alpha": lin.rv_alpha,
           "benchmarks": rows, "direction": "toward zero"}
    if rows:
        s = rows[0]
        out["strongest"] = s["covariate"]
        u = est.unit if est.unit != "pp" else "points"
        ival = (f", interval {s['ci_low']:.1f} to {s['ci_high']:.1f}"
                if s["ci_low"] is not None else "")
        out["reading"] = (f"A hidden trait as strong as {s['covariate']} would move the effect "
                          f"to {s['estimate']:.1f} {u}{ival} ({short}). "
                          f"To bring the regression estimate to zero, a hidden trait would "
                          f"have to explain {100 * lin.rv:.1f}% of the residual variance of "
                          "both taking part and the outcome (robustness value).")
    elif unfit:
        out["reading"] = ("No bound could be computed: the benchmark models did not fit on "
                          "this sample.")
    return out


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def unobserved_row(lin: LinearBounds, u: str) -> dict[str, Any]:
    """The refutation table's row for an unobserved common cause: the robustness value and
    the strongest benchmark (Cinelli and Hazlett 2020), on the regression re-estimate."""
    out = {"name": "unobserved common cause (robustness value, %)", "value": 100 * lin.rv,
           "robustness_value": lin.rv, "robustness_value_alpha": lin.rv_alpha,
           "original": lin.estimate, "passed": None}
    reading = (f"An unobserved confounder would have to explain at least {100 * lin.rv:.1f}% "
               f"of the residual variance of both taking part and the outcome to bring the "
               f"estimate to zero ({100 * lin.rv_alpha:.1f}% to make it indistinguishable "
               "from zero; Cinelli and Hazlett 2020).")
    if lin.benchmarks:
        name, b = max(lin.benchmarks.items(), key=lambda kv: kv[1]["bias"])
        adj = lin.estimate - math.copysign(b["bias"], lin.estimate)
        out.update(benchmark=name, benchmark_adjusted=adj)
        reading += (f" One as strong as the strongest measured confounder ('{name}') would "
                    f"move it to {adj:.2f} {u}.")
    out["reading"] = reading
    return out


__all__ = ["LinearBounds", "unobserved_row", "benchmark_r2", "nonparametric_bias", "study_bounds",
           "bound_estimate", "NP_MAX_ROWS", "NP_BENCHMARKS", "NONPARAMETRIC"]
