"""The business cycle (conjunctuur) at each person's inflow date.

Default: the national unemployment rate by year (CBS, approximate; see causal/data).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from causal.errors import DataError

# Approximate annual national unemployment rate (% of labour force, 15-75), CBS StatLine.
_DEFAULT = {2003: 4.8, 2004: 5.7, 2005: 5.9, 2006: 5.0, 2007: 4.2, 2008: 3.7, 2009: 4.4,
            2010: 5.0, 2011: 5.0, 2012: 5.8, 2013: 7.3, 2014: 7.4, 2015: 6.9, 2016: 6.0,
            2017: 4.9, 2018: 3.8, 2019: 3.4, 2020: 3.8, 2021: 4.2, 2022: 3.5, 2023: 3.6,
            2024: 3.7}


def load_series(series: str = "default", indicator: str = "unemployment_rate",
                base: Path | None = None) -> pd.Series:
    return pd.Series(_DEFAULT, name=indicator)


def conjunctuur_at(dates: pd.Series, series: pd.Series, regions: pd.Series | None = None,
                   source: str = "data") -> pd.Series:
    years = pd.to_datetime(dates).dt.year
    vals = years.map(series)
    if vals.isna().any():
        first = pd.to_datetime(dates)[vals.isna()].min()
        raise DataError(source, f"the conjunctuur series does not cover {first.date()} "
                        f"(it covers {series.index.min()}-{series.index.max()})")
    return vals.astype(float).rename("conjunctuur")
