"""Twin for aggregate series: a unit x period panel of rates, one treated unit and donors.

For the designs that can only be judged on published series (seed notes 000 EP10, the whole
Actieplan 50+ on quarterly unemployment by age group; 001 EP7, Almere's bijstand by age
against other municipalities). Each unit's rate (in percentage points) is

    y_it = level_i + trend_i * t + cycle_i * (U_t - mean U) + aow_i * A_t
           + effect * 1[i treated, t >= intervention] + e_it + sampling noise,
    e_it = ar * e_i,t-1 + noise_sd * N(0, 1),

with ``U_t`` the national unemployment rate (the bundled CBS series, causal.context, linearly
interpolated between yearly values at each period's middle), ``A_t`` the statutory AOW age in
months above 65 in the period's year (causal.context.aow: the rise that keeps older people in
the labour force and in benefit longer, seed notes 000 EP10 and 001 EP7 [EXT]), and a
binomial sampling error of the rate on the unit's ``n`` persons. Donors' levels, trends and
cycle loadings are drawn uniformly from the given ranges, so the treated unit (whose values
must lie inside them) is a convex combination of donors only approximately, as in real data.
``aow_units: treated`` puts the AOW shift on the treated unit alone (an older age group
against younger donors: synthetic control cannot remove it, interrupted time series with the
AOW covariate can); ``all`` on every unit (45+ in every municipality).

Truth: ``ATT`` = ``effect``, the treated unit's average effect over the periods from the
intervention on (constant, in pp). The data carry the covariates ``conjunctuur`` and
``aow_months`` the estimators may adjust for, and the ``population`` each rate rests on.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from causal.twins import DateRange, Twin, TwinParams, twin

FREQ = {"month": "MS", "quarter": "QS", "year": "YS"}


class SeriesParams(TwinParams):
    periods: DateRange = ("2003-01-01", "2019-10-01")
    donors: int = 20
    donor_names: list[str] | None = None
    treated_level: float = 5.0
    treated_trend: float = 0.0
    treated_cycle: float = 1.0
    level_range: tuple[float, float] = (3.0, 8.0)
    trend_range: tuple[float, float] = (-0.02, 0.02)
    cycle_range: tuple[float, float] = (0.5, 1.5)
    aow_effect: float = 0.0
    aow_units: Literal["treated", "all"] = "treated"
    effect: float = -0.5
    noise_sd: float = 0.1
    ar: float = 0.5

    @model_validator(mode="after")
    def _inside(self) -> "SeriesParams":
        if self.donors < 2:
            raise ValueError("donors: at least 2 donor units")
        if self.donor_names is not None and len(self.donor_names) != self.donors:
            raise ValueError(f"donor_names: {len(self.donor_names)} names for {self.donors} donors")
        if not -1 < self.ar < 1:
            raise ValueError("ar: an autocorrelation between -1 and 1")
        for name, lo_hi in (("level_range", self.level_range), ("trend_range", self.trend_range),
                            ("cycle_range", self.cycle_range)):
            if lo_hi[0] > lo_hi[1]:
                raise ValueError(f"{name}: the first value is above the second")
        return self


def _national_rate(periods: pd.DatetimeIndex, spec) -> np.ndarray:
    from causal.context.conjunctuur import load_series

    base = spec.path.parent if spec.path else None
    s = load_series(spec.context.conjunctuur.series, indicator=spec.context.conjunctuur.indicator,
                    base=base)
    nat = s.xs("", level="region") if s.attrs.get("has_national", True) else s.groupby(level=1).mean()
    years = np.array([int(str(p)[:4]) for p in nat.index], dtype=float)
    vals = nat.to_numpy(dtype=float)
    order = np.argsort(years)
    t = periods.year + (periods.dayofyear - 1) / 365.25
    return np.interp(t, years[order] + 0.5, vals[order])


def _aow_months(periods: pd.DatetimeIndex) -> np.ndarray:
    from causal.context.aow import active_schedule

    sched = active_schedule()
    first, last = min(sched), max(sched)
    # 65 (780 months) until the first year of the schedule (2012 and before)
    return np.array([0.0 if y < first else sched[min(y, last)] - 780 for y in periods.year],
                    dtype=float)


@twin("series", SeriesParams)
def make(params: SeriesParams, spec, rng: np.random.Generator) -> Twin:
    s = spec.series
    if s is None:
        raise ValueError("the series generator needs the spec's series block")
    periods = pd.date_range(params.periods[0], params.periods[1], freq=FREQ[s.frequency])
    T = len(periods)
    t0 = pd.Timestamp(s.intervention)
    post = periods >= t0
    if post.sum() < 1 or (~post).sum() < 3:
        raise ValueError(f"the periods {params.periods} leave fewer than 3 periods before or 1 "
                         f"from the intervention {s.intervention}")
    names = params.donor_names or [f"donor_{i + 1:02d}" for i in range(params.donors)]
    if s.treated in names:
        raise ValueError(f"the treated unit '{s.treated}' is also named as a donor")
    J = params.donors
    level = np.r_[params.treated_level, rng.uniform(*params.level_range, J)]
    trend = np.r_[params.treated_trend, rng.uniform(*params.trend_range, J)]
    cycle = np.r_[params.treated_cycle, rng.uniform(*params.cycle_range, J)]
    aow = np.zeros(J + 1)
    aow[0] = params.aow_effect
    if params.aow_units == "all":
        aow[:] = params.aow_effect
    U = _national_rate(periods, spec)
    A = _aow_months(periods)
    tt = np.arange(T) - int((~post).sum())
    mean = (level[:, None] + trend[:, None] * tt[None, :] + cycle[:, None] * (U - U.mean())[None, :]
            + aow[:, None] * A[None, :])
    mean[0, post] += params.effect
    e = np.zeros((J + 1, T))
    shocks = rng.normal(0.0, params.noise_sd, (J + 1, T))
    e[:, 0] = shocks[:, 0] / np.sqrt(1 - params.ar**2)
    for k in range(1, T):
        e[:, k] = params.ar * e[:, k - 1] + shocks[:, k]
    p = np.clip((mean + e) / 100.0, 1e-4, 1 - 1e-4)
    rate = rng.binomial(params.n, p) / params.n * 100.0
    units = [s.treated, *names]
    data = pd.DataFrame({
        s.unit: np.repeat(units, T),
        s.period: np.tile(periods, J + 1),
        spec.outcome.column: rate.ravel(),
        s.population: params.n,
        "conjunctuur": np.tile(U, J + 1),
        "aow_months": np.tile(A, J + 1),
    })
    return Twin(data=data, truth={"ATT": float(params.effect)},
                description=f"{J + 1} units x {T} periods ({s.frequency}), treated unit "
                            f"'{s.treated}' from {s.intervention}, effect {params.effect:+.2f} pp")
