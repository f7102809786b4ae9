"""Randomised designs: intention-to-treat and, under non-compliance, the complier effect.

- ITT: difference in means by assignment; HC2 standard errors by default, any flavour of
  :mod:`causal.inference` by option ``se``, clustered at ``treatment.assigned_by`` when the
  spec declares it (cluster-randomised designs).
- Lin (2013): the same regression with centred covariates fully interacted with assignment;
  consistent under randomisation without any model being true, and never less precise
  asymptotically.
- LATE/CACE (Angrist, Imbens and Rubin 1996): two-stage least squares with assignment as the
  instrument for receipt (linearmodels IV2SLS, robust errors). Assumes monotonicity (no
  defiers) and that assignment affects the outcome only through receipt.

Assumed: assignment is as good as random (a BSN digit or parity, a lottery).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from causal.errors import EstimationError
from causal.estimators import estimator
from causal.inference import (
    InferenceOptions,
    cluster_codes,
    cluster_column,
    for_study,
    swap_treatment,
)
from causal.result import Estimate


class RCTOptions(InferenceOptions):
    adjust: Literal["lin", "none"] = Field(
        "lin", description="lin: covariates centred and interacted with assignment (Lin "
        "2013); none: the plain difference in means.")
    estimands: list[Literal["ITT", "LATE"]] | None = Field(
        None, description="Which estimands to report; default ITT, plus LATE when the spec "
        "names a treatment.received column.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


def centred_covariates(study, columns: list[str] | None = None
                       ) -> tuple[np.ndarray, list[str]]:
    """Centred covariates (the study's adjustment set, or ``columns``) of full column rank,
    and the names dropped (constant in these data, such as the conjunctuur when everyone
    flowed in the same year, or collinear)."""
    from scipy.linalg import qr

    X = study.design_matrix(columns)
    if X.shape[1] == 0:
        return np.empty((len(study.data), 0)), []
    Xc = (X - X.mean()).to_numpy()
    scale = np.abs(Xc).max(axis=0)
    keep = scale > 1e-9 * np.maximum(1.0, np.abs(X.mean().to_numpy()))
    dropped = [c for c, k in zip(X.columns, keep) if not k]
    cols = [c for c, k in zip(X.columns, keep) if k]
    Xc = Xc[:, keep]
    if Xc.shape[1]:
        _, R, piv = qr(Xc / np.abs(Xc).max(axis=0), mode="economic", pivoting=True)
        rank = int((np.abs(np.diag(R)) > 1e-8 * abs(R[0, 0])).sum())
        dropped += [cols[i] for i in sorted(piv[rank:])]
        Xc = Xc[:, sorted(piv[:rank])]
    return Xc, dropped


@estimator("rct_difference", RCTOptions, assignments=("randomized",))
def rct_difference(study, options: RCTOptions) -> list[Estimate]:
    """ITT (difference in means or Lin-adjusted, HC2) and LATE by 2SLS when receipt is given."""
    z = study.d()
    y = study.y()
    if z.min() == z.max():
        raise EstimationError("assignment does not vary: everyone is in one arm")
    q = stats.norm.ppf(1 - options.alpha / 2)
    want = options.estimands or (["ITT", "LATE"] if study.received else ["ITT"])
    Xc, dropped = centred_covariates(study) if options.adjust == "lin" else (np.empty((len(y), 0)), [])
    out: list[Estimate] = []
    gross_itt = float(y[z == 1].mean())

    if "ITT" in want:
        X = np.column_stack([np.ones_like(z), z, Xc, Xc * z[:, None]])
        inf = for_study(study, options, "rct_difference", y, X, 1, default="HC2", treated=z,
                        alpha=options.alpha,
                        design_of=None if Xc.shape[1] else swap_treatment(X, 1))
        b = inf.coef
        adj = "Lin (2013) covariate-adjusted" if Xc.shape[1] else "difference in means"
        bal = _balance(study) if Xc.shape[1] else {}
        out.append(inf.attach(study.estimate(
            "rct_difference", "ITT", b, **inf.fields(), gross=gross_itt,
            label="ITT", truth_key="ITT",
            method=f"Intention to treat by assignment, {adj}; standard error: {inf.se_type}.",
            diagnostics={"control_mean": float(y[z == 0].mean()),
                         "n_covariates": int(Xc.shape[1]), "balance": bal,
                         "covariates_dropped": dropped},
        )))

    if "LATE" in want:
        if not study.received:
            raise EstimationError("LATE needs the spec's treatment.received column")
        from linearmodels.iv import IV2SLS

        dr = study.data[study.received].to_numpy(float)
        first = dr[z == 1].mean() - dr[z == 0].mean()
        if first <= 0.01:
            raise EstimationError(f"assignment barely changes receipt (first stage {first:.3f});"
                                  " the complier effect is not identified")
        exog = pd.DataFrame(np.column_stack([np.ones_like(z), Xc]))
        exog.columns = ["const"] + [f"x{i}" for i in range(Xc.shape[1])]
        col = cluster_column(study, options.cluster)
        iv = IV2SLS(pd.Series(y, name="y"), exog, pd.Series(dr, name="received"),
                    pd.Series(z, name="assigned"))
        if col and options.se not in ("classical", "HC0", "HC1", "HC2", "HC3"):
            cl = cluster_codes(study, col, "rct_difference")
            res = iv.fit(cov_type="clustered", clusters=pd.Series(cl))
            late_se = f"cluster-robust by {col} (linearmodels, no small-sample factor)"
            late_cl: int | None = int(cl.max()) + 1
        else:
            res = iv.fit(cov_type="unadjusted" if options.se == "classical" else "robust")
            late_se = "classical" if options.se == "classical" else "HC0 robust (linearmodels)"
            late_cl = None
        b, se = float(res.params["received"]), float(res.std_errors["received"])
        # complier mean outcome under treatment (Abadie 2002): the LATE's own gross figure
        yd = y * dr
        gross_c = (yd[z == 1].mean() - yd[z == 0].mean()) / first
        warn = []
        if first < 0.5:
            warn.append(f"only {first:.0%} of the assigned received the measure; the complier "
                        "effect is estimated with a wide interval")
        out.append(study.estimate(
            "rct_difference", "LATE", b, (b - q * se, b + q * se), se, gross=float(gross_c),
            label="LATE", truth_key="LATE", se_type=late_se, n_clusters=late_cl,
            n_treated=int(dr.sum()), n_control=int((dr == 0).sum()),
            method="Complier average causal effect by 2SLS, assignment instrumenting receipt "
                   "(Angrist, Imbens and Rubin 1996). Gross is the "
                   "compliers' mean outcome under treatment (Abadie 2002).",
            diagnostics={"first_stage": float(first), "compliance_treated": float(dr[z == 1].mean()),
                         "receipt_in_control": float(dr[z == 0].mean()),
                         "sensitivity_bounds": take_up_sensitivity(
                             b, b - q * se, b + q * se, study.unit, len(y))},
            warnings=warn,
        ))
    return out


#: shares of recorded take-up that are wrong in the LATE's sensitivity statement
MISRECORDED_SHARES = (0.20, 0.10, 0.05)


def take_up_sensitivity(late: float, lo: float, hi: float, unit: str, n: int,
                        shares: tuple[float, ...] = MISRECORDED_SHARES) -> dict:
    """How the complier effect moves if a share m of the recorded take-up is wrong: that
    cannot be seen in the data (the ITT does not use take-up; the LATE divides it by the
    recorded first stage). With errors at random in both directions the recorded first
    stage is (1 - 2m) times the true one, so the true LATE is (1 - 2m) times the estimate
    (and its interval); with errors in one direction only (take-up missed, or recorded where
    there was none) the factor is 1 - m (nondifferential misclassification of a binary
    regressor; Aigner 1973; Black, Berger and Scott 2000). One row per share, the largest
    first, in the shape of :func:`causal.sensitivity.bounds.bound_estimate` (the coverage
    study reads the first row's interval as the bound)."""
    u = "points" if unit == "pp" else unit
    rows = []
    for m in sorted(shares, reverse=True):
        f = 1.0 - 2.0 * m
        rows.append({"covariate": f"take-up misrecorded for {m:.0%}", "share_wrong": m,
                     "bias": abs(late) * (1.0 - f), "estimate": late * f, "ci_low": lo * f,
                     "ci_high": hi * f, "estimate_one_direction": late * (1.0 - m), "n": n})
    parts = [f"{r['share_wrong']:.0%} wrong: {r['estimate']:.1f} {u} (interval "
             f"{r['ci_low']:.1f} to {r['ci_high']:.1f})" for r in reversed(rows)]
    reading = ("Assumes take-up is recorded without error, which these data cannot check. If a "
               "share of the recorded take-up were wrong at random, the complier effect would be "
               "smaller by the factor 1 - 2 x share: " + "; ".join(parts) + ". Errors in one "
               "direction only: factor 1 - share. The intention-to-treat effect does not "
               "depend on recorded take-up.")
    return {"method": "misrecorded take-up (nondifferential misclassification of receipt; "
                      "Aigner 1973; Black, Berger and Scott 2000)",
            "benchmarks": rows, "direction": "toward zero", "strongest": rows[0]["covariate"],
            "reading": reading}


def _balance(study) -> list[dict]:
    """Standardised mean differences of covariates by assignment (a randomisation check),
    one record per covariate with the persons in each 0/1 category (for the output gate)."""
    from causal.estimators.balance import balance_records, balance_table

    return balance_records(balance_table(study.design_matrix(), study.d()))
