"""Time to work with the AOW age as a competing exit: a discrete-time hazard model.

Method (Allison 1982; Jenkins 1995 for the person-month form; Fine and Gray 1999 and
Beyersmann, Allignol and Schumacher 2012 for cumulative incidence under competing risks):

1. Expand each spell to person-months at risk. A month is at risk only if it ends by the
   person's AOW date (from the birth date, causal.context.aow.months_to_aow): reaching
   the AOW age ends the spell WITHOUT work, so it leaves the risk set and is never counted as
   a success, whatever the data's exit code says. Other ends (censoring) leave the risk set
   after their last month.
2. Fit the monthly hazard of exit to work with a logit GLM (statsmodels, binomial family):
   spell-month dummies (the baseline hazard), treatment, the time-varying distance to the AOW
   age (years within 5 of it) and business cycle (unemployment rate in that calendar month),
   and the covariates. Standard errors clustered by person.
3. The net effect is the difference in the probability of work within the spec's horizon H:
   for every person, CIF_i(H) = sum_{t<min(H, AOW)} h_it prod_{s<t}(1 - h_is) with treatment
   set to 1 and to 0 (standardisation over the study's persons), averaged. Interval by the
   delta method (analytic gradient of the average CIF difference in the GLM coefficients,
   with their cluster-robust covariance), or a cluster bootstrap over persons.

Assumed: censoring is independent of the work hazard given the covariates; the hazard model
(logit, proportional in the odds) is right; treatment assignment is ignorable (randomised,
or the covariates suffice). The estimand is the ITT for a randomised assignment, else ATE.

The hand-written part is the competing-risk cumulative incidence and its delta-method
gradient (a few vectorised lines): lifelines' Aalen-Johansen fitter is nonparametric (no
covariates, no standardisation), and no installed library turns a discrete-time hazard GLM
into cumulative incidence with AOW as a deterministic competing exit.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from causal.context import as_dates
from causal.errors import DataError, EstimationError
from causal.estimators import Options, estimator
from causal.result import Estimate


class DurationOptions(Options):
    duration: str | None = None
    event: str = "exit_type"
    success: str = "work"
    birth_date: str = "birth_date"
    start: str = "inflow_date"
    horizon: int | None = None
    covariates: list[str] | None = None
    cycle: bool = True
    aow_gradient: bool = True
    interval: Literal["delta", "bootstrap"] = "delta"
    bootstrap: int = 200
    seed: int = 0
    alpha: float = 0.05


def _col(study, name: str, option: str) -> pd.Series:
    if name not in study.data.columns:
        raise DataError(study.source, f"the duration estimator's option '{option}' names this "
                        "column but the data do not have it", column=name)
    return study.data[name]


@estimator("duration", DurationOptions, assignments=("randomized", "observational"))
def duration(study, options: DurationOptions) -> list[Estimate]:
    """Discrete-time hazard of work, AOW as competing exit; net = difference in P(work by H)."""
    from causal.context.aow import months_to_aow

    o = options
    H = o.horizon or study.spec.outcome.horizon_months
    if not H:
        raise EstimationError("the duration estimator needs a horizon: set the spec's "
                              "outcome.horizon_months or the option 'horizon'")
    dcol = o.duration or study.outcome
    dur = pd.to_numeric(_col(study, dcol, "duration"), errors="coerce").to_numpy(float)
    if np.isnan(dur).any() or (dur < 0).any():
        raise DataError(study.source, "spell durations (months) must be numbers >= 0",
                        column=dcol)
    ev = _col(study, o.event, "event").astype("string").fillna("").to_numpy(dtype=object)
    birth = as_dates(_col(study, o.birth_date, "birth_date"), study.source, o.birth_date)
    start = as_dates(_col(study, o.start, "start"), study.source, o.start)
    d = study.d()
    n = len(dur)
    mta = months_to_aow(birth, start).to_numpy(float)
    t = np.arange(H)
    aow_ok = t[None, :] + 1 <= mta[:, None]                 # months that end by the AOW date
    observed = t[None, :] < np.ceil(dur)[:, None]           # months the spell was followed
    risk = aow_ok & observed
    last = np.clip(np.ceil(dur).astype(int) - 1, 0, None)
    success = (ev == o.success)
    # a spell that ends at or after the AOW date ended by reaching the AOW age, whatever its
    # exit code says
    late_success = success & (dur >= mta - 1e-9)
    event = np.zeros((n, H), dtype=bool)
    ok = success & (last < H) & ~late_success & (dur > 0)
    event[np.flatnonzero(ok), last[ok]] = True
    warn: list[str] = []
    if late_success.any():
        warn.append(f"{int(late_success.sum())} spells are coded '{o.success}' at or after the "
                    "person's AOW date; reaching the AOW age ends the risk set, so they are not "
                    "counted as exits to work")

    # --- time-varying covariates per person-month -------------------------------------------
    aow_near = np.clip(5.0 - (mta[:, None] - t[None, :]) / 12.0, 0.0, 5.0)
    if o.cycle:
        from causal.context.conjunctuur import conjunctuur_at, load_series

        spec = study.spec
        series = load_series(spec.context.conjunctuur.series,
                             indicator=spec.context.conjunctuur.indicator,
                             base=spec.path.parent if spec.path else None)
        m0 = start.dt.to_period("M").dt.to_timestamp().to_numpy().astype("datetime64[M]")
        cal = m0[:, None] + t[None, :]
        um, inv = np.unique(cal.reshape(-1), return_inverse=True)
        U = conjunctuur_at(pd.Series(pd.to_datetime(um.astype("datetime64[D]"))), series,
                           source=study.source).to_numpy()[inv].reshape(cal.shape)
    else:
        U = np.zeros((n, H))
    covs = o.covariates if o.covariates is not None else [
        c for c in study.covariates if c not in ("months_to_aow", "conjunctuur",
                                                 "reaches_aow_within_horizon")]
    X_static = study.design_matrix(covs) if covs else pd.DataFrame(index=study.data.index)
    Xs = X_static.to_numpy(float)
    if Xs.shape[1]:
        Xs = Xs - Xs.mean(axis=0)
    # baseline: a dummy per spell month (month 0 is the reference), pooled where few events
    ev_by_t = (event & risk).sum(axis=0)
    base_groups = _pool_months(ev_by_t)

    def design(dval: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Feature tensor (persons x H x k) for treatment values dval."""
        nn = n if rows is None else len(rows)
        sl = slice(None) if rows is None else rows
        parts = [np.ones((nn, H, 1))]
        B = np.zeros((H, base_groups.max() + 1))
        B[np.arange(H), base_groups] = 1.0
        parts.append(np.broadcast_to(B[None, :, 1:], (nn, H, B.shape[1] - 1)))
        parts.append(np.broadcast_to(dval[:, None, None], (nn, H, 1)))
        if o.aow_gradient:
            parts.append(aow_near[sl][:, :, None])
        if o.cycle:
            parts.append((U[sl] - 5.0)[:, :, None])
        if Xs.shape[1]:
            parts.append(np.broadcast_to(Xs[sl][:, None, :], (nn, H, Xs.shape[1])))
        return np.concatenate(parts, axis=2)

    F = design(d)
    j_treat = base_groups.max() + 1
    pi, ti = np.nonzero(risk)
    if event[pi, ti].sum() < 10:
        raise EstimationError(f"only {int(event[pi, ti].sum())} exits to work within {H} "
                              "months; too few to fit a hazard model")
    beta, V = _fit(F[pi, ti], event[pi, ti].astype(float), pi)

    F1, F0 = design(np.ones(n)), design(np.zeros(n))
    net, grad, c1, c0 = _effect(beta, F1, F0, aow_ok)
    z = float(stats.norm.ppf(1 - o.alpha / 2))
    if o.interval == "delta":
        se = float(np.sqrt(grad @ V @ grad))
        ci = (net - z * se, net + z * se)
        how = "delta method with cluster-robust (person) covariance"
    else:
        rng = np.random.default_rng(o.seed)
        draws = []
        for _ in range(o.bootstrap):
            idx = rng.integers(0, n, n)
            r = risk[idx]
            pb, tb = np.nonzero(r)
            try:
                b, _ = _fit(F[idx][pb, tb], event[idx][pb, tb].astype(float), pb, cov=False)
            except Exception:  # a degenerate resample: skip it
                continue
            draws.append(_effect(b, F1[idx], F0[idx], aow_ok[idx], grad=False)[0])
        se = float(np.std(draws, ddof=1))
        ci = tuple(float(v) for v in np.quantile(draws, [o.alpha / 2, 1 - o.alpha / 2]))
        how = f"cluster bootstrap over persons ({len(draws)} draws, percentile interval)"

    reached = (mta < H)
    counted_naive = ((ev == o.success) | (ev == "aow")) & (dur <= H)
    gross = float(c1[d == 1, H - 1].mean() * 100)
    diag = {
        "horizon_months": H, "person_months": int(risk.sum()),
        "exits_to_work_within_horizon": int(event[pi, ti].sum()),
        "reach_aow_within_horizon": int(reached.sum()),
        "treatment_log_odds": float(beta[j_treat]),
        "share_all_exits_within_horizon_treated": float(counted_naive[d == 1].mean() * 100),
        "baseline_month_groups": base_groups.tolist(),
        "cif_treated": (c1[d == 1].mean(axis=0) * 100).tolist(),
        "cif_control": (c0[d == 0].mean(axis=0) * 100).tolist(),
    }
    randomized = study.spec.treatment.assignment == "randomized"
    estimand = "ITT" if randomized else "ATE"
    fig = _curves(study, c1, c0, d, aow_ok, risk, event, H)
    return [study.estimate(
        "duration", estimand, net, ci, se, label=f"work within {H} months", unit="pp",
        gross=gross, n_treated=int((d == 1).sum()), n_control=int((d == 0).sum()),
        outcome_label=f"found work within {H} months",
        method=("Discrete-time hazard of exit to work (statsmodels GLM, logit) on person-months "
                "with spell-month, treatment, time-varying AOW-distance and business-cycle terms "
                f"and covariates ({', '.join(covs) or 'none'}); reaching the AOW age is a "
                "competing exit, never a success. Net effect = difference in the standardised "
                f"probability of work within {H} months (cumulative incidence); interval: {how}."),
        diagnostics=diag, warnings=warn, figures={"cumulative_incidence": fig})]


