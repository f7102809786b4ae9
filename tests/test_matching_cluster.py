"""Matching's cluster option: the cluster sums of each unit's contribution (as a participant
and as a match) against a brute-force computation on a subclassification, the own-group
residuals against brute-force nearest neighbours, and the few-cluster rules."""
from __future__ import annotations

import numpy as np
import pytest

from causal.estimators import get
from causal.estimators import matching as M
from causal.estimators.matching_cluster import residuals
from causal.pipeline import prepare
from tests.conftest import SPECS

OBS = SPECS / "ontwikkeladvies_matching.yaml"


@pytest.fixture(scope="module")
def study():
    st = prepare(OBS, n=2000)
    st.data = st.data.assign(cl=np.random.default_rng(4).integers(0, 40, len(st.data)),
                             few=np.arange(len(st.data)) % 3)
    return st


def _fit(study, **opts):
    info = get("propensity_matching")
    return info.fit(study, info.options.model_validate(opts))


def _loo_category_residuals(key, stratum, y, J, pool, own_group_stats):
    """Deterministic stand-in for the AI residuals: y minus the mean of the others with the
    same key (a subclassification's cells)."""
    out = np.zeros(len(y))
    for k in np.unique(key):
        m = key == k
        out[m] = y[m] - (y[m].sum() - y[m]) / max(m.sum() - 1, 1)
    return out


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_cluster_sums_equal_brute_force_on_a_subclassification(study, monkeypatch, estimand):
    """One categorical covariate and averaged ties: every participant is matched to all
    non-participants of its category (and, for the ATE, the reverse), so every unit's
    contribution can be written out by hand."""
    monkeypatch.setattr(M, "residuals", _loo_category_residuals)
    covs = study.covariates
    study.covariates = ["education"]
    try:
        e = _fit(study, caliper=None, ties="average", cluster="cl", estimands=[estimand],
                 wild_draws=0)[0]
    finally:
        study.covariates = covs
    y, d = study.y(), study.d()
    cat = study.data["education"].astype(str).to_numpy()
    cl = study.data["cl"].to_numpy()
    eps = np.zeros(len(y))
    for grp in (0, 1):
        for c in np.unique(cat):
            m = (cat == c) & (d == grp)
            eps[m] = y[m] - (y[m].sum() - y[m]) / max(m.sum() - 1, 1)
    a = np.zeros(len(y))
    effects = []
    for c in np.unique(cat):
        t, u = (cat == c) & (d == 1), (cat == c) & (d == 0)
        if estimand == "ATT":
            effects += list(y[t] - y[u].mean())
        else:
            effects += list(y[t] - y[u].mean()) + list(y[t].mean() - y[u])
    tau = float(np.mean(effects))
    assert e.net == pytest.approx(tau, abs=1e-9)
    for c in np.unique(cat):
        t, u = (cat == c) & (d == 1), (cat == c) & (d == 0)
        nt, nu = t.sum(), u.sum()
        a[t] = y[t] - y[u].mean() - tau + eps[u].mean()      # own effect + matches' residuals
        a[u] -= nt / nu * eps[u]                              # used nt/nu times as a match
        if estimand == "ATE":
            a[u] += y[t].mean() - y[u] - tau - eps[t].mean()
            a[t] += nu / nt * eps[t]
    N = d.sum() if estimand == "ATT" else len(y)
    G = len(np.unique(cl))
    S = np.array([a[cl == g].sum() for g in np.unique(cl)])
    assert e.se == pytest.approx(np.sqrt(G / (G - 1) * (S ** 2).sum()) / N, rel=1e-10)
    assert e.n_clusters == 40 and "clustered by cl" in e.se_type


def test_own_group_residuals_equal_brute_force_nearest_neighbours():
    rng = np.random.default_rng(0)
    key, y = rng.normal(size=150), rng.normal(size=150)
    zero = np.zeros(150, dtype=np.int64)
    J = 3
    got = residuals(key, zero, y, J, M.SortedPool(key, zero), M._own_group_stats)
    for i in range(150):
        dist = np.abs(key - key[i])
        dist[i] = np.inf
        nb = np.argsort(dist)[:J]
        assert got[i] == pytest.approx(np.sqrt(J / (J + 1)) * (y[i] - y[nb].mean()), abs=1e-12)


def test_one_unit_per_cluster_is_near_the_abadie_imbens_variance_and_few_give_none(study):
    base = _fit(study, variance="ai2006")[0]
    own = _fit(study, variance="ai2006", cluster="person_id")[0]
    assert 0.8 < own.se / base.se < 1.25
    few = _fit(study, cluster="few")[0]
    assert few.ci_low is None and few.se is None and few.n_clusters == 3
    assert any("too few groups of 'few'" in w for w in few.warnings)


@pytest.mark.parametrize("name", ["ipw", "aipw"])
def test_weighting_clustered_influence_interval_goes_through_the_layer(study, name):
    """IPW/AIPW clustered by a column with few clusters: the interval is the layer's (t(G-1)
    or wider from the wild cluster multiplier bootstrap), never the normal one."""
    from scipy import stats

    study.data = study.data.assign(g12=np.arange(len(study.data)) % 12)
    info = get(name)
    e = info.fit(study, info.options.model_validate({"cluster": "g12"}))[0]
    assert e.n_clusters == 12 and "clustered by g12" in e.se_type
    assert e.ci_high - e.ci_low >= 2 * stats.t.ppf(0.975, 11) * e.se - 1e-9


@pytest.mark.parametrize("name", ["ipw", "aipw"])
def test_weighting_with_three_groups_gives_no_interval(study, name):
    """Clustered by a column of three groups (fewer than five with and without the
    treatment): IPW and AIPW give the point estimate only, with the reason, as matching
    and the regression layer do (MacKinnon and Webb 2017)."""
    info = get(name)
    e = info.fit(study, info.options.model_validate({"cluster": "few"}))[0]
    assert e.ci_low is None and e.se is None and e.n_clusters == 3 and e.net is not None
    assert any("too few groups of 'few'" in w for w in e.warnings)
    assert e.se_type.startswith("no interval: too few groups")
