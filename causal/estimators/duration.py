"""Time to work with the AOW age and any other exit as competing risks: discrete-time hazards.

Method (Allison 1982; Jenkins 1995 for the person-month form; Fine and Gray 1999 and
Beyersmann, Allignol and Schumacher 2012 for cumulative incidence under competing risks):

1. Each spell is at risk in the months that end by the person's AOW date
   (causal.context.aow.months_to_aow), by the end of the spell and by the horizon H. Reaching
   the AOW age ends the spell WITHOUT work: the person leaves the risk set and is never
   counted as a success, whatever the data's exit code says. Censored spells (option
   ``censored``, and missing codes) stay in the risk set until their last month, without an
   event.
2. Every other exit code (other benefit, moved abroad, disability, death; option
   ``competing``, by default every code that is not the success, the AOW or a censoring code)
   is a competing exit with its own cause-specific discrete hazard, never censoring: treating
   it as censoring would assume those persons could still have found work, and overstate it.
3. Each cause's monthly hazard is a logit on the at-risk person-months: spell-month groups
   (the baseline hazard), treatment, the time-varying distance to the AOW age (years within 5
   of it) and business cycle (unemployment in that calendar month), and the covariates.
   A competing exit with fewer than ``min_cause_exits`` exits is pooled with the other thin
   ones into 'other exits', whose hazard is constant if still thin. Standard errors are
   clustered by person (causal.estimators.duration_hazard fits them chunk by chunk, so
   memory stays far below the persons x months x columns array).
4. The net effect is the difference in the probability of work within H months:
   CIF_i(H) = sum_{t<H} h_work,it prod_{s<t} (1 - sum_j h_j,is), accumulated month by month
   with treatment set to 1 and to 0 (standardisation over the study's persons), averaged.
   Interval by the delta method (analytic gradient in every cause's coefficients, with their
   joint person-clustered covariance), or a cluster bootstrap over persons.

Assumed: censoring is independent of the exit hazards given the covariates; the hazard models
(logit, proportional in the odds) are right; treatment assignment is ignorable (randomised,
or the covariates suffice). The estimand is the ITT for a randomised assignment, else ATE.

The hand-written part is in duration_hazard (why: see there). lifelines' Aalen-Johansen
fitter is nonparametric (no covariates, no standardisation); it is drawn beside the model
curves from counts.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from causal.context import as_dates
from causal.errors import DataError, EstimationError
from causal.estimators import Options, estimator
from causal.estimators.duration_hazard import Cause, PersonMonths, cluster_cov, fit_logit, incidence
from causal.result import Estimate


class DurationOptions(Options):
    duration: str | None = Field(None, description="Column of spell lengths in months "
                                 "(default: the spec's outcome column).")
    event: str = Field("exit_type", description="Column of exit codes.")
    success: str = Field("work", description="The exit code that counts as the outcome.")
    censored: list[str] = Field(["censored"], description="Exit codes of spells still running "
                                "at the end of follow-up (missing codes too): censoring.")
    aow_code: str = Field("aow", description="The code of an exit at the AOW age; the AOW "
                          "date decides, whatever the code says.")
    competing: list[str] | None = Field(None, description="Competing exit codes (other "
                                        "benefit, abroad, disability, death), each with its own "
                                        "hazard; default every other code. Listed, any code "
                                        "outside the lists is an error.")
    min_cause_exits: int = Field(20, ge=1, description="Competing exits with fewer cases are "
                                 "pooled as 'other exits' (constant hazard if still fewer).")
    birth_date: str = Field("birth_date", description="Birth date column (gives the AOW date).")
    start: str = Field("inflow_date", description="Spell start date column.")
    horizon: int | None = Field(None, description="Months; default the spec's "
                                "outcome.horizon_months.")
    covariates: list[str] | None = Field(None, description="Hazard covariates; default the "
                                         "adjustment set without the context terms.")
    cycle: bool = Field(True, description="Unemployment rate per calendar month in the hazard.")
    aow_gradient: bool = Field(True, description="Years within 5 of the AOW age per month in "
                               "the hazard.")
    interval: Literal["delta", "bootstrap"] = Field(
        "delta", description="Delta method (person-clustered) or cluster bootstrap over "
        "persons.")
    bootstrap: int = Field(200, ge=2, description="Bootstrap draws.")
    seed: int = Field(0, description="Seed of the bootstrap.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


def _col(study, name: str, option: str) -> pd.Series:
    if name not in study.data.columns:
        raise DataError(study.source, f"the duration estimator's option '{option}' names this "
                        "column but the data do not have it", column=name)
    return study.data[name]


@estimator("duration", DurationOptions, assignments=("randomized", "observational"))
def duration(study, options: DurationOptions) -> list[Estimate]:
    """Discrete-time hazards of work and competing exits; net = difference in P(work by H)."""
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
    codes = _col(study, o.event, "event")
    birth = as_dates(_col(study, o.birth_date, "birth_date"), study.source, o.birth_date)
    start = as_dates(_col(study, o.start, "start"), study.source, o.start)
    d = study.d()
    n = len(dur)
    mta = months_to_aow(birth, start).to_numpy(float)
    aow_months = np.clip(np.floor(mta), 0, H).astype(np.int64)  # months ending by the AOW date
    spell = np.ceil(dur)
    r = np.minimum(np.minimum(spell, H), aow_months).astype(np.int64)
    last = spell - 1

    kind, names = _classify(study, codes, o)   # 0 censored/AOW, 1 work, 2.. competing
    coded = kind > 0
    # a spell that ends at or after the AOW date (or in the month that contains it) ended by
    # reaching the AOW age, whatever its exit code says
    late = coded & ((dur >= mta - 1e-9) | ((last < H) & (last >= aow_months)))
    exit_ = coded & ~late & (dur > 0) & (last < H)
    kind = np.where(exit_, kind, 0).astype(np.int8)
    warn: list[str] = []
    if late.any():
        what = ", ".join(f"'{c}'" for c in [o.success, *names])
        warn.append(f"{int(late.sum())} spells are coded as an exit ({what}) at or after the "
                    "person's AOW date; reaching the AOW age ends the risk set, so they are not "
                    "counted as exits to work or as other exits")
    n_work = int((kind == 1).sum())
    if n_work < 10:
        raise EstimationError(f"only {n_work} exits to work within {H} months; too few to fit "
                              "a hazard model")
    pm = PersonMonths(r=r, cause=kind, mta=mta, aow_months=aow_months, m0=np.zeros(n, int),
                      U=None, Xs=np.zeros((n, 0)), d=d, H=H, aow_gradient=o.aow_gradient)
    if o.cycle:
        pm.m0, pm.U = _cycle(study, start, H)
    covs = o.covariates if o.covariates is not None else [
        c for c in study.covariates if c not in ("months_to_aow", "conjunctuur",
                                                 "reaches_aow_within_horizon")]
    if covs:
        Xs = study.design_matrix(covs).to_numpy(float)
        pm.Xs = Xs - Xs.mean(axis=0)
    causes, exits_by_cause, thin_note = _causes(pm, names, o.min_cause_exits)
    if thin_note:
        warn.append(thin_note)

    fits = [fit_logit(pm, c) for c in causes]
    betas = [b for b, _ in fits]
    inc1 = incidence(pm, causes, betas, 1.0)
    inc0 = incidence(pm, causes, betas, 0.0)
    net = float((inc1.cif_work - inc0.cif_work).mean() * 100)
    z = float(stats.norm.ppf(1 - o.alpha / 2))
    if o.interval == "delta":
        V = cluster_cov(pm, causes, betas, [h for _, h in fits])
        grad = (inc1.grad - inc0.grad) * 100
        se = float(np.sqrt(grad @ V @ grad))
        ci = (net - z * se, net + z * se)
        how = "delta method with cluster-robust (person) covariance"
    else:
        se, ci, how = _bootstrap(pm, causes, betas, o)

    reached = (mta < H)
    ev = codes.astype("string").fillna("").to_numpy(dtype=object)
    counted_naive = ((ev == o.success) | (ev == o.aow_code)) & (dur <= H)
    gross = float(inc1.cif_work[d == 1].mean() * 100)
    for j, c in enumerate(causes[1:], start=1):
        exits_by_cause[c.name].update(
            cif_treated_pp=float(inc1.cif_causes[d == 1, j].mean() * 100),
            cif_control_pp=float(inc0.cif_causes[d == 0, j].mean() * 100))
    diag = {
        "horizon_months": H, "person_months": int(r.sum()),
        "exits_to_work_within_horizon": n_work,
        "competing_exits_within_horizon": exits_by_cause,
        "censored_spells": {"n": int(((kind == 0) & (spell < np.minimum(aow_months, H))
                                      & (dur > 0)).sum())},
        "reach_aow_within_horizon": int(reached.sum()),
        "treatment_log_odds": float(betas[0][causes[0].j_treat]),
        "share_all_exits_within_horizon_treated": float(counted_naive[d == 1].mean() * 100),
        "baseline_month_groups": causes[0].groups.tolist(),
        "cif_treated": (inc1.by_month["treated"] * 100).tolist(),
        "cif_control": (inc0.by_month["control"] * 100).tolist(),
    }
    randomized = study.spec.treatment.assignment == "randomized"
    estimand = "ITT" if randomized else "ATE"
    aow_exit = (kind == 0) & (r > 0) & (r == aow_months) & (aow_months < np.minimum(spell, H))
    fig = _curves(study, inc1.by_month["all"] * 100, inc0.by_month["all"] * 100, pm,
                  aow_exit)
    comp = (f"competing exits with cause-specific hazards: {', '.join(c.name for c in causes[1:])}"
            if len(causes) > 1 else "no other exit codes")
    return [study.estimate(
        "duration", estimand, net, ci, se, label=f"work within {H} months", unit="pp",
        gross=gross, n_treated=int((d == 1).sum()), n_control=int((d == 0).sum()),
        outcome_label=f"found work within {H} months",
        method=("Discrete-time hazard of exit to work (logit on at-risk person-months, fitted "
                "chunk by chunk) with spell-month, treatment, time-varying AOW-distance and "
                f"business-cycle terms and covariates ({', '.join(covs) or 'none'}); reaching "
                f"the AOW age is a competing exit, never a success; {comp}. Net effect = "
                "difference in the standardised probability of work within "
                f"{H} months (cumulative incidence); interval: {how}."),
        diagnostics=diag, warnings=warn, figures={"cumulative_incidence": fig})]


def _classify(study, codes: pd.Series, o: DurationOptions) -> tuple[np.ndarray, list[str]]:
    """Per spell 0 (censored or AOW), 1 (work) or 2.. (the competing codes, named)."""
    ids, uniq = pd.factorize(codes.astype("string"))
    uniq = [str(u) for u in uniq]
    neutral = set(o.censored) | {o.aow_code, ""}
    others = [u for u in uniq if u != o.success and u not in neutral]
    if o.competing is None:
        counts = np.bincount(ids[ids >= 0], minlength=len(uniq))
        names = sorted(others, key=lambda u: (-counts[uniq.index(u)], u))
    else:
        unknown = [u for u in others if u not in o.competing]
        if unknown:
            raise DataError(study.source, f"exit codes {', '.join(map(repr, unknown))} are "
                            f"neither the success '{o.success}', the AOW code '{o.aow_code}', "
                            f"a censoring code ({', '.join(o.censored)}) nor a competing exit "
                            f"({', '.join(o.competing) or 'none'}); list them in the option "
                            "'competing' or 'censored'", column=o.event)
        names = [c for c in o.competing if c in uniq and c != o.success and c not in neutral]
    lookup = np.zeros(len(uniq) + 1, dtype=np.int8)   # last slot: missing (-1)
    for i, u in enumerate(uniq):
        lookup[i] = 1 if u == o.success else (names.index(u) + 2 if u in names else 0)
    return lookup[ids], names


def _causes(pm: PersonMonths, names: list[str], min_exits: int):
    """Cause models: work, each competing exit with enough exits, thin ones pooled."""
    H = pm.H

    def month_groups(code: int) -> np.ndarray:
        sel = pm.cause == code
        return _pool_months(np.bincount(pm.r[sel] - 1, minlength=H)[:H])

    causes = [Cause("work", 1, month_groups(1))]
    counts = {nm: int((pm.cause == j + 2).sum()) for j, nm in enumerate(names)}
    by_cause: dict[str, dict] = {}
    thin = [nm for nm in names if counts[nm] < min_exits]
    for j, nm in enumerate(names):
        if nm not in thin:
            causes.append(Cause(nm, j + 2, month_groups(j + 2)))
            by_cause[nm] = {"n": counts[nm]}
    note = ""
    if thin:
        code = len(names) + 2
        pm.cause[np.isin(pm.cause, [names.index(nm) + 2 for nm in thin])] = code
        pooled = sum(counts[nm] for nm in thin)
        if pooled:
            name = "other exits" if len(thin) > 1 or len(causes) > 1 else thin[0]
            full = pooled >= min_exits
            causes.append(Cause(name, code, month_groups(code) if full
                                else np.zeros(H, dtype=int), full=full))
            by_cause[name] = {"n": pooled}
            note = (f"competing exits with fewer than {min_exits} cases "
                    f"({', '.join(thin)}) are pooled as '{name}'"
                    + ("" if full else ", with a constant monthly hazard"))
    return causes, by_cause, note


def _cycle(study, start: pd.Series, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Inflow month index per person and the unemployment rate of every calendar month."""
    from causal.context.conjunctuur import conjunctuur_at, load_series

    spec = study.spec
    series = load_series(spec.context.conjunctuur.series,
                         indicator=spec.context.conjunctuur.indicator,
                         base=spec.path.parent if spec.path else None)
    m = start.dt.to_period("M").dt.to_timestamp().to_numpy().astype("datetime64[M]")
    mi = m.astype(np.int64)
    lo = int(mi.min())
    span = np.arange(lo, int(mi.max()) + H).astype("datetime64[M]")
    U = conjunctuur_at(pd.Series(pd.to_datetime(span.astype("datetime64[D]"))), series,
                       source=study.source).to_numpy(float)
    return mi - lo, U