def _pool_months(events_by_t: np.ndarray, min_events: int = 5) -> np.ndarray:
    """Group spell months so that each group has at least ``min_events`` events."""
    groups = np.zeros(len(events_by_t), dtype=int)
    g, acc = 0, 0
    for i, e in enumerate(events_by_t):
        groups[i] = g
        acc += e
        if acc >= min_events and i < len(events_by_t) - 1:
            g, acc = g + 1, 0
    if acc < min_events and g > 0:  # fold a thin last group into the one before
        groups[groups == g] = g - 1
    return groups


def _fit(X: np.ndarray, y: np.ndarray, persons: np.ndarray, cov: bool = True):
    import statsmodels.api as sm

    model = sm.GLM(y, X, family=sm.families.Binomial())
    if cov:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": persons})
        return np.asarray(res.params), np.asarray(res.cov_params())
    return np.asarray(model.fit().params), None


def _effect(beta, F1, F0, at_risk, grad: bool = True):
    """Average CIF(H) difference (pp) and its gradient in beta; CIF paths per person."""
    def paths(F):
        h = 1 / (1 + np.exp(-(F @ beta)))
        h = np.where(at_risk, h, 0.0)
        S_prev = np.cumprod(np.concatenate([np.ones((h.shape[0], 1)), 1 - h[:, :-1]], axis=1),
                            axis=1)
        return h, S_prev, np.cumsum(h * S_prev, axis=1)

    h1, S1, c1 = paths(F1)
    h0, S0, c0 = paths(F0)
    net = float((c1[:, -1] - c0[:, -1]).mean() * 100)
    if not grad:
        return net, None, c1, c0

    def dcif(F, h, S):
        # d/dbeta sum_t h_t S_{t-1}, with dh_t = h_t(1-h_t) x_t and
        # dS_{t-1} = -S_{t-1} sum_{s<t} h_s x_s / ... (logit: d log(1-h_s) = -h_s x_s)
        dh = (h * (1 - h))[:, :, None] * F
        cum = np.cumsum(h[:, :, None] * F, axis=1)
        cum_prev = np.concatenate([np.zeros_like(cum[:, :1]), cum[:, :-1]], axis=1)
        term = S[:, :, None] * (dh - h[:, :, None] * cum_prev)
        return term.sum(axis=1).mean(axis=0)

    g = (dcif(F1, h1, S1) - dcif(F0, h0, S0)) * 100
    return net, g, c1, c0


