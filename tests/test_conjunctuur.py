"""Conjunctuur: the bundled CBS series, user series (years, quarters, months, regions,
several indicators), clear errors for uncovered dates and malformed files, the simulated
regional series for twins, and the ``causal context`` CLI."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from causal.context import conjunctuur as cj
from causal.context.cli import app
from causal.errors import DataError

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def dates(*xs: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(xs)))


# -- the bundled default ----------------------------------------------------------------
def test_default_series_covers_2003_2024_and_cites_cbs():
    s = cj.load_series()
    periods = set(s.index.get_level_values("period"))
    assert {str(y) for y in range(2003, 2025)} <= periods
    assert not s.attrs["has_regions"]
    cite = s.attrs["citation"]
    assert "CBS StatLine" in cite and "15-75" in cite and "APPROXIMATE" in cite
    # figures checked against CBS text (see the file header)
    national = s.xs("", level="region")
    assert national["2013"] == 7.3 and national["2014"] == 7.4 and national["2017"] == 4.9
    assert national["2022"] == 3.5 and national["2023"] == 3.6
    assert national.between(2.5, 9).all()
    # the cycle the toolkit is about: crisis peak 2013-2014, boom low 2019
    assert national["2014"] > national["2016"] > national["2018"] > national["2019"]


def test_default_lookup_uses_finest_period():
    s = cj.load_series()
    got = cj.conjunctuur_at(dates("2009-05-01", "2009-12-31", "2018-06-15", "2011-10-10"), s)
    assert got.tolist() == [4.2, 4.9, 3.8, 5.0]  # 2009Q2, 2009Q4, year 2018, year 2011
    assert got.name == "conjunctuur"


def test_uncovered_date_names_the_first_one():
    s = cj.load_series()
    with pytest.raises(DataError) as e:
        cj.conjunctuur_at(dates("2018-01-01", "2025-03-01", "2002-12-31", "2026-01-01"), s,
                          source="mydata.csv")
    msg = str(e.value)
    assert msg.startswith("mydata.csv")
    assert "does not cover 2002-12-31" in msg and "3 rows" in msg
    assert "2003-2024 (years)" in msg


def test_old_shape_series_by_int_year_still_works():
    s = pd.Series({2017: 4.9, 2018: 3.8}, name="unemployment_rate")
    assert cj.conjunctuur_at(dates("2018-03-01"), s).tolist() == [3.8]


# -- user series ----------------------------------------------------------------------
def test_user_series_years_quarters_months_and_two_indicators(tmp_path):
    p = write(tmp_path / "mine.csv", "# my source\n"
              "period,unemployment_rate,vacancies_per_unemployed\n"
              "2018,3.8,0.9\n2018Q2,3.9,\n2018-06,4.0,1.1\n2019,3.4,1.0\n")
    u = cj.load_series(p)
    v = cj.load_series(p, "vacancies_per_unemployed")
    d = dates("2018-01-15", "2018-05-01", "2018-06-30", "2019-12-31")
    assert cj.conjunctuur_at(d, u).tolist() == [3.8, 3.9, 4.0, 3.4]
    # an empty cell is "not covered" at that level, so the year is used
    assert cj.conjunctuur_at(d, v).tolist() == [0.9, 0.9, 1.1, 1.0]
    assert u.attrs["citation"] == "my source"


def test_relative_path_resolves_against_base(tmp_path):
    (tmp_path / "series").mkdir()
    write(tmp_path / "series" / "u.csv", "period,unemployment_rate\n2018,3.8\n")
    s = cj.load_series("series/u.csv", base=tmp_path)
    assert cj.conjunctuur_at(dates("2018-07-01"), s).tolist() == [3.8]
    with pytest.raises(DataError, match="does not exist"):
        cj.load_series("series/u.csv", base=tmp_path / "elsewhere")


def test_statline_codes_semicolons_and_decimal_commas(tmp_path):
    p = write(tmp_path / "statline.csv",
              "Perioden;Regio;unemployment_rate\n2018JJ00;Twente;3,5\n2018KW02;Twente;3,6\n"
              "2018MM06;Twente;3,7\n")
    s = cj.load_series(p)
    got = cj.conjunctuur_at(dates("2018-01-02", "2018-04-02", "2018-06-02"), s,
                            regions=pd.Series(["twente ", "Twente", "TWENTE"]))
    assert got.tolist() == [3.5, 3.6, 3.7]


def test_regional_series_by_person_region(tmp_path):
    p = write(tmp_path / "reg.csv", "period,region,unemployment_rate\n"
              "2018,,3.8\n2018,Rijnmond,5.2\n2018,Noordoost-Brabant,2.9\n")
    s = cj.load_series(p)
    assert s.attrs["has_regions"] and s.attrs["has_national"]
    regions = pd.Series(["Rijnmond", "Noordoost-Brabant", "Rijnmond"], index=[10, 11, 12])
    d = pd.Series(pd.to_datetime(["2018-02-01"] * 3), index=[10, 11, 12])
    got = cj.conjunctuur_at(d, s, regions=regions)
    assert got.tolist() == [5.2, 2.9, 5.2] and list(got.index) == [10, 11, 12]
    # without a region column the national rows are used
    assert cj.conjunctuur_at(d, s).tolist() == [3.8] * 3
    # a region the series does not have is an error, not a silent national value
    with pytest.raises(DataError, match=r"not in the conjunctuur series.*'Twente'"):
        cj.conjunctuur_at(d, s, regions=pd.Series(["Twente", "Rijnmond", "Rijnmond"]))


def test_regional_series_uncovered_names_date_and_region(tmp_path):
    p = write(tmp_path / "reg.csv", "period,region,unemployment_rate\n"
              "2018,Rijnmond,5.2\n2018,Twente,3.1\n2019,Rijnmond,4.8\n")
    s = cj.load_series(p)
    with pytest.raises(DataError, match=r"does not cover 2019-03-01 in region 'Twente'"):
        cj.conjunctuur_at(dates("2019-05-01", "2019-03-01", "2018-03-01"), s,
                          regions=pd.Series(["Rijnmond", "Twente", "Twente"]))
    with pytest.raises(DataError, match="no national rows"):
        cj.conjunctuur_at(dates("2018-05-01"), s)


@pytest.mark.parametrize("text,column,expected", [
    ("period,unemployment_rate\n2018,3.8\n2019,n/a\n", "unemployment_rate",
     r"not numbers \(first: 'n/a' on data row 2\); expected a number"),
    ("period,unemployment_rate\n2018,3.8\n2019-13,3.4\n", "period",
     r"not periods \(first: '2019-13'.*expected years \(2018\), quarters \(2018Q2\)"),
    ("year,unemployment_rate\n2018,3.8\n", "period", r"no period column"),
    ("period,unemployment_rate\n2018,3.8\n2018,3.9\n", "period",
     r"period 2018 appears more than once"),
    ("period,unemployment_rate\n2018,0.038\n2019,0.034\n", "unemployment_rate",
     r"look like fractions"),
    ("period,method\n2018,x\n", None, r"no indicator column"),
    ("period,unemployment_rate\n", None, r"header but no rows"),
])
def test_malformed_files_name_file_column_and_expectation(tmp_path, text, column, expected):
    p = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError) as e:
        cj.load_series(p)
    msg = str(e.value)
    assert str(p) in msg
    if column:
        assert f"column '{column}'" in msg
    assert re.search(expected, msg), msg


def test_missing_indicator_lists_what_the_file_has(tmp_path):
    p = write(tmp_path / "u.csv", "period,unemployment_rate\n2018,3.8\n")
    with pytest.raises(DataError, match=r"no indicator column 'vacancies_per_unemployed'.*"
                                        r"it has: unemployment_rate"):
        cj.load_series(p, "vacancies_per_unemployed")


def test_spec_points_to_user_series_and_region(tmp_path):
    """End to end through add_context: a spec's relative series path and its region."""
    from causal.context import add_context
    from causal.spec import Spec

    write(tmp_path / "reg.csv", "period,region,unemployment_rate\n2018Q1,Twente,3.1\n"
          "2018Q1,Rijnmond,5.3\n")
    spec = Spec.model_validate({
        "measure": "t", "title": "t", "source": {"report": "r"},
        "treatment": {"column": "d", "assignment": "randomized"},
        "outcome": {"column": "y", "kind": "binary", "horizon_months": 12},
        "confounders": ["conjunctuur"], "region": "amr",
        "context": {"conjunctuur": {"series": "reg.csv"}},
        "estimators": [{"name": "naive"}],
    })
    spec._path = tmp_path / "spec.yaml"
    df = pd.DataFrame({"inflow_date": ["2018-01-05", "2018-03-31"], "amr": ["Rijnmond", "Twente"],
                       "d": [1, 0], "y": [1, 0]})
    assert add_context(df, spec, "d.csv")["conjunctuur"].tolist() == [5.3, 3.1]


