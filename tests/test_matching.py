"""propensity_matching: coverage on twins, ATT vs ATE, balance, caliper, strata, matching
without replacement, agreement with dowhy, and refusal of an outcome-selected comparison."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from causal.estimators.matching import (
    MatchingOptions,
    SortedPool,
    match_with_replacement,
    match_without_replacement,
    propensity_matching,
)
from causal.pipeline import prepare, run_estimator
from causal.spec import Spec
from tests.conftest import fit_estimates

CONFOUNDERS = ["age", "sex", "education", "benefit_months", "motivation", "months_to_aow",
               "conjunctuur"]


def twin_spec(**sim) -> Spec:
    """An observational twin with selection on observables (motivation measured exactly)."""
    base = dict(generator="individual", n=1200, seed=1, below_aow=True, share_treated=0.3,
                base_rate=0.25, true_effect_pp=6.0, motivation_effect=0.5,
                motivation_observed=True, motivation_proxy_sd=0.0,
                selection={"age": -0.5, "education": 0.4, "benefit_months": -0.4,
                           "motivation": 0.6, "cycle": 0.2})
    base.update(sim)
    return Spec.model_validate(dict(
        measure="twin_matching", title="test twin", source={"report": "test"},
        treatment={"column": "d", "assignment": "observational"},
        outcome={"column": "y", "kind": "binary", "horizon_months": 12},
        confounders=CONFOUNDERS, region="region", estimators=[{"name": "propensity_matching"}],
        simulation=base))


def test_att_and_ate_cover_their_own_truths_on_a_heterogeneous_twin():
    """100 small twins whose effect falls with age (effect_age_gradient) while participants
    are younger: the ATT exceeds the ATE. Each 95% interval should cover its own truth about
    95 times in 100 (>= 88 for the ATT, >= 85 for the ATE, whose 1:1 matching of the many
    non-participants leans on few participants), and each estimate should sit nearer its own
    truth than the other estimand's truth."""
    spec = twin_spec(true_effect_pp=8.0, effect_age_gradient=1.5,
                     selection={"age": -1.0, "education": 0.4, "motivation": 0.6})
    rows = []
    for s in range(100):
        st = prepare(spec, seed=100 + s)
        att, ate = fit_estimates(st, "propensity_matching", {"estimands": ["ATT", "ATE"]})
        rows.append((att.net, att.truth, att.covers_truth, ate.net, ate.truth, ate.covers_truth))
    a = pd.DataFrame(rows, columns=["att", "t_att", "c_att", "ate", "t_ate", "c_ate"])
    assert a.c_att.sum() >= 88, a.c_att.sum()
    assert a.c_ate.sum() >= 85, a.c_ate.sum()
    gap = (a.t_att - a.t_ate).mean()
    assert gap > 1.5  # the twin really is heterogeneous in the way the test needs
    se_att = a.att.std() / 10
    se_ate = a.ate.std() / 10
    assert abs(a.att.mean() - a.t_att.mean()) < 3 * se_att
    assert abs(a.ate.mean() - a.t_ate.mean()) < 3 * se_ate
    assert abs(a.att.mean() - a.t_att.mean()) < abs(a.att.mean() - a.t_ate.mean())
    assert abs(a.ate.mean() - a.t_ate.mean()) < abs(a.ate.mean() - a.t_att.mean())


def test_naive_is_off_and_matching_balances_the_covariates():
    st = prepare(twin_spec(n=4000), seed=7)
    naive = run_estimator(st, "naive", refute=False)[0]
    est = run_estimator(st, "propensity_matching", {}, refute=False)[0]
    assert abs(naive.net - naive.truth) > 2 * naive.se  # visibly off
    bal = est.diagnostics["balance"]
    before = max(abs(r["smd_before"]) for r in bal)
    after = max(abs(r["smd_after"]) for r in bal)
    assert before > 0.25 and after < before / 2 and after < 0.1
    assert est.diagnostics["share_treated_matched"] > 0.95
    for name in ("love_plot", "overlap"):
        fig = est.figures[name]()
        assert type(fig).__name__ == "Figure" and fig.axes


