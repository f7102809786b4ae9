"""Text values read as numbers and dates, one rule per column (helpers of
:mod:`causal.columns`): decimal point or comma (with thousands separators), the
decimal-comma hint for values that fail, dates in one format per column (never a per-value
guess that could swap day and month), bare years refused where a date is needed; and
:func:`by_value`, which runs such elementwise rules once per distinct value of a column.

Hand-written: the rules are netto's (which notation, when a year is not a date); the
parsing is pandas'.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from causal.errors import DataError

_NUM_DOT = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_NUM_COMMA = re.compile(r"^\s*[-+]?(\d+,?\d*|,\d+)([eE][-+]?\d+)?\s*$")
_NUM_COMMA_THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}(\.\d{3})+(,\d+)?\s*$")
_YEAR = re.compile(r"^\s*(1[89]|2[01])\d\d(\.0)?\s*$")


def _sample(s: pd.Series) -> str:
    v = s.iloc[0]
    return repr(v.item() if hasattr(v, "item") else v)


def by_value(s: pd.Series, fn: Callable[[pd.Series], pd.Series | pd.DataFrame]
             ) -> pd.Series | pd.DataFrame:
    """``fn`` (elementwise: row i of its result depends on value i alone) applied to the
    distinct values of ``s`` only and spread back to the rows, in ``s``'s index. Text
    columns of registry extracts hold a handful of values in a million rows (sex, region,
    ja/nee): parsing, stripping and matching each row again cost seconds, one per distinct
    value costs nothing. Missing values are passed as one value too."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) * 2 > len(s):  # mostly distinct (ids, free text): nothing to share
        return fn(s)
    vals = pd.Series(uniq, dtype=s.dtype)
    if (codes < 0).any():  # one extra value for the missing ones
        vals = pd.concat([vals, s[codes < 0].iloc[:1]], ignore_index=True)
        codes = np.where(codes < 0, len(uniq), codes)
    return fn(vals).take(codes).set_axis(s.index)


def to_numbers(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Text -> float with the given decimal mark; returns (numbers, mask of unparsable)."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.astype(float)
        return v, pd.Series(False, index=s.index)
    both = by_value(s, lambda u: pd.DataFrame(dict(zip(("num", "bad"), _parse_numbers(
        u, decimal), strict=True))))
    return both["num"], both["bad"]


def _parse_numbers(s: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    text = s.astype("string").str.strip()
    if decimal == ",":
        thousands = text.str.match(_NUM_COMMA_THOUSANDS).fillna(False)
        text = text.where(~thousands, text.str.replace(".", "", regex=False))
        text = text.str.replace(",", ".", regex=False)
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() & s.notna() & (text != "")
    return num.astype(float), bad.fillna(False).astype(bool)


def decimal_hint(bad: pd.Series, decimal: str) -> str:
    """The decimal-comma hint when the unparsable values look like numbers in the other
    notation."""
    t = bad.astype(str)
    if decimal == "." and t.str.match(_NUM_COMMA).mean() > 0.5:
        return ("; these look like numbers with a decimal comma: save the file with decimal "
                "points, save it as ';'-separated CSV (Dutch Excel's 'CSV (puntkomma "
                "gescheiden)'), or set the spec's data.csv.decimal: ','")
    if decimal == "," and t.str.match(_NUM_DOT).mean() > 0.5:
        return ("; these look like numbers with a decimal point: set the spec's "
                "data.csv.decimal: '.'")
    return ("; fix those values, declare the column categorical in data.types if it is not a "
            "number, or list the codes that mean 'no value' in data.missing")


def as_dates(s: pd.Series, source: str, column: str) -> pd.Series:
    """:func:`parse_dates`, and every row must have a date."""
    d = parse_dates(s, source, column)
    if d.isna().any():
        raise DataError(source, f"{int(d.isna().sum())} rows have no date; every row needs one",
                        column=column)
    return d


def refuse_years(s: pd.Series, source: str, column: str) -> None:
    """A bare year (1960) where a date is needed is an error: reading it as 1 January would
    shift every age and AOW date derived from it."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return
    years = by_value(s, lambda u: u.astype("string").str.strip().str.match(_YEAR)
                     .fillna(False).astype(bool))
    if years.any():
        raise DataError(source, f"{int(years.sum())} values are a bare year (first: "
                        f"{_sample(s[years])}), not a date; give full dates such as 1960-03-01 or "
                        "01-03-1960 (a year alone would be read as 1 January)", column=column)


def parse_dates(s: pd.Series, source: str, column: str) -> pd.Series:
    """Dates from datetimes or text (ISO 2018-03-01, Dutch 01-03-2018 or 01/03/2018), one
    format per column, never a per-value guess that could swap day and month (a bare year
    reads as 1 January: callers that need a real date call :func:`refuse_years` first)."""
    from causal.context import DATE_FORMATS

    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    text = s.astype("string").str.strip()
    d, missing = None, None
    for fmt in DATE_FORMATS:
        cand = pd.to_datetime(text, format=fmt, errors="coerce")
        n_missing = int(cand.isna().sum())
        if d is None or n_missing < missing:
            d, missing = cand, n_missing
        if missing == int(s.isna().sum()):
            break
    bad = d.isna() & s.notna()
    if bad.any():
        raise DataError(source, f"{int(bad.sum())} values are not dates (first: "
                        f"{_sample(s[bad])}); expected dates such as 2018-03-01 or 01-03-2018",
                        column=column)
    return d
