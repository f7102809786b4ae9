"""Randomisation inference over which groups are treated (causal.randomization): exact under
the sharp null, able to reject, equal to a brute-force permutation, inverted into the
interval where the p-value crosses alpha, and refused or interval-less where it must be."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from causal import inference as inf
from causal.errors import EstimationError
from causal.randomization import RandomizationTest, assignments

G, PER, G1 = 10, 30, 3


def _data(rng, effect=0.0, shock_sd=1.0):
    cl = np.repeat(np.arange(G), PER)
    treated = np.zeros(G, bool)
    treated[rng.choice(G, G1, replace=False)] = True  # exchangeable assignment
    d = treated[cl].astype(float)
    y = effect * d + rng.normal(0, shock_sd, G)[cl] + rng.normal(size=G * PER)
    X = np.column_stack([np.ones(G * PER), d])
    return y, X, cl, treated


def _design_of(X, cl):
    def design_of(pi):
        Xp = X.copy()
        Xp[:, 1] = pi[cl]
        return Xp
    return design_of


def test_all_assignments_enumerated_observed_first():
    A, exact = assignments(np.array([0, 1, 0, 1, 0], bool), 999, np.random.default_rng(0))
    assert exact and len(A) == math.comb(5, 2) and (A.sum(1) == 2).all()
    assert (A[0] == [0, 1, 0, 1, 0]).all() and len({tuple(a) for a in A}) == len(A)


def test_p_value_equals_brute_force_permutation():
    """Every assignment's estimate recomputed on the outcomes the sharp null tau0 implies."""
    rng = np.random.default_rng(3)
    y, X, cl, treated = _data(rng, effect=0.5)
    test = RandomizationTest(y, _design_of(X, cl), treated, 1)
    d = X[:, 1]
    for tau0 in (0.0, 0.4, -1.3):
        y0 = y - tau0 * d
        obs = abs(np.linalg.lstsq(X, y, rcond=None)[0][1] - tau0)
        hits = []
        for idx in itertools.combinations(range(G), G1):
            pi = np.zeros(G, bool)
            pi[list(idx)] = True
            Xp = _design_of(X, cl)(pi)
            b = np.linalg.lstsq(Xp, y0 + tau0 * Xp[:, 1], rcond=None)[0][1]
            hits.append(abs(b - tau0) >= obs - 1e-12)
        assert test.p_value(tau0) == pytest.approx(np.mean(hits), abs=1e-12)


def test_p_value_uniform_under_the_null_and_rejects_a_big_effect():
    """Sharp null true (no effect) with group shocks: rejection at 5% about 5% of the time and
    p-values spread over (0, 1); a big effect: rejected every time, interval covers it."""
    rng = np.random.default_rng(11)
    p = np.array([RandomizationTest(y, _design_of(X, cl), tr, 1).p_value(0.0)
                  for y, X, cl, tr in (_data(rng) for _ in range(300))])
    assert 0.02 <= np.mean(p <= 0.05) <= 0.09
    assert 0.42 <= np.mean(p <= 0.5) <= 0.58 and 0.15 <= np.mean(p <= 0.2) <= 0.26
    for _ in range(5):
        y, X, cl, tr = _data(rng, effect=6.0)
        test = RandomizationTest(y, _design_of(X, cl), tr, 1)
        assert test.p_value(0.0) <= 0.05
        lo, hi = test.interval(0.05, 1.0)
        assert 0 < lo < 6.0 < hi


def test_interval_is_where_the_p_value_crosses_alpha():
    rng = np.random.default_rng(5)
    y, X, cl, tr = _data(rng, effect=2.0, shock_sd=0.5)
    test = RandomizationTest(y, _design_of(X, cl), tr, 1)
    lo, hi = test.interval(0.05, 0.5)
    eps = 1e-3
    assert test.p_value(lo + eps) > 0.05 >= test.p_value(lo - eps)
    assert test.p_value(hi - eps) > 0.05 >= test.p_value(hi + eps)


def test_through_the_layer_named_and_refused_where_it_must_be():
    rng = np.random.default_rng(2)
    y, X, cl, tr = _data(rng, effect=3.0)
    d = X[:, 1]
    res = inf.coefficient(y, X, 1, clusters=cl, cluster_name="sector", treated=d,
                          inference="randomization", design_of=_design_of(X, cl))
    assert "randomization inference over which 3 of 10 groups" in res.se_type
    assert res.diagnostics["randomization"]["assignments"] == 120
    assert res.ci[0] < res.coef < res.ci[1]
    # two groups: two assignments, nothing can be rejected at 5%: no interval, said why
    cl2 = (cl >= 5).astype(int)
    d2 = (cl2 == 1).astype(float)
    X2 = np.column_stack([np.ones_like(d2), d2])
    r2 = inf.coefficient(y, X2, 1, clusters=cl2, cluster_name="sector", treated=d2,
                         inference="randomization", design_of=_design_of(X2, cl2))
    assert r2.ci is None and "too few to rule out any effect" in r2.warnings[-1]
    # treatment that varies within a group is not a group assignment
    mixed = d.copy()
    mixed[:5] = 1 - mixed[:5]
    with pytest.raises(EstimationError, match="groups are mixed"):
        inf.coefficient(y, np.column_stack([X[:, 0], mixed]), 1, clusters=cl,
                        cluster_name="sector", treated=mixed, inference="randomization",
                        design_of=_design_of(X, cl))
    with pytest.raises(EstimationError, match="needs a cluster column"):
        inf.coefficient(y, X, 1, treated=d, inference="randomization")


def test_did_with_one_adoption_date_offers_randomization_inference():
    from tests.test_did_inference import SHOCKS, _fit, _study

    st = _study(stress=[SHOCKS])
    e = _fit(st, cluster="sector_detail", inference="randomization", wild_draws=199)
    assert "randomization inference over which 8 of 16 groups" in e.se_type
    assert e.ci_low < e.net < e.ci_high
    assert e.diagnostics["inference"]["randomization"]["assignments"] == 999
    # the event study's headline is an average of event-time effects: no sharp null to
    # permute under, so it refuses rather than ignore the option
    with pytest.raises(EstimationError, match="randomization"):
        _fit(st, "event_study", cluster="sector_detail", inference="randomization")
