"""What each interval assumes (causal.assumptions): every estimate with a number says it."""
from __future__ import annotations

from pathlib import Path

import pytest

from causal.assumptions import assumption_key, keys, state_assumptions, text
from causal.pipeline import prepare, run_estimator
from causal.spec import load_spec

OWN = ("interrupted_time_series", "synthetic_control")  # set their own sentence


def test_every_sentence_in_english_and_dutch():
    assert keys()
    for key in keys():
        assert text(key, "en").startswith("Assumes") and \
            text(key, "nl").startswith("Veronderstelt"), key
        assert text(key, "nl") != text(key, "en")


@pytest.mark.parametrize("path", sorted(Path("data_specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_estimator_has_an_assumption(path):
    spec = load_spec(path)
    for est in spec.estimators:
        if est.name in OWN:
            continue
        for estimand in ("ATT", "ATE", "ITT", "LATE", "dose_response"):
            assert assumption_key(est.name, estimand, spec.treatment.assignment), (est.name,
                                                                                     estimand)


def test_design_decides_the_sentence():
    assert assumption_key("regression", "ATE", "observational") == "no_unmeasured_confounding"
    assert assumption_key("regression", "ITT", "randomized") == "randomised"
    assert assumption_key("rct_difference", "LATE", "randomized") == "randomised_late"
    assert assumption_key("did", "ATT", "policy_change") == "parallel_trends"
    assert assumption_key("rdd", "LATE_cutoff", "threshold") == "continuity"
    assert assumption_key("bayesian_multilevel", "dose_response", "dose") == \
        "exchangeable_groups_dose"


def test_estimates_carry_it_and_own_sentences_stay():
    study = prepare("data_specs/almere_aanpak45plus.yaml", n=400)
    ests = run_estimator(study, "rct_difference")
    by = {e.estimand: e for e in ests}
    assert by["ITT"].diagnostics["assumes_key"] == "randomised"
    assert "exclusion restriction" in by["LATE"].diagnostics["assumes"]
    by["ITT"].diagnostics["assumes"] = "its own"
    state_assumptions(study, ests)
    assert by["ITT"].diagnostics["assumes"] == "its own"
