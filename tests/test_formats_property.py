"""Property test over file formats (issue 15): whatever a researcher's file holds, every
value read back equals the value written for its declared type, or netto refuses with a
DataError (CLI exit 2) naming the column; never an internal error (exit 3).

Formats: CSV with commas and decimal points, Dutch Excel CSV (';', decimal comma,
Windows-1252), xlsx, Parquet, SPSS .sav (value labels, user-missing code 999 declared in the
file), Stata .dta (value labels). Light by default; ``NETTO_FUZZ=1`` runs 20 times as many.
"""
from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal.columns import type_columns
from causal.errors import DataError
from causal.readers import read_file
from causal.spec import DataSpec

SCALE = float(os.environ.get("NETTO_FUZZ") or 0)
EXAMPLES = int(400 * SCALE) if SCALE else 12
FORMATS = ["csv", "csv_nl", "xlsx", "parquet", "sav", "dta"]
LABELS = {1: "laag", 2: "middelbaar", 3: "hoog", 4: "onbekend niveau"}
TYPES = {"num": "numeric", "cnt": "numeric", "cat": "categorical", "code": "categorical",
         "flag": "binary", "day": "date"}

row = st.fixed_dictionaries({
    "num": st.one_of(st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
                     st.just(np.nan), st.just(999.0)),
    "cnt": st.integers(0, 10_000),
    "cat": st.sampled_from(["man", "vrouw", "Fryslân", "zeeuw;s", 'a "quote"', "x,y"]),
    "code": st.integers(1, 4),
    "flag": st.integers(0, 1),
    "day": st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)),
})
# a value a person might type into the numeric column: read right, or refused by name
stray = st.one_of(st.none(), st.sampled_from(["n.v.t.", "5,4", "1e400", "inf", "  "]))


def _write(df: pd.DataFrame, fmt: str, path_base, text_num: bool = False) -> str:
    p = f"{path_base}.{ {'csv_nl': 'csv'}.get(fmt, fmt)}"
    if fmt == "csv":
        df.to_csv(p, index=False)
    elif fmt == "csv_nl":
        df.to_csv(p, index=False, sep=";", decimal=",", encoding="cp1252")
    elif fmt == "xlsx":
        df.to_excel(p, index=False)
    elif fmt == "parquet":
        df.to_parquet(p)
    elif fmt == "sav":
        pyreadstat.write_sav(df, p, variable_value_labels={"code": LABELS},
                             missing_ranges=None if text_num else {"num": [999]})
    else:
        pyreadstat.write_dta(df, p, variable_value_labels={"code": LABELS})
    return p


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=3, max_size=25), bad=stray,
       fmt=st.sampled_from(FORMATS))
def test_values_read_back_or_refused_by_name(tmp_path_factory, rows, bad, fmt):
    df = pd.DataFrame(rows)
    df["day"] = pd.to_datetime(df["day"])
    if fmt in ("sav", "dta"):
        df["day"] = df["day"].dt.date  # how pyreadstat takes dates
    if bad is not None:
        df["num"] = df["num"].astype(object)
        df.loc[0, "num"] = bad
        if fmt in ("parquet", "sav"):  # a column is numbers or text there: text, as typed
            df["num"] = df["num"].map(lambda v: None if isinstance(v, float) and np.isnan(v)
                                      else str(v))
            if fmt == "sav":
                df["num"] = df["num"].fillna("")
    base = tmp_path_factory.mktemp("f") / "extract"
    if fmt == "dta" and bad is not None:
        return  # Stata stores a column as numbers or as text: no stray text in numbers
    path = _write(df, fmt, base, text_num=bad is not None)
    file_missing = fmt == "sav" and bad is None  # 999 declared user-missing in the file
    spec = SimpleNamespace(data=DataSpec(types=TYPES, missing=[] if file_missing else [999]))
    try:
        t = read_file(path)
        got, infos = type_columns(t.df, spec, path, t)
    except DataError as e:
        # refused: must be the stray value, named by its column
        assert bad is not None and e.column == "num", str(e)
        assert path in str(e)
        return
    except Exception as e:  # noqa: BLE001 - the property: nothing but a DataError
        pytest.fail(f"{fmt}: internal error {type(e).__name__}: {e}")
    want = pd.DataFrame(rows)
    if bad is not None:
        stripped = bad.strip()
        assert stripped == "" or fmt == "csv_nl" and stripped == "5,4" or \
            stripped in ("inf", "1e400"), f"{fmt}: {bad!r} was accepted"
        if stripped in ("inf", "1e400"):
            assert {i.column: i for i in infos}["num"].problem  # refused if used
            return
        want.loc[0, "num"] = 5.4 if stripped == "5,4" else np.nan
    exp_num = want["num"].astype(float).where(want["num"].astype(float) != 999.0)
    assert np.allclose(got["num"].astype(float), exp_num, equal_nan=True, rtol=0, atol=1e-9)
    want_cnt = want["cnt"].astype(float)
    if not file_missing:  # the spec's missing code 999 holds for every column, counts too
        want_cnt = want_cnt.where(want_cnt != 999.0)
    assert np.allclose(got["cnt"].astype(float), want_cnt, equal_nan=True, rtol=0, atol=0)
    assert list(got["cat"].astype(str)) == list(want["cat"])
    assert (got["flag"].to_numpy() == want["flag"].to_numpy()).all()
    assert list(got["day"].dt.date) == list(want["day"])
    codes = got["code"]
    if fmt in ("sav", "dta"):
        assert list(codes.astype(str)) == [LABELS[c] for c in want["code"]]
    else:
        assert [int(c) for c in codes] == list(want["code"])
    assert isinstance(codes.dtype, pd.CategoricalDtype)
