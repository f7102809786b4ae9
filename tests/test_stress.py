"""Stress scenarios (causal.twins.stress): each changes the twin as documented, only as
documented, deterministically, and never touches an unstressed twin."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal.errors import SpecError
from causal.spec import load_spec
from causal.twins import make_twin
from causal.twins.stress import SCENARIOS, describe, parse


@pytest.fixture(scope="module")
def specs():
    names = ["sectorplan_training", "sectorplan_did", "uwv_intensive_services",
             "experimenten_meer_werk", "werkgeversdienstverlening_regions"]
    return {n: load_spec(f"data_specs/{n}.yaml") for n in names}


def _changed(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    return [c for c in a.columns if c in b.columns and not a[c].equals(b[c])]


def test_no_stress_is_the_plain_twin(specs):
    s = specs["sectorplan_training"]
    a, b = make_twin(s, n=800), make_twin(s, n=800, stress=[])
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.truth == b.truth and "stress" not in a.extras


def test_every_scenario_is_documented():
    for row in describe():
        cls = SCENARIOS[row["name"]]
        assert row["expect"] in ("unbiased", "widen", "warn", "refuse")
        assert row["generators"] and row["what"] and row["honest"]
        assert cls.__doc__ and "Honest" in cls.__doc__, row["name"]


def test_hidden_confounding_adds_noise_to_the_proxy_only(specs):
    s = specs["sectorplan_training"]
    a = make_twin(s, n=4000)
    b = make_twin(s, n=4000, stress=["hidden_confounding:reliability=0.5"])
    assert _changed(a.data, b.data) == ["motivation"]
    # the spec measures motivation exactly (variance 1); reliability 0.5 doubles it
    assert a.data["motivation"].var() == pytest.approx(1.0, abs=0.1)
    assert b.data["motivation"].var() == pytest.approx(2.0, abs=0.15)
    assert b.truth == a.truth
    # a twin whose motivation was not a confounder gets one (selection and outcome)
    job = load_spec("data_specs/sectorplan_job_mobility.yaml")
    c = make_twin(job, n=3000, stress=["hidden_confounding"])
    d = c.data
    assert "motivation" in d and d.groupby(job.treatment.column)["motivation"].mean().diff().iloc[-1] > 0.2


def test_group_period_shocks_move_sector_years(specs):
    s = specs["sectorplan_did"]
    a = make_twin(s, n=2000)
    b = make_twin(s, n=2000, stress=["group_period_shocks:sd_pp=4"])
    assert _changed(a.data, b.data) == ["employed"]
    assert b.data["sector_detail"].nunique() == 16  # 8 per adoption group
    # the effect is unchanged but for the clip of probabilities at 0.999 (base rate 90%)
    assert b.truth["ATT"] == pytest.approx(a.truth["ATT"], abs=0.05)

    def cell_sd(df):  # SD of sector-year means around each sector's mean and year's mean
        m = df.assign(c=b.data["sector_detail"]).groupby(["c", "year"])["employed"].mean()
        m = m.unstack()
        resid = m.sub(m.mean(axis=1), axis=0).sub(m.mean(axis=0) - m.values.mean(), axis=1)
        return float(np.nanstd(resid.values))

    assert cell_sd(b.data) > 1.5 * cell_sd(a.data)
    # deterministic by seed
    pd.testing.assert_frame_equal(b.data, make_twin(s, n=2000, stress=["group_period_shocks:sd_pp=4"]).data)
    r = make_twin(s, n=2000, stress=["group_period_shocks:by=region"])
    assert "sector_detail" not in r.data and _changed(a.data, r.data) == ["employed"]


def test_nonlinear_selection_is_u_shaped_in_age(specs):
    s = specs["sectorplan_training"]
    b = make_twin(s, n=6000, stress=["nonlinear:strength=1"]).data
    a = make_twin(s, n=6000).data
    t = s.treatment.column

    def ends_minus_middle(df):
        q = pd.qcut(df["age"], 5, labels=False, duplicates="drop")
        r = df.groupby(q)[t].mean()
        return (r.iloc[0] + r.iloc[-1]) / 2 - r.iloc[len(r) // 2]

    assert ends_minus_middle(b) > ends_minus_middle(a) + 0.05


def test_effect_heterogeneity_separates_att_from_ate(specs):
    s = specs["sectorplan_training"]
    a, b = make_twin(s, n=4000), make_twin(s, n=4000, stress=["effect_heterogeneity"])
    assert abs(a.truth["ATT"] - a.truth["ATE"]) < 0.3
    assert b.truth["ATT"] - b.truth["ATE"] > 0.8
    assert _changed(a.data, b.data) == [s.outcome.column]


def test_misrecorded_compliance_flips_the_recorded_receipt(specs):
    s = specs["uwv_intensive_services"]
    a = make_twin(s, n=5000)
    b = make_twin(s, n=5000, stress=["misrecorded_compliance:error=0.1"])
    col = s.treatment.received
    assert _changed(a.data, b.data) == [col]
    assert (a.data[col] != b.data[col]).mean() == pytest.approx(0.1, abs=0.015)
    assert b.truth == a.truth


def test_peer_effects_group_the_treated(specs):
    s = specs["sectorplan_training"]
    b = make_twin(s, n=3000, stress=["peer_effects:group_size=10"]).data
    t = b[s.treatment.column] == 1
    sizes = b[t].groupby("training_group").size()
    assert sizes.max() == 10 and sizes.min() >= 1
    assert b.loc[~t, "training_group"].is_unique
    assert not set(b.loc[t, "training_group"]) & set(b.loc[~t, "training_group"])


def test_few_groups_and_group_effect_shapes(specs):
    s = specs["werkgeversdienstverlening_regions"]
    b = make_twin(s, n=4000, stress=["few_groups:groups=4"])
    assert b.data["region"].nunique() == 4 and len(b.extras["group_effect_logit"]) == 4
    e = specs["experimenten_meer_werk"]
    assert make_twin(e, n=3000, stress=["few_groups:groups=3"]).data["project"].nunique() == 3
    skew = SCENARIOS["skewed_group_effects"]().standard(20000, 1)
    heavy = SCENARIOS["heavy_tailed_group_effects"]().standard(20000, 1)
    from scipy import stats

    assert stats.skew(skew) > 1.5 and abs(np.std(skew) - 1) < 0.05
    assert stats.kurtosis(heavy) > 3 and abs(stats.skew(heavy)) < 1
    u = SCENARIOS["skewed_group_effects"](size_correlation=0.9).effects(
        200, np.exp(np.linspace(0, 3, 200)), 1)
    assert np.corrcoef(u, np.linspace(0, 3, 200))[0, 1] > 0.8


@pytest.mark.parametrize("bad, where", [
    (["few_groups"], "does not apply to the 'individual' generator"),
    (["no_such_thing"], "unknown stress scenario"),
    (["nonlinear:power=2"], "simulation.stress.0"),
    (["nonlinear", "nonlinear"], "given twice"),
    (["hidden_confounding:reliability"], "expected key=value"),
])
def test_bad_stress_is_a_spec_error(specs, bad, where):
    with pytest.raises(SpecError, match=where):
        make_twin(specs["sectorplan_training"], n=100, stress=bad)


def test_parse_and_label():
    (s,) = parse(["group_period_shocks:sd_pp=3,by=region"])
    assert s.sd_pp == 3 and s.by == "region"
    assert s.label() == "group_period_shocks(by=region, sd_pp=3.0)"
    assert s.remedy("did", "panel") == {"cluster": "region"}
    assert SCENARIOS["nonlinear"]().remedy("ipw", "individual") is None  # flexible default
    assert SCENARIOS["hidden_confounding"]().remedy("ipw", "individual") is None


def test_remedy_only_where_the_estimator_has_the_option(specs):
    from causal.validate import _remedies

    training = specs["sectorplan_training"]
    assert _remedies(training, "dml", ["peer_effects"]) == []  # dml has no cluster option
    assert _remedies(training, "propensity_matching", ["peer_effects"]) == [
        {"cluster": "training_group"}]
    assert _remedies(specs["sectorplan_did"], "did", ["group_period_shocks"]) == [
        {"cluster": "sector_detail"}]
    assert _remedies(specs["sectorplan_did"], "did", None) == []


def test_validate_runs_the_remedy_beside_the_spec_options(specs):
    from causal.validate import run_validation

    t = run_validation(specs["sectorplan_did"], 2, n=300, estimators=["did"],
                       stress=["group_period_shocks"])
    names = list(t["name"])
    assert any(nm.startswith("did [cluster=sector_detail]") for nm in names), names
    assert t.attrs["settings"]["stress"] == ["group_period_shocks"]
    assert not t["failed"].any() or (t["errors"] == 0).all()


def test_expected_clip_is_the_mean_of_a_clipped_normal():
    from causal.twins.stress import expected_clip

    rng = np.random.default_rng(3)
    x, sd = np.array([0.02, 0.5, 0.97, 0.4]), np.array([0.05, 0.1, 0.08, 0.0])
    mc = np.clip(x[:, None] + rng.normal(size=(4, 200_000)) * sd[:, None], 0, 1).mean(axis=1)
    assert np.allclose(expected_clip(x, sd), mc, atol=1e-3)
    assert expected_clip(x, sd)[0] > x[0] and expected_clip(x, sd)[2] < x[2]


def test_verdicts():
    from causal.twins.stress import verdict

    ok = {"failed": False, "with_number": 20, "coverage": 0.95}
    bad = {"failed": True, "with_number": 20, "coverage": 0.7}
    assert verdict("unbiased", ok, None) == "holds"
    assert verdict("warn", bad, 0.95).startswith("honest failure")
    assert verdict("warn", bad, 0.3).startswith("defect: not identified and not flagged")
    assert "remedy row [cluster=x] holds" in verdict("widen", bad, None, True, "cluster=x")
    assert verdict("widen", bad, None) == "defect: no option to cluster at the shock's level"
    assert verdict("refuse", ok, None).startswith("defect")
    assert verdict("widen", {"failed": False, "with_number": 20, "coverage": float("nan")},
                   None).startswith("honest: no interval")


def test_stressed_coverage_rows_reproduce(tmp_path, monkeypatch):
    """benchmarks/coverage_study.py writes the stressed rows, deterministically, and the
    table gives them a verdict."""
    import argparse
    import importlib.util
    import json

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage_study.py"
    sp = importlib.util.spec_from_file_location("coverage_study_under_test", path)
    cs = importlib.util.module_from_spec(sp)
    sp.loader.exec_module(cs)
    monkeypatch.setattr(cs, "OUT", tmp_path)
    monkeypatch.setattr(cs, "STRESS_OUT", tmp_path / "stress")
    args = argparse.Namespace(replications=3, workers=1, n=800, estimator=["ipw"],
                              max_cost="fast", force=True)
    spec = Path("data_specs/sectorplan_training.yaml")
    cs.run_one(spec, args, "hidden_confounding")
    out = tmp_path / "stress" / "sectorplan_training__hidden_confounding.json"
    def numbers():  # everything but the timing
        return [{k: v for k, v in r.items() if k != "seconds"}
                for r in json.loads(out.read_text())["table"]]

    first = numbers()
    cs.run_one(spec, args, "hidden_confounding")
    assert numbers() == first
    text = cs.build_table()
    row = next(ln for ln in text.splitlines() if "| hidden_confounding | ipw (ATT) |" in ln)
    assert "| warn |" in row and ("honest" in row or "defect" in row or "holds" in row)


def test_threshold_twins_take_region_period_shocks():
    rdd = load_spec("data_specs/loonkostenvoordeel_rdd.yaml")
    a, b = make_twin(rdd, n=1500), make_twin(rdd, n=1500, stress=["group_period_shocks"])
    assert _changed(a.data, b.data)  # the outcome, and the spells it ends
    assert abs(b.truth["LATE_cutoff"] - a.truth["LATE_cutoff"]) < 0.2
    ddd = load_spec("data_specs/no_riskpolis_ddd.yaml")
    c, d = make_twin(ddd, n=3000), make_twin(ddd, n=3000, stress=["group_period_shocks"])
    assert _changed(c.data, d.data) == [ddd.outcome.column]
    with pytest.raises(SpecError, match="by: region"):
        make_twin(ddd, n=300, stress=["group_period_shocks:by=group"])


def test_informative_censoring_ties_censoring_to_arm_and_traits():
    spec = load_spec("data_specs/uwv_intensive_services_duration.yaml")
    a = make_twin(spec, n=4000).data
    b = make_twin(spec, n=4000, stress=["informative_censoring:arm_ratio=2"]).data
    assert _changed(a, b) and set(_changed(a, b)) <= {"months_on_ww", "exit_type"}

    def censored(df, m):
        return float((df.loc[m, "exit_type"] == "censored").mean())

    ctrl = b["assigned"] == 0
    assert censored(b, ctrl) - censored(b, ~ctrl) > 2 * (censored(a, ctrl) - censored(a, ~ctrl))
    # the job-finding index rises with education: more censoring among the better educated
    hi = b["education"].cat.codes >= 3
    assert censored(b, hi) - censored(b, ~hi) > censored(a, hi) - censored(a, ~hi) + 0.02


def test_relevant_scenarios_per_design(specs):
    from causal.twins.stress import relevant

    assert "nonlinear" in relevant(specs["sectorplan_training"])
    assert "misrecorded_compliance" in relevant(specs["uwv_intensive_services"])
    assert relevant(specs["experimenten_meer_werk"])[0] == "few_groups"
    assert relevant(load_spec("data_specs/uwv_intensive_services_duration.yaml")) == [
        "informative_censoring"]
    for name in relevant(load_spec("data_specs/no_riskpolis_ddd.yaml")):
        assert "threshold" in SCENARIOS[name].GENERATORS
