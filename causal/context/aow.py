"""The statutory AOW (state pension) age and the months to reach it.

Schedule by the calendar year in which the age is reached (Algemene Ouderdomswet art. 7a,
as amended by the Wet verhoging AOW- en pensioenrichtleeftijd 2012 and the 2019 agreement
that slowed the rise): 65 until 2012; 65y1m 2013; 65y2m 2014; 65y3m 2015; 65y6m 2016;
65y9m 2017; 66y 2018; 66y4m 2019-2021; 66y7m 2022; 66y10m 2023; 67y 2024-2027; 67y3m 2028.
A person's AOW age is that of the earliest calendar year in which they reach that year's age.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: year -> AOW age in months, for people reaching the AOW age in that calendar year.
SCHEDULE: dict[int, int] = {
    2012: 65 * 12, 2013: 65 * 12 + 1, 2014: 65 * 12 + 2, 2015: 65 * 12 + 3, 2016: 65 * 12 + 6,
    2017: 65 * 12 + 9, 2018: 66 * 12, 2019: 66 * 12 + 4, 2020: 66 * 12 + 4, 2021: 66 * 12 + 4,
    2022: 66 * 12 + 7, 2023: 66 * 12 + 10, 2024: 67 * 12, 2025: 67 * 12, 2026: 67 * 12,
    2027: 67 * 12, 2028: 67 * 12 + 3,
}


def _schedule(until: int = 2060) -> dict[int, int]:
    s = dict(SCHEDULE)
    last = s[max(s)]
    for y in range(max(s) + 1, until + 1):
        s[y] = last
    return s


def aow_date(birth: pd.Series) -> pd.Series:
    """Date each person reaches the AOW age (vectorised; a loop over schedule years only)."""
    birth = pd.to_datetime(pd.Series(birth)).astype("datetime64[ns]")
    out = pd.Series(pd.NaT, index=birth.index, dtype="datetime64[ns]")
    # before 2013: 65
    d65 = birth + pd.DateOffset(years=65)
    early = d65.dt.year <= 2012
    out[early] = d65[early]
    for year, months in sorted(_schedule().items()):
        if year <= 2012:
            continue
        todo = out.isna()
        if not todo.any():
            break
        cand = birth[todo] + pd.DateOffset(months=months)
        hit = cand.dt.year <= year
        out.loc[cand.index[hit.to_numpy()]] = cand[hit]
    return out


def months_to_aow(birth: pd.Series, reference: pd.Series) -> pd.Series:
    """Months from the reference date to the AOW date (negative once reached)."""
    ad = aow_date(birth)
    ref = pd.to_datetime(pd.Series(reference)).astype("datetime64[ns]")
    days = (ad.to_numpy() - ref.to_numpy()) / np.timedelta64(1, "D")
    return pd.Series(np.round(days / 30.4375, 2), index=birth.index, name="months_to_aow")
