"""The flexible propensity score (causal.estimators.score_terms): its terms, its choice by
AIC, and the balance check on squares and interactions, on small twins."""
from __future__ import annotations

import numpy as np
import pytest

from causal.estimators.propensity import fit_propensity
from causal.estimators.score_terms import (
    Expansion,
    candidates,
    choose,
    natural_spline,
    nonlinear_balance,
    spline_knots,
)
from causal.pipeline import prepare, run_estimator
from causal.spec import load_spec


def test_natural_spline_is_linear_beyond_the_boundary_knots():
    x = np.linspace(-10, 10, 2001)
    kn = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    B = natural_spline(x, kn)
    assert B.shape == (len(x), 3)
    for side in (x < -2.05, x > 2.05):
        second = np.diff(B[side], 2, axis=0)
        assert np.abs(second).max() < 1e-9
    inside = (x > -1.9) & (x < 1.9)
    assert np.abs(np.diff(B[inside], 2, axis=0)).max() > 1e-6  # curved between the knots
    # the linear design nests: 1, x and the spline columns are linearly independent
    assert np.linalg.matrix_rank(np.column_stack([np.ones_like(x), x, B])) == 5


def test_candidates_keep_the_covariates_first_and_drop_empty_products():
    rng = np.random.default_rng(1)
    age = rng.uniform(45, 67, 3000)
    cat = rng.integers(0, 3, 3000)
    X = np.column_stack([age, cat == 1, cat == 2]).astype(float)
    names = ["age", "edu_1", "edu_2"]
    lin, spl, full = candidates(X, names)
    assert (lin.level, spl.level, full.level) == ("linear", "splines", "splines+interactions")
    assert spl.knots.keys() == {0}  # only the continuous column gets a spline
    assert (1, 2) not in full.pairs  # two dummies of one category never both 1
    Z = full.transform(X)
    np.testing.assert_array_equal(Z[:, :3], X)
    assert Z.shape[1] == len(full.terms) and full.terms[:3] == names
    assert len(spline_knots(age)) == 5


def _selection(nonlinear: bool, n: int = 4000, seed: int = 0):
    """Bounded traits (like age 45-67): a natural spline is linear beyond its boundary
    knots, so in long normal tails a square is not in its span (the balance check then
    warns, as it should)."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.7, 1.7, n), rng.uniform(-1.7, 1.7, n)
    eta = -1 + 0.5 * a + 0.3 * b + (0.6 * (a ** 2 - 1) + 0.5 * a * b if nonlinear else 0)
    d = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return np.column_stack([a, b]), d


@pytest.mark.parametrize("nonlinear", [False, True])
def test_aic_chooses_the_design_that_generated_the_selection(nonlinear):
    X, d = _selection(nonlinear)
    exp, fit, rec = choose(X, d, ["a", "b"])
    assert rec["chosen"] == ("splines+interactions" if nonlinear else "linear"), rec
    assert fit.Z.shape[1] == len(exp.terms) + 1
    ps = fit_propensity(X, d, "flexible")
    assert ps.design["chosen"] == rec["chosen"] and ps.Z.shape == fit.Z.shape
    assert ps.info.shape == (ps.Z.shape[1], ps.Z.shape[1])


def test_events_per_variable_rule_keeps_small_samples_linear():
    X, d = _selection(True, n=150)
    exp, _, rec = choose(X, d, ["a", "b"])
    assert isinstance(exp, Expansion) and "left_out" in rec
    assert all(rec["columns"][k] * 10 > min(d.sum(), len(d) - d.sum())
               for k in rec["left_out"])


def test_nonlinear_balance_flags_what_means_do_not_show():
    X, d = _selection(True, n=6000, seed=2)
    lin = fit_propensity(X, d, "logistic")
    flex = fit_propensity(X, d, "flexible")
    w_lin = np.where(d == 1, 1.0, lin.p / (1 - lin.p))
    w_flex = np.where(d == 1, 1.0, flex.p / (1 - flex.p))
    bad, warn_lin = nonlinear_balance(X, ["a", "b"], d, w_lin, "weighting")
    good, warn_flex = nonlinear_balance(X, ["a", "b"], d, w_flex, "weighting")
    assert warn_lin and "a^2" in warn_lin[0] and not warn_flex
    assert bad["max_abs_smd_after"] > 0.1 > good["max_abs_smd_after"]
    assert all(r["n"] == len(d) for r in bad["worst"])


@pytest.fixture(scope="module")
def nonlinear_study():
    spec = load_spec("data_specs/sectorplan_training.yaml")
    return prepare(spec, seed=11, n=4000, stress=["nonlinear:strength=0.8"])


def test_flexible_default_mends_ipw_and_matching_under_nonlinear_selection(nonlinear_study):
    """The linear logit's IPW and matching drift by several points on this twin and say so
    (nonlinear balance warning); the default flexible score lands closer to the truth."""
    st = nonlinear_study
    for name in ("ipw", "propensity_matching"):
        lin = run_estimator(st, name, {"propensity": "logistic"}, refute=False)[0]
        flex = run_estimator(st, name, {}, refute=False)[0]
        assert "terms chosen by AIC" in flex.diagnostics["propensity_model"]
        assert abs(lin.net - lin.truth) > 2.0, (name, lin.net, lin.truth)
        assert abs(flex.net - flex.truth) < abs(lin.net - lin.truth) / 2, (name, flex.net)
        assert any("squared or interaction" in w for w in lin.warnings), name
        assert flex.diagnostics["balance_nonlinear"]["max_abs_smd_after"] < \
            lin.diagnostics["balance_nonlinear"]["max_abs_smd_after"]
