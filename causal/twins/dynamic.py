"""Twin for services that start at different points of a benefit spell (dynamic selection).

Everyone enters benefit at month 0 and is followed ``months`` months. Each month, a person
still on benefit and not yet served starts the service with probability
``logistic(c + selection' x + start_trend m)``; then leaves for work with probability

    h(m) = logistic(a + b' x + motivation_effect * motivation + spell_decay * m
                    + effect_logit * [served since a month <= m - lock_in_months])

(an absorbing exit; no other exit; administrative censoring after ``months``). The traits x
(age, education, health, sex, motivation) are all in the data, so selection is on
observables, but it is *dynamic*: those who find work early never get served, so comparing
the ever-served with the never-served is biased even with every trait measured (Sianesi 2004;
seed notes 002 §8 items 1-2).

Truth (pp): ``ATT`` is the mean, over persons served at a month u <= months - H, of
P(work in months u .. u+H-1 | served at u) - P(the same | not served at u, served later
as the start hazard has it): Sianesi's (2004) "now versus waiting" contrast, computed exactly
per person by carrying the probabilities of (on benefit, not served) and (on benefit, served)
month by month.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from causal.twins import PopulationParams, Twin, twin
from causal.twins.population import logistic, solve_intercept, standardise


class DynamicParams(PopulationParams):
    TRAITS: ClassVar[tuple[str, ...]] = ("age", "education", "health_limitation", "sex",
                                         "motivation")
    months: int = 24
    #: share finding work within the horizon among the never served (calibrates ``a``)
    base_rate: float = 0.3
    spell_decay: float = -0.03
    outcome_effects: dict[str, float] = {"age": -0.3, "education": 0.15,
                                         "health_limitation": -0.4}
    motivation_effect: float = 0.5
    #: monthly probability of starting the service at mean traits
    start_hazard: float = 0.05
    start_trend: float = 0.0
    selection: dict[str, float] = {"motivation": 0.5, "age": -0.3}
    effect_logit: float = 0.4
    lock_in_months: int = 0


@twin("dynamic", DynamicParams)
def make(p: DynamicParams, spec, rng: np.random.Generator) -> Twin:
    df = p.draw_population(rng)
    n, M = p.n, p.months
    H = spec.outcome.horizon_months or 12
    if H >= M:
        raise ValueError(f"the outcome horizon ({H} months) must be shorter than months ({M})")
    motivation = rng.normal(size=n)
    x = {"age": df["age"].to_numpy(float),
         "education": df["education"].cat.codes.to_numpy().astype(float),
         "health_limitation": df["health_limitation"].to_numpy(float),
         "sex": (df["sex"] == "vrouw").to_numpy(float), "motivation": motivation}
    z = {k: standardise(v) for k, v in x.items()}
    eta_s = np.zeros(n) + sum(c * z[k] for k, c in p.selection.items())
    c0 = np.log(p.start_hazard / (1 - p.start_hazard))
    eta_h = (np.zeros(n) + sum(c * z[k] for k, c in p.outcome_effects.items())
             + p.motivation_effect * motivation)
    months = np.arange(M)
    # the intercept: P(work within H months | never served) averages base_rate
    a = solve_intercept(eta_h, 1 - (1 - p.base_rate) ** (1 / H))

    def hazard(m: np.ndarray | int, served: bool) -> np.ndarray:
        h = a + eta_h[:, None] + p.spell_decay * np.asarray(m)[None, ...]
        return logistic(h + (p.effect_logit if served else 0.0))

    s_prob = logistic(c0 + eta_s[:, None] + p.start_trend * months[None, :])   # n x M
    h0 = hazard(months, False)
    h1 = hazard(months, True)
    # --- one realised path per person --------------------------------------------------
    start = np.full(n, np.nan)
    exit_m = np.full(n, np.nan)
    on = np.ones(n, bool)
    served_since = np.full(n, np.inf)
    u_start = rng.random((n, M))
    u_exit = rng.random((n, M))
    for m in range(M):
        begin = on & np.isnan(start) & (u_start[:, m] < s_prob[:, m])
        start[begin] = m
        served_since[begin] = m
        active = on & (served_since <= m - p.lock_in_months)
        h = np.where(active, h1[:, m], h0[:, m])
        leave = on & (u_exit[:, m] < h)
        exit_m[leave] = m
        on &= ~leave
    # --- truth: now versus waiting, for the served with a full horizon --------------------
    last_u = M - H
    served = ~np.isnan(start) & (start <= last_u)
    idx = np.flatnonzero(served)
    effects = np.empty(idx.size)
    for j, i in enumerate(idx):
        u = int(start[i])
        win = np.arange(u, u + H)
        eff_on = win - u >= p.lock_in_months
        p1 = 1 - np.prod(np.where(eff_on, 1 - h1[i, win], 1 - h0[i, win]))
        # waiting: not served at u; later starts as the start hazard has it
        un, sv = 1.0, np.zeros(H)   # mass on benefit unserved / served (by start month)
        work = 0.0
        for t, m in enumerate(win):
            if t > 0:
                new = un * s_prob[i, m]
                un -= new
                sv[t] = new
            since = t - np.arange(H)
            hs = np.where((since >= p.lock_in_months) & (np.arange(H) <= t), h1[i, m], h0[i, m])
            work += un * h0[i, m] + float(sv @ hs)
            un *= 1 - h0[i, m]
            sv *= 1 - hs
        effects[j] = 100.0 * (p1 - work)
    df["start_month"] = start
    df["exit_month"] = exit_m
    df["motivation"] = np.round(motivation, 3)
    df[spec.treatment.column] = served.astype(int)
    df[spec.outcome.column] = ((exit_m < H) & ~np.isnan(exit_m)).astype(int)
    truth = {"ATT": float(effects.mean()) if effects.size else float("nan")}
    truth["naive"] = truth["ATT"]
    desc = (f"{n} benefit spells followed {M} months; {idx.size} served by month {last_u}; "
            f"true effect of starting now rather than waiting {truth['ATT']:.2f} pp "
            f"(seed {p.seed})")
    return Twin(df, truth, desc)
