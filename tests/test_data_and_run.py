"""Data loading rules and `causal run SPEC --data FILE` on data written here with pandas
(not by the twin generator), in every supported format."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from causal.cli import app
from causal.data import load_data
from causal.errors import DataError
from causal.spec import load_spec
from tests.conftest import ALMERE


def hand_made(n: int = 3000, effect: float = 0.10, seed: int = 0) -> pd.DataFrame:
    """A randomised study built by hand: ITT of `effect` on a 15% base rate."""
    rng = np.random.default_rng(seed)
    age = rng.integers(45, 64, n)
    assigned = rng.integers(0, 2, n)
    coached = assigned * (rng.random(n) < 0.6)
    p = 0.15 + 0.002 * (55 - age) + effect * coached / 0.6 * 0.6
    return pd.DataFrame({
        "client": np.arange(n), "leeftijd": age, "sex": rng.choice(["man", "vrouw"], n),
        "education": rng.choice(["vmbo", "mbo", "hbo"], n),
        "benefit_months": rng.gamma(2, 10, n).round(1),
        "health_limitation": rng.integers(0, 2, n),
        "region": rng.choice(["Flevoland", "Groot Amsterdam"], n),
        "inflow_date": pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        "birth_date": pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(-3000, 3000, n), "D"),
        "bsn_even": assigned, "coached": coached,
        "work_12m": (rng.random(n) < p).astype(int),
    })


@pytest.fixture
def mapped_spec(spec_copy):
    p = spec_copy()
    text = p.read_text() + "\ndata:\n  columns: {assigned: bsn_even, age: leeftijd}\n  id_column: client\n"
    p.write_text(text)
    return p


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".sav", ".dta"])
def test_run_on_own_data(tmp_path, mapped_spec, ext):
    df = hand_made()
    f = tmp_path / f"extract{ext}"
    if ext == ".csv":
        df.to_csv(f, index=False)
    elif ext == ".parquet":
        df.to_parquet(f)
    elif ext == ".sav":
        import pyreadstat

        pyreadstat.write_sav(df.assign(inflow_date=df.inflow_date.dt.date,
                                       birth_date=df.birth_date.dt.date), str(f))
    else:
        df.to_stata(f, write_index=False)
    out = tmp_path / "reports"
    r = CliRunner().invoke(app, ["run", str(mapped_spec), "--data", str(f), "--out", str(out),
                                 "--workers", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "almere_aanpak45plus" / "summary.json").read_text())
    itt = next(e for e in s["estimates"] if e["estimand"] == "ITT")
    # the hand-made ITT is 0.10 * 0.6 = 6 pp; the interval must contain it
    assert itt["ci_low"] <= 6.0 <= itt["ci_high"]
    assert s["data"]["source"] == str(f) and s["truth"] is None
    assert (out / "index.html").exists() and (out / "summary.csv").exists()


def test_missing_treatment_values_are_an_error_with_count(tmp_path, mapped_spec):
    df = hand_made(500).astype({"bsn_even": float})
    df.loc[[3, 8, 40], "bsn_even"] = np.nan
    f = tmp_path / "d.csv"
    df.to_csv(f, index=False)
    with pytest.raises(DataError) as e:
        load_data(f, load_spec(mapped_spec))
    assert "'assigned'" in str(e.value) and "3 of 500 rows" in str(e.value)


def test_non_binary_outcome(tmp_path, mapped_spec):
    df = hand_made(200)
    df["work_12m"] = df["work_12m"] * 2
    f = tmp_path / "d.csv"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match=r"work_12m.*0/1"):
        load_data(f, load_spec(mapped_spec))


def test_missing_column_names_the_spec_field(tmp_path, mapped_spec):
    df = hand_made(200).drop(columns=["health_limitation"])
    f = tmp_path / "d.csv"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match=r"health_limitation.*'confounders'"):
        load_data(f, load_spec(mapped_spec))


def test_population_filter_says_what_it_excluded(tmp_path, mapped_spec):
    df = hand_made(300)
    df.loc[:9, "leeftijd"] = 66
    f = tmp_path / "d.csv"
    df.to_csv(f, index=False)
    data, notes = load_data(f, load_spec(mapped_spec))
    assert len(data) == 290
    assert any("excluded about 10 of about 300 rows" in n for n in notes)  # rounded counts


def test_duplicate_ids(tmp_path, mapped_spec):
    df = hand_made(200)
    df.loc[5, "client"] = df.loc[4, "client"]
    f = tmp_path / "d.csv"
    df.to_csv(f, index=False)
    with pytest.raises(DataError, match="1 duplicated ids"):
        load_data(f, load_spec(mapped_spec))


def test_file_that_is_not_what_it_says(tmp_path, mapped_spec):
    f = tmp_path / "d.parquet"
    f.write_text("this,is,csv\n1,2,3\n")
    with pytest.raises(DataError, match="could not be read as a parquet file"):
        load_data(f, load_spec(mapped_spec))


def test_cli_run_bad_data_is_a_message_not_a_traceback(tmp_path, mapped_spec):
    f = tmp_path / "empty.csv"
    f.write_text("")
    r = CliRunner().invoke(app, ["run", str(mapped_spec), "--data", str(f), "--out",
                                 str(tmp_path / "r"), "-w", "1", "-q"])
    assert r.exit_code == 2  # a data error the user can fix (issue 15: was 1)
    shown = r.stdout + r.stderr
    assert "the file is empty" in shown and "Traceback" not in shown


def test_same_spec_data_seed_gives_byte_identical_summary(tmp_path):
    outs = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        r = CliRunner().invoke(app, ["run", str(ALMERE), "--out", str(out), "-w", "1", "-q",
                                     "--n", "800"])
        assert r.exit_code == 0, r.output
        outs.append((out / "almere_aanpak45plus" / "summary.json").read_bytes())
    assert outs[0] == outs[1]
