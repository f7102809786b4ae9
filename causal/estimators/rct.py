"""Randomised designs: intention-to-treat and, under non-compliance, the complier effect.

- ITT: difference in means by assignment with HC2 standard errors (statsmodels OLS).
- Lin (2013): the same regression with centred covariates fully interacted with assignment;
  consistent under randomisation without any model being true, and never less precise
  asymptotically. HC2 errors.
- LATE/CACE (Angrist, Imbens and Rubin 1996): two-stage least squares with assignment as the
  instrument for receipt (linearmodels IV2SLS, robust errors). Assumes monotonicity (no
  defiers) and that assignment affects the outcome only through receipt.

Assumed: assignment is as good as random (a BSN digit or parity, a lottery).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from causal.errors import EstimationError
from causal.estimators import Options, estimator
from causal.result import Estimate


class RCTOptions(Options):
    adjust: Literal["lin", "none"] = "lin"
    estimands: list[Literal["ITT", "LATE"]] | None = None
    alpha: float = 0.05


def _ols_hc2(y: np.ndarray, X: np.ndarray) -> tuple[float, float]:
    """OLS coefficient and HC2 standard error of column 1 (MacKinnon and White 1985).

    Written by hand: statsmodels' HC2 path runs several SVDs and forms the n x n hat matrix;
    a thin QR gives the leverages directly and is exact for the full-rank designs
    :func:`_covariates` guarantees.
    """
    Q, R = np.linalg.qr(X)
    beta = np.linalg.solve(R, Q.T @ y)
    resid = y - X @ beta
    h = np.einsum("ij,ij->i", Q, Q)
    Rinv = np.linalg.inv(R)
    bread = Rinv @ Rinv.T  # (X'X)^-1
    w = resid**2 / np.clip(1.0 - h, 1e-12, None)
    meat = (X * w[:, None]).T @ X
    cov = bread @ meat @ bread
    return float(beta[1]), float(np.sqrt(cov[1, 1]))


def _covariates(study) -> tuple[np.ndarray, list[str]]:
    """Centred covariates of full column rank, and the names dropped (constant in these
    data, such as the conjunctuur when everyone flowed in the same year, or collinear)."""
    from scipy.linalg import qr

    X = study.design_matrix()
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
    Xc, dropped = _covariates(study) if options.adjust == "lin" else (np.empty((len(y), 0)), [])
    out: list[Estimate] = []
    gross_itt = float(y[z == 1].mean())

    if "ITT" in want:
        X = np.column_stack([np.ones_like(z), z, Xc, Xc * z[:, None]])
        b, se = _ols_hc2(y, X)
        adj = "Lin (2013) covariate-adjusted" if Xc.shape[1] else "difference in means"
        bal = _balance(study) if Xc.shape[1] else {}
        out.append(study.estimate(
            "rct_difference", "ITT", b, (b - q * se, b + q * se), se, gross=gross_itt,
            label="ITT", truth_key="ITT",
            method=f"Intention to treat by assignment, {adj}, HC2 standard errors.",
            diagnostics={"control_mean": float(y[z == 0].mean()),
                         "n_covariates": int(Xc.shape[1]), "balance": bal,
                         "covariates_dropped": dropped},
        ))

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
        res = IV2SLS(pd.Series(y, name="y"), exog, pd.Series(dr, name="received"),
                     pd.Series(z, name="assigned")).fit(cov_type="robust")
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
            label="LATE", truth_key="LATE",
            n_treated=int(dr.sum()), n_control=int((dr == 0).sum()),
            method="Complier average causal effect by 2SLS, assignment instrumenting receipt "
                   "(Angrist, Imbens and Rubin 1996); robust standard errors. Gross is the "
                   "compliers' mean outcome under treatment (Abadie 2002).",
            diagnostics={"first_stage": float(first), "compliance_treated": float(dr[z == 1].mean()),
                         "receipt_in_control": float(dr[z == 0].mean())},
            warnings=warn,
        ))
    return out


def _balance(study) -> dict[str, float]:
    """Standardised mean differences of covariates by assignment (a randomisation check)."""
    X = study.design_matrix()
    z = study.d()
    out = {}
    for c in X.columns:
        a, b = X[c][z == 1], X[c][z == 0]
        s = np.sqrt((a.var() + b.var()) / 2)
        out[c] = float((a.mean() - b.mean()) / s) if s > 0 else 0.0
    return out
