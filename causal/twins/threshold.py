"""Twin for age-threshold designs: a regression discontinuity, or a threshold that moved.

``design: rdd`` (the loonkostenvoordeel at 56, seed notes 000 EP4)
    WW spells of people aged ``age[0]``..``age[1]`` at inflow, one row per person-month at
    risk (``months`` at most). The monthly hazard of exit to work is

        h0 = logistic(a + age_slope*(age-c) + age_curvature*(age-c)^2 + AOW proximity
                      + cycle + person traits),      h1 = h0 + true_effect_pp/100,

    with ``age`` the exact age in that month, so the hazard falls smoothly with age and jumps
    by ``true_effect_pp`` points where the age passes the cutoff (``true_effect_pp: 0`` is the
    no-jump variant, for tests that the RDD is not fooled by the age gradient). Other exits
    from WW (``other_exit_hazard``) end the spell without work. The treatment column is
    1 when the age in that month is at or above the cutoff.
    Truth ``LATE_cutoff`` (also under ``ATE``): the mean of h1 - h0 (pp) over rows within
    ``truth_window`` years of the cutoff, the jump in the hazard at the cutoff.

``design: ddd`` (the no-riskpolis age limit lowered from 62 to 56 in 2018, 000 EP5)
    Repeated yearly cross-sections of the WW stock on 1 January, ages ``age``; columns for the
    newly eligible age band (``band``), at least 52 weeks on WW (``long_term``) and the years
    from ``change_year`` on (``after``). P(exit to work within 6 months) is additive on the
    probability scale: levels by band, duration and their interaction, a business cycle whose
    pull differs by band and by duration (so a plain difference in differences is biased but
    the triple difference is not), plus ``true_effect_pp`` in the band x long-term x after
    cell. Truth ``ATT``: the mean of P(Y1) - P(Y0) over that cell.
"""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from causal.twins import DateRange, Twin, TwinParams, twin
from causal.twins.population import logistic, population, solve_intercept
from causal.twins.stress import active, expected_clip


class ThresholdParams(TwinParams):
    TRAITS: ClassVar[tuple[str, ...]] = ("education", "health_limitation")
    design: Literal["rdd", "ddd"] = "rdd"
    age: tuple[float, float] = (51, 61)
    inflow: DateRange = ("2016-01-01", "2019-12-31")
    cutoff: float = 56.0
    # rdd
    months: int = 24
    base_hazard: float = 0.045
    age_slope: float = -0.08
    age_curvature: float = -0.004
    aow_effect: float = -0.25
    cycle_effect: float = -0.12
    other_exit_hazard: float = 0.02
    truth_window: float = 0.25
    # shared
    true_effect_pp: float = 0.8
    outcome_effects: dict[str, float] = {"education": 0.10, "health_limitation": -0.40}
    # ddd
    years: tuple[int, int] = (2015, 2019)
    change_year: int = 2018
    band: tuple[float, float] = (56, 62)
    long_term_weeks: int = 52
    long_term_share: float = 0.45
    base_rate: float = 0.30
    band_pp: float = -8.0
    long_term_pp: float = -15.0
    band_long_pp: float = 3.0
    cycle_pp: float = -3.0
    cycle_band_pp: float = -1.5
    cycle_long_pp: float = -1.0
    region_year_sd_pp: float = 1.0
    continuous_sd: float = 10.0


@twin("threshold", ThresholdParams)
def make(p: ThresholdParams, spec, rng: np.random.Generator) -> Twin:
    return _rdd(p, spec, rng) if p.design == "rdd" else _ddd(p, spec, rng)


