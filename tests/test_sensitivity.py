"""E-values, dowhy refutations and design warnings (causal.sensitivity), and that reports show
them."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from causal.cli import app
from causal.pipeline import prepare, run_estimator
from causal.result import Estimate
from causal.sensitivity import (
    annotate,
    design_warnings,
    disagreement_warnings,
    e_value,
    e_value_rr,
    measure_warnings,
)
from causal.study import Study
from tests.conftest import ALMERE


def _est(net, lo, hi, gross=30.0, unit="pp", estimator="ipw", estimand="ATT"):
    return Estimate(measure="m", estimator=estimator, estimand=estimand, net=net, ci_low=lo,
                    ci_high=hi, gross=gross, unit=unit)


# -- E-value --------------------------------------------------------------------------------
def test_e_value_of_a_risk_ratio():
    # VanderWeele and Ding (2017): RR 3.9 -> E-value 7.26
    assert e_value_rr(3.9) == pytest.approx(7.26, abs=0.01)
    assert e_value_rr(1.0) == 1.0
    assert e_value_rr(0.5) == pytest.approx(2 + math.sqrt(2))  # protective: invert first


def test_e_value_of_an_estimate_in_pp():
    ev = e_value(_est(10.0, 4.0, 16.0))  # treated 30%, counterfactual 20%: RR 1.5
    assert ev["e_value"] == pytest.approx(1.5 + math.sqrt(1.5 * 0.5))
    rr_lo = 30 / 26  # the interval limit closer to no effect
    assert ev["e_value_ci"] == pytest.approx(rr_lo + math.sqrt(rr_lo * (rr_lo - 1)))
    assert "risk ratio of at least 2.37" in ev["e_value_reading"]
    # a harmful estimate: the upper limit is the one closer to no effect
    neg = e_value(_est(-10.0, -16.0, -4.0, gross=20.0))
    assert neg["e_value"] == pytest.approx(1.5 + math.sqrt(0.75))  # 20 / 30 inverted
    # an interval that includes no effect needs no confounding at all
    assert e_value(_est(2.0, -1.0, 5.0))["e_value_ci"] == 1.0
    assert "already includes no effect" in e_value(_est(2.0, -1.0, 5.0))["e_value_reading"]


def test_e_value_continuous_and_degenerate():
    ev = e_value(_est(5.0, 1.0, 9.0, unit="euro"), sd_outcome=10.0)
    rr = math.exp(0.91 * 0.5)
    assert ev["e_value"] == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert e_value(_est(5.0, 1.0, 9.0, unit="euro")) is None  # no SD, no conversion
    bad = e_value(_est(35.0, 30.0, 40.0, gross=30.0))  # counterfactual below zero
    assert bad["e_value"] is None and "not defined" in bad["e_value_reading"]
    assert e_value(_est(None, None, None)) is None


# -- an observational twin ------------------------------------------------------------------
@pytest.fixture
def observational(spec_copy):
    """The Almere spec turned observational: selection on age, health, benefit duration and
    an unobserved motivation; rct_difference's Lin regression as the adjusted estimator."""
    p = spec_copy()
    d = yaml.safe_load(p.read_text())
    d["measure"] = "almere_observational"
    d["treatment"] = {"column": "assigned", "assignment": "observational"}
    d["simulation"].update({"selection": {"age": -0.5, "health_limitation": -0.4,
                                          "benefit_months": -0.3},
                            "motivation_effect": 0.3, "compliance": 1.0, "always_takers": 0.0,
                            "n": 1500})
    d["estimators"] = [{"name": "naive"},
                       {"name": "rct_difference", "options": {"estimands": ["ITT"]}}]
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    return p