def _bootstrap(pm, causes, betas, o):
    """Cluster bootstrap over persons (frequency weights), percentile interval."""
    rng = np.random.default_rng(o.seed)
    draws = []
    for _ in range(o.bootstrap):
        w = np.bincount(rng.integers(0, pm.n, pm.n), minlength=pm.n).astype(float)
        try:
            bs = [fit_logit(pm, c, w, beta0=b)[0] for c, b in zip(causes, betas, strict=True)]
        except (EstimationError, np.linalg.LinAlgError):  # a degenerate resample: skip it
            continue
        i1 = incidence(pm, causes, bs, 1.0, w, grad=False)
        i0 = incidence(pm, causes, bs, 0.0, w, grad=False)
        draws.append(float((i1.cif_work - i0.cif_work) @ w / w.sum() * 100))
    if len(draws) < 2:
        raise EstimationError("the bootstrap failed: fewer than 2 resamples could be fitted")
    se = float(np.std(draws, ddof=1))
    ci = tuple(float(v) for v in np.quantile(draws, [o.alpha / 2, 1 - o.alpha / 2]))
    return se, ci, f"cluster bootstrap over persons ({len(draws)} draws, percentile interval)"


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


def _aalen_johansen(pm: PersonMonths, aow_exit: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Nonparametric cumulative incidence of work (%), every other exit competing, from the
    counts at risk and of exits per month."""
    H = pm.H
    r, kind = pm.r[mask], pm.cause[mask]
    n_risk = np.bincount(r, minlength=H + 1)[::-1].cumsum()[::-1][1:H + 1].astype(float)
    work = np.bincount(r[kind == 1] - 1, minlength=H)[:H]
    other = (np.bincount(r[kind > 1] - 1, minlength=H)[:H]
             + np.bincount(r[aow_exit[mask]] - 1, minlength=H)[:H])
    at = np.maximum(n_risk, 1)
    hw, hc = work / at, np.minimum(other / at, 1)
    S = np.cumprod(np.concatenate([[1.0], np.clip(1 - hw - hc, 0, 1)]))[:-1]
    return np.concatenate([[0], np.cumsum(hw * S) * 100])


def _curves(study, m1, m0, pm: PersonMonths, aow_exit: np.ndarray):
    """Figure: standardised cumulative incidence of work by arm, with Aalen-Johansen steps."""
    H = pm.H
    m1, m0 = np.concatenate([[0], m1]), np.concatenate([[0], m0])
    e1, e0 = _aalen_johansen(pm, aow_exit, pm.d == 1), _aalen_johansen(pm, aow_exit, pm.d == 0)
    measure = study.measure

    def cum_exits(mask):  # persons behind each point of the Aalen-Johansen curve
        r, kind = pm.r[mask], pm.cause[mask]
        w = np.bincount(r[kind == 1] - 1, minlength=H)[:H]
        return np.concatenate([[0], np.cumsum(w)]).astype(int)

    x1, x0 = cum_exits(pm.d == 1), cum_exits(pm.d == 0)
    recs = [{"month": t, "treated_model": float(m1[t]), "control_model": float(m0[t]),
             "treated_aj": float(e1[t]), "control_aj": float(e0[t]),
             "n_treated_work_so_far": int(x1[t]), "n_control_work_so_far": int(x0[t])}
            for t in range(H + 1)]

    def draw(recs):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        x = [r["month"] for r in recs]
        ax.plot(x, [r["treated_model"] for r in recs], color="tab:blue", lw=2,
                label="treated (model, standardised)")
        ax.plot(x, [r["control_model"] for r in recs], color="tab:orange", lw=2,
                label="control (model, standardised)")
        ax.step(x, [r["treated_aj"] for r in recs], where="post", color="tab:blue", ls=":",
                label="treated (Aalen-Johansen)")
        ax.step(x, [r["control_aj"] for r in recs], where="post", color="tab:orange", ls=":",
                label="control (Aalen-Johansen)")
        ax.set_xlabel("months since inflow")
        ax.set_ylabel("found work (%, other exits competing)")
        ax.set_title(f"{measure}: cumulative incidence of work")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    from causal.report.gate_figures import GatedFigure

    return GatedFigure(recs, draw, what="cumulative incidence of work by arm per month; months "
                       "before min_cell persons of an arm have found work are left out")