# -- simulated regional series --------------------------------------------------------
def test_simulated_regional_series_deterministic_and_plausible():
    a = cj.simulate_regional_series(7)
    b = cj.simulate_regional_series(7)
    c = cj.simulate_regional_series(8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["unemployment_rate"].equals(c["unemployment_rate"])
    assert a["region"].nunique() == 35
    assert len(a) == 35 * 22 * 4
    # regions scatter around the national rate, which stays the real one
    a["year"] = a["period"].str[:4]
    ratio = a.groupby("year")["unemployment_rate"].median() / cj.load_series().xs(
        "", level="region")[[str(y) for y in range(2003, 2025)]].to_numpy()
    assert ratio.between(0.8, 1.25).all()
    s = cj.series_from_frame(a)
    d = dates("2018-05-01", "2018-05-01")
    got = cj.conjunctuur_at(d, s, regions=pd.Series(["Rijnmond", "Twente"]))
    want = a[(a.period == "2018Q2") & a.region.isin(["Rijnmond", "Twente"])]
    assert got.tolist() == want.set_index("region").loc[["Rijnmond", "Twente"],
                                                         "unemployment_rate"].tolist()


def test_twin_context_terms_can_use_a_regional_series():
    from causal.twins.population import context_terms, population

    df = population(500, np.random.default_rng(1), inflow=("2016-01-01", "2018-12-31"))
    national = context_terms(df, 12)
    regional = context_terms(df, 12, series=cj.series_from_frame(cj.simulate_regional_series(1)))
    assert np.array_equal(national["months_to_aow"], regional["months_to_aow"])
    assert not np.allclose(national["cycle"], regional["cycle"])
    assert np.corrcoef(national["cycle"], regional["cycle"])[0, 1] > 0.5


# -- CLI ------------------------------------------------------------------------------
def test_cli_aow_prints_what_a_user_checks():
    r = runner.invoke(app, ["aow", "1957-05-12", "--on", "2018-03-01"])
    assert r.exit_code == 0, r.output
    out = r.output
    assert "1957-05-12" in out and "67 years" in out and "2024-05-12" in out
    assert "74.38" in out  # (12 May 2024 - 1 Mar 2018) / 30.4375
    assert "statutory" in out


def test_cli_aow_after_fixed_years_says_it_is_an_assumption():
    r = runner.invoke(app, ["aow", "1975-02-28", "--on", "2020-01-01"])
    assert r.exit_code == 0, r.output
    assert "Assumption" in r.output and "67y3m held after 2031" in r.output
    r = runner.invoke(app, ["aow", "1975-02-28", "--on", "2020-01-01",
                            "--schedule", "2040=67y6m"])
    assert "2042-08-28" in r.output and "--schedule" in r.output


def test_cli_aow_bad_date_is_a_clear_error():
    r = runner.invoke(app, ["aow", "12-13-1957"])
    assert r.exit_code == 2
    assert "birth date" in r.output and "1957-05-12" in r.output


def test_cli_conjunctuur_default_month():
    r = runner.invoke(app, ["conjunctuur", "2018-06"])
    assert r.exit_code == 0, r.output
    assert "National" in r.output and "3.8" in r.output and "2018 (annual figure)" in r.output
    assert "CBS" in r.output and "2003-2024" in r.output


def test_cli_conjunctuur_regional_user_series(tmp_path):
    p = write(tmp_path / "reg.csv", "period,region,unemployment_rate,vacancies_per_unemployed\n"
              "2018Q2,,3.9,0.9\n2018Q2,Rijnmond,5.2,0.6\n2018Q2,Twente,3.1,1.2\n")
    r = runner.invoke(app, ["conjunctuur", "2018-06", "--series", str(p)])
    assert r.exit_code == 0, r.output
    for s in ("National", "Rijnmond", "Twente", "5.2", "3.1", "0.6", "1.2", "2018Q2"):
        assert s in r.output
    r = runner.invoke(app, ["conjunctuur", "2018Q2", "--series", str(p), "--region", "twente",
                            "--indicator", "vacancies_per_unemployed"])
    assert r.exit_code == 0 and "1.2" in r.output and "Rijnmond" not in r.output


def test_cli_conjunctuur_errors():
    r = runner.invoke(app, ["conjunctuur", "June 2018"])
    assert r.exit_code == 2 and "quarters (2018Q2)" in r.output
    r = runner.invoke(app, ["conjunctuur", "2030"])
    assert r.exit_code == 0 and "not covered" in r.output
    r = runner.invoke(app, ["conjunctuur", "2018", "--series", "/nonexistent/x.csv"])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_text_dates_iso_or_dutch_day_first_never_swapped():
    from causal.context import as_dates

    iso = as_dates(pd.Series(["2018-03-01", "2019-12-31"]), "x.csv", "inflow_date")
    dutch = as_dates(pd.Series(["01-03-2018", "31-12-2019"]), "x.csv", "inflow_date")
    slash = as_dates(pd.Series(["01/03/2018", "31/12/2019"]), "x.csv", "inflow_date")
    assert iso.tolist() == dutch.tolist() == slash.tolist()
    assert iso.iloc[0].month == 3
    with pytest.raises(DataError, match=r"'inflow_date'.*1 values are not dates.*'32-01-2018'"):
        as_dates(pd.Series(["31-01-2018", "32-01-2018"]), "x.csv", "inflow_date")