def _curves(study, c1, c0, d, aow_ok, risk, event, H):
    """Figure: standardised cumulative incidence of work by arm, with Aalen-Johansen points."""
    m1 = np.concatenate([[0], c1.mean(axis=0) * 100])
    m0 = np.concatenate([[0], c0.mean(axis=0) * 100])

    def aj(mask):
        # nonparametric cumulative incidence of work with AOW as competing exit
        n_risk = (risk[mask]).sum(axis=0).astype(float)
        w = (event[mask] & risk[mask]).sum(axis=0)
        # persons whose AOW date falls in month t leave the risk set by a competing exit
        aow_exit = (risk[mask][:, :-1] & ~aow_ok[mask][:, 1:]).sum(axis=0)
        aow_exit = np.concatenate([aow_exit, [0]])
        at = np.maximum(n_risk, 1)
        hw, ha = w / at, np.minimum(aow_exit / at, 1)
        S = np.cumprod(np.concatenate([[1.0], 1 - hw - ha]))[:-1]
        return np.concatenate([[0], np.cumsum(hw * S) * 100])

    e1, e0 = aj(d == 1), aj(d == 0)
    measure = study.measure

    def draw():
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        x = np.arange(H + 1)
        ax.plot(x, m1, color="tab:blue", lw=2, label="treated (model, standardised)")
        ax.plot(x, m0, color="tab:orange", lw=2, label="control (model, standardised)")
        ax.step(x, e1, where="post", color="tab:blue", ls=":", label="treated (Aalen-Johansen)")
        ax.step(x, e0, where="post", color="tab:orange", ls=":",
                label="control (Aalen-Johansen)")
        ax.set_xlabel("months since inflow")
        ax.set_ylabel("found work (%, AOW as competing exit)")
        ax.set_title(f"{measure}: cumulative incidence of work")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    return draw
