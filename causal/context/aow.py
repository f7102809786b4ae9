"""The statutory AOW (state pension) age, the date it is reached, and the months to it.

The schedule (Algemene Ouderdomswet art. 7a, as amended by the Wet verhoging AOW- en
pensioenrichtleeftijd (2012), the Wet versnelling (2015) and the Wet temporisering (2019)
that slowed the rise), by the calendar year in which the age is reached:

====================  ============
year reached          AOW age
====================  ============
until 2012            65y
2013                  65y1m
2014                  65y2m
2015                  65y3m
2016                  65y6m
2017                  65y9m
2018                  66y
2019, 2020, 2021      66y4m
2022                  66y7m
2023                  66y10m
2024 to 2027          67y
2028                  67y3m
2029, 2030, 2031      67y3m (set five years ahead by the minister from CBS life expectancy:
                      Kamerbrieven of Nov 2023 (2029), Nov 2024 (2030) and Nov 2025 (2031))
====================  ============

**The rule.** A person's AOW age is that of the *earliest* calendar year in which they reach
that year's age: someone born 1 March 1952 reaches 65y9m on 1 December 2017 and keeps it,
although 66y would also be reached in 2018. Because the year in which ``birth + k months``
falls depends only on the birth *month*, the AOW age is a function of the birth month, which
is what makes the computation a table look-up (see :func:`aow_age_months`).

**After the last year fixed by law (2031).** Later years follow the life-expectancy link
(art. 7a lid 2: 8 months of AOW age per year of extra life expectancy at 65, in steps of 0 or
3 months, announced five years ahead, never falling). Those years are not known yet. **The
default holds the last fixed age (67y3m) constant for every later year.** That is a floor,
not a forecast: the law forbids a fall, and CBS projections point to a further rise of a few
months per decade. Configure later years with :func:`set_schedule` (for the whole process),
the ``NETTO_AOW_SCHEDULE`` environment variable (``"2032=67y6m,2035=67y9m"``), or the
``schedule=`` keyword of each function; years after the last configured one keep its age.

**Month ends.** Adding months to a birth date on the 29th-31st can land on a day the target
month does not have (born 31 May 1951 + 65y6m: "31 November 2016"). We found no statutory
text for this; the default (``month_end="last_day"``) takes the last day of that month
(30 November 2016), the usual civil-law reading of "x months after" and the convention of
``dateutil.relativedelta`` and ``pandas.DateOffset``. ``month_end="next_day"`` takes the
first day of the following month instead. It moves a few AOW dates by one to three days and
never the AOW age.

**Payment start.** Since 1 April 2012 the pension starts on the day the age is reached
(AOW art. 16 lid 1); before that, on the first day of the month in which it was reached. The
functions here give the day the age is reached.

Written by hand: no library implements the Dutch AOW schedule. Vectorised with numpy over
months since 1970 (a million dates in a fraction of a second; see benchmarks/aow.py).
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from causal.context.civil_dates import (
    _EPOCH,
    MonthEnd,
    _add_months,
    _as_datetime,
    _day_numbers,
    _split,
    _split_days,
)

#: AOW age in months before 2013.
BASE_AGE = 65 * 12

#: year -> AOW age in months, for people reaching the AOW age in that calendar year
#: (statutory, or fixed five years ahead by the minister; see the module docstring).
SCHEDULE: dict[int, int] = {
    2013: 65 * 12 + 1, 2014: 65 * 12 + 2, 2015: 65 * 12 + 3, 2016: 65 * 12 + 6,
    2017: 65 * 12 + 9, 2018: 66 * 12, 2019: 66 * 12 + 4, 2020: 66 * 12 + 4,
    2021: 66 * 12 + 4, 2022: 66 * 12 + 7, 2023: 66 * 12 + 10, 2024: 67 * 12,
    2025: 67 * 12, 2026: 67 * 12, 2027: 67 * 12, 2028: 67 * 12 + 3,
    2029: 67 * 12 + 3, 2030: 67 * 12 + 3, 2031: 67 * 12 + 3,
}
#: The last year whose AOW age is fixed; later years are assumptions (configurable).
LAST_FIXED_YEAR = max(SCHEDULE)
ENV_VAR = "NETTO_AOW_SCHEDULE"

_extension: dict[int, int] = {}


# --------------------------------------------------------------------------------------
# The schedule and its configuration
# --------------------------------------------------------------------------------------
def parse_age(value: int | str) -> int:
    """An AOW age as months: ``804``, ``"67y3m"``, ``"67y"``, ``"67 jaar en 3 maanden"``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    m = re.fullmatch(r"(\d+)\s*(?:y|j|jaar|years?)?\s*(?:(?:en|and)?\s*(\d+)\s*(?:m|mnd|maanden|months?))?",
                     text)
    if not m:
        raise ValueError(f"expected an age such as 67y3m or a number of months, got {value!r}")
    return int(m.group(1)) * 12 + int(m.group(2) or 0)