def _rdd(p: ThresholdParams, spec, rng: np.random.Generator) -> Twin:
    from causal.context.aow import aow_date
    from causal.context.conjunctuur import conjunctuur_at, load_series

    people = population(p.n, rng, age=p.age, inflow=p.inflow)
    n, M = p.n, p.months
    # exact age at inflow (population() floors 'age'; birth dates are exact)
    inflow = people["inflow_date"]
    months = np.arange(M)
    dates = np.array(inflow.dt.to_period("M").dt.to_timestamp().to_numpy(),
                     dtype="datetime64[M]")[:, None] + months[None, :]
    birth = people["birth_date"].to_numpy().astype("datetime64[D]")
    month_start = dates.astype("datetime64[D]")
    age = (month_start - birth[:, None]).astype(float) / 365.25
    aow = aow_date(people["birth_date"]).to_numpy().astype("datetime64[D]")
    years_to_aow = (aow[:, None] - month_start).astype(float) / 365.25
    aow_near = np.clip(5.0 - years_to_aow, 0.0, 5.0)
    # unemployment rate in each calendar month (looked up once per distinct month)
    um, inv = np.unique(dates.reshape(-1), return_inverse=True)
    U = conjunctuur_at(pd.Series(pd.to_datetime(um.astype("datetime64[D]"))),
                       load_series()).to_numpy()[inv].reshape(dates.shape)
    x = {"education": people["education"].cat.codes.to_numpy(float),
         "health_limitation": people["health_limitation"].to_numpy(float)}
    person = sum(c * (x[k] - x[k].mean()) for k, c in p.outcome_effects.items())
    person = np.asarray(person, dtype=float) + np.zeros(n)
    ac = age - p.cutoff
    eta = (p.age_slope * ac + p.age_curvature * ac**2 + p.aow_effect * aow_near
           + p.cycle_effect * (U - 5.0) + person[:, None])
    near = np.abs(ac) < 0.5
    a = solve_intercept(eta[near], p.base_hazard)
    h0 = logistic(a + eta)
    d = (age >= p.cutoff).astype(int)
    h1 = np.clip(h0 + p.true_effect_pp / 100.0, 0.0, 1.0)
    eff_all = None
    if "group_period_shocks" in active(p.stress):  # region x calendar-month shocks
        g = active(p.stress)["group_period_shocks"]
        g.check_level("threshold")
        cells = people["region"].cat.codes.to_numpy()[:, None].astype(np.int64) * 100_000 \
            + (dates - dates.min()).astype(np.int64)
        shock = g.shocks(cells, p.seed)
        sd = g.sd_pp / 100.0
        eff_all = (expected_clip(h1, sd) - expected_clip(h0, sd)) * 100.0
        h0, h1 = np.clip(h0 + shock, 0.0, 1.0), np.clip(h1 + shock, 0.0, 1.0)
    h = np.where(d == 1, h1, h0)
    # events: work if r < h, other exit if h <= r < h + other (at most one per month)
    r = rng.random((n, M))
    work = r < h
    other = (~work) & (r < h + p.other_exit_hazard)
    ended = work | other
    first = np.where(ended.any(axis=1), ended.argmax(axis=1), M - 1)
    at_risk = months[None, :] <= first[:, None]
    outcome = work & at_risk

    rows = np.nonzero(at_risk)
    df = people.iloc[rows[0]].reset_index(drop=True)
    df = df.drop(columns=["age", "benefit_months"])
    df.insert(1, "spell_month", rows[1] + 1)
    df.insert(2, "month", pd.to_datetime(month_start[rows]))
    df.insert(3, "age_years", np.round(age[rows], 4))
    df[spec.treatment.column] = d[rows]
    if spec.outcome.kind == "binary":
        df[spec.outcome.column] = outcome[rows].astype(int)
    else:
        df[spec.outcome.column] = 100 * h[rows] + rng.normal(0, p.continuous_sd, rows[0].size)
    eff = (h1 - h0)[rows] * 100.0 if eff_all is None else eff_all[rows]
    win = np.abs(ac[rows]) < p.truth_window
    jump = float(eff[win].mean()) if win.any() else p.true_effect_pp
    truth = {"LATE_cutoff": jump, "ATE": jump, "naive": jump}
    desc = (f"{n} WW spells aged {p.age[0]}-{p.age[1]} at inflow, {len(df)} person-months; "
            f"true jump in the monthly exit-to-work hazard at {p.cutoff:g}: {jump:.2f} pp "
            f"(seed {p.seed})")
    return Twin(df, truth, desc)


