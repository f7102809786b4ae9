"""dml: coverage of the overall effect, effects by age group and region, small-cell
suppression."""
from __future__ import annotations

import numpy as np

from causal.pipeline import prepare, run_estimator
from tests.conftest import fit_estimates
from tests.test_matching import twin_spec


def test_dml_covers_the_ate_and_att():
    """LinearDML with linear nuisances and 3 folds (fast), effects by age group: 100 twins
    of 1,500 persons; require >= 88 covering for the ATE and the ATT, and 88% of the shown
    age-group intervals covering their group's true average effect."""
    spec = twin_spec(n=1500, true_effect_pp=6.0, effect_age_gradient=1.0)
    cov = {"ATE": 0, "ATT": 0}
    groups = {"covered": 0, "shown": 0}
    for s in range(100):
        st = prepare(spec, seed=500 + s)
        for e in fit_estimates(st, "dml", {"estimands": ["ATE", "ATT"], "nuisance": "linear",
                                           "folds": 3}):
            cov[e.estimand] += bool(e.covers_truth)
        # the age-group effects (shared by both estimands) against each group's own truth
        for r in e.diagnostics["subgroups"]["age_group"]:
            if r["effect"] is not None:
                groups["shown"] += 1
                groups["covered"] += r["ci_low"] <= r["truth"] <= r["ci_high"]
    assert cov["ATE"] >= 88 and cov["ATT"] >= 88, cov
    print("dml coverage", cov, groups)
    assert groups["shown"] >= 300 and groups["covered"] / groups["shown"] >= 0.88, groups


def test_effects_by_age_group_and_region_with_suppression():
    spec = twin_spec(n=1500, true_effect_pp=8.0, effect_age_gradient=1.5)
    st = prepare(spec, seed=21)
    e, = run_estimator(st, "dml", {"by": ["age_group", "region"], "nuisance": "linear",
                                    "folds": 3}, refute=False)
    ages = e.diagnostics["subgroups"]["age_group"]
    assert [r["group"] for r in ages] == ["45-49", "50-54", "55-59", "60+"]
    shown = [r for r in ages if r["effect"] is not None]
    assert shown and shown[0]["effect"] > shown[-1]["effect"]  # effect falls with age
    regions = e.diagnostics["subgroups"]["region"]
    k = st.spec.disclosure.min_cell
    small = [r for r in regions if min(r["n_treated"], r["n_control"]) < k]
    assert small, "the test needs some small regions"
    assert all(r["effect"] is None and "suppressed" in r["note"] for r in small)
    big = [r for r in regions if min(r["n_treated"], r["n_control"]) >= k]
    assert all(r["effect"] is not None and r["ci_low"] <= r["effect"] <= r["ci_high"]
               for r in big)
    assert any("suppressed" in w for w in e.warnings)
    fig = e.figures["effects_by_region"]()
    assert fig.axes and np.isfinite(e.net)


def test_a_single_region_gives_the_overall_effect_and_says_why_no_regions():
    spec = twin_spec(n=800, true_effect_pp=6.0)
    st = prepare(spec, seed=3)
    st.data[st.region] = st.data[st.region].astype(str).iloc[0]  # everyone in one region
    e, = run_estimator(st, "dml", {"by": ["age_group", "region"], "nuisance": "linear",
                                    "folds": 3}, refute=False)
    assert np.isfinite(e.net) and "region" not in e.diagnostics["subgroups"]
    assert "age_group" in e.diagnostics["subgroups"]
    assert any("only one region" in w for w in e.warnings)