def format_age(months: int) -> str:
    """804 -> '67y3m'; 792 -> '66y'."""
    y, m = divmod(int(months), 12)
    return f"{y}y{m}m" if m else f"{y}y"


def _parse_extension(text: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
        if "=" not in part:
            raise ValueError(f"expected YEAR=AGE pairs such as 2032=67y6m, got {part!r}")
        year, age = part.split("=", 1)
        out[int(year.strip())] = parse_age(age)
    return out


def _check_extension(ext: Mapping[int, int | str], *, what: str) -> dict[int, int]:
    out = {int(y): parse_age(a) for y, a in ext.items()}
    fixed = [y for y in out if y <= LAST_FIXED_YEAR]
    if fixed:
        raise ValueError(f"{what}: the AOW age for {sorted(fixed)} is fixed by law "
                         f"(up to {LAST_FIXED_YEAR}); configure only later years")
    prev = SCHEDULE[LAST_FIXED_YEAR]
    for y in sorted(out):
        if out[y] < prev:
            raise ValueError(f"{what}: the AOW age cannot fall (AOW art. 7a); {y} has "
                             f"{format_age(out[y])} after {format_age(prev)}")
        if out[y] > 75 * 12:
            raise ValueError(f"{what}: {format_age(out[y])} for {y} is not a plausible AOW age")
        prev = out[y]
    return out


def set_schedule(extension: Mapping[int, int | str] | None = None) -> None:
    """Set the AOW ages for years after the last fixed year (``None`` resets to the default:
    the last fixed age held constant). Ages as months or strings such as ``"67y6m"``."""
    global _extension
    _extension = {} if extension is None else _check_extension(extension, what="set_schedule")


def active_schedule(schedule: Mapping[int, int | str] | None = None) -> dict[int, int]:
    """The full year -> months schedule in force: statutory years, then (in order of
    precedence) the ``schedule`` argument, :func:`set_schedule`, ``NETTO_AOW_SCHEDULE``."""
    out = dict(SCHEDULE)
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            out.update(_check_extension(_parse_extension(env), what=f"environment {ENV_VAR}"))
        except ValueError as e:
            raise ValueError(f"environment variable {ENV_VAR}={env!r}: {e}") from None
    out.update(_extension)
    if schedule is not None:
        out.update(_check_extension(schedule, what="schedule"))
    prev = out[LAST_FIXED_YEAR]
    for y in sorted(k for k in out if k > LAST_FIXED_YEAR):  # mixed sources: keep monotone
        if out[y] < prev:
            raise ValueError(f"the configured AOW age for {y} ({format_age(out[y])}) is below "
                             f"that of an earlier year ({format_age(prev)})")
        prev = out[y]
    return out


def is_assumed(year: int) -> bool:
    """True when the AOW age for ``year`` is not fixed by law (an assumption or a setting)."""
    return int(year) > LAST_FIXED_YEAR


# --------------------------------------------------------------------------------------
# Core: AOW age by birth month
# --------------------------------------------------------------------------------------
def _age_for_birth_months(bm: np.ndarray, sched: dict[int, int]) -> np.ndarray:
    """AOW age in months for birth months ``bm`` (months since 1970-01).

    The year in which age ``k`` months is reached is ``1970 + (bm + k) // 12``, whatever the
    day of birth. Walk the schedule years in order and keep the first year whose age is
    reached within it (the earliest-year rule); people reaching 65 by 2012 keep 65.
    """
    age = np.full(bm.shape, -1, dtype=np.int64)
    hit = (_EPOCH + (bm + BASE_AGE) // 12) <= 2012
    age[hit] = BASE_AGE
    last = BASE_AGE
    for year in sorted(sched):
        k = sched[year]
        todo = age < 0
        if not todo.any():
            break
        hit = todo & ((_EPOCH + (bm + k) // 12) <= year)
        age[hit] = k
        last = k
    age[age < 0] = last  # beyond the last configured year: its age holds
    return age


def _ages(bm: np.ndarray, nat: np.ndarray, sched: dict[int, int]) -> np.ndarray:
    if len(bm) > 20_000:  # one schedule walk per distinct birth month, then a gather
        ok = bm[~nat]
        lo, hi = (int(ok.min()), int(ok.max())) if len(ok) else (0, 0)
        table = _age_for_birth_months(np.arange(lo, hi + 1, dtype=np.int64), sched)
        return table[np.clip(bm - lo, 0, hi - lo)]
    return _age_for_birth_months(bm, sched)


def aow_age_months(birth, *, schedule: Mapping[int, int | str] | None = None) -> pd.Series:
    """AOW age in months for each birth date (vectorised; NaN where the birth date is NaT)."""
    s = _as_datetime(birth)
    bm, _, nat = _split(s)
    age = _ages(bm, nat, active_schedule(schedule))
    out = pd.Series(age, index=s.index, dtype="Int64" if nat.any() else "int64")
    if nat.any():
        out[nat] = pd.NA
    return out.rename("aow_age_months")


def aow_age(birth, *, schedule: Mapping[int, int | str] | None = None) -> pd.DataFrame:
    """The AOW age per person: columns ``years``, ``months`` and ``age_months`` (total)."""
    total = aow_age_months(birth, schedule=schedule)
    return pd.DataFrame({"years": total // 12, "months": total % 12, "age_months": total},
                        index=total.index)


def aow_date(birth, *, schedule: Mapping[int, int | str] | None = None,
             month_end: MonthEnd = "last_day") -> pd.Series:
    """The date each person reaches the AOW age (NaT where the birth date is NaT)."""
    s = _as_datetime(birth)
    days, nat = _day_numbers(s)
    ok = days[~nat]
    lo, hi = (int(ok.min()), int(ok.max())) if len(ok) else (0, 0)
    if len(days) > 20_000 and hi - lo < len(days) // 4:
        # a date per birth day of the range, then a gather: the same dates (each depends on
        # the birth day alone) without the calendar arithmetic per person (registry data
        # hold a few thousand birth days in millions of rows)
        span = np.arange(lo, hi + 1, dtype=np.int64)
        bm, day = _split_days(span)
        table = _add_months(bm, day, _ages(bm, np.zeros(len(span), bool),
                                           active_schedule(schedule)), month_end)
        out = table[np.clip(days - lo, 0, hi - lo)].astype("datetime64[us]")
    else:
        bm, day = _split_days(days)
        age = _ages(bm, nat, active_schedule(schedule))
        out = _add_months(bm, day, age, month_end).astype("datetime64[us]")
    out[nat] = np.datetime64("NaT")
    return pd.Series(out, index=s.index, name="aow_date")


def months_to_aow(birth, reference, *, schedule: Mapping[int, int | str] | None = None,
                  month_end: MonthEnd = "last_day") -> pd.Series:
    """Months from the reference date to the AOW date (negative once reached), as days /
    30.4375 (the mean Gregorian month), rounded to 2 decimals. ``reference`` is a date per
    person or one date for all."""
    ad = aow_date(birth, schedule=schedule, month_end=month_end)
    ref = _as_datetime(reference)
    r = ref.to_numpy(dtype="datetime64[D]")
    if len(r) == 1 and len(ad) != 1:
        r = np.repeat(r, len(ad))
    if len(r) != len(ad):
        raise ValueError(f"reference has {len(r)} dates for {len(ad)} birth dates")
    days = (ad.to_numpy(dtype="datetime64[D]") - r).astype("timedelta64[D]")
    m = days.astype(np.float64)
    m[np.isnat(days)] = np.nan
    return pd.Series(np.round(m / 30.4375, 2), index=ad.index, name="months_to_aow")


def reaches_aow_within(birth, reference, horizon_months: int, *,
                       schedule: Mapping[int, int | str] | None = None,
                       month_end: MonthEnd = "last_day") -> pd.Series:
    """True when the AOW date falls before the end of the horizon (``reference`` + horizon
    calendar months), including people past it already. Such a person cannot exit to work
    after that date; for duration outcomes it is a competing exit, not a success."""
    ad = aow_date(birth, schedule=schedule, month_end=month_end)
    ref = _as_datetime(reference)
    if len(ref) == 1 and len(ad) != 1:
        ref = pd.Series(np.repeat(ref.to_numpy(), len(ad)), index=ad.index)
    rm, rday, rnat = _split(ref)
    end = _add_months(rm, rday, int(horizon_months), "last_day")
    out = ad.to_numpy(dtype="datetime64[D]") < end
    out[np.isnat(ad.to_numpy(dtype="datetime64[D]")) | rnat] = False
    return pd.Series(out, index=ad.index, name="reaches_aow_within_horizon")


def aow_date_loop(birth_dates, schedule: Mapping[int, int | str] | None = None) -> list:
    """The same rule as :func:`aow_date`, one person at a time in plain Python.

    A reference implementation for tests and the benchmark (benchmarks/aow.py), written
    as directly from the statute's wording as possible.
    """
    import calendar
    import datetime as dt

    sched = active_schedule(schedule)

    def plus(d: dt.date, months: int) -> dt.date:
        y, m = divmod(d.month - 1 + months, 12)
        y += d.year
        return dt.date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))

    out = []
    last_year = max(sched)
    for b in birth_dates:
        b = pd.Timestamp(b).date()
        d = plus(b, BASE_AGE)
        if d.year > 2012:
            year = 2013
            while True:
                k = sched[min(year, last_year)]
                d = plus(b, k)
                if d.year <= year:
                    break
                year += 1
        out.append(d)
    return out