def test_caliper_drops_exactly_the_participants_without_close_controls():
    q = np.array([0.0, 1.0, 2.0, 5.0, 9.0])
    p = np.array([0.05, 1.1, 2.3, 8.0])
    idx, dist = match_with_replacement(q, np.zeros(5, int), p, np.zeros(4, int), 1, 0.5)
    assert idx[:, 0].tolist() == [0, 1, 2, -1, -1]
    assert np.isinf(dist[3:, 0]).all()
    # end to end: 15 participants far outside the non-participants' covariate range
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
    x[:15], d[:15] = 6.0 + rng.random(15), 1  # no controls anywhere near these
    y = (rng.random(n) < 0.3).astype(int)
    df = pd.DataFrame({"x": x, "d": d, "y": y})
    spec = Spec.model_validate(dict(
        measure="caliper", title="t", source={"report": "t"},
        treatment={"column": "d", "assignment": "observational"},
        outcome={"column": "y", "kind": "binary"}, confounders=["x"],
        estimators=[{"name": "propensity_matching"}]))
    st = prepare(spec, data=df)
    est = run_estimator(st, "propensity_matching", {"caliper": 0.2}, refute=False)[0]
    far = d[:15].sum()
    xt = np.sort(x[d == 1])
    xc_max = x[d == 0].max()
    assert est.diagnostics["n_dropped_by_caliper"] >= far
    assert est.diagnostics["n_dropped_by_caliper"] <= (xt > xc_max).sum() + 2
    assert est.n_treated == int(d.sum()) - est.diagnostics["n_dropped_by_caliper"]
    none = run_estimator(st, "propensity_matching", {"caliper": None}, refute=False)[0]
    assert none.diagnostics["n_dropped_by_caliper"] == 0


def test_exact_strata_never_cross():
    pool = SortedPool(np.array([0.0, 0.1, 5.0, 5.1]), np.array([0, 1, 0, 1]))
    idx, _ = pool.query(np.array([0.0, 0.0]), np.array([1, 0]), 2)
    assert set(idx[0]) == {1, 3} and set(idx[1]) == {0, 2}
    idx, dist = pool.query(np.array([0.0]), np.array([2]), 1)  # empty stratum
    assert idx[0, 0] == -1 and np.isinf(dist[0, 0])


def test_exact_option_on_the_pipeline_matches_within_region_and_inflow_year():
    st = prepare(twin_spec(n=2500, inflow=["2017-01-01", "2018-12-31"]), seed=4)
    est = run_estimator(st, "propensity_matching", {"exact": ["inflow_year"]}, refute=False)[0]
    assert est.diagnostics["n_strata"] == 2 and est.net is not None
    assert "exact strata" in est.diagnostics["variance"]


def test_without_replacement_uses_each_control_once_even_for_tied_scores():
    q = np.concatenate([np.zeros(300), np.linspace(1, 2, 200)])
    p = np.linspace(-3, 3, 2000)
    idx, dist = match_without_replacement(q, np.zeros(500, int), p, np.zeros(2000, int), 2,
                                          np.inf)
    used = idx[idx >= 0]
    assert len(used) == 1000 and len(np.unique(used)) == 1000
    # the 300 tied participants took the 600 controls nearest to 0
    near = np.argsort(np.abs(p))[:600]
    assert set(idx[:300].ravel()) == set(near)