def test_observational_estimates_get_e_values_and_refutations(observational, monkeypatch):
    study = prepare(observational)
    naive = run_estimator(study, "naive")[0]
    est = run_estimator(study, "rct_difference")[0]
    assert "e_value" not in naive.diagnostics and "refutations" not in naive.diagnostics
    assert est.diagnostics["e_value"] > 1 and est.diagnostics["e_value_ci"] >= 1
    refs = est.diagnostics["refutations"]
    names = [r["name"] for r in refs]
    assert names[:3] == ["placebo treatment", "random common cause", "data subset (80%)"]
    assert names[3].startswith("unobserved common cause")
    for r in refs:
        assert isinstance(r["reading"], str) and len(r["reading"]) > 20
        assert np.isfinite(r["value"])
    placebo = refs[0]
    assert placebo["passed"] and abs(placebo["value"]) < abs(est.net)
    assert 0 < refs[3]["robustness_value"] < 1
    # deterministic: a second Study of the same data gives the same refutations
    again = run_estimator(prepare(observational), "rct_difference")[0]
    assert again.diagnostics["refutations"] == refs
    # switched off: E-value stays, refutations go
    monkeypatch.setenv("NETTO_REFUTE", "0")
    off = run_estimator(prepare(observational), "rct_difference")[0]
    assert "e_value" in off.diagnostics
    assert [r["name"] for r in off.diagnostics["refutations"]] == ["refutation tests"]
    assert "Switched off" in off.diagnostics["refutations"][0]["reading"]
    quiet = run_estimator(study, "rct_difference", refute=False)[0]
    assert "Switched off" in quiet.diagnostics["refutations"][0]["reading"]


def test_randomised_designs_get_no_e_value():
    study = prepare(ALMERE, n=300)
    for e in run_estimator(study, "rct_difference"):
        assert "e_value" not in e.diagnostics and "refutations" not in e.diagnostics


def test_a_failing_refuter_becomes_a_warning(observational, monkeypatch):
    import causal.sensitivity as sens

    def boom(study, simulations=10):
        raise RuntimeError("dowhy fell over")

    monkeypatch.setattr(sens, "refutations", boom)
    study = prepare(observational, n=300)
    ests = annotate(study, [study.estimate("ipw", "ATT", 5.0, (1.0, 9.0), 2.0)])
    assert "e_value" in ests[0].diagnostics
    assert any("could not run" in w and "dowhy fell over" in w for w in ests[0].warnings)


def test_report_shows_refutations_e_values_and_warnings(observational, tmp_path):
    out = tmp_path / "r"
    r = CliRunner().invoke(app, ["run", str(observational), "--out", str(out), "-w", "1", "-q"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "almere_observational" / "summary.json").read_text())
    adj = next(e for e in s["estimates"] if e["estimator"] == "rct_difference")
    assert adj["diagnostics"]["e_value"] > 1 and len(adj["diagnostics"]["refutations"]) == 4
    assert isinstance(s["warnings"], list)
    html = (out / "almere_observational" / "index.html").read_text()
    assert "Refutation / sensitivity" in html and "E-value" in html
    assert "placebo treatment" in html
    md = (out / "almere_observational" / "report.md").read_text()
    assert "E-value" in md and "placebo treatment" in md


# -- design warnings -----------------------------------------------------------------------
def _study(spec_path, df_changes=None, spec_changes=None, n=600) -> Study:
    st = prepare(spec_path, n=n)
    spec = st.spec
    if spec_changes:
        spec = spec.model_copy(deep=True, update=spec_changes)
        spec._path = st.spec.path
    df = st.data.copy()
    if df_changes:
        df = df_changes(df)
    return Study(spec=spec, data=df, source="test", truth=st.truth, covariates=st.covariates)


def _kinds(study) -> set[str]:
    return {w["kind"] for w in design_warnings(study)}


def test_comparison_group_chosen_by_outcome(spec_copy):
    p = spec_copy()
    st = _study(p)
    pop = st.spec.population.model_copy(update={"conditions": [
        *st.spec.population.conditions,
        type(st.spec.population.conditions[0])(column="work_12m", max=0)]})
    by_condition = _study(p, spec_changes={"population": pop})
    w = next(w for w in design_warnings(by_condition) if w["kind"] == "outcome_sampling")
    assert "work_12m" in w["message"] and "seed notes 002" in w["message"]
    ident = st.spec.identification.model_copy(update={
        "status": "not_identified",
        "reason": "The '(control) group' of 38 cases was chosen by outcome (exit to work)."})
    assert "outcome_sampling" in _kinds(_study(p, spec_changes={"identification": ident}))
    assert "outcome_sampling" not in _kinds(st)


def test_everyone_or_no_one_treated(spec_copy):
    p = spec_copy()
    treat = _study(p).spec.treatment.model_copy(update={"assignment": "universal"})
    w = design_warnings(_study(p, spec_changes={"treatment": treat}))
    assert any(x["kind"] == "universal_treatment" and "004" in x["message"] for x in w)

    def few(df):
        df["assigned"] = 0
        df.loc[:4, "assigned"] = 1
        return df

    w = design_warnings(_study(p, few))
    msg = next(x["message"] for x in w if x["kind"] == "treatment_share")
    assert msg.startswith("Almost no one") and "fewer than 10 of about 600" in msg
    assert "5 of" not in msg and "%" not in msg  # disclosure control: no small count, no share


