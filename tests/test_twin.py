"""Twins are deterministic by seed, carry their truth, and match their calibration."""
from __future__ import annotations

import numpy as np
import pandas as pd

from causal.spec import load_spec
from causal.twins import make_twin
from tests.conftest import ALMERE


def test_same_seed_same_twin_different_seed_different():
    spec = load_spec(ALMERE)
    a, b = make_twin(spec, seed=3, n=800), make_twin(spec, seed=3, n=800)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.truth == b.truth
    c = make_twin(spec, seed=4, n=800)
    assert not a.data[spec.outcome.column].equals(c.data[spec.outcome.column])


def test_twin_has_the_population_the_spec_describes():
    spec = load_spec(ALMERE)
    tw = make_twin(spec, n=4000)
    df = tw.data
    assert df["region"].nunique() == 35
    assert set(df["education"].cat.categories) == {"vmbo", "mbo", "havo", "hbo", "wo"}
    # birth date consistent with age at inflow
    age_at_inflow = (df["inflow_date"] - df["birth_date"]).dt.days / 365.25
    assert np.all(np.abs(age_at_inflow - df["age"] - 0.5) <= 0.51)
    # assignment share (BSN parity: half) and compliance (~46% of the assigned coached)
    assert abs(df["assigned"].mean() - 0.5) < 0.03
    coached_if_assigned = df.loc[df["assigned"] == 1, "coached"].mean()
    assert abs(coached_if_assigned - (0.46 + 0.54 * 0.05 / 0.54)) < 0.04


def test_control_rate_matches_calibration():
    """Almere's design assumed 11.67% exit to work within 12 months in the control group."""
    spec = load_spec(ALMERE)
    df = make_twin(spec, n=40_000).data
    ctrl = df.loc[df["assigned"] == 0, "work_12m"].mean()
    assert abs(ctrl - 0.1167) < 0.01


def test_truth_relations():
    spec = load_spec(ALMERE)
    t = make_twin(spec, n=20_000).truth
    assert set(t) >= {"ITT", "LATE", "ATE", "ATT"}
    # ITT is the complier effect diluted by the compliance share (~46%)
    assert 0.35 < t["ITT"] / t["LATE"] < 0.55


def test_cli_simulate_writes_twin_and_truth(tmp_path):
    import json

    from typer.testing import CliRunner

    from causal.cli import app

    out = tmp_path / "twin.parquet"
    r = CliRunner().invoke(app, ["simulate", str(ALMERE), "--out", str(out), "--n", "500",
                                 "--seed", "9"])
    assert r.exit_code == 0, r.stdout + r.stderr
    df = pd.read_parquet(out)
    assert len(df) == 500 and {"assigned", "coached", "work_12m"} <= set(df.columns)
    truth = json.loads(out.with_suffix(".truth.json").read_text())
    assert truth == make_twin(load_spec(ALMERE), seed=9, n=500).truth
    bad = CliRunner().invoke(app, ["simulate", str(ALMERE), "--out", str(tmp_path / "t.xlsx")])
    assert bad.exit_code == 2 and "expected a .csv or .parquet" in bad.stderr


def test_cli_lists_estimators():
    from typer.testing import CliRunner

    from causal.cli import app

    r = CliRunner().invoke(app, ["estimators"])
    assert r.exit_code == 0
    for name in ("naive", "rct_difference"):
        assert name in r.stdout


def test_simulate_module_takes_a_path_and_writes_the_truth(tmp_path):
    import json

    from causal.simulate import simulate, write_twin

    a = simulate(ALMERE, seed=5, n=300)
    b = make_twin(load_spec(ALMERE), seed=5, n=300)
    pd.testing.assert_frame_equal(a.data, b.data)
    truth = write_twin(a, tmp_path / "t.csv")
    assert json.loads(truth.read_text()) == a.truth
    assert len(pd.read_csv(tmp_path / "t.csv")) == 300


def test_treatment_assigned_to_whole_groups_when_the_spec_says_so():
    """simulation.assignment_groups (specs with treatment.assigned_by): everyone in a group
    shares its treatment, both kinds of group exist, and groups sorted on the selection index
    differ, so the naive contrast stays confounded."""
    spec = load_spec("data_specs/sectorplan_sectorniveau.yaml")
    assert spec.treatment.assigned_by == "sector"
    tw = make_twin(spec, seed=5, n=6000)
    df = tw.data
    by = df.groupby("sector")[spec.treatment.column]
    assert df["sector"].nunique() == 30
    assert (by.nunique() == 1).all()  # one treatment per group
    share = by.first()
    assert 0 < share.mean() < 1
    # the same spec without group assignment treats persons one by one
    sim = spec.simulation.model_copy(update={"assignment_groups": None})
    plain = make_twin(spec.model_copy(update={"simulation": sim}), seed=5, n=6000).data
    assert "sector" not in plain.columns


def test_randomised_regions_twin_gives_the_itt_its_rct_row_is_checked_against():
    spec = load_spec("data_specs/almere_aanpak45plus_heterogeneity.yaml")
    tw = make_twin(spec, seed=2, n=1200)
    assert tw.truth["ITT"] == tw.truth["ATE"]
    d, y = tw.data[spec.treatment.column], tw.data[spec.outcome.column]
    diff = 100 * (y[d == 1].mean() - y[d == 0].mean())
    assert abs(diff - tw.truth["ITT"]) < 12  # within about 4 SE at n = 1200