def test_matches_dowhy_when_both_use_the_same_propensity_scores():
    """dowhy 0.14's backdoor.propensity_score_matching is 1:1 nearest neighbour on the score,
    with replacement, no caliper. Given OUR fitted scores as its propensity column and our
    estimator set to the same rules, both must pick the same control for every participant
    (continuous covariates: no tied scores), so the ATTs agree to rounding (1e-9)."""
    from dowhy import CausalModel

    from causal.estimators.propensity import covariate_matrix, fit_propensity

    st = prepare(twin_spec(n=1500), seed=11)
    ours = propensity_matching(st, MatchingOptions(match_on="score", caliper=None))[0]
    ps = fit_propensity(covariate_matrix(st), st.d()).p
    assert len(np.unique(ps)) == len(ps)
    X = covariate_matrix(st)
    df = X.copy()
    df["d"] = st.d().astype(bool)
    df["y"] = st.y()
    df["ps"] = ps
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = CausalModel(data=df, treatment="d", outcome="y",
                                common_causes=list(X.columns))
            ident = model.identify_effect(proceed_when_unidentifiable=True)
            theirs = model.estimate_effect(
                ident, method_name="backdoor.propensity_score_matching", target_units="att",
                method_params={"init_params": {"propensity_score_column": "ps"}})
    finally:
        logging.disable(logging.NOTSET)
    assert ours.net == pytest.approx(float(theirs.value), abs=1e-9)


def test_refuses_a_comparison_group_selected_on_the_outcome():
    st = prepare(twin_spec(n=800), seed=2)
    est = run_estimator(st, "propensity_matching", {"comparison_selected_on_outcome": True}, refute=False)[0]
    assert est.net is None and "selected on the outcome" in est.reason
    # the data give it away too: every non-participant without the outcome
    df = st.data.copy()
    df.loc[df["d"] == 0, "y"] = 0
    st2 = prepare(st.spec, data=df.drop(columns=["months_to_aow", "conjunctuur"]))
    est2 = run_estimator(st2, "propensity_matching", {}, refute=False)[0]
    assert est2.net is None and "same outcome" in est2.reason


def test_inspection_spec_gives_reasons_not_numbers():
    from causal.pipeline import estimate

    st = prepare("data_specs/inspectie_bijstand45plus.yaml")
    out = {e.estimator: e for e in estimate(st)}
    assert out["propensity_matching"].net is None
    assert "sampled by their outcome" in out["propensity_matching"].reason
    assert out["naive"].net is not None  # shown, to contrast


def test_same_seed_same_result():
    st = prepare(twin_spec(n=900), seed=5)
    a = run_estimator(st, "propensity_matching", {"estimands": ["ATT", "ATE"]}, refute=False)
    b = run_estimator(st, "propensity_matching", {"estimands": ["ATT", "ATE"]}, refute=False)
    assert [e.to_dict() for e in a] == [e.to_dict() for e in b]


def test_own_group_neighbours_are_the_nearest_within_the_stratum_with_ties():
    """The Abadie-Imbens own-group neighbours (bisection over runs of the sorted pool) are a
    set of k nearest others in the unit's stratum (all of the pool when the stratum has no
    other unit), on keys with many ties: checked against brute force through one-hot values,
    which sum to the chosen set."""
    from causal.estimators.matching_variance import _own_group_stats

    rng = np.random.default_rng(2)
    for _ in range(150):
        n, k = int(rng.integers(1, 80)), int(rng.integers(1, 10))
        key = np.round(rng.normal(size=n), int(rng.integers(0, 3)))
        st = rng.integers(0, rng.integers(1, 6), n)
        need = np.sort(rng.choice(n, rng.integers(1, n + 1), replace=False))
        sums, cnt = _own_group_stats(key, st, np.eye(n), k, need, SortedPool(key, st))
        for i, u in enumerate(need):
            chosen = np.flatnonzero(np.round(sums[i]) == 1)
            same = np.flatnonzero((st == st[u]) & (np.arange(n) != u))
            if len(same) == 0:
                same = np.flatnonzero(np.arange(n) != u)
            assert len(chosen) == cnt[i] and u not in chosen and set(chosen) <= set(same)
            want = np.sort(np.abs(key[same] - key[u]))[:k]
            assert np.allclose(np.sort(np.abs(key[chosen] - key[u])), want)
