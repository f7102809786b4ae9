"""The RCT estimator's 95% intervals cover the twin's true ITT and LATE at about the nominal
rate over many seeds (not only that a number comes out)."""
from __future__ import annotations

import numpy as np
import pytest

from causal.errors import EstimationError
from causal.estimators.rct import RCTOptions, rct_difference
from causal.pipeline import prepare
from tests.conftest import ALMERE

SEEDS = range(100)


@pytest.fixture(scope="module")
def coverage():
    hits = {"ITT": [], "LATE": []}
    hits_plain = []
    widths = {"lin": [], "none": []}
    for seed in SEEDS:
        st = prepare(ALMERE, seed=1000 + seed, n=1200)
        for e in rct_difference(st, RCTOptions()):
            hits[e.estimand].append(e.covers_truth)
            if e.estimand == "ITT":
                widths["lin"].append(e.ci_high - e.ci_low)
        plain = rct_difference(st, RCTOptions(adjust="none", estimands=["ITT"]))[0]
        hits_plain.append(plain.covers_truth)
        widths["none"].append(plain.ci_high - plain.ci_low)
    return hits, hits_plain, widths


def test_itt_and_late_cover_truth(coverage):
    hits, hits_plain, _ = coverage
    print(f"coverage: rct ITT {sum(hits['ITT'])}/100, LATE {sum(hits['LATE'])}/100")
    for k in ("ITT", "LATE"):
        assert sum(hits[k]) >= 90, f"{k} covered the truth in {sum(hits[k])} of 100 seeds"
        assert sum(hits[k]) <= 100
    assert sum(hits_plain) >= 90


def test_lin_adjustment_is_not_less_precise(coverage):
    _, _, widths = coverage
    assert np.mean(widths["lin"]) <= np.mean(widths["none"]) * 1.02


def test_late_gross_is_the_compliers_mean_and_decomposes():
    st = prepare(ALMERE, seed=7, n=3000)
    itt, late = rct_difference(st, RCTOptions())
    assert late.estimand == "LATE" and late.diagnostics["first_stage"] == pytest.approx(
        st.data.loc[st.data.assigned == 1, "coached"].mean()
        - st.data.loc[st.data.assigned == 0, "coached"].mean())
    assert late.counterfactual == pytest.approx(late.gross - late.net)
    assert abs(late.net) > abs(itt.net)  # the complier effect undoes the dilution


def test_constant_assignment_is_a_clear_error():
    st = prepare(ALMERE, seed=1, n=400)
    st.data["assigned"] = 1
    with pytest.raises(EstimationError, match="assignment does not vary"):
        rct_difference(st, RCTOptions())


def test_late_states_how_misrecorded_take_up_would_move_it():
    """Recorded take-up wrong for 20% at random: the recorded first stage shrinks by 1 - 2 x
    0.2, so the LATE overstates by 1 / 0.6. No data can show it; the LATE's sensitivity
    statement at 20% (its first row, which the coverage study reads as the bound) moves the
    estimate back toward the truth, and says what it assumes."""
    from causal.estimators.rct import take_up_sensitivity
    from causal.pipeline import prepare, run_estimator
    from causal.spec import load_spec
    from causal.validate import _bound

    t = take_up_sensitivity(5.0, 1.0, 9.0, "pp", 100)
    assert [r["share_wrong"] for r in t["benchmarks"]] == [0.2, 0.1, 0.05]
    assert t["benchmarks"][0]["estimate"] == pytest.approx(3.0)
    assert t["benchmarks"][0]["ci_low"] == pytest.approx(0.6)
    assert t["benchmarks"][2]["estimate_one_direction"] == pytest.approx(4.75)
    assert "recorded without error" in t["reading"]

    # the same twin without and with the stress: outcome and assignment are the same (the
    # scenario draws from its own stream), only the recorded take-up differs
    spec = load_spec("data_specs/uwv_intensive_services.yaml")
    late = {}
    for stress in (None, ["misrecorded_compliance:error=0.2"]):
        st = prepare(spec, seed=70, n=8000, stress=stress)
        late[bool(stress)] = next(e for e in run_estimator(st, "rct_difference", {},
                                                           refute=False) if e.estimand == "LATE")
    clean, bad = late[False], late[True]
    ratio = bad.diagnostics["first_stage"] / clean.diagnostics["first_stage"]
    assert ratio == pytest.approx(0.6, abs=0.05)
    assert bad.net == pytest.approx(clean.net / ratio, rel=0.05)
    moved = bad.diagnostics["sensitivity_bounds"]["benchmarks"][0]["estimate"]
    assert moved == pytest.approx(clean.net, rel=0.1)
    lo, hi = _bound(bad)
    assert lo <= bad.ci_low and hi >= bad.ci_high and lo < 0.6 * bad.ci_low + 1e-9
