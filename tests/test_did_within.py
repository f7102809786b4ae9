"""The two-way within transformation by group sums (causal.estimators.did_within) and the
streamed event study: equal to the regression with every dummy, to linearmodels' event-time
table and to the layer's fit with the period dummies as regressors (the implementation before
the within transformation), for every flavour, the wild cluster bootstrap included; the
event study's average as one regressor equals the reparametrised design's coefficient."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal.estimators import get
from causal.estimators.did_panel import DiDOptions, build_panel
from causal.estimators.did_twfe import _event_times
from causal.estimators.did_within import TwoWayWithin
from causal.inference import coefficient
from causal.spec import load_spec
from causal.study import Study
from causal.twins import make_twin

SP = "data_specs/sectorplan_did.yaml"
SHOCKS = {"name": "group_period_shocks", "sd_pp": 2.0, "clusters": 8}


@pytest.fixture(scope="module")
def st() -> Study:
    spec = load_spec(SP)
    tw = make_twin(spec, seed=3, n=600, stress=[SHOCKS])
    return Study(spec=spec, data=tw.data, source="twin", truth=tw.truth)


def _fit(study, name, **opts):
    info = get(name)
    return info.fit(study, info.options.model_validate(
        {**study.spec.estimator_options(name), **opts}))[0]


def test_within_equals_least_squares_on_all_dummies_in_an_unbalanced_panel():
    rng = np.random.default_rng(0)
    unit = np.repeat(np.arange(60), 6)
    t = np.tile(np.arange(1, 7), 60)
    keep = rng.random(unit.size) < 0.7            # unbalanced: 30% of the rows gone
    unit, t = pd.factorize(unit[keep], sort=True)[0], t[keep]
    v = rng.normal(size=unit.size) + unit * 0.1 + t ** 2 * 0.3
    D = np.column_stack([unit == u for u in range(unit.max() + 1)]
                        + [t == k for k in range(2, 7)]).astype(float)
    resid = v - D @ np.linalg.lstsq(D, v, rcond=None)[0]
    W = TwoWayWithin(unit, t)
    assert np.abs(W(v) - resid).max() < 1e-10
    assert W.rank == 5 and W.periods == [2, 3, 4, 5, 6]
    # the unit-demeaned dummies span what the period effects add to the unit effects
    P = np.column_stack(W.period_columns())
    assert np.linalg.matrix_rank(np.column_stack([P, W(v)])) == 6


def _old_design(P, lead):
    """The layer's fit before the within transformation: unit-demeaned columns with the
    unit-demeaned period dummies as regressors."""
    W = TwoWayWithin(P.unit, P.t)
    cols = [W.unit_demean(c) for c in lead] + W.period_columns()
    return W.unit_demean(P.y), np.column_stack(cols)


@pytest.mark.parametrize("se,wild", [("CR1", 0), ("CR1", 999), ("CR2", 0), ("HC1", 0),
                                     ("classical", 0)])
def test_did_equals_the_fit_with_period_dummies_as_regressors(st, se, wild):
    o = DiDOptions.model_validate({**st.spec.estimator_options("did"),
                                   "cluster": "sector_detail", "se": se, "wild_draws": wild})
    P = build_panel(st, o, "did")
    y, X = _old_design(P, [P.d])
    person = se in ("HC1", "classical")
    comp = ((P.d == 0) & (P.t >= P.t[P.d == 1].min())).astype(float)
    ref = coefficient(y, X, 0, se=se, clusters=None if person else P.cluster,
                      cluster_name="sector_detail", treated=(P.g > 0).astype(float),
                      comparison=comp, wild_draws=wild, seed=o.seed,
                      k_absorbed=P.n_units if person else 1)
    e = _fit(st, "did", cluster="sector_detail", se=se, wild_draws=wild)
    assert e.net == pytest.approx(ref.coef, abs=1e-9)
    assert e.se == pytest.approx(ref.se, rel=1e-8)
    assert e.ci_low == pytest.approx(ref.ci[0], rel=1e-6)
    assert e.ci_high == pytest.approx(ref.ci[1], rel=1e-6)
    assert ("wild cluster bootstrap" in e.se_type) == bool(wild)


def test_event_table_equals_linearmodels_and_the_average_its_own_fit(st):
    from linearmodels.panel import PanelOLS

    o = DiDOptions.model_validate({**st.spec.estimator_options("event_study"),
                                   "cluster": "sector_detail"})
    P = build_panel(st, o, "event_study")
    e, ks, ref = _event_times(P, 0)
    names = [f"e{k}" for k in ks]
    idx = pd.MultiIndex.from_arrays([P.unit, P.t])
    X = pd.DataFrame(np.column_stack([(e == k).astype(float) for k in ks]), index=idx,
                     columns=names)
    r = PanelOLS(pd.Series(P.y, index=idx), X, entity_effects=True, time_effects=True,
                 drop_absorbed=True, check_rank=False).fit(
        cov_type="clustered", clusters=pd.DataFrame({"c": P.cluster}, index=idx))
    for se in ("CR1", "CR2", "HC1"):
        est = _fit(st, "event_study", cluster="sector_detail", se=se, wild_draws=0)
        ev = est.diagnostics["event_time"].drop(index=ref)
        assert np.abs(ev["ATT"].to_numpy() - r.params[names].to_numpy()).max() < 1e-9
        assert np.abs(ev["std_error"].to_numpy() - r.std_errors[names].to_numpy()).max() < 1e-9
    # the headline: the reparametrised design through the layer, period dummies as
    # regressors (the implementation before), equals the streamed figure (one regressor,
    # CR1) and, with 16 sectors, the wild cluster bootstrap
    post = [k for k in ks if k >= 0]
    D1 = (e == post[0]).astype(float)
    lead = ([len(post) * D1] + [(e == k) - D1 for k in post[1:]]
            + [(e == k).astype(float) for k in ks if k < 0])
    y, Xo = _old_design(P, lead)
    comp = ((P.d == 0) & (P.t >= P.t[P.d == 1].min())).astype(float)
    for se, wild in (("CR1", 999), ("CR1", 0), ("HC1", 0), ("classical", 0)):
        person = se != "CR1"
        old = coefficient(y, Xo, 0, se=se, clusters=None if person else P.cluster,
                          cluster_name="sector_detail", treated=(P.g > 0).astype(float),
                          comparison=comp, seed=o.seed, wild_draws=wild,
                          k_absorbed=P.n_units if person else 1)
        new = _fit(st, "event_study", cluster="sector_detail", se=se, wild_draws=wild)
        assert ("wild cluster bootstrap" in new.se_type) == bool(wild)
        assert new.net == pytest.approx(old.coef, abs=1e-9)
        assert new.se == pytest.approx(old.se, rel=1e-8)
        assert (new.ci_low, new.ci_high) == pytest.approx(old.ci, rel=1e-6)
