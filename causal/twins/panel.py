"""Twin for panel designs: a long panel (one row per unit x period) with staggered adoption.

Units (persons) belong to groups (sectors, say) that become treated in a window of periods:
each unit of a group gets its first treated period drawn uniformly from the group's window
(``first`` .. ``last``); units outside every group are never treated. Treatment is absorbing.

Outcome model (binary, on the probability scale so that parallel trends hold exactly there):

    P(Y0_it = 1) = base_rate + u_i + level[g] + cycle_effect * (U_t - mean U) + pretrend_i,t
    P(Y1_it = 1) = P(Y0_it = 1) + tau(e),   e = t - first_treated_i >= 0,
    tau(e) = effect_pp + effect_growth_pp * e   (capped at effect_max_pp)

``u_i`` is a persistent person effect, ``level[g]`` a group level (allowed by parallel
trends), ``U_t`` the national unemployment rate in the period (causal.context.conjunctuur), so
the business cycle moves everyone alike. ``pretrend_pp`` > 0 switches on a violation of
parallel trends: ever-treated units drift by up to that many points per period, earlier
adopters faster (slope ``pretrend_pp * (1 - first/T)``), so cohorts drift apart from each
other and from the never treated (the drift goes on after treatment; it is not the effect). Probabilities are
clipped to [0.001, 0.999]; with the default parameters the clip almost never binds.

Truth: ``ATT`` = the average of P(Y1) - P(Y0) (pp) over treated rows in periods where some
unit is still untreated, i.e. over the group-time cells ATT(g, t) that a difference in
differences can identify (Callaway and Sant'Anna 2021, simple aggregation). ``ATT_e{k}`` is
the same average at event time k, and ``ATT_dynamic`` the plain mean of those over k >= 0
(what an event study's post-period average estimates). With effects that grow with event time and staggered
adoption, two-way fixed effects is biased for ``ATT`` (Goodman-Bacon 2021), which the tests use.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

from causal.twins import Share, Twin, TwinParams, twin
from causal.twins.population import population
from causal.twins.stress import active


class Group(BaseModel):
    """A group of units adopting in the window ``first`` .. ``last`` (period labels)."""

    model_config = ConfigDict(extra="forbid")
    share: float
    first: str
    last: str | None = None
    level_pp: float = 0.0


class PanelParams(TwinParams):
    periods: tuple[str, str] = ("2016Q1", "2019Q4")
    freq: Literal["Y", "Q", "M"] = "Q"
    groups: dict[str, Group] = {"early": Group(share=0.3, first="2017Q4", last="2018Q4"),
                                "late": Group(share=0.7, first="2019Q1", last="2019Q4")}
    group_column: str = "group"
    never_label: str = "never"
    unit_column: str = "person_id"
    period_column: str = "period"
    first_treated_column: str | None = "first_treated"
    age: tuple[float, float] = (45, 64)
    female_share: Share = 0.45
    education_shares: tuple[float, float, float, float, float] = (0.30, 0.38, 0.07, 0.18, 0.07)
    base_rate: float = 0.07
    unit_sd_pp: float = 2.0
    cycle_effect_pp: float = -0.5
    trend_pp: float = 0.0
    effect_pp: float = 2.0
    effect_growth_pp: float = 0.0
    effect_max_pp: float | None = None
    pretrend_pp: float = 0.0
    continuous_sd: float = 10.0

    @model_validator(mode="after")
    def _check(self):
        total = sum(g.share for g in self.groups.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"the group shares add up to {total:.3f}; at most 1 (the rest is "
                             "never treated)")
        first, last = (_period(lab, self.freq, "periods") for lab in self.periods)
        if first > last:
            raise ValueError(f"periods: {self.periods[0]} is after {self.periods[1]}")
        periods = _periods(self.periods, self.freq)
        for name, g in self.groups.items():
            for lab in (g.first, g.last or g.first):
                p = _period(lab, self.freq, f"group '{name}'")
                if p < periods[0] or p > periods[-1]:
                    raise ValueError(f"group '{name}': period {lab} is outside the panel "
                                     f"{self.periods[0]}..{self.periods[1]}")
        return self


def _period(lab: str, freq: str, where: str) -> pd.Period:
    """``lab`` as a period of frequency ``freq``, or a ValueError that says what was expected."""
    try:
        p = pd.Period(lab, freq=freq)
    except ValueError:
        p = pd.NaT
    if pd.isna(p):
        raise ValueError(f"{where}: {lab!r} is not a period of frequency {freq} (e.g. 2018Q1, "
                         "2018, 2018-03)")
    return p


def _periods(span: tuple[str, str], freq: str) -> pd.PeriodIndex:
    return pd.period_range(pd.Period(span[0], freq=freq), pd.Period(span[1], freq=freq), freq=freq)


def label(p: pd.Period) -> str:
    """Sortable text label of a period: 2018, 2018Q1, 2018-03."""
    return str(p)


@twin("panel", PanelParams)
def make(p: PanelParams, spec, rng: np.random.Generator) -> Twin:
    from causal.context.conjunctuur import conjunctuur_at, load_series

    periods = _periods(p.periods, p.freq)
    T, n = len(periods), p.n
    start = periods[0].start_time
    people = population(n, rng, age=p.age, inflow=(str(start.date()), str(start.date())),
                        female_share=p.female_share, education_shares=p.education_shares)

    # --- groups and first treated period ------------------------------------------------
    names = list(p.groups)
    shares = np.array([p.groups[k].share for k in names] + [1.0 - sum(g.share for g in p.groups.values())])
    gidx = rng.choice(len(shares), size=n, p=np.clip(shares, 0, None) / shares.clip(0).sum())
    first_idx = np.full(n, -1)
    level = np.zeros(n)
    for j, k in enumerate(names):
        g = p.groups[k]
        lo = periods.get_loc(pd.Period(g.first, freq=p.freq))
        hi = periods.get_loc(pd.Period(g.last or g.first, freq=p.freq))
        m = gidx == j
        first_idx[m] = rng.integers(lo, hi + 1, m.sum())
        level[m] = g.level_pp / 100.0
    group = np.array(names + [p.never_label], dtype=object)[gidx]
    ever = first_idx >= 0

    # --- outcome ------------------------------------------------------------------------
    u = rng.normal(0.0, p.unit_sd_pp / 100.0, n)
    starts = pd.Series(periods.start_time)
    U = conjunctuur_at(starts, load_series()).to_numpy()
    t_idx = np.arange(T)
    delta = p.cycle_effect_pp / 100.0 * (U - U.mean()) + p.trend_pp / 100.0 * (t_idx - t_idx.mean())
    tt = np.broadcast_to(t_idx, (n, T))
    e = np.where(ever[:, None], tt - first_idx[:, None], -10**6)
    treated = e >= 0
    # parallel-trends violation: earlier adopters drift faster (slope falls with the adoption
    # period), so the drift differs between cohorts as well as from the never treated
    slope = np.where(ever, p.pretrend_pp / 100.0 * (1.0 - first_idx / T), 0.0)
    drift = slope[:, None] * (tt - np.where(ever, first_idx, 0)[:, None])
    p0 = p.base_rate + u[:, None] + level[:, None] + delta[None, :] + drift
    st = active(p.stress)  # stress scenarios (causal.twins.stress); none by default
    shock_col = None
    if "group_period_shocks" in st:  # a common shock per sector (or region) and period
        g = st["group_period_shocks"]
        if g.level("panel") == "group":
            shock_col = g.split(gidx, names + [p.never_label], p.seed)
            codes = np.unique(shock_col, return_inverse=True)[1]
        else:
            codes = people["region"].cat.codes.to_numpy()
        p0 = p0 + g.shocks(codes[:, None].astype(np.int64) * 10_000 + tt, p.seed)
    tau = np.where(treated, (p.effect_pp + p.effect_growth_pp * np.maximum(e, 0)) / 100.0, 0.0)
    if p.effect_max_pp is not None:
        tau = np.minimum(tau, p.effect_max_pp / 100.0)
    binary = spec.outcome.kind == "binary"
    if binary:
        p0c = np.clip(p0, 0.001, 0.999)
        p1c = np.clip(p0 + tau, 0.001, 0.999)
        y = (rng.random((n, T)) < np.where(treated, p1c, p0c)).astype(int)
        eff = (p1c - p0c) * 100.0
    else:
        y = 100.0 * (p0 + tau) + rng.normal(0.0, p.continuous_sd, (n, T))
        eff = tau * 100.0

    # --- truth: identified treated cells (some unit still untreated in that period) ------
    untreated_exists = (~treated).any(axis=0)
    cell = treated & untreated_exists[None, :]
    truth: dict[str, float] = {"ATT": float(eff[cell].mean()) if cell.any() else float("nan")}
    for k in np.unique(e[cell]):
        truth[f"ATT_e{int(k)}"] = float(eff[cell & (e == k)].mean())
    post_k = [v for key, v in truth.items() if key.startswith("ATT_e") and int(key[5:]) >= 0]
    truth["ATT_dynamic"] = float(np.mean(post_k)) if post_k else float("nan")
    for f in np.unique(first_idx[ever]):  # per start cohort (did's by_cohort option)
        m = cell & (first_idx == f)[:, None]
        if m.any():
            truth[f"ATT_g{label(periods[int(f)])}"] = float(eff[m].mean())
    truth["naive"] = truth["ATT"]

    # --- long data ------------------------------------------------------------------------
    labels = np.array([label(q) for q in periods], dtype=object)
    rep = np.repeat(np.arange(n), T)
    df = people.iloc[rep].reset_index(drop=True)
    df = df.drop(columns=["inflow_date", "benefit_months"])
    df.insert(0, p.unit_column, df.pop("person_id"))
    df.insert(1, p.period_column, pd.array(np.tile(labels, n), dtype="string"))
    df["period_start"] = np.tile(starts.to_numpy(), n)
    df[p.group_column] = pd.array(np.repeat(group, T), dtype="string")
    if p.first_treated_column:
        ft = np.where(ever, labels[np.maximum(first_idx, 0)], None)
        df[p.first_treated_column] = pd.array(np.repeat(ft, T), dtype="string")
    if shock_col is not None:
        df[st["group_period_shocks"].column] = pd.array(np.repeat(shock_col, T), dtype="string")
    df[spec.treatment.column] = treated.reshape(-1).astype(int)
    df[spec.outcome.column] = y.reshape(-1)
    desc = (f"{n} units x {T} periods ({p.periods[0]}..{p.periods[1]}), {int(ever.sum())} ever "
            f"treated in {len(names)} adoption group(s); true ATT {truth['ATT']:.2f} pp "
            f"(seed {p.seed})")
    return Twin(df, truth, desc, extras={"first_idx": first_idx, "effect": eff})
