"""Regression adjustment: OLS of the outcome on the treatment plus a named covariate list.

The textbook estimator many published evaluations report, so that a researcher can
reproduce one exactly: ``y = a + tau d + X b + e`` with the covariates as named (default:
the adjustment set the graph gives), no interaction unless asked (``lin: true``: covariates
centred and interacted with the treatment, Lin 2013, which makes ``tau`` the ATE under
heterogeneous effects). The standard error is any flavour of :mod:`causal.inference`
(classical, HC0-HC3, CR1, CR2 with Bell-McCaffrey degrees of freedom, the wild cluster
bootstrap with few clusters), clustered at the spec's ``treatment.assigned_by`` by default.

For a binary outcome ``model: logit`` fits a logit instead (statsmodels ``Logit``, to full
convergence) and reports the average marginal effect of the treatment as the discrete change
in predicted probability, averaged over the persons (Greene 2012, ch. 17), with its
delta-method standard error from the asked covariance (statsmodels ``get_margeff``).

Assumed: no unobserved confounding given the covariates, and (OLS without ``lin``) an
effect that does not vary with them, or else ``tau`` is a variance-weighted average of
effects (Angrist 1998); the logit adds its functional form.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from causal.errors import EstimationError
from causal.estimators import estimator
from causal.estimators.rct import centred_covariates
from causal.inference import (
    InferenceOptions,
    cluster_codes,
    cluster_column,
    for_study,
    swap_treatment,
)
from causal.result import Estimate


class RegressionOptions(InferenceOptions):
    covariates: list[str] | None = Field(
        None, description="Columns to adjust for, as named (categorical columns one-hot, "
        "first level dropped). Default: the adjustment set from the causal graph; [] for "
        "none.")
    lin: bool = Field(False, description="Interact the centred covariates with the treatment "
                      "(Lin 2013): the ATE under effects that vary with the covariates.")
    model: Literal["ols", "logit"] = Field(
        "ols", description="ols: linear probability / linear model; logit (binary outcomes "
        "only): average marginal effect of the treatment from a logit.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


@estimator("regression", RegressionOptions)
def regression(study, options: RegressionOptions) -> list[Estimate]:
    """OLS (or logit AME) of the outcome on treatment and named covariates, any SE flavour."""
    o = options
    y, d = study.y(), study.d()
    if d.min() == d.max():
        raise EstimationError("the treatment does not vary: nobody to compare with")
    if o.covariates is not None:
        missing = [c for c in o.covariates if c not in study.data.columns]
        if missing:
            raise EstimationError(f"option covariates: {', '.join(missing)} not in the data "
                                  f"(columns: {', '.join(map(str, study.data.columns[:25]))})")
    Xc, dropped = centred_covariates(study, o.covariates)
    names = o.covariates if o.covariates is not None else study.covariates
    warns = []
    if dropped:
        warns.append(f"left out as constant or collinear in these data: {', '.join(dropped)}")
    diag = {"covariates": list(names), "n_covariates": int(Xc.shape[1]),
            "covariates_dropped": dropped, "control_mean": float(y[d == 0].mean())}
    if o.model == "logit":
        if o.inference == "randomization":
            raise EstimationError("inference: randomization is for the OLS model; use "
                                  "model: ols")
        return [_logit(study, o, y, d, Xc, diag, warns)]
    X = np.column_stack([np.ones_like(d), d, Xc] + ([Xc * d[:, None]] if o.lin else []))
    inf = for_study(study, o, "regression", y, X, 1, default="HC1", treated=d, alpha=o.alpha,
                    design_of=None if o.lin else swap_treatment(X, 1))
    how = ("Lin (2013) interacted " if o.lin else "") + "OLS of the outcome on the treatment" \
        + (f" and {Xc.shape[1]} covariate columns" if Xc.shape[1] else "")
    return [inf.attach(study.estimate(
        "regression", "ATE", inf.coef, **inf.fields(), label="OLS" + (" (Lin)" if o.lin else ""),
        method=f"{how}; standard error: {inf.se_type}. Assumes no unobserved confounding"
               + ("." if o.lin else " and an effect that does not vary with the covariates."),
        diagnostics=diag, warnings=warns))]


def _logit(study, o: RegressionOptions, y, d, Xc, diag, warns) -> Estimate:
    import statsmodels.api as sm
    from scipy import stats

    if not study.spec.is_binary:
        raise EstimationError("option model: logit needs a binary outcome")
    yb = y / study.scale
    X = np.column_stack([np.ones_like(d), d, Xc])
    col = cluster_column(study, o.cluster)
    person_level = o.se in ("classical", "HC0", "HC1", "HC2", "HC3")
    if o.se in ("HC2", "HC3", "CR2"):
        raise EstimationError(f"se: {o.se} is defined for OLS; with model: logit use "
                              "classical, HC0, HC1 or CR1")
    if col and not person_level:
        cl = cluster_codes(study, col, "regression")
        kw = dict(cov_type="cluster", cov_kwds={"groups": cl})
        se_type, n_cl = f"CR1 clustered by {col} (delta method)", int(cl.max()) + 1
    elif o.se in ("classical", "auto"):
        kw, se_type, n_cl = dict(cov_type="nonrobust"), "classical (delta method)", None
    else:
        kw, se_type, n_cl = dict(cov_type=o.se), f"{o.se} robust (delta method)", None
    res = sm.Logit(yb, X).fit(disp=0, maxiter=200, method="newton", tol=1e-12, **kw)
    if not res.mle_retvals.get("converged", False):
        warns.append("the logit did not converge (separation?); the marginal effect is unsure")
    me = res.get_margeff(at="overall", method="dydx", dummy=True)
    b, se = float(me.margeff[0]) * study.scale, float(me.margeff_se[0]) * study.scale
    q = stats.norm.ppf(1 - o.alpha / 2)
    if n_cl is not None and n_cl < 30:
        warns.append(f"only {n_cl} clusters of '{col}': the logit's cluster-robust interval "
                     "tends to be too narrow (Cameron, Gelbach and Miller 2008); the OLS "
                     "model has the wild cluster bootstrap")
    return study.estimate(
        "regression", "ATE", b, (b - q * se, b + q * se), se, label="logit AME",
        se_type=se_type, n_clusters=n_cl,
        method="Logit of the outcome on the treatment"
               + (f" and {Xc.shape[1]} covariate columns" if Xc.shape[1] else "")
               + "; average marginal effect of the treatment (discrete change, averaged over "
               f"persons); standard error: {se_type}. Assumes no unobserved confounding and "
               "the logit's functional form.",
        diagnostics=diag, warnings=warns)
