"""AOW age: hand-checked cases on both sides of every step of the statutory schedule,
month ends, configuration after the last fixed year, and the derived confounders.

Each case was worked out by hand from the rule "the age of the earliest calendar year in
which the person reaches that year's age" (see causal/context/aow.py): for the last person
with the old age, birth + old age falls in the old year; for the first with the new age,
birth + old age falls in the next year, and birth + new age is the date.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal.context import aow
from causal.context.aow import (
    aow_age,
    aow_age_months,
    aow_date,
    aow_date_loop,
    months_to_aow,
    reaches_aow_within,
    set_schedule,
)

# (birth date, AOW date, AOW age "YyMm"); pairs straddle each step of the schedule.
CASES = [
    # 65 until 2012 | 65y1m in 2013 (issue's examples)
    ("1947-12-31", "2012-12-31", "65y"),
    ("1948-01-01", "2013-02-01", "65y1m"),
    # 65y1m 2013 | 65y2m 2014
    ("1948-11-30", "2013-12-30", "65y1m"),
    ("1948-12-01", "2014-02-01", "65y2m"),
    # 65y2m 2014 | 65y3m 2015
    ("1949-10-31", "2014-12-31", "65y2m"),
    ("1949-11-01", "2015-02-01", "65y3m"),
    # 65y3m 2015 | 65y6m 2016
    ("1950-09-30", "2015-12-30", "65y3m"),
    ("1950-10-01", "2016-04-01", "65y6m"),
    # 65y6m 2016 | 65y9m 2017
    ("1951-06-30", "2016-12-30", "65y6m"),
    ("1951-07-01", "2017-04-01", "65y9m"),
    # 65y9m 2017 | 66y 2018 (issue: born 1 March 1952 keeps 65y9m although 66y falls in 2018)
    ("1952-03-01", "2017-12-01", "65y9m"),
    ("1952-03-31", "2017-12-31", "65y9m"),
    ("1952-04-01", "2018-04-01", "66y"),
    # 66y 2018 | 66y4m 2019
    ("1952-12-31", "2018-12-31", "66y"),
    ("1953-01-01", "2019-05-01", "66y4m"),
    # 66y4m in 2019, 2020 and 2021 (issue: 1 Sep 1953 -> 1 Jan 2020)
    ("1953-08-31", "2019-12-31", "66y4m"),
    ("1953-09-01", "2020-01-01", "66y4m"),
    # 66y4m 2021 | 66y7m 2022 (issue: 15 Sep 1955 -> 15 Apr 2022)
    ("1955-08-31", "2021-12-31", "66y4m"),
    ("1955-09-01", "2022-04-01", "66y7m"),
    ("1955-09-15", "2022-04-15", "66y7m"),
    # 66y7m 2022 | 66y10m 2023
    ("1956-05-31", "2022-12-31", "66y7m"),
    ("1956-06-01", "2023-04-01", "66y10m"),
    # 66y10m 2023 | 67y 2024
    ("1957-02-28", "2023-12-28", "66y10m"),
    ("1957-03-01", "2024-03-01", "67y"),
    ("1957-05-12", "2024-05-12", "67y"),
    # 67y 2027 | 67y3m 2028 (issue: 1 Jan 1961 -> 1 Apr 2028)
    ("1960-12-31", "2027-12-31", "67y"),
    ("1961-01-01", "2028-04-01", "67y3m"),
    # 67y3m from 2028 on (fixed to 2031; held after that by default)
    ("1961-09-30", "2028-12-30", "67y3m"),
    ("1961-10-01", "2029-01-01", "67y3m"),
    ("1970-01-01", "2037-04-01", "67y3m"),
]


@pytest.mark.parametrize("birth,expected,age", CASES)
def test_hand_checked_cases(birth, expected, age):
    got = aow_date(pd.Series([pd.Timestamp(birth)])).iloc[0]
    assert got == pd.Timestamp(expected), f"born {birth}: {got.date()} != {expected}"
    a = aow_age(pd.Series([pd.Timestamp(birth)])).iloc[0]
    assert aow.format_age(12 * a["years"] + a["months"]) == age
    # the plain per-person implementation agrees
    assert aow_date_loop([birth])[0] == dt.date.fromisoformat(expected)


def test_vectorised_over_all_cases_at_once():
    births = pd.Series(pd.to_datetime([c[0] for c in CASES]), index=np.arange(len(CASES)) * 7)
    got = aow_date(births)
    assert list(got.index) == list(births.index)
    assert list(got.dt.strftime("%Y-%m-%d")) == [c[1] for c in CASES]
    ages = aow_age(births)
    assert list(ages.columns) == ["years", "months", "age_months"]
    assert (ages["years"] * 12 + ages["months"] == ages["age_months"]).all()


def test_scalar_strings_and_missing_dates():
    assert aow_date("1952-03-01").iloc[0] == pd.Timestamp("2017-12-01")
    s = pd.Series([pd.Timestamp("1952-03-01"), pd.NaT])
    assert aow_date(s).isna().tolist() == [False, True]
    assert aow_age_months(s).isna().tolist() == [False, True]
    assert np.isnan(months_to_aow(s, "2017-01-01").iloc[1])


def test_age_is_non_decreasing_in_birth_date():
    births = pd.Series(pd.date_range("1940-01-01", "1975-12-31", freq="D"))
    months = aow_age_months(births).to_numpy()
    dates = aow_date(births)
    assert (np.diff(months) >= 0).all()
    assert dates.is_monotonic_increasing
    assert months.min() == 65 * 12 and months.max() == 67 * 12 + 3


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(1995, 12, 31)))
def test_vectorised_matches_plain_loop(d):
    assert aow_date(pd.Series([pd.Timestamp(d)])).iloc[0].date() == aow_date_loop([d])[0]


def test_large_table_path_matches_loop():
    """Above 20,000 dates the age comes from a per-birth-month table; same answers."""
    rng = np.random.default_rng(3)
    births = pd.Series(pd.Timestamp("1930-01-01")
                       + pd.to_timedelta(rng.integers(0, 365 * 50, 25_000), unit="D"))
    fast = aow_date(births)
    sample = rng.choice(len(births), 300, replace=False)
    slow = aow_date_loop(births.iloc[sample])
    assert [x.date() for x in fast.iloc[sample]] == slow


# -- month ends -----------------------------------------------------------------------
def test_month_end_last_day_default_and_next_day_option():
    # born 31 May 1951: 65y6m lands on "31 November 2016"
    b = pd.Series([pd.Timestamp("1951-05-31")])
    assert aow_date(b).iloc[0] == pd.Timestamp("2016-11-30")
    assert aow_date(b, month_end="next_day").iloc[0] == pd.Timestamp("2016-12-01")
    # a day that exists is never moved
    b2 = pd.Series([pd.Timestamp("1951-05-30")])
    assert aow_date(b2, month_end="next_day").iloc[0] == pd.Timestamp("2016-11-30")
    # the age itself does not depend on the day of birth
    assert aow_age_months(b).iloc[0] == aow_age_months(b2).iloc[0] == 65 * 12 + 6
    with pytest.raises(ValueError, match="month_end"):
        aow_date(b, month_end="first_day")


def test_leap_day_birth():
    # born 29 Feb 1952 -> 65y9m -> 29 Nov 2017; born 29 Feb 1956 -> 66y7m -> 29 Sep 2022
    b = pd.Series(pd.to_datetime(["1952-02-29", "1956-02-29"]))
    assert list(aow_date(b).dt.strftime("%Y-%m-%d")) == ["2017-11-29", "2022-09-29"]


# -- configuration after the last fixed year ------------------------------------------
def test_default_holds_last_fixed_age_after_2031():
    assert aow.LAST_FIXED_YEAR == 2031
    assert aow.active_schedule()[2031] == 67 * 12 + 3
    assert aow_age_months("1990-06-15").iloc[0] == 67 * 12 + 3
    assert aow.is_assumed(2032) and not aow.is_assumed(2031)


def test_configured_schedule_keyword_setter_and_env(monkeypatch):
    # born 1 Oct 1964: 67y3m would fall on 1 Jan 2032, so 2032's age applies
    b = pd.Series([pd.Timestamp("1964-10-01"), pd.Timestamp("1964-09-30")])
    assert list(aow_date(b).dt.strftime("%Y-%m-%d")) == ["2032-01-01", "2031-12-30"]
    kw = aow_date(b, schedule={2032: "67y6m"})
    assert list(kw.dt.strftime("%Y-%m-%d")) == ["2032-04-01", "2031-12-30"]
    try:
        set_schedule({2032: 67 * 12 + 6})
        assert aow_date(b).iloc[0] == pd.Timestamp("2032-04-01")
    finally:
        set_schedule(None)
    assert aow_date(b).iloc[0] == pd.Timestamp("2032-01-01")
    monkeypatch.setenv(aow.ENV_VAR, "2032=67y6m, 2035=67y9m")
    assert aow_date(b).iloc[0] == pd.Timestamp("2032-04-01")
    assert aow_age_months("1975-01-01").iloc[0] == 67 * 12 + 9
    # the loop reference reads the same configuration
    assert aow_date_loop(["1964-10-01"])[0] == dt.date(2032, 4, 1)


def test_schedule_errors():
    with pytest.raises(ValueError, match="fixed by law"):
        set_schedule({2030: "68y"})
    with pytest.raises(ValueError, match="cannot fall"):
        set_schedule({2032: "67y"})
    with pytest.raises(ValueError, match="cannot fall"):
        aow_date("1970-01-01", schedule={2032: "68y", 2033: "67y6m"})
    with pytest.raises(ValueError, match="67y3m"):
        aow.parse_age("sixty-seven")
    assert aow.parse_age("67 jaar en 3 maanden") == 807
    assert aow.parse_age(804) == 804


def test_bad_environment_variable_is_named(monkeypatch):
    monkeypatch.setenv(aow.ENV_VAR, "2032:67y")
    with pytest.raises(ValueError, match=aow.ENV_VAR):
        aow_date("1970-01-01")


# -- months_to_aow and reaches_aow_within_horizon -------------------------------------
def test_months_to_aow_sign_and_scale():
    b = pd.Series(pd.to_datetime(["1952-03-01", "1952-03-01", "1952-03-01"]))
    ref = pd.Series(pd.to_datetime(["2016-12-01", "2017-12-01", "2018-12-01"]))
    m = months_to_aow(b, ref)
    assert m.name == "months_to_aow"
    assert m.iloc[0] == pytest.approx(365 / 30.4375, abs=0.01)   # one year before: ~12
    assert m.iloc[1] == 0.0
    assert m.iloc[2] == pytest.approx(-12.0, abs=0.05)
    # one reference date for everyone
    assert (months_to_aow(b, "2017-12-01") == pd.Series([0.0, 0.0, 0.0])).all()


def test_reaches_aow_within_horizon_calendar_months():
    # AOW date 1 Dec 2017 (born 1 Mar 1952); inflow 1 Dec 2016; 12-month horizon ends
    # 1 Dec 2017: AOW on the last day is not before the end
    b = pd.Series(pd.to_datetime(["1952-03-01"] * 4))
    ref = pd.Series(pd.to_datetime(["2016-12-01", "2016-12-02", "2016-11-30", "2018-01-01"]))
    r = reaches_aow_within(b, ref, 12)
    assert r.tolist() == [False, True, False, True]
    # month end in the horizon: 31 Jan + 1 month ends 28 Feb
    b2 = pd.Series(pd.to_datetime(["1952-03-01"]))  # AOW 1 Dec 2017
    assert not reaches_aow_within(b2, "2017-10-31", 1).iloc[0]    # horizon ends 30 Nov
    assert reaches_aow_within(b2, "2017-10-31", 2).iloc[0]        # horizon ends 31 Dec


def test_add_context_derives_both_confounders():
    from causal.context import add_context
    from causal.spec import Spec

    spec = Spec.model_validate({
        "measure": "t", "title": "t", "source": {"report": "r"},
        "treatment": {"column": "d", "assignment": "randomized"},
        "outcome": {"column": "y", "kind": "binary", "horizon_months": 12},
        "confounders": ["months_to_aow", "reaches_aow_within_horizon", "conjunctuur"],
        "estimators": [{"name": "naive"}],
    })
    df = pd.DataFrame({
        "birth_date": ["1952-03-01", "1952-03-01", "1960-06-15"],
        "inflow_date": ["2016-12-01", "2016-12-02", "2017-03-01"],
        "d": [1, 0, 1], "y": [0, 1, 0],
    })
    out = add_context(df, spec, "test data")
    assert out["reaches_aow_within_horizon"].tolist() == [0, 1, 0]
    assert out["months_to_aow"].iloc[2] == pytest.approx(
        (pd.Timestamp("2027-06-15") - pd.Timestamp("2017-03-01")).days / 30.4375, abs=0.01)
    assert out["conjunctuur"].tolist() == [6.0, 6.0, 4.9]
    assert "months_to_aow" not in df.columns  # a new frame


def test_add_context_names_bad_dates():
    from causal.context import add_context
    from causal.errors import DataError
    from causal.spec import Spec

    spec = Spec.model_validate({
        "measure": "t", "title": "t", "source": {"report": "r"},
        "treatment": {"column": "d", "assignment": "randomized"},
        "outcome": {"column": "y", "kind": "binary", "horizon_months": 12},
        "confounders": ["months_to_aow"], "estimators": [{"name": "naive"}],
    })
    df = pd.DataFrame({"birth_date": ["1952-03-01", "31-02-1950"],
                       "inflow_date": ["2016-12-01", "2017-01-01"], "d": [1, 0], "y": [0, 1]})
    with pytest.raises(DataError, match="birth_date"):
        add_context(df, spec, "file.csv")


def test_aow_date_by_birth_day_table_as_per_person():
    """From 20,000 rows on the AOW date is computed once per birth day of the range and
    gathered: the same dates as the per-person arithmetic (chunks under 20,000 rows)."""
    import numpy as np
    import pandas as pd

    from causal.context.aow import aow_date, months_to_aow

    r = np.random.default_rng(7)
    days = r.integers(-7000, -2000, 30_000)  # birth days 1950-1964
    birth = pd.Series(pd.to_datetime(days, unit="D")).astype("datetime64[us]")
    birth[5] = pd.NaT
    ref = pd.Series(pd.to_datetime(r.integers(17500, 18300, 30_000), unit="D"))
    for month_end in ("last_day", "next_day"):
        whole = aow_date(birth, month_end=month_end)
        parts = pd.concat([aow_date(birth.iloc[i:i + 10_000], month_end=month_end)
                           for i in range(0, 30_000, 10_000)])
        pd.testing.assert_series_equal(whole, parts)
    assert pd.isna(whole[5])
    m = months_to_aow(birth, ref)
    pd.testing.assert_series_equal(m, pd.concat([months_to_aow(birth.iloc[i:i + 10_000],
                                                                ref.iloc[i:i + 10_000])
                                                  for i in range(0, 30_000, 10_000)]))
