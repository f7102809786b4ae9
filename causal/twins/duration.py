"""Twin for duration outcomes: benefit spells that end in work, at the AOW age, or censored.

Persons enter WW (ages ``age``, all below the AOW age at inflow) and are followed for
``months`` months. The monthly hazard of exit to work in spell month t is

    h_it = logistic(a + spell_decay*t + aow_effect*aow_near_it + cycle_effect*(U_it - 5)
                    + person traits + gamma * D_i)

with ``aow_near_it`` the years within 5 years of the AOW age in that month (job finding falls
as the AOW date approaches) and ``U_it`` the unemployment rate in that calendar month
(causal.context.conjunctuur): both time-varying. Reaching the AOW age ends the spell without
work (a competing exit; the months at risk are those that end by the AOW date, from
causal.context.aow.months_to_aow; the spell length of an AOW exit is the fractional number of
months to that date). Other exits (moving, end of the data) censor the spell
at ``censor_hazard`` a month, independently of the outcome. ``competing_exits`` (exit code ->
monthly hazard among those who did not find work that month, e.g. ``{disability: 0.01}``)
end spells without work: competing risks, not censoring.

``D`` is assigned at random (``share_treated``; the UWV experiment put BSN numbers ending in
8 or 9 in the control group, 000 §4.2). ``gamma`` is solved so that the sample-average
difference in the probability of work within the spec's horizon is ``true_effect_pp``.

Truth (pp): ``ITT`` (= ``ATE``) the average over persons of CIF1_i(H) - CIF0_i(H), where
CIF_i(H) = sum_{t < min(H, AOW)} h_it * prod_{s<t} (1 - h_is)(1 - q) is the chance of work within H
months with the AOW age (and, with hazard q = 1 - prod_k (1 - q_k), the competing exits) as
competing exits; ``P_work_treated``/``P_work_control`` the mean
CIF among the assigned and the controls under their own arm.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from causal.twins import PopulationParams, Share, Twin, twin
from causal.twins.population import logistic, solve_intercept


class DurationParams(PopulationParams):
    TRAITS: ClassVar[tuple[str, ...]] = ("education", "health_limitation", "sex")
    age: tuple[float, float] = (50, 66)
    below_aow: bool = True
    months: int = 24
    base_hazard: float = 0.02
    spell_decay: float = -0.03
    aow_effect: float = -0.35
    cycle_effect: float = -0.15
    outcome_effects: dict[str, float] = {"education": 0.10, "health_limitation": -0.40,
                                         "sex": -0.10}
    share_treated: Share = 0.8
    true_effect_pp: float = 2.0
    censor_hazard: float = 0.01
    competing_exits: dict[str, float] = {}
    bsn_control_digits: tuple[int, ...] = (8, 9)


def cif(h: np.ndarray, at_risk: np.ndarray, other: float = 0.0) -> np.ndarray:
    """Cumulative incidence of the event by each month, given hazards and the risk set.

    ``h`` and ``at_risk`` are (persons x months); months not at risk (after the AOW date)
    contribute nothing: the competing exit ends the chance of the event. ``other`` is the
    monthly probability of a competing exit among those without the event that month.
    """
    hh = np.where(at_risk, h, 0.0)
    stay = (1 - hh) * (1 - np.where(at_risk, other, 0.0))
    surv_before = np.cumprod(np.concatenate([np.ones((h.shape[0], 1)), stay[:, :-1]], axis=1),
                             axis=1)
    return np.cumsum(hh * surv_before, axis=1)


@twin("duration", DurationParams)
def make(p: DurationParams, spec, rng: np.random.Generator) -> Twin:
    from causal.context.aow import months_to_aow
    from causal.context.conjunctuur import conjunctuur_at, load_series

    H = spec.outcome.horizon_months or 12
    M = max(p.months, H)
    df = p.draw_population(rng)
    n = p.n
    mta = months_to_aow(df["birth_date"], df["inflow_date"]).to_numpy()
    t = np.arange(M)
    at_risk = t[None, :] + 1 <= mta[:, None]              # months that end by the AOW date
    aow_near = np.clip(5.0 - (mta[:, None] - t[None, :]) / 12.0, 0.0, 5.0)
    start = df["inflow_date"].dt.to_period("M").dt.to_timestamp().to_numpy().astype("datetime64[M]")
    cal = start[:, None] + t[None, :]
    um, inv = np.unique(cal.reshape(-1), return_inverse=True)
    U = conjunctuur_at(pd.Series(pd.to_datetime(um.astype("datetime64[D]"))),
                       load_series()).to_numpy()[inv].reshape(cal.shape)
    x = {"education": df["education"].cat.codes.to_numpy(float),
         "health_limitation": df["health_limitation"].to_numpy(float),
         "sex": (df["sex"] == "vrouw").to_numpy(float)}
    person = np.asarray(sum(c * (x[k] - x[k].mean()) for k, c in p.outcome_effects.items()),
                        dtype=float) + np.zeros(n)
    eta = (p.spell_decay * t[None, :] + p.aow_effect * aow_near
           + p.cycle_effect * (U - 5.0) + person[:, None])
    a = solve_intercept(eta[:, :H].reshape(-1), p.base_hazard)

    # assignment by the last BSN digit (random)
    digit = rng.integers(0, 10, n)
    share_ctrl = 1.0 - p.share_treated
    z = (rng.random(n) >= share_ctrl).astype(int)
    digit = np.where(z == 0, rng.choice(p.bsn_control_digits, n),
                     rng.choice([d for d in range(10) if d not in p.bsn_control_digits], n))

    q = 1.0 - float(np.prod([1.0 - v for v in p.competing_exits.values()]))
    h0 = logistic(a + eta)
    c0 = cif(h0, at_risk, q)[:, H - 1]

    def diff(g: float) -> float:
        return float((cif(logistic(a + eta + g), at_risk, q)[:, H - 1] - c0).mean() * 100)

    lo, hi = -3.0, 3.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if diff(mid) < p.true_effect_pp else (lo, mid)
    gamma = (lo + hi) / 2
    h1 = logistic(a + eta + gamma)
    c1 = cif(h1, at_risk, q)[:, H - 1]
    h = np.where(z[:, None] == 1, h1, h0)

    # spells: work if r < h (at risk), else censored at censor_hazard; AOW ends the spell
    r = rng.random((n, M))
    work = at_risk & (r < h)
    u_cens = rng.random((n, M))
    comp: dict[str, np.ndarray] = {}
    taken = work.copy()
    for code, hz in p.competing_exits.items():   # competing exits come before censoring
        comp[code] = at_risk & ~taken & (rng.random((n, M)) < hz)
        taken |= comp[code]
    ch = np.full(n, p.censor_hazard)
    st = {s.name: s for s in p.stress}
    if "informative_censoring" in st:  # tied to the observed traits and the arm (stress.py)
        ch = st["informative_censoring"].hazard(person, z)
    cens = at_risk & ~taken & (u_cens < ch[:, None])
    end = taken | cens | ~at_risk
    first = np.where(end.any(axis=1), end.argmax(axis=1), M)
    ended_work = work[np.arange(n), np.minimum(first, M - 1)] & (first < M)
    ended_cens = cens[np.arange(n), np.minimum(first, M - 1)] & (first < M)
    ended_aow = (~at_risk[np.arange(n), np.minimum(first, M - 1)]) & (first < M)
    ended_comp = {c: v[np.arange(n), np.minimum(first, M - 1)] & (first < M)
                  for c, v in comp.items()}
    ended_other = ended_cens | np.logical_or.reduce([*ended_comp.values(), np.zeros(n, bool)])
    # months on WW: at risk until the exit month ends; an AOW exit ends at the AOW date itself
    # (fractional), so the month in which the AOW age is reached is never at risk
    months_on = np.where(ended_work | ended_other, first + 1,
                         np.where(ended_aow, np.round(np.minimum(mta, M), 2), first))
    exit_type = np.select([ended_work, ended_aow, *ended_comp.values(), ended_cens],
                          ["work", "aow", *ended_comp, "censored"],
                          default="censored")   # still on WW at the end of follow-up

    df["bsn_last_digit"] = digit
    df[spec.treatment.column] = z
    df[spec.outcome.column] = months_on
    df["exit_type"] = pd.array(exit_type, dtype="string")
    eff = (c1 - c0) * 100.0
    truth = {"ITT": float(eff.mean()), "ATE": float(eff.mean()),
             "P_work_treated": float(c1[z == 1].mean() * 100),
             "P_work_control": float(c0[z == 0].mean() * 100)}
    truth["naive"] = truth["ITT"]
    desc = (f"{n} WW spells, {int(z.sum())} assigned; {int((exit_type == 'aow').sum())} reach "
            f"the AOW age in follow-up; true difference in P(work within {H} months) "
            f"{truth['ITT']:.2f} pp (seed {p.seed})")
    return Twin(df, truth, desc, extras={"gamma": gamma})
