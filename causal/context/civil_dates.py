"""Calendar arithmetic on whole arrays of dates, for the AOW dates and the months to them
(:mod:`causal.context.aow`): dates to (months since 1970-01, day of month) and back, in
integer arithmetic (Hinnant 2013, "chrono-Compatible Low-Level Date Algorithms":
``civil_from_days`` / ``days_from_civil``), several times faster than numpy's datetime64
casts on registry-sized columns, with a month-end rule for adding months."""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

#: a birth date on the 31st plus k months in a 30-day month: the last day, or the next day
MonthEnd = Literal["last_day", "next_day"]
_EPOCH = 1970  # numpy months count from 1970-01


def _as_datetime(values) -> pd.Series:
    if isinstance(values, pd.Series):
        s = values
    elif isinstance(values, (pd.Index, np.ndarray, list, tuple)):
        s = pd.Series(values)
    else:  # one date
        s = pd.Series([values])
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s


_UNIT_PER_DAY = {"D": 1, "h": 24, "m": 1440, "s": 86_400, "ms": 86_400_000,
                 "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month 1-12, day 1-31) from days since 1970-01-01, in integer arithmetic
    (Hinnant's civil_from_days; several times faster than numpy's datetime64 casts)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 from (year, month, day) (Hinnant's days_from_civil)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    dim = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[m]
    return dim + ((m == 2) & leap)


def _day_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01, 0 where NaT; NaT mask) of a datetime Series."""
    a = s.to_numpy()
    if a.dtype.kind != "M":
        a = a.astype("datetime64[ns]")
    unit = np.datetime_data(a.dtype)[0]
    nat = np.isnat(a)
    raw = a.view(np.int64)
    if unit in _UNIT_PER_DAY:
        days = np.floor_divide(np.where(nat, 0, raw), _UNIT_PER_DAY[unit])
    else:  # unusual units (weeks, months): let numpy convert
        days = np.where(nat, 0, a.astype("datetime64[D]").view(np.int64))
    return days, nat


def _split_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(months since 1970-01, day of month 1-31) of day numbers."""
    y, m, d = _civil(days)
    return (y - _EPOCH) * 12 + (m - 1), d


def _split(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(months since 1970-01, day of month 1-31, NaT mask) of a datetime Series."""
    days, nat = _day_numbers(s)
    bm, d = _split_days(days)
    return bm, d, nat


def _add_months(bm: np.ndarray, day: np.ndarray, k: np.ndarray | int,
                month_end: MonthEnd) -> np.ndarray:
    """Dates ``(bm, day) + k months`` as datetime64[D], with month-end handling."""
    if month_end not in ("last_day", "next_day"):
        raise ValueError(f"month_end: expected 'last_day' or 'next_day', got {month_end!r}")
    tm = bm + k
    y, m = _EPOCH + tm // 12, tm % 12 + 1
    dim = _days_in_month(y, m)
    clipped = day > dim
    out = _days(y, m, np.minimum(day, dim))
    if month_end == "next_day":
        out = np.where(clipped, out + 1, out)  # the last day + 1 = the 1st of the next month
    return out.astype("datetime64[D]")
