"""Writing a spec alone: causal init, causal schema, docs/spec.md (issue 15, item 6)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyreadstat
from typer.testing import CliRunner

from causal import specdoc
from causal.cli import app
from tests.conftest import ROOT, SPECS


def test_docs_spec_md_and_schema_are_current():
    """Fails when a spec field changed without `causal schema --write`."""
    assert (ROOT / "docs" / "spec.md").read_text(encoding="utf-8") == specdoc.markdown(), \
        "docs/spec.md is stale: run `causal schema --write`"
    assert (ROOT / "docs" / "spec.schema.json").read_text(encoding="utf-8") == \
        specdoc.schema_text(), "docs/spec.schema.json is stale: run `causal schema --write`"


def test_schema_command_prints_pydantic_schema():
    r = CliRunner().invoke(app, ["schema"])
    assert r.exit_code == 0
    s = json.loads(r.stdout)
    assert {"measure", "treatment", "outcome", "confounders", "data"} <= set(s["properties"])
    md = CliRunner().invoke(app, ["schema", "--markdown"]).stdout
    assert "| `kind` | one of `binary`, `continuous`, `duration`" in md  # documented now


def test_every_bundled_spec_references_the_schema():
    for p in sorted(SPECS.glob("*.yaml")):
        assert p.read_text().splitlines()[0] == specdoc.SCHEMA_COMMENT, p.name


def _spss(path, n=600, seed=3):
    rng = np.random.default_rng(seed)
    age = rng.integers(45, 64, n)
    opl = rng.integers(1, 4, n)
    d = (rng.random(n) < 0.3 + 0.1 * (opl == 3)).astype(int)
    y = (rng.random(n) < 0.2 + 0.06 * d).astype(int)
    dur = rng.integers(1, 60, n).astype(float)
    dur[:8] = 999
    df = pd.DataFrame({"klantnr": np.arange(n), "leeftijd": age, "opleiding": opl,
                       "uitkeringsduur": dur, "deelname": d, "werk_12m": y})
    pyreadstat.write_sav(df, str(path), variable_value_labels={
        "opleiding": {1: "vmbo", 2: "mbo", 3: "hbo"}, "uitkeringsduur": {999: "onbekend"}})


def test_init_check_run_in_one_try_on_an_spss_file(tmp_path):
    f = tmp_path / "klanten.sav"
    _spss(f)
    r = CliRunner().invoke(app, ["init", str(f)])
    assert r.exit_code == 0, r.output
    spec = tmp_path / "klanten.yaml"
    text = spec.read_text()
    assert "TODO" in text and "opleiding: categorical" in text and "id_column: klantnr" in text
    r = CliRunner().invoke(app, ["check", str(spec)])
    assert r.exit_code == 0, r.output
    assert "onbekend" in r.output and "value labels as categories" in r.output
    r = CliRunner().invoke(app, ["run", str(spec), "--out", str(tmp_path / "r"), "-w", "1",
                                 "-q", "-e", "naive", "-e", "ipw"])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "r" / "klanten" / "summary.json").read_text())
    assert {e["estimator"] for e in s["estimates"]} == {"naive", "ipw"}


def test_init_on_a_dutch_excel_csv(tmp_path):
    rng = np.random.default_rng(1)
    n = 500
    df = pd.DataFrame({"Klant ID": np.arange(n), "Leeftijd": rng.integers(45, 64, n),
                       "Uren per week": (rng.random(n) * 30).round(1),
                       "Regio": rng.choice(["Fryslân", "Twente"], n),
                       "Deelname traject": rng.integers(0, 2, n),
                       "Werk binnen 12 mnd": rng.integers(0, 2, n)})
    f = tmp_path / "export.csv"
    df.to_csv(f, sep=";", decimal=",", index=False, encoding="cp1252")
    r = CliRunner().invoke(app, ["init", str(f), "--design", "randomized"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["check", str(tmp_path / "export.yaml")])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "semicolon-separated, decimal comma, Windows-1252" in out
    assert "uren_per_week (Uren per week)" in out and "Fryslân" in out


def test_init_refuses_to_overwrite_and_unknown_designs(tmp_path):
    f = tmp_path / "k.sav"
    _spss(f)
    assert CliRunner().invoke(app, ["init", str(f)]).exit_code == 0
    r = CliRunner().invoke(app, ["init", str(f)])
    assert r.exit_code == 2 and "exists already" in r.output
    r = CliRunner().invoke(app, ["init", str(f), "--design", "threshold", "--force"])
    assert r.exit_code == 2 and "bundled spec" in r.output
