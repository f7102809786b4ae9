"""The point of the toolkit in one twin: participation rose during the boom.

A measure for WW recipients aged 50 to the AOW age, with inflow spread over 2013-2019
(crisis, then boom). Jobseekers joined it more often when unemployment was low and when
they were further from their AOW date (selection on the cycle and on ``months_to_aow``),
and both raise job finding. The reader of a report compares participants with
non-participants and sees a large "effect" that is mostly the cycle and the AOW age.
Adjusting for ``conjunctuur`` and ``months_to_aow`` (here by regression adjustment)
recovers the true effect; adjusting only for the usual person traits does not.

``boom_demo(seed)`` returns the three numbers and the truth, for ``make demo``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

PERSON = ["age", "sex", "education", "benefit_months", "health_limitation"]
CONTEXT = ["months_to_aow", "conjunctuur"]


def boom_spec(n: int = 4000, seed: int = 0, **simulation: Any):
    """The demo's spec (in code: it is a demonstration, not a measure)."""
    from causal.spec import Spec

    sim = {
        "generator": "individual", "n": n, "seed": seed,
        "age": [50, 67], "below_aow": True,              # WW recipients, 50 to the AOW age
        "inflow": ["2013-01-01", "2019-12-31"],           # crisis (7.3-7.4%) to boom (3.4%)
        "base_rate": 0.55,                                # 000 §6: 50-60 55-76%, 60+ 25-42%
        "true_effect_pp": 4.0,                            # a modest net effect
        "share_treated": 0.3,
        "selection": {"cycle": -1.2, "months_to_aow": 0.8},  # joined in the boom, far from AOW
    }
    sim.update(simulation)
    return Spec.model_validate({
        "measure": "boom_demo", "title": "Participation rose during the boom (demo twin)",
        "source": {"report": "synthetic demonstration", "seed_notes": "000 §5, §6"},
        "treatment": {"column": "participated", "assignment": "observational"},
        "outcome": {"column": "work_12m", "kind": "binary", "horizon_months": 12,
                    "label": "found work within 12 months"},
        "confounders": PERSON + CONTEXT,
        "region": "region",
        "estimators": [{"name": "naive"}],
        "simulation": sim,
    })


def _design(df: pd.DataFrame, cols: list[str], spline=None):
    """Numeric design: months_to_aow as a cubic spline, conjunctuur as year-level dummies
    (the default series is annual), categoricals one-hot, numbers as they are."""
    from sklearn.preprocessing import SplineTransformer

    parts = [np.ones((len(df), 1))]
    for c in cols:
        x = df[c]
        if c == "months_to_aow":
            if spline is None:
                spline = SplineTransformer(n_knots=6, degree=3, include_bias=False)
                spline.fit(x.to_numpy(float)[:, None])
            parts.append(spline.transform(x.to_numpy(float)[:, None]))
        elif c == "conjunctuur" or not pd.api.types.is_numeric_dtype(x) \
                or isinstance(x.dtype, pd.CategoricalDtype):
            parts.append(pd.get_dummies(x.astype(str), drop_first=True, dtype=float).to_numpy())
        else:
            parts.append(x.to_numpy(float)[:, None])
    return np.column_stack(parts), spline


def regression_adjusted_att(df: pd.DataFrame, treatment: str, outcome: str,
                            covariates: list[str], alpha: float = 0.05) -> dict[str, float]:
    """ATT by regression adjustment (Imbens and Wooldridge 2009, §5.3): a logit of the
    outcome on the covariates among non-participants (statsmodels), predicted for the
    participants; ATT = their mean outcome minus their mean prediction, in pp.

    Standard error: sampling variance of the participants' outcomes plus the delta-method
    variance of the mean prediction (the logit's coefficient covariance). Assumes no
    unobserved confounding and overlap. Written for the demo and its test: the toolkit's
    own estimators (ipw, aipw, matching) live in causal/estimators.
    """
    import statsmodels.api as sm

    d = df[treatment].to_numpy(int)
    y = df[outcome].to_numpy(float)
    c = d == 0
    # one design for both groups (same dummy columns and spline knots)
    X, _ = _design(df, covariates)
    keep = X[c].std(axis=0) > 0
    keep[0] = True
    X = X[:, keep]
    fit = sm.Logit(y[c], X[c]).fit(disp=0, maxiter=200)
    Xt = X[~c]
    p0 = fit.predict(Xt)
    att = float(y[~c].mean() - p0.mean())
    g = (p0 * (1 - p0))[:, None] * Xt
    grad = g.mean(axis=0)
    var = y[~c].var(ddof=1) / (~c).sum() + float(grad @ fit.cov_params() @ grad)
    se = float(np.sqrt(var))
    q = stats.norm.ppf(1 - alpha / 2)
    return {"net": 100 * att, "se": 100 * se, "ci_low": 100 * (att - q * se),
            "ci_high": 100 * (att + q * se)}


def boom_demo(seed: int = 0, n: int = 4000) -> dict[str, Any]:
    """Naive, adjusted without the context, adjusted with it, and the truth (ATT, pp)."""
    from causal.pipeline import prepare

    study = prepare(boom_spec(n=n, seed=seed))
    df = study.data
    naive = 100 * float(df.loc[df.participated == 1, "work_12m"].mean()
                        - df.loc[df.participated == 0, "work_12m"].mean())
    person = regression_adjusted_att(df, "participated", "work_12m", PERSON)
    full = regression_adjusted_att(df, "participated", "work_12m", PERSON + CONTEXT)
    by_year = (df.assign(year=df.inflow_date.dt.year)
               .groupby("year").agg(participation=("participated", "mean"),
                                    conjunctuur=("conjunctuur", "first")))
    return {
        "seed": seed, "n": len(df), "truth": float(study.truth["ATT"]),
        "naive": naive,
        "adjusted_person_only": person["net"],
        "adjusted": full["net"], "adjusted_ci": (full["ci_low"], full["ci_high"]),
        "adjusted_se": full["se"],
        "participation_by_year": {int(k): round(float(v), 3)
                                  for k, v in by_year["participation"].items()},
        "unemployment_by_year": {int(k): float(v) for k, v in by_year["conjunctuur"].items()},
    }


def format_demo(r: dict[str, Any]) -> str:
    """The demo's result as a few plain lines."""
    lo, hi = r["adjusted_ci"]
    part = ", ".join(f"{y} {100 * v:.0f}%" for y, v in r["participation_by_year"].items())
    return (
        f"Participation rose during the boom (twin, n={r['n']}, seed {r['seed']}): {part}.\n"
        f"  true effect on participants                     {r['truth']:6.1f} pp\n"
        f"  naive: participants minus others                {r['naive']:6.1f} pp\n"
        f"  adjusted for person traits only                 {r['adjusted_person_only']:6.1f} pp\n"
        f"  adjusted also for conjunctuur and months_to_aow {r['adjusted']:6.1f} pp "
        f"(95% interval {lo:.1f} to {hi:.1f})"
    )


if __name__ == "__main__":  # pragma: no cover
    print(format_demo(boom_demo(0)))