def test_single_region_constant_outcome_and_region_confounding(spec_copy):
    p = spec_copy()

    def one_region(df):
        df["region"] = "Flevoland"
        df["work_12m"] = 0
        return df

    kinds = _kinds(_study(p, one_region))
    assert {"single_region", "constant_outcome"} <= kinds

    def by_region(df):
        codes = pd.factorize(df["region"])[0]
        df["assigned"] = (codes % 2).astype(int)
        return df

    assert "treatment_by_region" in _kinds(_study(p, by_region))


def test_small_cells_name_the_variable_not_the_cell_or_its_count(spec_copy):
    p = spec_copy()

    def rare(df):
        df["education"] = df["education"].astype(str)
        df.loc[:2, "education"] = "phd"
        return df

    w = next(x for x in design_warnings(_study(p, rare)) if x["kind"] == "small_cells")
    assert "education: " in w["message"] and "phd" not in w["message"]  # disclosure control
    assert ": 3" not in w["message"] and ": 2" not in w["message"]


def test_poor_overlap_for_observational_designs_only(observational, spec_copy):
    def deterministic(df):
        df["assigned"] = (df["age"] > 55).astype(int)  # no overlap on age at all
        return df

    assert "overlap" in _kinds(_study(observational, deterministic))
    assert "overlap" not in _kinds(_study(spec_copy(), deterministic))  # randomised spec
    assert "overlap" not in _kinds(_study(observational))  # selection, but overlap


def test_estimators_that_disagree_beyond_their_intervals():
    rows = [
        {"estimator": "ipw", "name": "ipw", "estimand": "ATT", "net": 5.0, "ci_low": 3.0, "ci_high": 7.0},
        {"estimator": "aipw", "name": "aipw", "estimand": "ATT", "net": 12.0, "ci_low": 9.0, "ci_high": 15.0},
        {"estimator": "dml", "name": "dml", "estimand": "ATT", "net": 8.0, "ci_low": 4.0, "ci_high": 10.0},
        {"estimator": "naive", "name": "naive", "estimand": "ATT", "net": 30.0, "ci_low": 29.0, "ci_high": 31.0},
        {"estimator": "rdd", "name": "rdd", "estimand": "LATE_cutoff", "net": 40.0, "ci_low": 39.0, "ci_high": 41.0},
    ]
    w = disagreement_warnings(rows)
    assert [x["estimators"] for x in w] == [["ipw", "aipw"]]
    assert "do not overlap" in w[0]["message"]
    # an estimator's own overlap warning replaces the study-level one
    info = {"design_warnings": [{"kind": "overlap", "message": "poor overlap"},
                                {"kind": "small_cells", "message": "cells"}]}
    rows[0]["warnings"] = ["poor overlap: 12% of treated outside the common support"]
    kinds = [x["kind"] for x in measure_warnings(info, rows)]
    assert kinds == ["small_cells", "estimators_disagree"]


def test_overlap_is_judged_once_from_the_estimators_own_diagnostics():
    info = {"design_warnings": [{"kind": "overlap", "message": "study-level poor overlap"}]}
    rows = [{"estimator": "ipw", "name": "ipw (ATT)", "estimand": "ATT", "net": 4.0,
             "ci_low": 1.0, "ci_high": 7.0, "warnings": [],
             "diagnostics": {"overlap": {"share_outside_0.1_0.9": 0.3}}}]
    w = measure_warnings(info, rows)
    assert len(w) == 1 and "ipw (ATT)" in w[0]["message"] and "30%" in w[0]["message"]
    rows[0]["diagnostics"]["overlap"]["share_outside_0.1_0.9"] = 0.04
    assert measure_warnings(info, rows) == []


def test_a_dose_design_says_everyone_was_treated(spec_copy):
    p = spec_copy()
    treat = _study(p).spec.treatment.model_copy(update={"assignment": "dose"})
    w = design_warnings(_study(p, spec_changes={"treatment": treat}))
    assert any(x["kind"] == "universal_treatment" and "'dose'" in x["message"] for x in w)
