"""A catalogue of bad data, each with the message it must give.

Each case makes a data file (or frame) from a good hand-made extract of the Almere study and
breaks it in one way; loading it for the spec must raise a DataError whose message matches.
Problems that an estimator can live with but a reader must know about (a single region, no
overlap of propensity scores, an outcome that does not vary, a rare category) are design
warnings, not errors: they are tested at the end. A sample of the errors also goes through
``causal run --data`` to check the CLI shows the message without a traceback.
"""
from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from causal.cli import app
from causal.data import load_data
from causal.errors import DataError, NettoError
from causal.pipeline import prepare
from causal.sensitivity import design_warnings
from causal.spec import load_spec


def good(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A randomised extract with the columns the Almere spec needs (file names differ)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    return pd.DataFrame({
        "client": np.arange(n), "leeftijd": rng.integers(45, 63, n),
        "sex": rng.choice(["man", "vrouw"], n), "education": rng.choice(["vmbo", "mbo", "hbo"], n),
        "benefit_months": rng.gamma(2, 10, n).round(1), "health_limitation": rng.integers(0, 2, n),
        "region": rng.choice(["Flevoland", "Groot Amsterdam"], n),
        "inflow_date": (pd.Timestamp("2018-01-01")
                        + pd.to_timedelta(rng.integers(0, 300, n), "D")).strftime("%Y-%m-%d"),
        "birth_date": (pd.Timestamp("1960-01-01")
                       + pd.to_timedelta(rng.integers(-3000, 3000, n), "D")).strftime("%Y-%m-%d"),
        "bsn_even": a, "coached": a * (rng.random(n) < 0.6),
        "work_12m": (rng.random(n) < 0.2).astype(int),
    })


@pytest.fixture
def spec(spec_copy) -> Path:
    p = spec_copy()
    p.write_text(p.read_text() + "\ndata:\n  columns: {assigned: bsn_even, age: leeftijd}\n"
                 "  id_column: client\n")
    return p


def _set(col: str, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def f(df):
        df[col] = value(df) if callable(value) else value
        return df
    return f


def _first(k: int, col: str, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def f(df):
        df[col] = df[col].astype(object)
        df.loc[: k - 1, col] = value
        return df
    return f


def _csv(change: Callable[[pd.DataFrame], pd.DataFrame], **kw) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        f = d / "extract.csv"
        change(good()).to_csv(f, index=False, **kw)
        return f
    return make


def _bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        f = d / name
        f.write_bytes(data() if callable(data) else data)
        return f
    return make


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    good().to_parquet(buf)
    return buf.getvalue()


def _xlsx_like() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def _latin1() -> bytes:
    df = good()
    df["region"] = np.where(df.index % 2, "Zuid-Limburg", "Fryslân")
    return df.to_csv(index=False).encode("latin-1")


CATALOGUE: dict[str, tuple[Callable[[Path], Path], str]] = {
    # columns
    "missing treatment.received column": (_csv(lambda df: df.drop(columns="coached")),
                                          r"'coached'.*treatment\.received"),
    "missing confounder column": (_csv(lambda df: df.drop(columns="health_limitation")),
                                  r"'health_limitation'.*'confounders'"),
    "mapped column absent": (_csv(lambda df: df.drop(columns="leeftijd")),
                             r"data\.columns maps to column\(s\) \['leeftijd'\]"),
    # treatment
    "treatment as words": (_csv(_set("bsn_even", lambda df: np.where(df.bsn_even == 1, "ja", "nee"))),
                           r"'assigned'.*0/1 or true/false.*'(ja|nee)'"),
    "NaN in treatment": (_csv(_first(3, "bsn_even", np.nan)),
                         r"'assigned'.*3 of 400 rows have no value"),
    "treatment coded 0/1/2": (_csv(_set("bsn_even", lambda df: df.index % 3)),
                              r"found values \[0, 1, 2\]"),
    "treatment fractions": (_csv(_set("bsn_even", lambda df: df.bsn_even * 0.5)),
                            r"found values \[0\.0, 0\.5\]"),
    "constant treatment (everyone)": (_csv(_set("bsn_even", 1)), r"everyone is treated"),
    "constant treatment (no one)": (_csv(_set("bsn_even", 0)), r"no one is treated"),
    "a single untreated person": (_csv(_set("bsn_even", lambda df: (df.index > 0).astype(int))),
                                  r"only 1 person is untreated"),
    # outcome
    "NaN in outcome": (_csv(_first(5, "work_12m", np.nan)), r"'work_12m'.*5 of 400 rows have no value"),
    "non-numeric outcome": (_csv(_set("work_12m", lambda df: np.where(df.work_12m == 1, "ja", "nee"))),
                            r"'work_12m'.*0/1 or true/false.*'(ja|nee)'"),
    "binary outcome coded 1/2": (_csv(_set("work_12m", lambda df: df.work_12m + 1)),
                                 r"'work_12m'.*found values \[1, 2\]"),
    # confounders, region, ids
    "NaN in a confounder": (_csv(_first(4, "benefit_months", np.nan)),
                            r"'benefit_months'.*4 of 400 rows have no value for this confounder"),
    "numbers with stray words": (_csv(_first(2, "benefit_months", "tien")),
                                 r"'benefit_months'.*looks numeric.*2 of 400.*'tien'"),
    "region missing": (_csv(_first(3, "region", np.nan)), r"'region'.*3 of 400 rows have no region"),
    "duplicated ids": (_csv(_set("client", lambda df: df.client.where(df.index != 7, 6))),
                       r"'client'.*1 duplicated ids \(first: 6\)"),
    "missing ids": (_csv(_first(2, "client", np.nan)), r"'client'.*2 rows have no id"),
    "age as text in a population condition": (_csv(_first(400, "leeftijd", "vijftig")),
                                              r"'age'.*needs numbers.*'vijftig'"),
    "population condition leaves no one": (_csv(_set("leeftijd", 70)), r"no rows are left"),
    # dates and the conjunctuur
    "dates outside the conjunctuur series": (_csv(_set("inflow_date", "1975-06-01")),
                                             r"does not cover 1975-06"),
    "dates that are not dates": (_csv(_first(2, "inflow_date", "next tuesday")),
                                 r"'inflow_date'.*2 values are not dates.*'next tuesday'"),
    "missing dates": (_csv(_first(3, "birth_date", np.nan)), r"'birth_date'.*3 rows have no date"),
    "a bare birth year": (_csv(_set("birth_date", lambda df: df.birth_date.str[:4])),
                          r"'birth_date'.*bare year \(first: '?19\d\d'?\).*not a date"),
    "infinity in a confounder": (_csv(_first(1, "benefit_months", np.inf)),
                                 r"'benefit_months'.*infinite or larger than"),
    "a huge confounder": (_csv(_first(2, "benefit_months", 1e300)),
                          r"'benefit_months'.*2 values are infinite or larger than"),
    # files
    "an empty file": (_bytes("extract.csv", b""), r"the file is empty"),
    "whitespace only": (_bytes("extract.csv", b"  \n\n  \n"), r"no columns or rows"),
    "a header-only file": (_bytes("extract.csv", b"client,leeftijd,bsn_even,work_12m\n"),
                           r"a header but no rows"),
    "a Parquet file named .csv": (_bytes("extract.csv", _parquet_bytes),
                                  r"named \.csv but its content is a Parquet file"),
    "a CSV file named .parquet": (_bytes("extract.parquet", b"client,x\n1,2\n"),
                                  r"could not be read as a parquet file"),
    "an Excel workbook named .csv": (_bytes("extract.csv", _xlsx_like), r"zip archive.*xlsx"),
    "a gzip file named .csv": (_bytes("extract.csv", lambda: gzip.compress(b"a,b\n1,2\n")),
                               r"gzip-compressed"),
    "garbage named .dta": (_bytes("extract.dta", b"\x00not stata" * 20),
                           r"could not be read as a stata file"),
    "garbage named .sav": (_bytes("extract.sav", b"\x00not spss" * 20),
                           r"could not be read as a spss file"),
    "an unknown file type": (_bytes("extract.xls", b"x"), r"unknown file type '\.xls'"),
    "garbage named .xlsx": (_bytes("extract.xlsx", b"x"), r"could not be read as a excel file"),
    "a file that does not exist": (lambda d: d / "nowhere.csv", r"the data file does not exist"),
    "a folder": (lambda d: d, r"expected a data file, got a folder"),
}


@pytest.mark.parametrize("kind", list(CATALOGUE))
def test_bad_data_gives_its_message(kind, spec, tmp_path):
    make, expected = CATALOGUE[kind]
    f = make(tmp_path)
    with pytest.raises(NettoError) as e:
        prepare(load_spec(spec), f)
    assert re.search(expected, str(e.value)), str(e.value)
    assert str(f) in str(e.value)  # the message names the file


def test_the_catalogue_is_large_enough_and_the_good_file_loads(spec, tmp_path):
    assert len(CATALOGUE) >= 20
    f = tmp_path / "good.csv"
    good().to_csv(f, index=False)
    data, _ = load_data(f, load_spec(spec))
    assert len(data) == 400


@pytest.mark.parametrize("kind", ["NaN in treatment", "an empty file", "a bare birth year",
                                  "dates outside the conjunctuur series", "duplicated ids",
                                  "a Parquet file named .csv"])
def test_cli_shows_the_message_without_a_traceback(kind, spec, tmp_path):
    make, expected = CATALOGUE[kind]
    f = make(tmp_path)
    r = CliRunner().invoke(app, ["run", str(spec), "--data", str(f), "--out",
                                 str(tmp_path / "reports"), "-w", "1", "-q"])
    out = r.stdout + r.stderr
    assert r.exit_code in (1, 2) and re.search(expected, " ".join(out.split())), out
    assert "Traceback" not in out


def test_infinite_continuous_outcome(spec):
    s = load_spec(spec)
    s = s.model_copy(deep=True, update={"outcome": s.outcome.model_copy(
        update={"kind": "continuous", "unit": "euro"})})
    s._path = load_spec(spec).path
    df = good().rename(columns={"bsn_even": "assigned", "leeftijd": "age"})
    df["work_12m"] = df["work_12m"].astype(float)
    df.loc[3, "work_12m"] = np.inf
    with pytest.raises(DataError, match=r"'work_12m'.*1 values are infinite"):
        prepare(s, df)


# -- problems that are warnings, not errors --------------------------------------------------
def _load(spec_path: Path, tmp_path: Path, change) -> list[dict]:
    f = tmp_path / "w.csv"
    change(good()).to_csv(f, index=False)
    return design_warnings(prepare(spec_path, f))


def test_a_single_region_is_a_warning(spec, tmp_path):
    w = _load(spec, tmp_path, _set("region", "Flevoland"))
    assert any(x["kind"] == "single_region" and "'Flevoland'" in x["message"] for x in w)


def test_a_constant_outcome_is_a_warning_and_the_run_completes(spec, tmp_path):
    w = _load(spec, tmp_path, _set("work_12m", 0))
    assert any(x["kind"] == "constant_outcome" for x in w)
    f = tmp_path / "w.csv"
    r = CliRunner().invoke(app, ["run", str(spec), "--data", str(f), "--out",
                                 str(tmp_path / "r"), "-w", "1", "-q"])
    assert "Traceback" not in r.stdout + r.stderr


def test_a_rare_category_is_a_small_cell_warning(spec, tmp_path):
    w = _load(spec, tmp_path, _first(3, "education", "wo"))
    small = [x for x in w if x["kind"] == "small_cells"]
    # the warning names the variable, never the level or arm of the small cell (issue 13:
    # naming 'education = wo' beside a count under 10 would disclose it)
    assert small and "education" in small[0]["message"]
    assert not re.search(r"\bwo\b", small[0]["message"])


def test_no_overlap_is_a_warning_for_an_observational_design(spec, tmp_path):
    d = yaml.safe_load(spec.read_text())
    d["treatment"] = {"column": "assigned", "assignment": "observational"}
    d["estimators"] = [{"name": "naive"}]
    d.pop("preferred", None)  # it names rct_difference, which this spec no longer runs
    spec.write_text(yaml.safe_dump(d, sort_keys=False))
    w = _load(spec, tmp_path, _set("bsn_even", lambda df: (df.leeftijd >= 54).astype(int)))
    ov = next(x for x in w if x["kind"] == "overlap")
    assert "Poor overlap" in ov["message"] and ov["share_outside"] > 0.5


# -- files that used to be refused and are now read right -------------------------------------
def test_a_latin1_csv_is_read_as_windows_1252(spec, tmp_path):
    f = _bytes("extract.csv", _latin1)(tmp_path)
    st = prepare(load_spec(spec), f)
    assert "Fryslân" in set(st.data["region"].astype(str))
    assert "Windows-1252" in st.dialect


def test_a_dutch_excel_csv_is_read_with_decimal_commas(spec, tmp_path):
    df = good()
    f = tmp_path / "extract.csv"
    df.to_csv(f, index=False, sep=";", decimal=",")
    st = prepare(load_spec(spec), f)
    assert np.allclose(st.data["benefit_months"], df["benefit_months"])
    assert st.dialect.startswith("CSV, semicolon-separated, decimal comma")


def test_decimal_commas_in_a_comma_csv_are_refused_with_the_hint(spec, tmp_path):
    """Finding: "5,4" in a comma-separated file was read as a text category."""
    df = good()
    df["benefit_months"] = df["benefit_months"].map(lambda v: f"{v:.1f}".replace(".", ","))
    f = tmp_path / "extract.csv"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match=r"'benefit_months'.*decimal comma"):
        prepare(load_spec(spec), f)
