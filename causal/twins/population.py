"""The population every twin starts from: older jobseekers with the traits the seed reports
name (age 45-67, sex, education in 5 levels, benefit duration, health limitation, one of the
35 arbeidsmarktregio's, inflow date, birth date consistent with age and inflow date).

Shares are calibrated to the seed notes where they give them, cited inline.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: The 35 arbeidsmarktregio's (labour-market regions), with rough relative sizes of their
#: working-age population (larger urban regions weigh more; approximate, for twins only).
REGIONS: dict[str, float] = {
    "Groningen": 3.3, "Friesland": 3.7, "Drenthe": 2.8, "Regio Zwolle": 3.7, "Twente": 3.6,
    "Stedendriehoek en Noordwest Veluwe": 3.0, "Achterhoek": 1.7, "Midden-Gelderland": 3.9,
    "FoodValley": 2.0, "Rivierenland": 1.4, "Rijk van Nijmegen": 2.2, "Flevoland": 2.4,
    "Midden-Utrecht": 5.9, "Amersfoort": 1.9, "Noord-Holland Noord": 3.7,
    "Zaanstreek/Waterland": 1.9, "Zuid-Kennemerland en IJmond": 3.1, "Groot Amsterdam": 8.0,
    "Gooi en Vechtstreek": 1.4, "Holland Rijnland": 3.2, "Zuid-Holland Centraal": 2.2,
    "Haaglanden": 6.3, "Midden-Holland": 1.3, "Rijnmond": 7.9, "Drechtsteden": 1.7,
    "Gorinchem": 0.7, "Zeeland": 2.2, "West-Brabant": 3.6, "Midden-Brabant": 2.7,
    "Noordoost-Brabant": 3.9, "Zuidoost-Brabant": 4.4, "Helmond-De Peel": 1.4,
    "Noord-Limburg": 1.6, "Midden-Limburg": 1.4, "Zuid-Limburg": 3.6,
}
EDUCATION = ["vmbo", "mbo", "havo", "hbo", "wo"]


def population(n: int, rng: np.random.Generator, *, age: tuple[float, float] = (45, 67),
               inflow: tuple[str, str] = ("2017-01-01", "2018-12-31"),
               female_share: float = 0.45,
               education_shares: tuple[float, ...] = (0.30, 0.38, 0.07, 0.18, 0.07),
               health_share: float = 0.30, benefit_months_mean: float = 18.0,
               regions: list[str] | None = None, below_aow: bool = False) -> pd.DataFrame:
    """Draw ``n`` persons. Deterministic given ``rng``.

    Defaults: education shares for older benefit recipients lean lower than the
    Ontwikkeladvies participants (000 §3.1: 41% hbo, 16% wo among employed 45+ participants);
    30% with a health limitation follows the Almere case-manager estimate of 30-40%
    (001 §5). Every generator may override these from its spec's simulation block.

    ``below_aow``: everyone is below the AOW age at inflow (benefits end at it, so a WW or
    bijstand inflow population has nobody past it); ages of those past it are redrawn from
    the same range (rejection sampling, after all other draws, so the other columns are the
    same as without it).
    """
    names = list(REGIONS) if regions is None else regions
    w = np.array([REGIONS.get(r, 1.0) for r in names])
    lo, hi = pd.Timestamp(inflow[0]), pd.Timestamp(inflow[1])
    span = (hi - lo).days
    inflow_date = lo + pd.to_timedelta(rng.integers(0, span + 1, n), unit="D")
    age_years = rng.uniform(age[0], age[1], n)
    birth = inflow_date - pd.to_timedelta(np.round(age_years * 365.25), unit="D")
    edu = rng.choice(len(EDUCATION), size=n, p=np.asarray(education_shares) / sum(education_shares))
    df = pd.DataFrame({
        "person_id": np.arange(1, n + 1),
        "age": np.floor(age_years).astype(int),
        "sex": np.where(rng.random(n) < female_share, "vrouw", "man"),
        "education": pd.Categorical.from_codes(edu, categories=EDUCATION, ordered=True),
        "benefit_months": np.round(rng.gamma(2.0, benefit_months_mean / 2.0, n), 1),
        "health_limitation": (rng.random(n) < health_share).astype(int),
        "region": pd.Categorical(rng.choice(names, size=n, p=w / w.sum()), categories=names),
        "inflow_date": inflow_date.normalize(),
        "birth_date": birth.normalize(),
    })
    if below_aow:
        _redraw_past_aow(df, age_years, rng, age)
    return df


def _redraw_past_aow(df: pd.DataFrame, age_years: np.ndarray, rng: np.random.Generator,
                     age: tuple[float, float]) -> None:
    """Redraw (in place) the ages of persons at or past the AOW age on their inflow date."""
    from causal.context.aow import aow_date

    inflow = pd.DatetimeIndex(df["inflow_date"])
    for _ in range(200):
        past = (aow_date(df["birth_date"]).to_numpy() <= df["inflow_date"].to_numpy())
        if not past.any():
            return
        k = int(past.sum())
        age_years[past] = rng.uniform(age[0], age[1], k)
        birth = inflow[past] - pd.to_timedelta(np.round(age_years[past] * 365.25), unit="D")
        df.loc[past, "birth_date"] = birth.normalize()
        df.loc[past, "age"] = np.floor(age_years[past]).astype(int)
    raise ValueError(f"population: the age range {age} leaves (almost) nobody below the AOW "
                     "age at inflow; lower the upper age")


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def solve_intercept(eta: np.ndarray, target: float, scale: np.ndarray | None = None) -> float:
    """Intercept a such that mean(scale * logistic(a + eta)) == target (bisection)."""
    s = np.ones_like(eta) if scale is None else scale
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean(s * logistic(mid + eta)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def context_terms(df: pd.DataFrame, horizon_months: int, *,
                  series: pd.Series | None = None) -> dict[str, np.ndarray]:
    """The AOW and business-cycle drivers of job finding that every twin shares.

    - ``aow_share``: the share of the outcome horizon before the AOW date (0-1); no exit to
      work after the AOW age, so the chance scales with it.
    - ``aow_near``: years within 5 years of the AOW age (0-5); job finding falls as the AOW
      date approaches (000 §6: 60+ exit to work about 30 points below 50-60).
    - ``cycle``: the unemployment rate at inflow, centred on 5%: the bundled national CBS
      series by default, or ``series`` (e.g. a regional one from
      :func:`causal.context.conjunctuur.simulate_regional_series`, looked up in each
      person's ``region``).

    Calibration (individual twin defaults ``cycle_effect``/``aow_effect``; checked in
    tests/test_context_twins.py): a WW-like twin aged 50 to the AOW age with inflow spread
    over 2015-2019 gives exit-to-work rates for 50-60 and 60+ in 2016 and 2018 inside the
    regional ranges of seed notes 000 §6/§7 (50-60: 55-67% -> 64-76%; 60+: 25-34% -> 35-42%).
    """
    from causal.context.aow import months_to_aow
    from causal.context.conjunctuur import conjunctuur_at, load_series

    mta = months_to_aow(df["birth_date"], df["inflow_date"]).to_numpy()
    if series is None:
        series = load_series()
    regions = df["region"] if "region" in df.columns else None
    u = conjunctuur_at(df["inflow_date"], series, regions=regions,
                       source="twin population").to_numpy()
    return {
        "months_to_aow": mta,
        "aow_share": np.clip(mta / horizon_months, 0.0, 1.0),
        "aow_near": np.clip(5.0 - mta / 12.0, 0.0, 5.0),
        "cycle": u - 5.0,
    }