def _ddd(p: ThresholdParams, spec, rng: np.random.Generator) -> Twin:
    from causal.context.conjunctuur import conjunctuur_at, load_series

    y0, y1 = p.years
    years = np.arange(y0, y1 + 1)
    n = p.n
    year = rng.choice(years, size=n)
    ref = pd.to_datetime(pd.Series([f"{y}-01-01" for y in year]))
    people = population(n, rng, age=p.age, inflow=("2015-01-01", "2015-01-01"))
    # ages and birth dates relative to the yearly reference date
    age_exact = rng.uniform(p.age[0], p.age[1], n)
    people["birth_date"] = (ref - pd.to_timedelta(np.round(age_exact * 365.25), unit="D")).dt.normalize()
    people["age"] = np.floor(age_exact).astype(int)
    people["inflow_date"] = ref
    long_term = (rng.random(n) < p.long_term_share).astype(int)
    weeks = np.where(long_term == 1, rng.integers(p.long_term_weeks, 160, n),
                     rng.integers(1, p.long_term_weeks, n))
    band = ((age_exact >= p.band[0]) & (age_exact < p.band[1])).astype(int)
    after = (year >= p.change_year).astype(int)
    U = conjunctuur_at(pd.Series(pd.to_datetime([f"{v}-07-01" for v in years])),
                       load_series()).to_numpy()
    cyc = dict(zip(years, U - U.mean()))
    c = np.array([cyc[v] for v in year])
    regions = people["region"].cat.codes.to_numpy()
    shock = rng.normal(0, p.region_year_sd_pp / 100.0, (regions.max() + 1, len(years)))
    x = {"education": people["education"].cat.codes.to_numpy(float),
         "health_limitation": people["health_limitation"].to_numpy(float)}
    person = sum(k * (x[key] - x[key].mean()) for key, k in p.outcome_effects.items())
    person = np.asarray(person, dtype=float) / 10.0  # logit-ish weights -> modest pp shifts
    p0 = (p.base_rate + (p.band_pp * band + p.long_term_pp * long_term
                         + p.band_long_pp * band * long_term) / 100.0
          + c * (p.cycle_pp + p.cycle_band_pp * band + p.cycle_long_pp * long_term) / 100.0
          + shock[regions, year - y0] + person)
    treated = band * long_term * after
    p0c = np.clip(p0, 0.001, 0.999)
    p1c = np.clip(p0 + p.true_effect_pp / 100.0, 0.001, 0.999)
    eff = (p1c - p0c) * 100.0
    if "group_period_shocks" in active(p.stress):  # more region x year shocks (the stress)
        g = active(p.stress)["group_period_shocks"]
        g.check_level("threshold")
        extra = g.shocks(regions.astype(np.int64) * 10_000 + year, p.seed)
        sd = g.sd_pp / 100.0
        eff = (expected_clip(p0 + p.true_effect_pp / 100.0, sd) - expected_clip(p0, sd)) * 100.0
        p0c = np.clip(p0 + extra, 0.001, 0.999)
        p1c = np.clip(p0 + extra + p.true_effect_pp / 100.0, 0.001, 0.999)
    pr = np.where(treated == 1, p1c, p0c)
    df = people.drop(columns=["benefit_months"])
    df.insert(1, "year", year)
    df["ww_weeks"] = weeks
    df["band_56_61"] = band
    df["long_term"] = long_term
    df["after_2018" if p.change_year == 2018 else f"after_{p.change_year}"] = after
    df[spec.treatment.column] = treated
    if spec.outcome.kind == "binary":
        df[spec.outcome.column] = (rng.random(n) < pr).astype(int)
    else:
        df[spec.outcome.column] = 100 * pr + rng.normal(0, p.continuous_sd, n)
    att = float(eff[treated == 1].mean()) if treated.any() else float("nan")
    truth = {"ATT": att, "naive": att}
    desc = (f"{n} WW recipients on 1 January {y0}-{y1}, ages {p.age[0]}-{p.age[1]}; true "
            f"effect of the lowered threshold {att:.2f} pp (seed {p.seed})")
    return Twin(df, truth, desc)
