"""The triple difference by period from cell sums equals statsmodels' saturated OLS (HC1,
and CR1 by a cluster column), and the estimator refuses data with an empty cell."""
from __future__ import annotations

import numpy as np
import pytest

from causal.errors import NotIdentified
from causal.estimators import get
from causal.spec import load_spec
from causal.study import Study
from causal.twins import make_twin

NRP = "data_specs/no_riskpolis_ddd.yaml"


@pytest.fixture(scope="module")
def st() -> Study:
    spec = load_spec(NRP)
    tw = make_twin(spec, seed=5, n=3000)
    return Study(spec=spec, data=tw.data, source="twin", truth=tw.truth)


def _fit(study, **opts):
    info = get("triple_difference")
    return info.fit(study, info.options.model_validate(
        {**study.spec.estimator_options("triple_difference"), **opts}))[0]


@pytest.mark.parametrize("cluster", [None, "region"])
def test_by_period_equals_statsmodels_saturated_ols(st, cluster):
    import pandas as pd
    import statsmodels.api as sm

    o = st.spec.estimator_options("triple_difference")
    A, G, T = (st.data[o[k]].to_numpy(float) for k in ("band", "group", "post"))
    per = st.data[o["period"]]
    order = sorted(pd.unique(per).tolist())
    ref = [p for p in order if T[(per == p).to_numpy()].mean() < 0.5][-1]
    others = [p for p in order if p != ref]
    D = np.column_stack([(per == p).to_numpy(float) for p in others])
    AG = A * G
    y = st.y()
    X = np.column_stack([np.ones_like(y), A, G, AG, D, D * A[:, None], D * G[:, None],
                         D * AG[:, None]])
    if cluster:
        groups = pd.factorize(st.data[cluster], sort=True)[0]
        r = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    else:
        r = sm.OLS(y, X).fit(cov_type="HC1")
    k = len(others)
    ev = _fit(st, cluster=cluster).diagnostics["by_period"]
    ev = ev[ev["period"] != str(ref)].sort_values("rel")
    assert np.abs(ev["ATT"].to_numpy() - np.asarray(r.params)[-k:]).max() < 1e-9
    assert np.abs(ev["std_error"].to_numpy() - np.asarray(r.bse)[-k:]).max() < 1e-9


def test_an_empty_cell_is_not_identified(st):
    o = st.spec.estimator_options("triple_difference")
    data = st.data[~((st.data[o["band"]] == 1) & (st.data[o["group"]] == 0)
                     & (st.data[o["post"]] == 1))].reset_index(drop=True)
    with pytest.raises(NotIdentified, match="7 filled cells"):
        _fit(Study(spec=st.spec, data=data, source="twin"))


@pytest.mark.parametrize("se,cluster", [("HC1", None), ("classical", None), ("HC3", None),
                                        ("CR1", "region"), ("CR2", "region")])
def test_triple_coefficient_equals_the_saturated_ols(st, se, cluster):
    """One FWL regressor (classical, HC1, CR1) or the full design (HC3, CR2): the same
    coefficient and standard error as statsmodels' (CR2: the layer on the full design)."""
    import pandas as pd
    import statsmodels.api as sm

    from causal.inference import coefficient

    o = st.spec.estimator_options("triple_difference")
    A, G, T = (st.data[o[k]].to_numpy(float) for k in ("band", "group", "post"))
    y = st.y()
    X = np.column_stack([np.ones_like(y), A, G, T, A * G, A * T, G * T, A * G * T])
    groups = pd.factorize(st.data["region"], sort=True)[0]
    e = _fit(st, se=se, cluster=cluster, period=None, wild_draws=0)
    if se == "CR2":
        ref = coefficient(y, X, 7, se="CR2", clusters=groups, wild_draws=0)
        b, s = ref.coef, ref.se
    else:
        r = (sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups}) if cluster
             else sm.OLS(y, X).fit() if se == "classical" else sm.OLS(y, X).fit(cov_type=se))
        b, s = float(r.params[7]), float(r.bse[7])
    assert e.net == pytest.approx(b, abs=1e-9)
    assert e.se == pytest.approx(s, rel=1e-8)
